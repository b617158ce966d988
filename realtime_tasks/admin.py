"""The admin: task trees listed by their roots, each with a live tree page; cancel and purge whole trees."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.timezone import make_aware

from .models import UserTaskArtifact, UserTaskStatus, delete_trees
from .serializers import KINDS


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(kind, kind) for kind in (*KINDS.values(), "task")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[UserTaskStatus]) -> QuerySet[UserTaskStatus]:
        classes = {kind: task_class for task_class, kind in KINDS.items()}
        value = self.value()
        if value == "task":
            return queryset.filter(is_container=False)
        if value in classes:
            return queryset.filter(task_class=classes[value])
        return queryset


class PurgeForm(forms.Form):
    before = forms.DateField(help_text="Delete the finished trees created before this day.")


@admin.register(UserTaskStatus)
class UserTaskStatusAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("tree", "kind", "state", "progress", "user", "created", "finished")
    list_filter = ("state", KindFilter, ("user", admin.RelatedOnlyFieldListFilter), "created")
    list_select_related = ("user",)
    search_fields = ("name", "task_id")
    date_hierarchy = "created"
    actions = ("cancel_trees",)
    change_list_template = "admin/realtime_tasks/change_list.html"
    # The tree page's table of records; the live element above it shows the whole tree.
    tree_rows_per_page = 500

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserTaskStatus]:
        return super().get_queryset(request).filter(parent=None)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[UserTaskStatus], search_term: str
    ) -> tuple[QuerySet[UserTaskStatus], bool]:
        # A uuid is a record's uuid or a Celery task id; anything else is searched in names and task ids.
        term = search_term.strip()
        try:
            key = uuid.UUID(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(Q(uuid=key) | Q(task_id=term)), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: UserTaskStatus | None = None) -> bool:
        return False  # records follow their tasks; nobody edits them

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("realtime_tasks.cancel_usertaskstatus")

    @admin.display(description="tree", ordering="name")
    def tree(self, record: UserTaskStatus) -> str:
        url = reverse("admin:realtime_tasks_usertaskstatus_tree", args=[record.uuid])
        return format_html('<a href="{}">{}</a>', url, record.name or record.task_class)

    @admin.display(description="kind")
    def kind(self, record: UserTaskStatus) -> str:
        return KINDS.get(record.task_class, "task")

    @admin.display(description="progress")
    def progress(self, record: UserTaskStatus) -> str:
        return format_html(
            '<progress max="{}" value="{}"></progress> {} / {}',
            record.total_steps,
            record.completed_steps,
            record.completed_steps,
            record.total_steps,
        )

    @admin.action(description="Cancel the selected trees", permissions=["cancel"])
    def cancel_trees(self, request: HttpRequest, queryset: QuerySet[UserTaskStatus]) -> None:
        unfinished = queryset.exclude(state__in=UserTaskStatus.TERMINAL_STATES)
        for root in unfinished:
            root.cancel()
        self.message_user(request, f"Canceled {len(unfinished)} trees.", messages.SUCCESS)

    # Records are deleted by whole trees only (the list shows roots).
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[UserTaskStatus]) -> None:
        delete_trees(queryset)

    def delete_model(self, request: HttpRequest, obj: UserTaskStatus) -> None:
        delete_trees(UserTaskStatus.objects.filter(pk=obj.pk))

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<uuid:root>/tree/", view(self.tree_view), name="realtime_tasks_usertaskstatus_tree"),
            path("purge/", view(self.purge_view), name="realtime_tasks_usertaskstatus_purge"),
            *super().get_urls(),
        ]

    def tree_view(self, request: HttpRequest, root: uuid.UUID) -> HttpResponse:
        """The whole tree, kept live by the <task-progress> element, and a table of its records, a page at a
        time: the same few queries whatever the tree's size."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        top = get_object_or_404(UserTaskStatus.objects.select_related("user"), uuid=root, parent=None)
        records = UserTaskStatus.objects.filter(root__uuid=root).order_by("path", "position")
        page = Paginator(records, self.tree_rows_per_page).get_page(request.GET.get("page"))
        artifacts = list(UserTaskArtifact.objects.filter(status__root__uuid=root).order_by("created"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Task tree: {top.name or top.task_class}",
            "root": top,
            "rows": [(record, record.path.count("/")) for record in page],
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
            deleted = delete_trees(UserTaskStatus.objects.filter(finished, parent=None, created__lt=before))
            self.message_user(request, f"Deleted {deleted} status records.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:realtime_tasks_usertaskstatus_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Purge finished task trees",
            "form": form,
        }
        return TemplateResponse(request, "admin/realtime_tasks/purge.html", context)
