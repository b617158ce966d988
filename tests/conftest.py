from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    # The processes the tests start log there, from the first test on (a fresh clone has no such folder).
    (ROOT / "test-artifacts").mkdir(exist_ok=True)


@pytest.fixture(autouse=True, scope="session")
def flush_retries_deadlocks() -> Iterator[None]:
    """The test database is emptied between transactional tests while the shared worker may still write a
    previous test's last events (a task that went on after its test's assertions). When the emptying and such
    a batch lock each other's tables, PostgreSQL aborts one of them; if it aborts the emptying, it is tried
    again (the writer, aborted, writes its batch again by itself)."""
    from django.db.backends.base.operations import BaseDatabaseOperations
    from django.db.utils import OperationalError

    execute_sql_flush = BaseDatabaseOperations.execute_sql_flush

    def retrying(self: BaseDatabaseOperations, sql_list: list[str]) -> None:
        for attempt in range(5):
            try:
                execute_sql_flush(self, sql_list)
                return
            except OperationalError as error:
                if "deadlock detected" not in str(error) or attempt == 4:
                    raise

    BaseDatabaseOperations.execute_sql_flush = retrying  # type: ignore[method-assign]
    yield
    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]


def _missing_services() -> list[str]:
    missing = []
    try:
        with redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1) as client:
            client.ping()
    except redis.RedisError as error:
        missing.append(f"Redis at {settings.REDIS_URL} ({error})")
    if not os.environ.get("DATABASE_URL"):
        missing.append("PostgreSQL (DATABASE_URL is not set: the tests run on SQLite)")
    return missing


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _missing_services()
    if not missing:
        return
    needing = [item for item in items if item.get_closest_marker("services")]
    if not needing:
        return
    reason = "needs " + " and ".join(missing)
    if os.environ.get("REALTIME_TASKS_REQUIRE_SERVICES") == "1":
        raise pytest.UsageError(f"{len(needing)} tests {reason}, and services are required here (CI).")
    banner = "!" * 100
    config.get_terminal_writer().line(
        f"\n{banner}\nSKIPPING {len(needing)} TESTS: {reason}\n{banner}", red=True
    )
    for item in needing:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    with redis.Redis.from_url(settings.REDIS_URL) as client:
        yield client


@pytest.fixture
def idle_queue(redis_client: redis.Redis) -> Iterator[str]:
    """A queue no worker reads: what is published there stays Pending; emptied afterwards."""
    name = f"realtime-tasks-idle-{os.getpid()}"
    yield name
    redis_client.delete(name)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: Any, django_db_blocker: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker: a prefork pool of 4 processes, on its own queue, using the test database."""
    from tests.tasks import ping

    worker = start_worker_process("main", concurrency=4)
    try:
        assert ping.delay().get(timeout=60) == "pong"
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def process_env(**extra: str) -> dict[str, str]:
    """The environment of a worker or server process started by the tests: the run's database and queue."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "REALTIME_TASKS_WORKER_DATABASE": str(connection.settings_dict["NAME"]),
        "REALTIME_TASKS_TEST_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        **extra,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, server: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Wait until ``server`` listens on ``port``; fail with its log if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"nothing listens on port {port}:\n{log.read_text()}"
            time.sleep(0.1)


def start_worker_process(
    name: str, concurrency: int, queue: str | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A real Celery worker process with a prefork pool, logging to test-artifacts/worker-<name>.log (its log
    records also to worker-<name>.jsonl, see tests/logrecords.py).

    ``env`` adds to the environment of ``process_env()``.
    """
    command = [sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker", "--pool", "prefork"]
    command += ["--concurrency", str(concurrency), "--queues", queue or settings.CELERY_TASK_DEFAULT_QUEUE]
    command += ["--loglevel", "warning", "--hostname", f"{name}@%h"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    records = str(ROOT / "test-artifacts" / f"worker-{name}.jsonl")
    env = {"REALTIME_TASKS_TEST_LOG_RECORDS": records, **(env or {})}
    with open(ROOT / "test-artifacts" / f"worker-{name}.log", "ab") as log:
        return subprocess.Popen(
            command, cwd=ROOT, env=process_env(**env), stdout=log, stderr=subprocess.STDOUT
        )


def start_daphne(
    port: int | None = None, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """daphne serving the tests' ASGI application, on ``port`` or a free one, logging to
    test-artifacts/daphne-<port>.log (new, or added to when ``port`` is given: a restart), and its log
    records to daphne-<port>.jsonl; returns it once it listens, with its port."""
    mode = "wb" if port is None else "ab"
    port = port or free_port()
    log = ROOT / "test-artifacts" / f"daphne-{port}.log"
    records = ROOT / "test-artifacts" / f"daphne-{port}.jsonl"
    if mode == "wb":
        records.unlink(missing_ok=True)
    env = {"REALTIME_TASKS_TEST_LOG_RECORDS": str(records), **(env or {})}
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "tests.asgi:application"]
    with open(log, mode) as output:
        server = subprocess.Popen(
            command, cwd=ROOT, env=process_env(**env), stdout=output, stderr=subprocess.STDOUT
        )
    wait_for_port(port, server, log)
    return server, port


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that the test may stop and start."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen([*command, "--dir", str(self.directory)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with redis.Redis.from_url(self.url) as client:
                    client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the private redis did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server program")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``manage.py demo`` on a free port, embedded (SQLite, no Redis); its address. Stopped with Ctrl-C."""
    tmp_path = tmp_path_factory.mktemp("demo")
    port = free_port()
    env = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    command = [sys.executable, "example_project/manage.py", "demo", "--port", str(port)]
    with open(tmp_path / "demo.log", "wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, server, tmp_path / "demo.log")
    yield f"127.0.0.1:{port}"
    # Ctrl-C stops it cleanly.
    server.send_signal(signal.SIGINT)
    assert server.wait(timeout=20) == 0, (tmp_path / "demo.log").read_text()
