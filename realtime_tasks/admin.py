"""The admin: task trees listed by their roots, each with a live tree page; cancel and purge whole trees;
the artifacts."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import make_aware
from django.utils.translation import gettext, gettext_lazy

from .managers import granted
from .models import UserTaskArtifact, UserTaskStatus

# What a record is called where it has no name, as the <task-progress> element calls it.
KIND_NAMES = {
    UserTaskStatus.CHAIN: "Chain",
    UserTaskStatus.GROUP: "Group",
    UserTaskStatus.CHORD: "Chord",
}
TASK = "Task"
# The element's state keys ("state" attribute): any other state, a custom one too, is running.
STATE_KEYS = {
    UserTaskStatus.PENDING: "pending",
    UserTaskStatus.SUCCEEDED: "succeeded",
    UserTaskStatus.FAILED: "failed",
    UserTaskStatus.CANCELED: "canceled",
    UserTaskStatus.RETRYING: "retrying",
}
# Indentation classes of the tree table (admin/tree.css); deeper records share the last one.
DEEPEST = 12


def kind_name(record: UserTaskStatus) -> str:
    return KIND_NAMES.get(record.task_class, TASK)


def display_name(record: UserTaskStatus) -> str:
    return record.name or (KIND_NAMES.get(record.task_class) or record.task_class)


def state_key(state: str) -> str:
    return STATE_KEYS.get(state, "running")


def tree_order(rows: Iterable[tuple[int, int | None, int]]) -> list[tuple[int, int]]:
    """``(pk, parent_id, position)`` rows of one tree, in tree order: each record after its parent, its
    siblings by position. Returns ``(pk, depth)`` pairs. A record whose parent is not among the rows
    (a hand-made tree in the making) comes after the others, at depth 0."""
    children: dict[int | None, list[tuple[int, int]]] = defaultdict(list)
    keys = set()
    for pk, parent, position in rows:
        keys.add(pk)
        children[parent].append((position, pk))
    order: list[tuple[int, int]] = []
    tops = sorted((parent for parent in children if parent not in keys), key=lambda parent: parent or 0)
    for top in tops:
        stack = [(entry, 0) for entry in sorted(children[top], reverse=True)]
        while stack:
            (_, pk), depth = stack.pop()
            order.append((pk, depth))
            stack.extend((entry, depth + 1) for entry in sorted(children.get(pk, ()), reverse=True))
    return order


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name.lower(), name) for name in (*KIND_NAMES.values(), TASK)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[UserTaskStatus]) -> QuerySet[UserTaskStatus]:
        classes = {name.lower(): task_class for task_class, name in KIND_NAMES.items()}
        value = self.value()
        if value == TASK.lower():
            return queryset.filter(is_container=False)
        if value in classes:
            return queryset.filter(task_class=classes[value])
        return queryset


class PurgeForm(forms.Form):
    before = forms.DateField(help_text=gettext_lazy("Delete the finished trees created before this day."))


class GrantedPermissionsAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Every permission is read from what the user was granted (``managers.granted``): an object
    permission backend that answers ``has_perm()`` without an object for everyone (django-user-tasks'
    rules) must not open every user's records here."""

    def _granted(self, request: HttpRequest, action: str) -> bool:
        return granted(request.user, f"{action}_{self.opts.model_name}")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._granted(request, "view")

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._granted(request, "view")

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._granted(request, "delete")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # records follow their tasks; nobody edits them


class TreeChangeList(ChangeList):
    # The row's link (Django's own, on the first column) opens the tree page.
    def url_for_result(self, result: Model) -> str:
        return reverse("admin:realtime_tasks_usertaskstatus_tree", args=[result.uuid])  # type: ignore[attr-defined]


@admin.register(UserTaskStatus)
class UserTaskStatusAdmin(GrantedPermissionsAdmin):
    # django-user-tasks' list shows created, uuid, state, user and name; the tree's name comes first here
    # as the row's link.
    list_display = ("tree", "kind", "state_display", "progress", "user", "created", "finished", "uuid")
    list_filter = ("state", KindFilter, ("user", admin.RelatedOnlyFieldListFilter), "created")
    list_select_related = ("user",)
    ordering = ("-created",)
    search_fields = ("name", "task_id", "task_class", "user__username", "user__email")
    date_hierarchy = "created"
    actions = ("cancel_trees",)
    readonly_fields = ("parent",)
    change_list_template = "admin/realtime_tasks/change_list.html"
    # The tree page's table of records; the live element above it shows the whole tree.
    tree_rows_per_page = 500

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserTaskStatus]:
        return super().get_queryset(request).filter(parent=None)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return TreeChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[UserTaskStatus], search_term: str
    ) -> tuple[QuerySet[UserTaskStatus], bool]:
        # A uuid is a record's uuid or a Celery task id; anything else is searched in names, classes, task
        # ids and owners.
        term = search_term.strip()
        try:
            key = uuid.UUID(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(Q(uuid=key) | Q(task_id=term)), False

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return self._granted(request, "cancel")

    @admin.display(description=gettext_lazy("tree"), ordering="name")
    def tree(self, record: UserTaskStatus) -> str:
        return display_name(record)

    @admin.display(description=gettext_lazy("kind"))
    def kind(self, record: UserTaskStatus) -> str:
        return kind_name(record)

    @admin.display(description=gettext_lazy("state"), ordering="state")
    def state_display(self, record: UserTaskStatus) -> SafeString:
        return format_html(
            '<span class="rt-state" data-state="{}" data-live="{}" data-field="state_text">{}</span>',
            state_key(record.state),
            record.uuid,
            record.state_text,
        )

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, record: UserTaskStatus) -> SafeString:
        return format_html(
            '<span class="rt-progress" data-live="{}"><progress class="rt-bar" data-state="{}" max="{}" '
            'value="{}" aria-label="Progress of {}"></progress> '
            '<span data-field="counts">{} / {}</span></span>',
            record.uuid,
            state_key(record.state),
            record.total_steps,
            record.completed_steps,
            display_name(record),
            record.completed_steps,
            record.total_steps,
        )

    @admin.action(description=gettext_lazy("Cancel the selected trees"), permissions=["cancel"])
    def cancel_trees(self, request: HttpRequest, queryset: QuerySet[UserTaskStatus]) -> None:
        unfinished = queryset.exclude(state__in=UserTaskStatus.TERMINAL_STATES)
        for root in unfinished:
            root.cancel()
        self.message_user(
            request, gettext("Canceled %(count)d trees.") % {"count": len(unfinished)}, messages.SUCCESS
        )

    # Records are deleted by whole trees only (the list shows roots).
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[UserTaskStatus]) -> None:
        UserTaskStatus.objects.filter(pk__in=queryset.values("pk")).delete_trees()

    def delete_model(self, request: HttpRequest, obj: UserTaskStatus) -> None:
        UserTaskStatus.objects.filter(pk=obj.pk).delete_trees()

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<uuid:root>/tree/", view(self.tree_view), name="realtime_tasks_usertaskstatus_tree"),
            path("purge/", view(self.purge_view), name="realtime_tasks_usertaskstatus_purge"),
            *super().get_urls(),
        ]

    def tree_rows(self, root: uuid.UUID) -> Sequence[tuple[int, int]]:
        """Every record of the tree ``root`` as ``(pk, depth)``, in tree order, from one narrow query."""
        return tree_order(
            UserTaskStatus.objects.filter(root__uuid=root).values_list("pk", "parent_id", "position")
        )

    def tree_view(self, request: HttpRequest, root: uuid.UUID) -> HttpResponse:
        """The whole tree, kept live by the <task-progress> element, and a table of its records in tree order,
        a page at a time: the same few queries whatever the tree's size."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        top = get_object_or_404(UserTaskStatus.objects.select_related("user"), uuid=root, parent=None)
        page = Paginator(self.tree_rows(root), self.tree_rows_per_page).get_page(request.GET.get("page"))
        records = UserTaskStatus.objects.in_bulk([pk for pk, _ in page])
        artifacts = list(UserTaskArtifact.objects.filter(status__root__uuid=root).order_by("created"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Task tree: %(name)s") % {"name": display_name(top)},
            "root": top,
            "name": display_name(top),
            "root_state": state_key(top.state),
            "rows": [
                (records[pk], min(depth, DEEPEST), kind_name(records[pk]), state_key(records[pk].state))
                for pk, depth in page
            ],
            "page": page,
            "page_range": page.paginator.get_elided_page_range(page.number),
            "artifacts": artifacts,
            "can_cancel": self.has_cancel_permission(request) and not top.is_terminal,
        }
        return TemplateResponse(request, "admin/realtime_tasks/tree.html", context)

    def purge_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_delete_permission(request):
            raise PermissionDenied
        form = PurgeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            before = make_aware(datetime.combine(form.cleaned_data["before"], time.min))
            finished = Q(state__in=UserTaskStatus.TERMINAL_STATES)
            deleted = UserTaskStatus.objects.filter(finished, parent=None, created__lt=before).delete_trees()
            self.message_user(
                request, gettext("Deleted %(count)d status records.") % {"count": deleted}, messages.SUCCESS
            )
            return HttpResponseRedirect(reverse("admin:realtime_tasks_usertaskstatus_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Purge finished task trees"),
            "form": form,
        }
        return TemplateResponse(request, "admin/realtime_tasks/purge.html", context)


@admin.register(UserTaskArtifact)
class UserTaskArtifactAdmin(GrantedPermissionsAdmin):
    # As django-user-tasks' artifact admin, with the record's tree a link away.
    list_display = ("created", "uuid", "status", "name", "text", "tree")
    list_filter = ("name",)
    list_select_related = ("status",)
    ordering = ("-created",)
    search_fields = ("uuid", "name", "text")
    raw_id_fields = ("status",)

    @admin.display(description=gettext_lazy("tree"))
    def tree(self, artifact: UserTaskArtifact) -> SafeString:
        url = reverse("admin:realtime_tasks_usertaskstatus_tree", args=[artifact.status.root_id])
        return format_html('<a href="{}">Open the tree</a>', url)
