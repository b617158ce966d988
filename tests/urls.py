from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("", TemplateView.as_view(template_name="page.html")),
    path("admin/", admin.site.urls),
    path("tasks/", include("realtime_tasks.urls")),
]
