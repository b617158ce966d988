"""``python -m bench overhead|latency|flood|fanout|size|fleet|all [--quick]``: see bench/README.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import date

from bench import benchmarks, runner


def code() -> str:
    """The commit measured, and whether the app's code had uncommitted changes."""
    git = ["git", "-C", str(runner.ROOT)]
    head = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "realtime_tasks"], capture_output=True, text=True
    ).stdout
    return f"commit {head or '?'}" + (" with uncommitted changes in realtime_tasks/" if dirty.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=[*benchmarks.BENCHMARKS, "all"])
    parser.add_argument(
        "--quick", action="store_true", help="once, with tiny sizes: proves that it still runs"
    )
    parser.add_argument(
        "--reps", type=int, help="repetitions instead of the defaults (overhead 5, flood 2, ...)"
    )
    parser.add_argument(
        "--contenders",
        help="comma-separated, instead of each benchmark's own: plain, dj, rt, old, ut, and w05 (this app "
        "with the broadcast window's previous default, 0.05 s), e.g. plain,rt,w05",
    )
    args = parser.parse_args()
    # Stopped by a signal (a timeout, say), stop the processes started too: the session's exit does that.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    names = list(benchmarks.BENCHMARKS) if args.name == "all" else [args.name]
    if args.contenders:
        keys = args.contenders.split(",")
        unknown = set(keys) - benchmarks.LABELS.keys()
        if unknown:
            parser.error(f"unknown contenders {sorted(unknown)}: choose from {', '.join(benchmarks.LABELS)}")
    else:
        keys = [key for key in benchmarks.LABELS if any(key in benchmarks.CONTENDERS[n] for n in names)]
    contenders = runner.contenders(keys, install=not args.quick)
    started = time.monotonic()
    with runner.exclusive(), runner.Session(contenders) as session:
        print(f"# {date.today()}, {os.cpu_count()} cores, {platform.python_implementation()}, {code()}")
        for key, found in session.versions.items():
            print(f"- {benchmarks.LABELS[key]}: {found}")
        if "ut" in session.contenders:
            print("- django-user-tasks 4.0.0 only recognises chains in Celery's message protocol 1:")
            print("  its contender publishes with task_protocol = 1 (the others with 2, Celery's default).")
        results_dir = runner.ROOT / "bench" / ".results"
        results_dir.mkdir(exist_ok=True)
        for name in names:
            print(f"\n## {name}{' (quick)' if args.quick else ''}\n", flush=True)
            began = time.monotonic()
            text, raw = benchmarks.BENCHMARKS[name](session, args.quick, args.reps)
            print(f"\n{text}\n\n({time.monotonic() - began:.0f} s)", flush=True)
            suffix = "-quick" if args.quick else ""
            (results_dir / f"{name}{suffix}.json").write_text(
                json.dumps({"versions": session.versions, "raw": raw})
            )
    print(f"\ndone in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
