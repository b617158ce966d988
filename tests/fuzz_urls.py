"""The tests' URLs, and the django-user-tasks-compatible API at compat/, for the fuzz command."""

from __future__ import annotations

from django.urls import include, path

from tests.urls import urlpatterns as test_urlpatterns

urlpatterns = [*test_urlpatterns, path("compat/", include("realtime_tasks.compat.urls"))]
