"""``manage.py serve`` runs gunicorn and the task worker, and never leaves either behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")

STARTUP_LIMIT = 60  # seconds; generous for slow CI machines, never a timing assertion


@pytest.fixture(scope="module")
def serve_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Production-like settings on a fresh, migrated SQLite database in a temp directory."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SECRET_KEY"}}
    env["OPENIPT_VAR_DIR"] = str(tmp_path_factory.mktemp("serve-var"))
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, f"http://127.0.0.1:{port}/health/"


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    process.kill()
    pytest.fail(f"serve did not answer {url}:\n{log.read_text()}")


def _child_pids(log: Path) -> dict[str, int]:
    found = re.findall(r"Started the (web server|task worker) \(pid (\d+)\)", log.read_text())
    return {name: int(pid) for name, pid in found}


def _live_processes_in_session(session_id: int) -> list[int]:
    """Every running process in a child's session: gunicorn's own workers included."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, session = fields[0], int(fields[3])
        if session == session_id and state != "Z":
            pids.append(int(stat.parent.name))
    return pids


def test_ctrl_c_stops_web_server_and_worker_and_exits_zero(serve_env, tmp_path):
    log = tmp_path / "serve.log"
    process, url = _start_serve(serve_env, log)
    _wait_until_healthy(process, url, log)
    children = _child_pids(log)
    assert set(children) == {"web server", "task worker"}

    process.send_signal(signal.SIGINT)

    assert process.wait(timeout=STARTUP_LIMIT) == 0, log.read_text()
    for pid in children.values():
        assert _live_processes_in_session(pid) == [], log.read_text()


def test_sigterm_also_stops_cleanly(serve_env, tmp_path):
    log = tmp_path / "serve.log"
    process, url = _start_serve(serve_env, log)
    _wait_until_healthy(process, url, log)
    children = _child_pids(log)

    process.terminate()

    assert process.wait(timeout=STARTUP_LIMIT) == 0, log.read_text()
    for pid in children.values():
        assert _live_processes_in_session(pid) == []


def test_a_worker_that_dies_is_started_again_and_the_site_stays_up(serve_env, tmp_path):
    log = tmp_path / "serve.log"
    process, url = _start_serve(serve_env, log)
    _wait_until_healthy(process, url, log)
    first = _child_pids(log)["task worker"]

    os.kill(first, signal.SIGKILL)

    deadline = time.monotonic() + STARTUP_LIMIT
    while _child_pids(log)["task worker"] == first and time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        time.sleep(0.2)
    second = _child_pids(log)["task worker"]
    assert second != first, log.read_text()
    assert "task worker exited with status -9; starting it again in 1 s" in log.read_text()
    _wait_until_healthy(process, url, log)
    assert _live_processes_in_session(second) != []
    process.terminate()
    assert process.wait(timeout=STARTUP_LIMIT) == 0, log.read_text()
    assert _live_processes_in_session(second) == []


def test_when_the_worker_keeps_dying_serve_stops_the_web_server_and_fails(serve_env, tmp_path):
    log = tmp_path / "serve.log"
    process, url = _start_serve({**serve_env, "OPENIPT_SERVE_MAX_RESTARTS": "0"}, log)
    _wait_until_healthy(process, url, log)
    children = _child_pids(log)

    os.kill(children["task worker"], signal.SIGKILL)

    assert process.wait(timeout=STARTUP_LIMIT) != 0
    assert "task worker kept stopping unexpectedly" in log.read_text()
    assert _live_processes_in_session(children["web server"]) == []
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)  # noqa: S310 - local URL
