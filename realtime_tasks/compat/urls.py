"""django-user-tasks' REST API: ``path("...", include("realtime_tasks.compat.urls"))`` in place of
``include("user_tasks.urls")``. The routes keep its names (``usertaskstatus-list``, ``usertaskstatus-detail``,
``usertaskstatus-cancel``, ``usertaskartifact-list``, ``usertaskartifact-detail``), with no namespace."""

from __future__ import annotations

from . import missing_extra

try:
    from rest_framework.routers import SimpleRouter
except ImportError as error:
    raise missing_extra("Django REST framework", error) from error

from .views import ArtifactViewSet, StatusViewSet

router = SimpleRouter()
router.register(r"artifacts", ArtifactViewSet, basename="usertaskartifact")
router.register(r"tasks", StatusViewSet, basename="usertaskstatus")

urlpatterns = router.urls
