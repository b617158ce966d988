"""The schema of the batched write path and of the drop-in for django-user-tasks, in one migration.

- ``parent`` points at the primary key again (``parent_id`` holds the parent's id, as in django-user-tasks);
  existing links are carried over.
- ``sequence`` and ``followed_until``: a tree's change counter and its staff followers' lease, on its root.
- An index for the reconciler's search of unfinished tasks.

The migration is written by hand: Django's own would change the column's type in place and lose the links.
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Q, Subquery


def link_parents_by_id(apps: Any, schema_editor: Any) -> None:
    Status = apps.get_model("realtime_tasks", "UserTaskStatus")
    by_uuid = Status.objects.filter(uuid=OuterRef("parent_id")).values("pk")[:1]
    Status.objects.filter(parent__isnull=False).update(parent_by_id=Subquery(by_uuid))


def link_parents_by_uuid(apps: Any, schema_editor: Any) -> None:
    Status = apps.get_model("realtime_tasks", "UserTaskStatus")
    by_pk = Status.objects.filter(pk=OuterRef("parent_by_id")).values("uuid")[:1]
    Status.objects.filter(parent_by_id__isnull=False).update(parent=Subquery(by_pk))


class Migration(migrations.Migration):
    dependencies = [
        ("realtime_tasks", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="usertaskstatus",
            name="parent_by_id",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="realtime_tasks.usertaskstatus",
            ),
        ),
        migrations.RunPython(link_parents_by_id, link_parents_by_uuid),
        # The index of roots names the old field in its condition: dropped with it, made again below.
        migrations.RemoveIndex(model_name="usertaskstatus", name="realtime_tasks_user_roots"),
        migrations.RemoveField(model_name="usertaskstatus", name="parent"),
        migrations.RenameField(model_name="usertaskstatus", old_name="parent_by_id", new_name="parent"),
        migrations.AlterField(
            model_name="usertaskstatus",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                help_text="The chain, group or chord containing this record",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="children",
                to="realtime_tasks.usertaskstatus",
            ),
        ),
        migrations.AddIndex(
            model_name="usertaskstatus",
            index=models.Index(
                condition=models.Q(("parent", None)),
                fields=["user", "-created"],
                name="realtime_tasks_user_roots",
            ),
        ),
        migrations.AddField(
            model_name="usertaskstatus",
            name="sequence",
            field=models.PositiveBigIntegerField(default=1, editable=False),
        ),
        migrations.AddField(
            model_name="usertaskstatus",
            name="followed_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="usertaskstatus",
            index=models.Index(
                condition=models.Q(
                    ~Q(state__in=["Canceled", "Failed", "Succeeded"]), ("is_container", False)
                ),
                fields=["modified"],
                name="realtime_tasks_unfinished",
            ),
        ),
    ]
