"""Every canvas shape, run by a real worker, gives exactly the expected tree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from celery import chain, chord, group
from django.contrib.auth.models import User

from realtime_tasks.exceptions import CanvasError
from realtime_tasks.models import UserTaskStatus
from realtime_tasks.testing import root_of, wait_for_tree
from tests.tasks import plain, step

pytestmark = [pytest.mark.services, pytest.mark.core, pytest.mark.django_db(transaction=True)]

CHAIN, GROUP, CHORD = "celery.chain", "celery.group", "celery.chord"


def tree_of(root: UserTaskStatus) -> dict[str, Any]:
    """The tree under ``root`` as nested dicts, children in order, from one query."""
    records = list(UserTaskStatus.objects.filter(root_id=root.uuid).order_by("position"))
    children: dict[Any, list[UserTaskStatus]] = {}
    for record in records:
        children.setdefault(record.parent_id, []).append(record)

    def node(record: UserTaskStatus) -> dict[str, Any]:
        return {
            "class": record.task_class,
            "name": record.name,
            "state": record.state,
            "steps": (record.completed_steps, record.total_steps),
            "children": [node(child) for child in children.get(record.pk, [])],
        }

    return node(root)


def leaf(steps: int = 1, state: str = "Succeeded", done: int | None = None) -> dict[str, Any]:
    done = steps if done is None else done
    return {"class": "tests.step", "name": "Step", "state": state, "steps": (done, steps), "children": []}


def box(kind: str, *children: dict[str, Any], name: str = "", state: str = "Succeeded") -> dict[str, Any]:
    return {
        "class": kind,
        "name": name,
        "state": state,
        "steps": (sum(c["steps"][0] for c in children), sum(c["steps"][1] for c in children)),
        "children": list(children),
    }


def shape_of(tree: dict[str, Any]) -> tuple[Any, ...]:
    """What ``tree`` looks like as soon as it is published: its classes, names and totals."""
    return (tree["class"], tree["name"], tree["steps"][1], [shape_of(child) for child in tree["children"]])


def pending(tree: dict[str, Any]) -> dict[str, Any]:
    """``tree`` as it must be when published: nothing done yet."""
    return {
        **tree,
        "state": "Pending",
        "steps": (0, tree["steps"][1]),
        "children": [pending(child) for child in tree["children"]],
    }


Canvas = Callable[[Callable[..., Any]], Any]

SHAPES: dict[str, tuple[Canvas, dict[str, Any]]] = {
    "chain": (
        lambda s: chain(s(2), s(1), s(3)),
        box(CHAIN, leaf(2), leaf(1), leaf(3)),
    ),
    "pipe_operator_with_result_passing": (
        lambda s: s(1, immutable=False) | s(2, immutable=False) | s(1, immutable=False),
        box(CHAIN, leaf(1), leaf(2), leaf(1)),
    ),
    "group": (
        lambda s: group(s(1), s(2), s(3)),
        box(GROUP, leaf(1), leaf(2), leaf(3)),
    ),
    "chord": (
        lambda s: chord([s(1), s(2)], s(3)),
        box(CHORD, box(GROUP, leaf(1), leaf(2)), leaf(3)),
    ),
    "group_pipe_task_is_a_chord": (
        lambda s: group(s(1), s(1)) | s(2),
        box(CHORD, box(GROUP, leaf(1), leaf(1)), leaf(2)),
    ),
    "group_of_chains": (
        lambda s: group(chain(s(1), s(2)), chain(s(3), s(1))),
        box(GROUP, box(CHAIN, leaf(1), leaf(2)), box(CHAIN, leaf(3), leaf(1))),
    ),
    "chain_with_group_runs_as_chord": (
        lambda s: chain(s(1), group(s(2), s(2)), s(1)),
        box(CHAIN, leaf(1), box(CHORD, box(GROUP, leaf(2), leaf(2)), leaf(1))),
    ),
    "chain_ending_in_group": (
        lambda s: chain(s(1), group(s(2), s(3))),
        box(CHAIN, leaf(1), box(GROUP, leaf(2), leaf(3))),
    ),
    "two_groups_in_a_chain_nest_from_the_end": (
        lambda s: chain(group(s(1), s(1)), group(s(2), s(2)), s(3)),
        box(CHORD, box(GROUP, leaf(1), leaf(1)), box(CHORD, box(GROUP, leaf(2), leaf(2)), leaf(3))),
    ),
    "one_task_group_in_chain_is_unrolled": (
        lambda s: chain(s(1), group(s(2)), s(3)),
        box(CHAIN, leaf(1), leaf(2), leaf(3)),
    ),
    "nested_chain_is_spliced": (
        lambda s: chain(s(1), chain(s(2), s(3))),
        box(CHAIN, leaf(1), leaf(2), leaf(3)),
    ),
    "chord_with_chain_body": (
        lambda s: chord([s(1), s(2)], chain(s(3), s(1))),
        box(CHORD, box(GROUP, leaf(1), leaf(2)), box(CHAIN, leaf(3), leaf(1))),
    ),
    "chain_of_chords": (
        lambda s: chain(chord([s(1), s(2)], s(1)), chord([s(2), s(2)], s(3))),
        box(
            CHAIN,
            box(CHORD, box(GROUP, leaf(1), leaf(2)), leaf(1)),
            box(CHORD, box(GROUP, leaf(2), leaf(2)), leaf(3)),
        ),
    ),
    "group_inside_group": (
        lambda s: group(group(s(1), s(2)), s(3)),
        box(GROUP, box(GROUP, leaf(1), leaf(2)), leaf(3)),
    ),
    "chord_inside_group": (
        lambda s: group(chord([s(1), s(1)], s(2)), s(3)),
        box(GROUP, box(CHORD, box(GROUP, leaf(1), leaf(1)), leaf(2)), leaf(3)),
    ),
    "untracked_tasks_count_for_nothing": (
        lambda s: chain(s(2), plain.si(), group(plain.si(), s(1), plain.si()), plain.si()),
        box(CHAIN, leaf(2), box(CHORD, box(GROUP, leaf(1)))),
    ),
    "chain_of_chords_of_groups": (
        lambda s: chain(
            chord([group(s(1), s(2)), s(1)], s(1)),
            chord([chain(s(1), s(1)), group(s(2), s(2))], chain(s(1), s(3))),
        ),
        box(
            CHAIN,
            box(CHORD, box(GROUP, box(GROUP, leaf(1), leaf(2)), leaf(1)), leaf(1)),
            box(
                CHORD,
                box(GROUP, box(CHAIN, leaf(1), leaf(1)), box(GROUP, leaf(2), leaf(2))),
                box(CHAIN, leaf(1), leaf(3)),
            ),
        ),
    ),
}


@pytest.fixture
def user() -> User:
    return User.objects.create_user("ada")


@pytest.mark.parametrize("shape", SHAPES)
def test_every_canvas_shape_gives_the_expected_tree(shape: str, user: User, celery_worker: Any) -> None:
    build, expected = SHAPES[shape]

    def s(steps: int, immutable: bool = True) -> Any:
        signature = step.si if immutable else step.s
        return signature(user_id=user.pk, steps=steps)

    build(s).apply_async()
    root = UserTaskStatus.objects.get(parent=None)
    assert shape_of(tree_of(root)) == shape_of(expected)
    finished = tree_of(wait_for_tree(root))
    assert finished == expected
    assert UserTaskStatus.objects.filter(root_id=root.uuid).exclude(user=user).count() == 0


def test_records_exist_with_totals_before_any_task_starts(user: User) -> None:
    """Publishing without a worker: the whole tree is there, pending, with its totals."""
    canvas = chain(
        step.si(user_id=user.pk, steps=2), group(step.si(user_id=user.pk, steps=3) for _ in range(3))
    )
    root = root_of(canvas.apply_async())
    assert tree_of(root) == pending(box(CHAIN, leaf(2), box(GROUP, leaf(3), leaf(3), leaf(3))))


def test_container_name_is_the_first_user_task_name_in_canvas_order(user: User, celery_worker: Any) -> None:
    canvas = group(
        step.si(user_id=user.pk),
        chain(step.si(user_id=user.pk), step.si(user_id=user.pk, user_task_name="Prepare report for Ada")),
        step.si(user_id=user.pk, user_task_name="Later name"),
    )
    tree = tree_of(wait_for_tree(root_of(canvas.apply_async())))
    assert tree["name"] == "Prepare report for Ada"
    assert tree["children"][1]["name"] == "Prepare report for Ada"
    assert [child["name"] for child in tree["children"][1]["children"]] == ["Step", "Step"]


def test_delay_and_call_publish_like_apply_async(user: User, celery_worker: Any) -> None:
    by_delay = root_of(group(step.si(user_id=user.pk), step.si(user_id=user.pk)).delay())
    by_call = root_of(chord([step.si(user_id=user.pk)])(step.si(user_id=user.pk, steps=2)))
    assert tree_of(wait_for_tree(by_delay)) == box(GROUP, leaf(), leaf())
    assert tree_of(wait_for_tree(by_call)) == box(CHORD, box(GROUP, leaf()), leaf(2))


def test_single_task_gets_one_root_record(user: User, celery_worker: Any) -> None:
    result = step.delay(user_id=user.pk, steps=4)
    record = wait_for_tree(UserTaskStatus.objects.get(task_id=result.id))
    assert (record.parent_id, record.root_id, record.state) == (None, record.uuid, "Succeeded")
    assert (record.completed_steps, record.total_steps, record.task_class) == (4, 4, "tests.step")


def test_canvas_mixing_users_is_refused_before_publishing(user: User) -> None:
    other = User.objects.create_user("bob")
    canvas = group(step.si(user_id=user.pk), step.si(user_id=other.pk))
    with pytest.raises(CanvasError, match="must belong to one user"):
        canvas.apply_async()
    assert not UserTaskStatus.objects.exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: group(step.si(steps=1), step.si(steps=1)), "must include a user_id"),
        (lambda: chain(step.si(user_id=987654), step.si(user_id=987654)), "Invalid user_id"),
        (lambda: group(step.si(user_id="ada"), step.si(user_id="ada")), "Invalid user_id"),
    ],
)
def test_canvas_with_bad_user_is_refused(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(CanvasError, match=message):
        make().apply_async()
    assert not UserTaskStatus.objects.exists()
