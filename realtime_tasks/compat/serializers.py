"""django-user-tasks' REST serializers, field for field, on this app's models."""

from __future__ import annotations

from . import missing_extra

try:
    from rest_framework import serializers
except ImportError as error:
    raise missing_extra("Django REST framework", error) from error

from ..models import UserTaskArtifact, UserTaskStatus


class StatusSerializer(serializers.HyperlinkedModelSerializer[UserTaskStatus]):
    """A status record; its artifacts as links to the artifact API."""

    artifacts: serializers.HyperlinkedRelatedField[UserTaskArtifact] = serializers.HyperlinkedRelatedField(
        many=True, read_only=True, view_name="usertaskartifact-detail", lookup_field="uuid"
    )

    class Meta:
        model = UserTaskStatus
        fields = (
            "name",
            "state",
            "state_text",
            "completed_steps",
            "total_steps",
            "attempts",
            "created",
            "modified",
            "artifacts",
        )


class ArtifactSerializer(serializers.HyperlinkedModelSerializer[UserTaskArtifact]):
    """An artifact; its record as a link, its file as the storage's URL ("" without a file)."""

    file = serializers.SerializerMethodField()

    class Meta:
        model = UserTaskArtifact
        fields = ("name", "created", "modified", "status", "file", "text", "url")
        extra_kwargs = {"status": {"lookup_field": "uuid"}}  # noqa: RUF012

    def get_file(self, artifact: UserTaskArtifact) -> str:
        if not artifact.file:
            return ""
        return str(artifact.file.url)
