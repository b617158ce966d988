from __future__ import annotations

from django.urls import path, re_path

from . import views

app_name = "realtime_tasks"

urlpatterns = [
    path("trees/", views.trees, name="trees"),
    path("trees/<str:root>/", views.tree, name="tree"),
    path("trees/<str:root>/cancel/", views.cancel, name="cancel"),
    re_path(r"", views.unknown),
]
