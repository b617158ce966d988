"""The sizes of the WebSocket frames that carry one tree, for ``bench size``.

Call ``message_sizes(owner, root)`` in the realtime_tasks driver once a tree is recorded (a group of 10,000
tasks, say): it builds the frames the consumer sends for that tree, with the consumer's own functions, and
measures them. Nothing is sent.
"""

from __future__ import annotations

from typing import Any

# The size the channel-layer spec guarantees a message, and daphne's default limit for a frame.
SPEC_BYTES = 1_000_000


def message_sizes(owner: Any, root: Any) -> dict[str, Any]:
    """Frames and bytes of: the tree's creation as a ``status``, the answer to ``subscribe``, the owner's
    snapshot on connecting, and (for comparison) the whole tree in one message as before parts existed."""
    from realtime_tasks.conf import conf
    from realtime_tasks.models import UserTaskStatus
    from realtime_tasks.serializers import (
        serialize_trees,
        size,
        snapshot_messages,
        tree_messages,
        user_snapshot,
    )

    [tree] = serialize_trees([root.uuid])
    records = tree["records"]
    # What the broadcaster sends for the change that created the tree: every record if they fit one message,
    # else the root alone, truncated.
    if len(records) > conf.MESSAGE_RECORDS:
        created = {
            "type": "status",
            "root": tree["root"],
            "sequences": [1],
            "records": records[:1],
            "truncated": True,
        }
    else:
        created = {"type": "status", "root": tree["root"], "sequences": [1], "records": records}
    parts = tree_messages(tree)
    snapshot = snapshot_messages(user_snapshot(owner))
    whole = {"type": "status", "records": records}
    frames = [created, *parts, *snapshot]
    return {
        "records": UserTaskStatus.objects.filter(root_id=root.uuid).count(),
        "created_status_bytes": size(created),
        "tree_frames": len(parts),
        "tree_bytes": sum(size(part) for part in parts),
        "tree_frame_max_bytes": max(size(part) for part in parts),
        "snapshot_frames": len(snapshot),
        "snapshot_bytes": sum(size(frame) for frame in snapshot),
        "snapshot_frame_max_bytes": max(size(frame) for frame in snapshot),
        "one_message_bytes": size(whole),
        "largest_frame_bytes": max(size(frame) for frame in frames),
        "within_spec": all(size(frame) <= SPEC_BYTES for frame in frames),
    }
