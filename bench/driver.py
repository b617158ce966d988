"""One contender's publisher and client, run in the contender's own virtualenv by the benchmark:
``python -m bench.driver plain|rt|old|ut`` (``old``: the realtime driver, run with the old write path's
package first on PYTHONPATH).

It reads one JSON command a line (``{"cmd": "overhead", ...}``) and answers each with one line
``RESULT {...}``. Times are ``time.time()`` of this machine, compared with those the workers report.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import time
import traceback
import uuid
from typing import Any

from celery import chain, group

from bench import marks
from bench.stats import delays


def timed(call: Any, times: int) -> list[float]:
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        spent.append(time.perf_counter() - start)
    return spent


class Plain:
    """Plain Celery: no records; progress goes to the result backend."""

    def __init__(self) -> None:
        from bench import plain_app

        self.work = plain_app.work
        self.user_id = 0

    def overhead(self, shape: str, n: int, steps: int, timeout: float) -> dict[str, Any]:
        """Publish a group of ``n`` tasks of ``steps`` progress steps, or a chain of ``n``; time it to the
        end of the last task."""
        run = uuid.uuid4().hex
        calls = [self.work.si(user_id=self.user_id, steps=steps, run=run) for _ in range(n)]
        canvas = chain(*calls) if shape == "chain" else group(calls)
        mark = self.mark()
        start = time.time()
        result = canvas.apply_async()
        published = time.time()
        done = marks.wait(run, "done", n, timeout)
        return {
            "publish": published - start,
            "finished": max(done) - start,
            **self.seen_end(result, start, mark),
        }

    def flood(self, n: int, timeout: float) -> dict[str, Any]:
        """One task reporting ``n`` progress steps as fast as it can."""
        run = uuid.uuid4().hex
        mark = self.mark()
        result = self.work.apply_async(
            kwargs={"user_id": self.user_id, "steps": n, "run": run, "report": True}
        )
        [report] = marks.wait(run, "report", 1, timeout)
        return {
            "per_second": n / (report["end"] - report["start"]),
            **self.seen_flood(result, report, n, mark),
        }

    def mark(self) -> int:
        return 0

    def seen_end(self, result: Any, start: float, mark: int) -> dict[str, Any]:
        return {}

    def seen_flood(self, result: Any, report: dict[str, Any], n: int, mark: int) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


class DjangoCelery(Plain):
    """Plain Celery set up through a Django project's settings, no tracker (``bench.dj_app``)."""

    def __init__(self) -> None:
        from bench import dj_app

        self.work = dj_app.work
        self.user_id = 0


class UserTasks(Plain):
    """django-user-tasks 4.0.0, in its own virtualenv."""

    def __init__(self) -> None:
        from bench import ut_app  # sets Django up first

        from django.contrib.auth.models import User  # isort: skip

        self.work = ut_app.work
        self.user_id = User.objects.get_or_create(username="bench")[0].pk

    def seen_end(self, result: Any, start: float, mark: int) -> dict[str, Any]:
        """What django-user-tasks recorded: the canvas's top record, its state and its number of records."""
        from user_tasks.models import UserTaskStatus

        record = UserTaskStatus.objects.get(task_id=result.id)
        top = record if record.is_container else record.parent
        records = 1 + UserTaskStatus.objects.filter(parent=top).count()
        return {"top": f"{top.task_class} {top.state}", "records": records}

    def size(self, sizes: list[int], updates: int, repeats: int) -> list[dict[str, Any]]:
        """Queries and time of one leaf's progress step in a group of n siblings."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from user_tasks.models import UserTaskStatus

        rows = []
        for n in sizes:
            parent = UserTaskStatus.objects.create(
                user_id=self.user_id,
                task_id=str(uuid.uuid4()),
                is_container=True,
                task_class="celery.group",
                name="group",
                total_steps=n,
            )
            UserTaskStatus.objects.bulk_create(
                UserTaskStatus(
                    user_id=self.user_id,
                    task_id=str(uuid.uuid4()),
                    parent=parent,
                    task_class=self.work.name,
                    name="work",
                    total_steps=1,
                )
                for _ in range(n)
            )
            leaf = UserTaskStatus.objects.filter(parent=parent).first()
            with CaptureQueriesContext(connection) as queries:
                leaf.increment_completed_steps()
            rows.append(
                {
                    "n": n,
                    "queries": len(queries),
                    "sql": [q["sql"][:120] for q in queries],
                    "update": timed(leaf.increment_completed_steps, updates),
                }
            )
        return rows


class Realtime(Plain):
    """django-realtime-tasks, with a WebSocket client connected through daphne all along."""

    def __init__(self) -> None:
        from bench import rt_app  # sets Django up first

        from bench import clients  # isort: skip
        from django.contrib.auth.models import User  # isort: skip
        from realtime_tasks.models import UserTaskStatus  # isort: skip

        self.work, self.fan, self.clients, self.Status = rt_app.work, rt_app.fan, clients, UserTaskStatus
        self.user = User.objects.get_or_create(username="bench")[0]
        self.user_id = self.user.pk
        self.port, self.daphne = int(os.environ["BENCH_DAPHNE_PORT"]), int(os.environ["BENCH_DAPHNE_PID"])
        [self.cookie] = clients.session_cookies([self.user])
        self.listener = clients.Listener(self.port, self.cookie)

    def mark(self) -> int:
        return len(self.listener.frames)

    def seen_end(self, result: Any, start: float, mark: int) -> dict[str, Any]:
        root = self.Status.objects.get(task_id=result.id).root
        seen = self.listener.wait(str(root.uuid), lambda r: r["state"] == "Succeeded", mark, timeout=60)
        root.refresh_from_db()  # as the frame showed it: the writer may end the tree after the last task
        records = self.Status.objects.filter(root__uuid=root.uuid).count()
        return {"last_frame": seen - start, "top": f"{root.task_class} {root.state}", "records": records}

    def seen_flood(self, result: Any, report: dict[str, Any], n: int, mark: int) -> dict[str, Any]:
        record = str(self.Status.objects.get(task_id=result.id).uuid)
        final = self.listener.wait(record, lambda r: r["completed_steps"] >= n, mark, timeout=60)
        frames = [at for at, _ in self.listener.seen(record, mark) if report["start"] <= at <= final]
        return {
            "frames_per_second": len(frames) / (final - report["start"]),
            "final_delay": final - report["end"],
        }

    def latency(self, updates: int, interval: float, warmup: int, timeout: float) -> dict[str, Any]:
        """One task reporting a step every ``interval`` s; how long until the WebSocket client, and a page
        polling the JSON API every 500 ms, show it."""
        run = uuid.uuid4().hex
        mark = self.mark()
        kwargs = {"user_id": self.user_id, "steps": updates, "interval": interval, "run": run, "report": True}
        result = self.work.apply_async(kwargs=kwargs)
        record = str(self.Status.objects.get(task_id=result.id).uuid)
        poller = self.clients.Poller(self.port, self.cookie, record)
        [report] = marks.wait(run, "report", 1, timeout)
        time.sleep(1.0)  # the last frame and the next poll
        poller.stop()
        made = [(at, k + 1) for k, at in enumerate(report["times"])][warmup:]
        frames = [(at, r["completed_steps"]) for at, r in self.listener.seen(record, mark)]
        polls = [
            (at, r["completed_steps"])
            for at, a in poller.answers
            for r in a["records"]
            if r["uuid"] == record
        ]
        calls = [back - at for at, back in zip(report["times"], report["returned"], strict=True)][warmup:]
        return {
            "ws": delays(made, frames),
            "poll": delays(made, polls),
            "polls": len(poller.answers),
            "call": calls,
        }

    def size(self, sizes: list[int], updates: int, repeats: int) -> list[dict[str, Any]]:
        """For a group of n tasks: queries and time of a leaf's step, the snapshot and the admin page."""
        from django.contrib.auth.models import User
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from realtime_tasks.canvas import record_canvas
        from realtime_tasks.serializers import serialize_trees, user_snapshot

        admin = User.objects.get_or_create(
            username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
        )[0]
        browser = Client()
        browser.force_login(admin)
        rows = []
        for n in sizes:
            owner = User.objects.create(username=f"size-{n}-{uuid.uuid4().hex[:8]}")
            canvas = group(self.work.si(user_id=owner.pk) for _ in range(n))
            [build] = timed(lambda: record_canvas(canvas), 1)  # noqa: B023
            root = self.Status.objects.get(user=owner, parent=None)
            leaf = self.Status.objects.filter(parent=root).first()
            with CaptureQueriesContext(connection) as queries:
                leaf.increment_completed_steps()
            url = f"/admin/realtime_tasks/usertaskstatus/{root.uuid}/tree/"

            def page() -> None:
                response = browser.get(url)  # noqa: B023
                assert response.status_code == 200, response.status_code
                page.size = len(response.content)  # type: ignore[attr-defined]

            rows.append(
                {
                    "n": n,
                    "build": build,
                    "queries": len(queries),
                    "sql": [q["sql"][:120] for q in queries],
                    "update": timed(leaf.increment_completed_steps, updates),
                    "serialize_trees": timed(lambda: serialize_trees([root.uuid]), repeats),  # noqa: B023
                    "user_snapshot": timed(lambda: user_snapshot(owner), repeats),  # noqa: B023
                    "admin_page": timed(page, repeats),
                    "admin_page_bytes": page.size,  # type: ignore[attr-defined]
                }
            )
        return rows

    def fleet_tree(self, leaves: int) -> dict[str, Any]:
        """Record a group of ``leaves`` tasks for ``bench fleet``."""
        from bench import fleet

        return fleet.tree(self.work, leaves)

    def fleet_run(self, root: str, processes: int, batched: bool, timeout: float) -> dict[str, Any]:
        """Apply the tree's leaf events from ``processes`` processes (bench/fleet.py)."""
        from bench import fleet

        return fleet.run(root, processes, batched, timeout)

    def fanout(self, clients: int, rate: float, seconds: float, timeout: float) -> dict[str, Any]:
        """``clients`` users each with a WebSocket on the one daphne and a record of their own; workers step
        the records in turn, ``rate`` a second in all. Latency per step, and daphne's memory."""
        import asyncio

        from django.contrib.auth.hashers import make_password
        from django.contrib.auth.models import User

        tag = uuid.uuid4().hex[:8]
        password = make_password(None)
        users = User.objects.bulk_create(
            User(username=f"fan-{tag}-{i}", password=password) for i in range(clients)
        )
        records = []
        for user in users:
            record = self.Status(
                user=user, task_id=uuid.uuid4().hex, task_class="bench.fan", total_steps=10**9
            )
            record.root_id = record.uuid
            records.append(record)
        self.Status.objects.bulk_create(records)
        cookies = self.clients.session_cookies(users)
        return asyncio.run(self._fanout(cookies, [str(r.uuid) for r in records], rate, seconds, timeout))

    async def _fanout(
        self, cookies: list[str], uuids: list[str], rate: float, seconds: float, timeout: float
    ) -> dict[str, Any]:
        import asyncio

        warm = self.clients.Crowd(self.port, cookies[:10])
        await warm.open()
        await warm.close()
        await asyncio.sleep(1.0)
        rss_before = rss(self.daphne)
        crowd = self.clients.Crowd(self.port, cookies)
        started = time.time()
        await crowd.open()
        opened = time.time() - started
        await asyncio.sleep(2.0)
        rss_after = rss(self.daphne)
        run = uuid.uuid4().hex
        for half in (uuids[0::2], uuids[1::2]):
            self.fan.apply_async(kwargs={"uuids": half, "rate": rate / 2, "seconds": seconds, "run": run})
        reports = await asyncio.to_thread(marks.wait, run, "report", 2, timeout)
        await asyncio.sleep(1.0)
        rss_end = rss(self.daphne)
        await crowd.close()
        made: dict[str, list[tuple[float, int]]] = {record: [] for record in uuids}
        for record, steps, at in (step for sent in reports for step in sent):
            made[record].append((at, steps))
        found: list[float | None] = []
        for record, frames in zip(uuids, crowd.frames, strict=True):
            seen = [
                (at, r["completed_steps"])
                for at, f in frames
                for r in f.get("records", [])
                if r["uuid"] == record
            ]
            found += delays(made[record], seen)
        return {
            "delays": [d for d in found if d is not None],
            "lost": sum(d is None for d in found),
            "open_seconds": opened,
            "rss_before": rss_before,
            "rss_after": rss_after,
            "rss_end": rss_end,
        }

    def close(self) -> None:
        self.listener.close()


def rss(pid: int) -> int:
    """Resident memory of process ``pid``, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def versions(driver: Plain) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0], "protocol": driver.work.app.conf.task_protocol}
    tracker = {Realtime: ["django-realtime-tasks"], UserTasks: ["django-user-tasks"]}.get(type(driver), [])
    for package in ("celery", "django", *tracker):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    if isinstance(driver, Realtime):
        # Which package this contender runs: the old write path's copy or the repository's.
        import realtime_tasks

        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        found["realtime_tasks"] = os.path.relpath(realtime_tasks.__file__ or "?", root)
    return found


def main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    drivers = {
        "plain": Plain,
        "dj": DjangoCelery,
        "rt": Realtime,
        "old": Realtime,
        "ut": UserTasks,
        "w05": Realtime,
    }
    driver = drivers[sys.argv[1]]()
    print("RESULT " + json.dumps(versions(driver)), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        try:
            result = getattr(driver, command.pop("cmd"))(**command)
        except Exception:  # reported to the benchmark, which stops
            result = {"error": traceback.format_exc()}
        print("RESULT " + json.dumps(result), flush=True)
    driver.close()


if __name__ == "__main__":
    main()
