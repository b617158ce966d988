"""django-user-tasks' REST API on this app's models: the same paths, JSON, ordering and permission checks.

Every decision goes through ``user.has_perm`` with this app's permission names
(``realtime_tasks.view_usertaskstatus`` ...), asked with the record as django-user-tasks asks with its own
names; the lists are narrowed by filter backends (``realtime_tasks.compat.filters``). One deliberate
difference: records are deleted by whole trees, so DELETE of a record inside a tree answers 409.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from . import missing_extra

try:
    from rest_framework import exceptions, mixins, permissions, status, viewsets
    from rest_framework.decorators import action
    from rest_framework.filters import BaseFilterBackend
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.settings import api_settings
except ImportError as error:
    raise missing_extra("Django REST framework", error) from error

from ..models import UserTaskArtifact, UserTaskStatus
from .filters import ArtifactFilterBackend, StatusFilterBackend
from .serializers import ArtifactSerializer, StatusSerializer


class DjangoObjectPermissionsIncludingView(permissions.DjangoObjectPermissions):
    """Object permissions that also require ``view_<model>`` to read and ``cancel_<model>`` to POST."""

    perms_map = {  # noqa: RUF012
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.cancel_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }


class NotATreeRoot(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = (
        "This record belongs to a task tree, and records are deleted by whole trees: delete the tree's root."
    )
    default_code = "not_a_tree_root"


class _SiteConfigured(viewsets.GenericViewSet[Any]):
    """Filters and pagination read from the site's settings at each request, as django-user-tasks reads its
    filter setting."""

    filters_setting: str
    default_filters: tuple[type[BaseFilterBackend], ...]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.filter_backends = tuple(getattr(settings, self.filters_setting, self.default_filters))
        # api_settings imports the class the setting names (the stubs type the setting as given).
        self.pagination_class = api_settings.DEFAULT_PAGINATION_CLASS  # type: ignore[assignment]
        super().initial(request, *args, **kwargs)


class StatusViewSet(
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    _SiteConfigured,
):
    """Status records, newest first: list, read, delete (a whole tree, by its root) and cancel."""

    lookup_field = "uuid"
    permission_classes = (DjangoObjectPermissionsIncludingView,)
    queryset = UserTaskStatus.objects.order_by("-created").prefetch_related("artifacts")
    serializer_class = StatusSerializer

    filters_setting = "USER_TASKS_STATUS_FILTERS"
    default_filters = (StatusFilterBackend,)

    def perform_destroy(self, instance: UserTaskStatus) -> None:
        if instance.parent_id is not None:
            raise NotATreeRoot
        UserTaskStatus.objects.filter(pk=instance.pk).delete_trees()

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Cancel the task of the record, and every unfinished record below it."""
        record = self.get_object()
        record.cancel()
        return Response(StatusSerializer(record, context=self.get_serializer_context()).data)


class ArtifactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _SiteConfigured):
    """Artifacts, oldest first: list and read."""

    lookup_field = "uuid"
    permission_classes = (DjangoObjectPermissionsIncludingView,)
    queryset = UserTaskArtifact.objects.order_by("pk").select_related("status")
    serializer_class = ArtifactSerializer

    filters_setting = "USER_TASKS_ARTIFACT_FILTERS"
    default_filters = (ArtifactFilterBackend,)
