"""The five benchmarks, on the orchestrating side: what to run, in which order, and the tables.

Contenders alternate within every repetition (the order rotates), so that a noisy neighbour hurts them alike;
ratios are taken per repetition, then their median.
"""

from __future__ import annotations

from typing import Any

from bench.runner import Session
from bench.stats import median, percentile, summary

LABELS = {"plain": "plain Celery", "rt": "django-realtime-tasks", "ut": "django-user-tasks"}


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def goal(text: str, ok: bool) -> str:
    return f"- goal {text}: {'met' if ok else 'MISSED'}"


def rotated(keys: list[str], rep: int) -> list[str]:
    return keys[rep % len(keys) :] + keys[: rep % len(keys)]


def ratios(values: dict[str, list[float]], key: str, base: str) -> str:
    if key == base or base not in values:
        return "1" if key == base else "n/a"
    return summary([v / b for v, b in zip(values[key], values[base], strict=True)]) + "x"


def overhead(session: Session, quick: bool, reps: int | None = None) -> tuple[str, Any]:
    """Tracking overhead: publish time and time to the last task finished, per canvas shape."""
    n, chain_n = (20, 5) if quick else (1000, 100)
    reps = 1 if quick else reps or 3
    shapes = [
        ("group", n, 0, f"group of {n:,} one-step tasks"),
        ("group", n, 10, f"group of {n:,} tasks, 10 progress steps each"),
        ("chain", chain_n, 0, f"chain of {chain_n:,} tasks"),
    ]
    keys = list(session.contenders)
    for key in keys:  # warm the workers up: connections, imports, the broadcaster's thread
        session.ask(key, "overhead", shape="group", n=10, steps=1, timeout=120)
    raw: dict[str, dict[str, list[dict[str, float]]]] = {label: {k: [] for k in keys} for *_, label in shapes}
    for rep in range(reps):
        for shape, size, steps, label in shapes:
            for key in rotated(keys, rep):
                result = session.ask(key, "overhead", shape=shape, n=size, steps=steps, timeout=900)
                raw[label][key].append(result)
                print(f"  {label}, {LABELS[key]}: {result}", flush=True)
    rows = []
    for *_, label in shapes:
        published = {k: [r["publish"] for r in raw[label][k]] for k in keys}
        finished = {k: [r["finished"] for r in raw[label][k]] for k in keys}
        for key in keys:
            frames = [r["last_frame"] for r in raw[label][key] if "last_frame" in r]
            rows.append(
                [
                    label,
                    LABELS[key],
                    summary(published[key]),
                    ratios(published, key, "plain"),
                    summary(finished[key]),
                    ratios(finished, key, "plain"),
                    summary(frames) if frames else "-",
                ]
            )
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
        finished = {k: [r["finished"] for r in raw[label][k]] for k in keys}
        rt = finished["rt"]
        if "plain" in finished:
            ratio = median([a / b for a, b in zip(rt, finished["plain"], strict=True)])
            goals.append(goal(f"{label}: within 1.3x of plain Celery ({ratio:.2f}x)", ratio <= 1.3))
        if "ut" in finished:
            ratio = median([a / b for a, b in zip(rt, finished["ut"], strict=True)])
            goals.append(goal(f"{label}: faster than django-user-tasks ({ratio:.2f}x its time)", ratio < 1))
    return table(header, rows) + "\n\n" + "\n".join(goals), raw


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
    raw = {
        key: session.ask(key, "size", sizes=sizes, updates=updates, repeats=repeats)
        for key in ("rt", "ut")
        if key in session.contenders
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
    return table(header, rows) + "\n\n" + "\n".join(goals), raw


BENCHMARKS = {"overhead": overhead, "latency": latency, "flood": flood, "size": size, "fanout": fanout}
CONTENDERS = {
    "overhead": ["plain", "rt", "ut"],
    "latency": ["rt"],
    "flood": ["plain", "rt", "ut"],
    "size": ["rt", "ut"],
    "fanout": ["rt"],
}
