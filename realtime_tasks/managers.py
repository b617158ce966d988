"""The queries of status records: which trees a user may see, a record's subtree, whole trees, deleting them.

Views, consumers, the admin and the tasks call these, so that one place decides who sees what.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.apps import apps
from django.db import models, transaction
from django.db.models import Q

from . import states

if TYPE_CHECKING:
    from .models import UserTaskStatus

_T = TypeVar("_T", bound=models.Model)


class UserTaskStatusQuerySet(models.QuerySet[_T]):
    def roots(self) -> UserTaskStatusQuerySet[_T]:
        return self.filter(parent=None)

    def unfinished(self) -> UserTaskStatusQuerySet[_T]:
        return self.exclude(state__in=states.TERMINAL)

    def visible_to(self, user: Any) -> UserTaskStatusQuerySet[_T]:
        """The roots of the trees ``user`` may see: their own, or every tree for staff allowed to view them.

        Staff status is required as well as the permission: a permission granted to everyone (by an object
        permission backend asked without an object) must never open other users' trees.
        """
        roots = self.roots()
        if not getattr(user, "is_authenticated", False):
            return roots.none()
        if user.is_staff and user.has_perm("realtime_tasks.view_usertaskstatus"):
            return roots
        return roots.filter(user_id=user.pk)

    def subtree(self, record: UserTaskStatus) -> UserTaskStatusQuerySet[_T]:
        """``record`` and every record below it."""
        return self.filter(Q(pk=record.pk) | Q(root_id=record.root_id, path__contains=record.uuid.hex))

    def trees(self, roots: Any) -> UserTaskStatusQuerySet[_T]:
        """Every record of the trees whose roots are ``roots`` (uuids, or a queryset of root records)."""
        if isinstance(roots, models.QuerySet):
            roots = roots.values("uuid")
        return self.filter(root_id__in=roots)

    def delete_trees(self) -> int:
        """Delete the whole trees of the root records in this queryset, with their artifacts' files.

        Returns the number of status records deleted. Records are only ever deleted by whole trees: the
        links within a tree have no cascade (Django's would walk a large tree one level at a time).
        """
        model = self.model
        artifact_model = apps.get_model("realtime_tasks", "UserTaskArtifact")
        trees = model._default_manager.filter(root_id__in=self.roots().values("uuid"))
        artifacts = artifact_model._default_manager.filter(status__in=trees).exclude(file="")
        files = [name for name in artifacts.exclude(file=None).values_list("file", flat=True) if name]
        with transaction.atomic(using=self.db):
            _, deleted = trees.delete()
        storage = artifact_model._meta.get_field("file").storage
        for name in files:
            storage.delete(name)
        return deleted.get(model._meta.label, 0)
