"""The benchmarks, on the orchestrating side: what to run, in which order, and the tables.

Contenders alternate within every repetition (the order rotates), so that a noisy neighbour hurts them alike;
ratios are taken per repetition, then their median.
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench import marks
from bench.runner import BASELINE_COMMIT, Activity, Session, settle, xact_commit
from bench.stats import median, percentile, summary

LABELS = {
    "plain": "plain Celery",
    "dj": "plain Celery in a Django project",
    "rt": "django-realtime-tasks",
    "old": f"django-realtime-tasks, old write path ({BASELINE_COMMIT})",
    "ut": "django-user-tasks",
    "w05": "django-realtime-tasks, broadcast window 0.05 s (the default before e3d10fd)",
}
# The processes whose CPU time the overhead benchmark counts: the contender's own (its driver publishes and,
# for this app, holds the WebSocket client; a worker's pool processes count with it) and the shared servers.
CPU_ROLES = ("driver", "worker", "daphne", "PostgreSQL", "Redis")
# Issue 10's limits for the last task finished, against plain Celery (the goal is 1.3x for all three).
OVERHEAD_LIMITS = {"one-step": 1.5, "progress": 1.3, "chain": 2.0}


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def goal(text: str, ok: bool) -> str:
    return f"- goal {text}: {'met' if ok else 'MISSED'}"


def rotated(keys: list[str], rep: int) -> list[str]:
    return keys[rep % len(keys) :] + keys[: rep % len(keys)]


def relative(values: dict[str, list[float]], key: str, base: str) -> float:
    """The median over the repetitions of ``key``'s value divided by ``base``'s."""
    return median([a / b for a, b in zip(values[key], values[base], strict=True)])


def ratios(values: dict[str, list[float]], key: str, base: str) -> str:
    if key == base or base not in values:
        return "1" if key == base else "n/a"
    return summary([v / b for v, b in zip(values[key], values[base], strict=True)]) + "x"


def overhead(session: Session, quick: bool, reps: int | None = None) -> tuple[str, Any]:
    """Tracking overhead: publish time and time to the last task finished, per canvas shape."""
    n, chain_n = (20, 5) if quick else (1000, 100)
    reps = 1 if quick else reps or 5
    shapes = [
        ("group", n, 0, f"group of {n:,} one-step tasks"),
        ("group", n, 10, f"group of {n:,} tasks, 10 progress steps each"),
        ("chain", chain_n, 0, f"chain of {chain_n:,} tasks"),
    ]
    limits = dict(zip([label for *_, label in shapes], OVERHEAD_LIMITS.values(), strict=True))
    keys = list(session.contenders)
    # Warm every contender up at a fifth of the measured size: connections, imports, threads, and the code
    # paths and database pages of a big tree (bench/README.md, "How it measures").
    for key in keys:
        session.ask(key, "overhead", shape="group", n=max(n // 5, 10), steps=1, timeout=300)
    raw: dict[str, dict[str, list[dict[str, float]]]] = {label: {k: [] for k in keys} for *_, label in shapes}
    for rep in range(reps):
        for shape, size, steps, label in shapes:
            for key in rotated(keys, rep):
                settle()
                before = session.cpu(key)
                result = session.ask(key, "overhead", shape=shape, n=size, steps=steps, timeout=900)
                after = session.cpu(key)
                result["cpu"] = {role: round(used - before[role], 3) for role, used in after.items()}
                raw[label][key].append(result)
                print(f"  {label}, {LABELS[key]}: {result}", flush=True)
    rows, cpu_rows = [], []
    finished = {label: {k: [r["finished"] for r in raw[label][k]] for k in keys} for *_, label in shapes}
    # The CPU time of each run, all its processes together.
    cpu = {label: {k: [sum(r["cpu"].values()) for r in raw[label][k]] for k in keys} for *_, label in shapes}
    for *_, label in shapes:
        published = {k: [r["publish"] for r in raw[label][k]] for k in keys}
        for key in keys:
            frames = [r["last_frame"] for r in raw[label][key] if "last_frame" in r]
            rows.append(
                [
                    label,
                    LABELS[key],
                    summary(published[key]),
                    ratios(published, key, "plain"),
                    summary(finished[label][key]),
                    ratios(finished[label], key, "plain"),
                    summary(frames) if frames else "-",
                ]
            )
            spent = [r["cpu"] for r in raw[label][key]]
            by_role = [summary([s[role] for s in spent]) if role in spent[0] else "-" for role in CPU_ROLES]
            total = [summary(cpu[label][key]), ratios(cpu[label], key, "plain")]
            cpu_rows.append([label, LABELS[key], *by_role, *total])
    header = [
        "canvas",
        "contender",
        "publish (s)",
        "publish vs plain",
        "last task finished (s)",
        "finished vs plain",
        "client saw the end (s)",
    ]
    goals = []
    for *_, label in shapes:
        if "plain" in keys:
            ratio = relative(finished[label], "rt", "plain")
            limit = limits[label]
            goals.append(goal(f"{label}: within {limit}x of plain Celery ({ratio:.2f}x)", ratio <= limit))
            if limit != 1.3:
                goals.append(goal(f"{label}: within the goal of 1.3x ({ratio:.2f}x)", ratio <= 1.3))
            goals.append(f"- {label}: {relative(cpu[label], 'rt', 'plain'):.2f}x plain Celery's CPU time")
        if "dj" in keys:
            ratio = relative(finished[label], "rt", "dj")
            goals.append(f"- {label}: {ratio:.2f}x plain Celery's time in a Django project (tracking alone)")
        if "w05" in keys:
            ratio = relative(finished[label], "rt", "w05")
            goals.append(f"- {label}: {ratio:.2f}x the time with the broadcast window at 0.05 s")
        if "old" in keys:
            ratio = relative(finished[label], "rt", "old")
            goals.append(goal(f"{label}: faster than the old write path ({ratio:.2f}x its time)", ratio < 1))
        if "ut" in keys:
            ratio = relative(finished[label], "rt", "ut")
            goals.append(goal(f"{label}: faster than django-user-tasks ({ratio:.2f}x its time)", ratio < 1))
    cpu_header = ["canvas", "contender", *(f"{role} (s)" for role in CPU_ROLES), "all (s)", "all vs plain"]
    text = table(header, rows) + "\n\nCPU time per run, by process:\n\n" + table(cpu_header, cpu_rows)
    return text + "\n\n" + "\n".join(goals), raw


def latency(session: Session, quick: bool, reps: int | None = None) -> tuple[str, Any]:
    """A progress step in a worker until a client shows it: WebSocket through daphne, and polling."""
    updates, warmup = (15, 3) if quick else (200, 3)
    reps = 1 if quick else reps or 3
    raw = [
        session.ask("rt", "latency", updates=updates, interval=0.1, warmup=warmup, timeout=120)
        for _ in range(reps)
    ]
    for result in raw:
        print(
            f"  never seen: ws {result['ws'].count(None)}, poll {result['poll'].count(None)}; "
            f"polls {result['polls']}"
        )
    rows = []
    for key, label in (
        ("ws", "WebSocket through daphne (this app)"),
        ("poll", "polling the JSON API every 500 ms"),
    ):
        runs = [[d for d in r[key] if d is not None] for r in raw]
        cells = [summary([percentile(run, p) for run in runs], 1000, 1) for p in (50, 99, 100)]
        lost = sum(r[key].count(None) for r in raw)
        rows.append([label, *cells, sum(len(run) for run in runs), lost])
    calls = [r["call"] for r in raw]
    rows.append(
        [
            "(the worker's increment_completed_steps() call alone: lock, update, commit, announce)",
            *(summary([percentile(c, p) for c in calls], 1000, 1) for p in (50, 99, 100)),
            sum(map(len, calls)),
            "-",
        ]
    )
    header = ["client", "p50 (ms)", "p99 (ms)", "max (ms)", "updates", "never seen"]
    ws = [[d for d in r["ws"] if d is not None] for r in raw]
    p50, p99 = (median([percentile(run, p) for run in ws]) * 1000 for p in (50, 99))
    goals = [goal(f"p50 <= 5 ms ({p50:.1f} ms)", p50 <= 5), goal(f"p99 <= 20 ms ({p99:.1f} ms)", p99 <= 20)]
    return table(header, rows) + "\n\n" + "\n".join(goals), raw


def flood(session: Session, quick: bool, reps: int | None = None) -> tuple[str, Any]:
    """One task reporting progress as fast as it can."""
    n = 300 if quick else 10_000
    reps = 1 if quick else reps or 2
    keys = list(session.contenders)
    raw: dict[str, list[dict[str, float]]] = {k: [] for k in keys}
    for rep in range(reps):
        for key in rotated(keys, rep):
            raw[key].append(session.ask(key, "flood", n=n, timeout=600))
            print(f"  {LABELS[key]}: {raw[key][-1]}", flush=True)
    rows = []
    rates = {k: [r["per_second"] for r in raw[k]] for k in keys}
    for key in keys:
        frames = [r["frames_per_second"] for r in raw[key] if "frames_per_second" in r]
        final = [r["final_delay"] for r in raw[key] if "final_delay" in r]
        rows.append(
            [
                LABELS[key],
                summary(rates[key], 1, 0),
                ratios(rates, key, "plain"),
                summary(frames, 1, 1) if frames else "-",
                summary(final, 1000, 1) if final else "-",
            ]
        )
    header = [
        f"contender ({n:,} steps)",
        "steps/s in the worker",
        "vs plain",
        "frames/s at the client",
        "last step → exact final frame (ms)",
    ]
    rate, final = median(rates["rt"]), median([r["final_delay"] for r in raw["rt"]]) * 1000
    goals = [
        goal(f">= 2,000 steps/s on PostgreSQL ({rate:.0f}/s)", rate >= 2000),
        goal(f"exact final frame <= 100 ms after the last step ({final:.1f} ms)", final <= 100),
    ]
    return table(header, rows) + "\n\n" + "\n".join(goals), raw


def fanout(session: Session, quick: bool, reps: int | None = None) -> tuple[str, Any]:
    """Many clients on one daphne, each its own user, each getting its own record's steps."""
    clients, rate, seconds = (20, 20, 2) if quick else (1000, 200, 20)
    reps = 1 if quick else reps or 1
    raw = [
        session.ask("rt", "fanout", clients=clients, rate=rate, seconds=seconds, timeout=300)
        for _ in range(reps)
    ]
    rows = []
    for rep, r in enumerate(raw):
        delays = r["delays"]
        # Only a fresh daphne shows the memory of the connections: later crowds reuse what the first freed.
        memory = f"{(r['rss_after'] - r['rss_before']) / clients / 1024:.1f}" if rep == 0 else "(reused)"
        rows.append(
            [
                clients,
                f"{rate}/s for {seconds} s",
                len(delays),
                r["lost"],
                *(f"{percentile(delays, p) * 1000:.1f}" for p in (50, 99, 100)),
                f"{r['rss_before'] / 2**20:.0f} → {r['rss_after'] / 2**20:.0f} ({r['rss_end'] / 2**20:.0f})",
                memory,
                f"{r['open_seconds']:.1f}",
            ]
        )
    header = [
        "clients",
        "steps",
        "frames",
        "lost",
        "p50 (ms)",
        "p99 (ms)",
        "max (ms)",
        "daphne RSS MiB before → after (end)",
        "KB per connection",
        "connect all (s)",
    ]
    p99 = median([percentile(r["delays"], 99) for r in raw]) * 1000
    memory = (raw[0]["rss_after"] - raw[0]["rss_before"]) / clients / 1024
    goals = [
        goal(f"p99 <= 100 ms ({p99:.1f} ms)", p99 <= 100),
        goal(f"<= 50 KB per connection ({memory:.1f} KB)", memory <= 50),
    ]
    return table(header, rows) + "\n\n" + "\n".join(goals), raw


def size(session: Session, quick: bool, reps: int | None = None) -> tuple[str, Any]:
    """Cost by tree size: one leaf's step, the snapshot, the admin tree page."""
    sizes, updates = ([10, 300], 5) if quick else ([10, 10_000], 50)
    repeats = 1 if quick else reps or 5
    keys = [key for key in ("rt", "old", "ut") if key in session.contenders]
    raw: dict[str, Any] = {
        key: session.ask(key, "size", sizes=sizes, updates=updates, repeats=repeats) for key in keys
    }
    rows = []
    for key, results in raw.items():
        for r in results:
            rows.append(
                [
                    LABELS[key],
                    f"{r['n']:,}",
                    r["queries"],
                    summary(r["update"], 1000, 2),
                    *(
                        summary(r[m], 1000, 1) if m in r else "-"
                        for m in ("serialize_trees", "user_snapshot", "admin_page")
                    ),
                    f"{r['admin_page_bytes'] / 2**20:.1f} MiB" if "admin_page_bytes" in r else "-",
                    f"{r['build'] * 1000:.0f}" if "build" in r else "-",
                ]
            )
    header = [
        "contender",
        "siblings",
        "queries per leaf step",
        "leaf step (ms)",
        "serialize_trees (ms)",
        "user_snapshot (ms)",
        "admin tree page (ms)",
        "page size",
        "records created (ms)",
    ]
    small, big = raw["rt"][0], raw["rt"][-1]
    goals = [
        goal(
            f"as many queries per leaf step at {small['n']:,} as at {big['n']:,} siblings "
            f"({small['queries']} and {big['queries']})",
            small["queries"] == big["queries"],
        )
    ]
    for measure in ("serialize_trees", "user_snapshot", "admin_page"):
        spent = median(big[measure])
        goals.append(goal(f"{measure} of {big['n'] + 1:,} records < 1 s ({spent:.2f} s)", spent < 1))
    per_task, raw["per_task"] = per_task_work(session, keys, 20 if quick else 500)
    return table(header, rows) + "\n\n" + per_task + "\n\n" + "\n".join(goals), raw


def per_task_work(session: Session, keys: list[str], n: int) -> tuple[str, dict[str, Any]]:
    """What a tracked task costs the worker in database work: a group of ``n`` one-step tasks through each
    contender's worker, with the connections, statements and transactions its processes counted."""
    raw = {}
    for key in keys:
        before = marks.counts(key)
        result = session.ask(key, "overhead", shape="group", n=n, steps=0, timeout=600)
        time.sleep(1.0)  # the workers' counts reach Redis every 0.2 s
        after = marks.counts(key)
        raw[key] = {name: after[name] - before[name] for name in after} | {"run": result}
        print(f"  {n:,} one-step tasks, {LABELS[key]}: {raw[key]}", flush=True)
    rows = [
        [
            LABELS[key],
            f"{r['queries'] / n:.2f}",
            f"{r['transactions'] / n:.2f}",
            f"{r['connections'] / n:.2f}",
            r["run"].get("records", "-"),
        ]
        for key, r in raw.items()
    ]
    header = [
        f"contender (group of {n:,} one-step tasks, in the worker)",
        "queries per task",
        "transactions per task",
        "connections opened per task",
        "records",
    ]
    return table(header, rows), raw


def fleet(session: Session, quick: bool, reps: int | None = None) -> tuple[str, Any]:
    """One tree's leaf events (start, success) applied by 1 to 8 processes at once, no Celery: events per
    second, transactions per event, lock waits; the tree checked exact."""
    leaves, counts = (200, [1, 2]) if quick else (10_000, [1, 2, 4, 8])
    if os.environ.get("BENCH_FLEET_PROCESSES"):  # e.g. "8": one process count again
        counts = [int(n) for n in os.environ["BENCH_FLEET_PROCESSES"].split(",")]
    keys = [key for key in ("old", "rt") if key in session.contenders]
    raw: dict[str, dict[int, dict[str, Any]]] = {key: {} for key in keys}
    for rep, processes in enumerate(counts):
        for key in rotated(keys, rep):
            database = session.contenders[key].database
            assert database is not None
            tree = session.ask(key, "fleet_tree", leaves=leaves)
            time.sleep(1.0)  # the driver's statistics reach pg_stat_database
            commits = xact_commit(database)
            activity = Activity(database)
            result = session.ask(
                key, "fleet_run", root=tree["root"], processes=processes, batched=key != "old", timeout=1800
            )
            samples = activity.stop()
            time.sleep(1.0)  # the exited processes' statistics
            result["transactions"] = xact_commit(database) - commits
            during = [s for s in samples if result["start"] <= s[0] <= result["end"]]
            result["samples"] = len(during)
            result["active"] = sum(s[1] for s in during)
            result["waiting"] = sum(s[2] for s in during)
            result["build"] = tree["build"]
            raw[key][processes] = result
            brief = {k: v for k, v in result.items() if k != "spans"}
            print(f"  {LABELS[key]}, {processes} processes: {brief}", flush=True)
    rows = []
    for key in keys:
        for processes, r in raw[key].items():
            wall = max(r["end"] - r["start"], 1e-9)
            rate = r["events"] / wall
            base = raw["old"].get(processes) if "old" in raw else None
            exact = (
                r["state"] == "Succeeded"
                and r["completed"] == r["total"] == r["leaves"] == r["leaves_succeeded"]
                and r["children_left"] == 0
                and r["stopped_records"] == r["stopped_signals"] == r["leaves"] + 1
            )
            rows.append(
                [
                    LABELS[key],
                    processes,
                    f"{rate:,.0f}",
                    "1"
                    if base is None or key == "old"
                    else f"{rate / (base['events'] / (base['end'] - base['start'])):.1f}x",
                    f"{r['transactions'] / max(r['events'], 1):.3f}",
                    f"{100 * r['waiting'] / max(r['active'], 1):.0f}%",
                    f"{r['waiting'] / max(r['samples'], 1):.2f}",
                    f"{r['cpu'] / wall:.2f}",
                    f"{r['state']}, {r['completed']:,}/{r['total']:,}, stopped {r['stopped_signals']:,}"
                    + ("" if exact else " NOT EXACT"),
                ]
            )
    header = [
        f"design ({leaves:,} leaves, 2 events each)",
        "processes",
        "events/s",
        "vs old",
        "transactions per event",
        "active sessions waiting on a lock",
        "sessions waiting on a lock (mean)",
        "processes' CPU s per s",
        "tree at the end (group, steps, user_task_stopped)",
    ]
    goals = []
    if "rt" in raw:
        worst = max(r["waiting"] / max(r["active"], 1) for r in raw["rt"].values())
        goals.append(
            goal(f"lock waits near zero (at most {100 * worst:.0f}% of active sessions)", worst <= 0.05)
        )
        rates = [r["events"] / (r["end"] - r["start"]) for r in raw["rt"].values()]
        goals.append(
            goal("more processes never slower than one", min(rates[1:], default=rates[0]) >= rates[0])
        )
    return table(header, rows) + "\n\n" + "\n".join(goals), raw


BENCHMARKS = {
    "overhead": overhead,
    "latency": latency,
    "flood": flood,
    "size": size,
    "fanout": fanout,
    "fleet": fleet,
}
CONTENDERS = {
    "overhead": ["plain", "dj", "rt", "old", "ut"],
    "latency": ["rt"],
    "flood": ["plain", "rt", "ut"],
    "size": ["rt", "old", "ut"],
    "fanout": ["rt"],
    "fleet": ["rt", "old"],
}
