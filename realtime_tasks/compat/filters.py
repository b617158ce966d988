"""The default filters of the compatible REST API's lists: superusers see every record, others their own."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from . import missing_extra

try:
    from rest_framework.filters import BaseFilterBackend
    from rest_framework.request import Request
except ImportError as error:
    raise missing_extra("Django REST framework", error) from error


class StatusFilterBackend(BaseFilterBackend):
    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user_id=request.user.pk)


class ArtifactFilterBackend(BaseFilterBackend):
    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        if request.user.is_superuser:
            return queryset
        return queryset.filter(status__user_id=request.user.pk)
