from __future__ import annotations

from demo import views
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", views.page, name="demo"),
    path("start/<str:canvas>/", views.start, name="start"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("tasks/", include("realtime_tasks.urls")),
    # Browsers ask for it on pages that name no icon (the admin's): no 404 in the log.
    path("favicon.ico", RedirectView.as_view(url=static("demo/icon.svg"), permanent=True)),
]
