"""The real worker, in its own process: killed mid-task, its task still finishes exactly
once; its database connection ended under it, it stays up and takes the next task.

Each test gets its own database, as a separate machine would: a SQLite file in a temporary
folder, or — when the suite runs on PostgreSQL — a scratch database of its own on the same
server, dropped afterwards. Only that scratch database's sessions are ever ended.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from openipt.core.tests.worker_tasks import runs

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")

SERVER_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = SERVER_URL.startswith(("postgres://", "postgresql://"))
LIMIT = 90  # seconds to wait for a process to get somewhere; never a timing assertion
_numbers = itertools.count()
_scratch: list[str] = []

ENQUEUE = (
    "import sys; from openipt.core.tests.worker_tasks import note_run; "
    "print(note_run.enqueue(sys.argv[-1]).id)"
)
ROW = (
    "import json, sys; from django_tasks_db.models import DBTaskResult as R; "
    "r = R.objects.get(pk=sys.argv[-1]); "
    "print(json.dumps({'status': r.status, 'workers': r.worker_ids}))"
)
RECLAIM = (
    "import json; from openipt.core.tasks import reclaim_stalled_tasks as t; "
    "print(json.dumps(t.call()))"
)


def _server(sql: str, *params: object) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(SERVER_URL, autocommit=True) as connection:
        cursor = connection.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="module", autouse=True)
def _drop_scratch_databases() -> Iterator[None]:
    yield
    while _scratch:
        _server(f'DROP DATABASE IF EXISTS "{_scratch.pop()}" WITH (FORCE)')


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, str]:
    """Production settings on a fresh, migrated database of the test's own."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SECRET_KEY"}}
    env.update(
        OPENIPT_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="config.settings",
        OPENIPT_TASKS_BACKEND="django_tasks_db.DatabaseBackend",
    )
    if ON_POSTGRES:
        name = f"openipt_worker_{os.getpid()}_{next(_numbers)}"
        _server(f'DROP DATABASE IF EXISTS "{name}"')
        _server(f'CREATE DATABASE "{name}"')
        _scratch.append(name)
        env["DATABASE_URL"] = SERVER_URL.rsplit("/", 1)[0] + "/" + name
    manage(env, "migrate", "--noinput", "-v0")
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _shell(env: dict[str, str], code: str, *argv: str) -> str:
    return manage(env, "shell", "-v0", "-c", f"import sys; sys.argv += {list(argv)!r}; {code}")


def _row(env: dict[str, str], task_id: str) -> dict[str, object]:
    return json.loads(_shell(env, ROW, task_id))  # type: ignore[no-any-return]


def _start(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _wait_for(what: Callable[[], bool], log: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + LIMIT
    while not what():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"gave up waiting (exit {process.poll()}):\n{log.read_text()}")
        time.sleep(0.2)


WORKER = ("task_worker", "--no-reload", "--no-startup-delay", "--queue-name", "*")


def test_a_task_whose_worker_was_killed_is_reclaimed_and_finishes_exactly_once(machine, tmp_path):
    (tmp_path / "hold").touch()
    task_id = _shell(machine, ENQUEUE, str(tmp_path))
    log = tmp_path / "worker.log"
    worker = _start(machine, log, *WORKER, "--worker-id", "the-first-worker")
    _wait_for(lambda: runs(tmp_path) == ["started"], log, worker)

    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=LIMIT) == -signal.SIGKILL
    assert _row(machine, task_id) == {"status": "RUNNING", "workers": ["the-first-worker"]}
    (tmp_path / "hold").unlink()

    within_lease = _shell(machine, RECLAIM)
    assert json.loads(within_lease) == {"requeued": [], "failed": []}
    reclaimed = _shell({**machine, "OPENIPT_TASK_LEASE_SECONDS": "0"}, RECLAIM)
    assert json.loads(reclaimed) == {"requeued": [task_id], "failed": []}

    second = _start(machine, log, *WORKER, "--batch", "--worker-id", "the-second-worker")
    assert second.wait(timeout=LIMIT) == 0, log.read_text()
    assert _row(machine, task_id) == {
        "status": "SUCCESSFUL",
        "workers": ["the-first-worker", "the-second-worker"],
    }
    assert runs(tmp_path) == ["started", "started", "finished"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local URL
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def _started(log: Path, child: str) -> list[int]:
    return [int(pid) for pid in re.findall(rf"Started the {child} \(pid (\d+)\)", log.read_text())]


@pytest.mark.skipif(not ON_POSTGRES, reason="ends PostgreSQL sessions; SQLite has none")
def test_the_worker_and_the_site_outlive_the_database_ending_their_sessions(machine, tmp_path):
    log = tmp_path / "serve.log"
    port = _free_port()
    ready = f"http://127.0.0.1:{port}/ready/"
    env = {**machine, "OPENIPT_PERIODIC_SECONDS": "1"}
    serve = _start(env, log, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1")
    try:
        _wait_for(lambda: _status(ready) == 200, log, serve)
        [worker_pid] = _started(log, "task worker")

        scratch = machine["DATABASE_URL"].rsplit("/", 1)[1]
        ended = _server(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            scratch,
        )
        assert ended  # the sessions of the web server, the worker and the scheduler

        _shell(machine, ENQUEUE, str(tmp_path))
        _wait_for(lambda: runs(tmp_path) == ["started", "finished"], log, serve)
        _wait_for(lambda: _status(ready) == 200, log, serve)
        # The same worker process carried on. Whether it logged a reconnect depends on when
        # its connection was ended: between polls, the connection health check
        # (CONN_HEALTH_CHECKS) opens a new one before the next query and nothing fails.
        assert _started(log, "task worker") == [worker_pid], log.read_text()
    finally:
        serve.terminate()
        serve.wait(timeout=LIMIT)
