"""The orchestrating side: the comparison's virtualenv, the databases, the worker and daphne processes, and
one driver process per contender. Everything started here is stopped when the session ends."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "bench" / ".logs"
UT_VENV = ROOT / "bench" / ".venvs" / "user-tasks"
# The last commit with the old write path (one transaction per event, locking the lineage): the "old"
# contender runs that commit's realtime_tasks package, extracted into bench/.baseline/<commit>/ (git-ignored).
BASELINE_COMMIT = "3778059"
BASELINE = ROOT / "bench" / ".baseline" / BASELINE_COMMIT
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
# The servers the contenders share, by process name, whose CPU time is counted with a contender's own.
SERVERS = {"PostgreSQL": "postgres", "Redis": "redis-server"}
# What django-user-tasks 4.0.0 supports (Django 4.2 and 5.2), with this project's Celery and psycopg.
UT_REQUIREMENTS = [
    "django-user-tasks==4.0.0",
    "Django>=5.2,<5.3",
    f"celery[redis]=={version('celery')}",
    f"psycopg[binary]=={version('psycopg')}",
]


@dataclass
class Contender:
    key: str
    label: str
    python: Path
    app: str
    settings: str | None = None
    database: str | None = None
    # Directories put before the repository on PYTHONPATH (the old contender's realtime_tasks).
    path: tuple[Path, ...] = ()
    # Whether it pushes to WebSocket clients: a daphne of its own, with its settings and database.
    live: bool = False
    # The working directory of its processes. Celery's Django fix-up and daphne put it first on sys.path: the
    # old contender's is the directory holding its realtime_tasks, so that the repository's never wins.
    cwd: Path = ROOT
    # Environment variables of its processes that bench/settings.py reads: a setting measured side by side.
    settings_env: dict[str, str] = field(default_factory=dict)


def contenders(keys: list[str], install: bool) -> dict[str, Contender]:
    here = Path(sys.executable)
    known = {
        "plain": Contender("plain", "plain Celery", here, "bench.plain_app"),
        "dj": Contender("dj", "plain Celery in a Django project", here, "bench.dj_app", "bench.dj_settings"),
        "rt": Contender(
            "rt", "django-realtime-tasks", here, "bench.rt_app", "bench.settings", "bench_rt", live=True
        ),
        # Only when asked for (--contenders): today's package with the broadcast window's previous default.
        "w05": Contender(
            "w05",
            "django-realtime-tasks, broadcast window 0.05 s",
            here,
            "bench.rt_app",
            "bench.settings",
            "bench_rt_w05",
            live=True,
            settings_env={"BENCH_BROADCAST_WINDOW": "0.05"},
        ),
    }
    if "old" in keys:
        baseline = extract_baseline()
        if baseline is None:
            print(f"!!! the old write path ({BASELINE_COMMIT}) SKIPPED: its package could not be extracted")
            print("!!! from git (see above); the new design is measured without its baseline.")
        else:
            known["old"] = Contender(
                "old",
                f"django-realtime-tasks, old write path ({BASELINE_COMMIT})",
                here,
                "bench.rt_app",
                "bench.settings",
                "bench_rt_old",
                path=(baseline,),
                live=True,
                cwd=baseline,
            )
    if "ut" in keys:
        python = user_tasks_venv(install)
        if python is None:
            print("!!! django-user-tasks SKIPPED: bench/.venvs/user-tasks is not installed, and --quick")
            print("!!! installs nothing (run any benchmark without --quick once to install it).")
        else:
            known["ut"] = Contender(
                "ut", "django-user-tasks", python, "bench.ut_app", "bench.ut_settings", "bench_ut"
            )
    return {key: known[key] for key in keys if key in known}


def extract_baseline() -> Path | None:
    """bench/.baseline/<commit>/, holding that commit's realtime_tasks package (extracted once)."""
    if (BASELINE / "realtime_tasks" / "models.py").exists():
        return BASELINE
    partial = BASELINE.with_name(BASELINE.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BASELINE_COMMIT, "realtime_tasks"], capture_output=True
    )
    if archive.returncode != 0:
        print(archive.stderr.decode(errors="replace"), file=sys.stderr)
        return None
    subprocess.run(["tar", "-x", "-C", str(partial)], input=archive.stdout, check=True)
    partial.rename(BASELINE)
    return BASELINE


def user_tasks_venv(install: bool) -> Path | None:
    """bench/.venvs/user-tasks, installed from PyPI once (again when the requirements change)."""
    python = UT_VENV / "bin" / "python"
    stamp = UT_VENV / ".installed"
    wanted = "\n".join(UT_REQUIREMENTS)
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    if not install:
        return None
    base = getattr(sys, "_base_executable", None) or shutil.which("python3.12") or sys.executable
    print(f">>> installing {' '.join(UT_REQUIREMENTS)} into {UT_VENV.relative_to(ROOT)}", flush=True)
    subprocess.run([base, "-m", "venv", "--clear", str(UT_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *UT_REQUIREMENTS], check=True)
    stamp.write_text(wanted)
    return python


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """One session at a time on this machine: each flushes the Redis db and recreates the bench databases
    that another would be using (a ``make test`` beside a long run drops the run's databases)."""
    path = Path(tempfile.gettempdir()) / f"django-realtime-tasks-bench-{REDIS_URL.rsplit('/', 1)[-1]}.lock"
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f">>> another benchmark session holds {path}: waiting for it to end", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def settle(busy_below: float = 0.2, longest: float = 15.0) -> float:
    """Wait until this machine is quiet: its cores busy less than ``busy_below`` of the time over a quarter
    of a second (what the previous run left behind, PostgreSQL's autovacuum of the rows it wrote, say, would
    otherwise run beside the next one). At most ``longest`` seconds; returns how long it waited."""
    started = time.monotonic()
    before = _cpu_times()
    while time.monotonic() - started < longest:
        time.sleep(0.25)
        after = _cpu_times()
        total, idle = after[0] - before[0], after[1] - before[1]
        if total and (total - idle) / total < busy_below:
            break
        before = after
    return time.monotonic() - started


def _cpu_times() -> tuple[int, int]:
    """All the machine's CPU time so far and the idle part of it, in clock ticks (``/proc/stat``)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]  # idle and iowait


def process(pid: int) -> tuple[int, str, float]:
    """Process ``pid`` of this machine: its parent, its name (``comm``), and the CPU seconds it and its
    children that have ended used so far (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as stat:
        text = stat.read()
    name, fields = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return int(fields[1]), name, ticks / os.sysconf("SC_CLK_TCK")


def processes() -> dict[int, tuple[int, str, float]]:
    """Every process of this machine, as ``process()`` describes it."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):  # ended meanwhile
                found[int(entry)] = process(int(entry))
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def recreate_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def stop(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Stop a process this module started (in a session of its own), and whatever is left in its group."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Session:
    """Fresh databases and Redis db, a prefork worker (concurrency 2) per contender, one daphne, and the
    drivers. ``ask(contender, command, ...)`` runs a command in a contender's driver."""

    def __init__(self, contenders: dict[str, Contender]) -> None:
        self.contenders = contenders
        self.drivers: dict[str, subprocess.Popen[str]] = {}
        # Each contender's processes by role ("worker", "daphne", "driver"), counted with their descendants.
        self.pids: dict[str, dict[str, int]] = {}
        self.versions: dict[str, Any] = {}
        self.stack = contextlib.ExitStack()

    def __enter__(self) -> Session:
        try:
            self._start()
        except BaseException:
            self.stack.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stack.close()

    def env(self, contender: Contender, **extra: str) -> dict[str, str]:
        env = {**os.environ, "BENCH_REDIS_URL": REDIS_URL, "BENCH_CONTENDER": contender.key, **extra}
        paths = [*map(str, contender.path), str(ROOT), os.environ.get("PYTHONPATH")]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
        # Python puts the working directory first on sys.path for ``python -m``; without it, the PYTHONPATH
        # entries come first (the editable install's finder comes after them).
        env["PYTHONSAFEPATH"] = "1"
        env.pop("DJANGO_SETTINGS_MODULE", None)
        if contender.settings:
            env["DJANGO_SETTINGS_MODULE"] = contender.settings
        if contender.database:
            env["BENCH_DB"] = contender.database
        # Each contender its own queue and channel-layer prefix: their user ids collide across databases.
        env["BENCH_QUEUE"] = f"bench-{contender.key}"
        env["BENCH_ASGI_PREFIX"] = f"bench-asgi-{contender.key}"
        env.update(contender.settings_env)
        return env

    def spawn(
        self, name: str, command: list[str], env: dict[str, str], **options: Any
    ) -> subprocess.Popen[Any]:
        log = self.stack.enter_context(open(LOGS / f"{name}.log", "w"))  # noqa: SIM115
        options.setdefault("stdout", log)
        options.setdefault("cwd", ROOT)
        process = subprocess.Popen(command, env=env, stderr=log, start_new_session=True, **options)
        self.stack.callback(stop, process)
        return process

    def _start(self) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        # 1,000 WebSocket clients and their server: raise the soft limit of open files for every child.
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        broker = redis.Redis.from_url(REDIS_URL)
        broker.flushdb()
        for c in self.contenders.values():
            if c.database:
                recreate_database(c.database)
                migrate = [str(c.python), "-m", "django", "migrate", "-v", "0"]
                subprocess.run(migrate, cwd=c.cwd, env=self.env(c), check=True)
        workers = {}
        for c in self.contenders.values():
            command = [str(c.python), "-m", "celery", "-A", c.app, "worker", "--pool", "prefork"]
            command += ["--concurrency", "2", "--loglevel", "warning", "-n", f"bench-{c.key}@%h"]
            command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
            workers[c.key] = self.spawn(f"worker-{c.key}", command, self.env(c), cwd=c.cwd)
            self.pids[c.key] = {"worker": workers[c.key].pid}
        extra: dict[str, dict[str, str]] = {}
        for c in self.contenders.values():
            if not c.live:
                continue
            port = free_port()
            command = [
                str(c.python),
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "bench.asgi:application",
            ]
            name = "daphne" if c.key == "rt" else f"daphne-{c.key}"
            daphne = self.spawn(name, command, self.env(c), cwd=c.cwd)
            extra[c.key] = {"BENCH_DAPHNE_PORT": str(port), "BENCH_DAPHNE_PID": str(daphne.pid)}
            self.pids[c.key]["daphne"] = daphne.pid
            self._wait(lambda port=port: _listening(port), daphne, name)
        for key, worker in workers.items():
            self._wait(lambda key=key: broker.exists(f"bench:ready:{key}"), worker, f"worker {key}")
        for c in self.contenders.values():
            command = [str(c.python), "-m", "bench.driver", c.key]
            pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True, "bufsize": 1}
            env = self.env(c, **extra.get(c.key, {}))
            self.drivers[c.key] = self.spawn(f"driver-{c.key}", command, env, cwd=c.cwd, **pipes)
            self.pids[c.key]["driver"] = self.drivers[c.key].pid
        for key in self.drivers:
            self.versions[key] = self._answer(key)

    def _wait(self, ready: Any, process: subprocess.Popen[Any], name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: see bench/.logs/")
            time.sleep(0.1)

    def cpu(self, key: str) -> dict[str, float]:
        """The CPU seconds used so far by contender ``key``'s processes (each with its descendants: a worker's
        pool processes) and by this machine's PostgreSQL and Redis servers, which the contenders share: their
        part is the difference over one contender's run, when no other runs."""
        table = processes()
        children: dict[int, list[int]] = {}
        for pid, (parent, _, _) in table.items():
            children.setdefault(parent, []).append(pid)
        used = {}
        for role, top in self.pids[key].items():
            pids, used[role] = [top], 0.0
            while pids:
                pid = pids.pop()
                used[role] += table[pid][2] if pid in table else 0.0
                pids += children.get(pid, [])
        for role, name in SERVERS.items():
            used[role] = sum(seconds for _, comm, seconds in table.values() if comm == name)
        return used

    def ask(self, key: str, command: str, **arguments: Any) -> Any:
        driver = self.drivers[key]
        assert driver.stdin is not None
        driver.stdin.write(json.dumps({"cmd": command, **arguments}) + "\n")
        driver.stdin.flush()
        return self._answer(key)

    def _answer(self, key: str) -> Any:
        driver = self.drivers[key]
        assert driver.stdout is not None
        for line in driver.stdout:
            if line.startswith("RESULT "):
                result = json.loads(line.removeprefix("RESULT "))
                if isinstance(result, dict) and "error" in result:
                    raise RuntimeError(f"the {key} driver failed:\n{result['error']}")
                return result
            sys.stderr.write(line)
        raise RuntimeError(f"the {key} driver exited: see bench/.logs/driver-{key}.log")


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Activity(threading.Thread):
    """Samples ``pg_stat_activity`` for one database every ``period`` seconds, from the orchestrator's own
    connection (to the admin database, so it is not counted): per sample, the time, the client sessions
    running a statement, and how many of them wait for a lock (``wait_event_type = 'Lock'``)."""

    def __init__(self, database: str, period: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.database, self.period = database, period
        self.samples: list[tuple[float, int, int]] = []
        self.stopping = threading.Event()
        self.start()

    def run(self) -> None:
        query = (
            "SELECT count(*) FILTER (WHERE state = 'active'),"
            " count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock')"
            " FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'"
        )
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            while not self.stopping.is_set():
                row = connection.execute(query, [self.database]).fetchone()
                assert row is not None
                self.samples.append((time.time(), int(row[0]), int(row[1])))
                self.stopping.wait(self.period)

    def stop(self) -> list[tuple[float, int, int]]:
        self.stopping.set()
        self.join()
        return self.samples


def xact_commit(database: str) -> int:
    """Transactions committed in ``database`` so far (as far as the statistics have been flushed)."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        row = connection.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [database]
        ).fetchone()
        assert row is not None
        return int(row[0])
