"""The template tags: the element wired to the right URLs, and the script allowed by a strict CSP's nonce."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import django
import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.template import Context, RequestContext, Template
from django.test import RequestFactory, override_settings

from realtime_tasks.models import UserTaskStatus

pytestmark = pytest.mark.core

ALL = "{% load realtime_tasks %}{% task_progress_all %}"
SCRIPT = '<script type="module" src="/static/realtime_tasks/task-progress.js"'


def render(source: str, request: HttpRequest, **context: object) -> str:
    return Template(source).render(RequestContext(request, context))


def view(source: str) -> Callable[[HttpRequest], HttpResponse]:
    def page(request: HttpRequest) -> HttpResponse:
        return HttpResponse(render(source, request))

    return page


def nonce_of(html: str) -> str:
    match = re.search(r'<script type="module" src="[^"]+" nonce="([^"]+)"></script>', html)
    assert match, html
    return match.group(1)


def test_all_trees_element_points_at_the_socket_and_the_api_with_the_csrf_token() -> None:
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    response = CsrfViewMiddleware(view(ALL))(request)
    html = response.content.decode()
    assert html.startswith(SCRIPT + "></script>")
    token = re.search(r'csrf-token="([^"]+)"', html)
    assert token
    assert len(token.group(1)) == 64
    assert '<task-progress src="/ws/tasks/" api="/tasks/" csrf-token=' in html
    assert "root=" not in html
    assert " cancelable" not in html


def test_websocket_path_setting_moves_the_elements_socket() -> None:
    with override_settings(REALTIME_TASKS_WEBSOCKET_PATH="/live/"):
        html = render(ALL, RequestFactory().get("/"))
    assert 'src="/live/"' in html


@pytest.mark.django_db
def test_one_tree_element_takes_a_record_or_a_root_uuid() -> None:
    root = uuid.uuid4()
    record = UserTaskStatus(uuid=uuid.uuid4(), root_id=root)
    source = "{% load realtime_tasks %}{% task_progress status cancelable=True %}"
    for status in (record, root, str(root)):
        html = render(source, RequestFactory().get("/"), status=status)
        assert f'root="{root}" cancelable></task-progress>' in html


def test_without_a_csp_middleware_the_script_has_no_nonce() -> None:
    html = render(ALL, RequestFactory().get("/"))
    assert "nonce" not in html


def test_without_a_request_the_element_has_no_token_and_no_nonce() -> None:
    html = Template(ALL).render(Context())
    assert 'csrf-token=""' in html
    assert "nonce" not in html


@pytest.mark.skipif(django.VERSION < (6, 0), reason="Django's own CSP came in 6.0")
def test_script_carries_the_nonce_of_djangos_own_csp() -> None:
    from django.middleware.csp import ContentSecurityPolicyMiddleware
    from django.utils.csp import CSP

    policy = {"default-src": [CSP.SELF], "script-src": [CSP.SELF, CSP.NONCE], "style-src": [CSP.SELF]}
    with override_settings(SECURE_CSP=policy):
        response = ContentSecurityPolicyMiddleware(view(ALL))(RequestFactory().get("/"))
    nonce = nonce_of(response.content.decode())
    assert f"script-src 'self' 'nonce-{nonce}'" in response["Content-Security-Policy"]


def test_script_carries_the_nonce_of_django_csp() -> None:
    from csp.constants import NONCE, SELF
    from csp.middleware import CSPMiddleware

    policy = {"DIRECTIVES": {"default-src": [SELF], "script-src": [SELF, NONCE]}}
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        response = CSPMiddleware(view(ALL))(RequestFactory().get("/"))
    nonce = nonce_of(response.content.decode())
    assert f"script-src 'self' 'nonce-{nonce}'" in response["Content-Security-Policy"]


def test_each_request_gets_its_own_nonce() -> None:
    from csp.constants import NONCE, SELF
    from csp.middleware import CSPMiddleware

    policy = {"DIRECTIVES": {"script-src": [SELF, NONCE]}}
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        nonces = {
            nonce_of(CSPMiddleware(view(ALL))(RequestFactory().get("/")).content.decode()) for _ in range(3)
        }
    assert len(nonces) == 3
