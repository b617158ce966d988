"""The test URLconf with django-user-tasks' REST API where a site would mount it."""

from __future__ import annotations

from django.urls import include, path

from tests.urls import urlpatterns as base

urlpatterns = [
    path("api/user_tasks/v0/", include("realtime_tasks.compat.urls")),
    *base,
]
