from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path
from django.views.generic import TemplateView


def elements(request: HttpRequest) -> HttpResponse:
    """A page of one element per ``root`` given, one for every tree with ``all``, in a page whose own
    colour scheme is ``scheme`` (for the browser tests of tests/test_browser_widget.py)."""
    context = {
        "roots": request.GET.getlist("root"),
        "all": "all" in request.GET,
        "scheme": request.GET.get("scheme", "") if request.GET.get("scheme") in ("light", "dark") else "",
    }
    return render(request, "elements.html", context)


urlpatterns = [
    path("", TemplateView.as_view(template_name="page.html")),
    path("elements/", elements),
    path("admin/", admin.site.urls),
    path("tasks/", include("realtime_tasks.urls")),
]
