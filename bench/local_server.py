"""gunicorn on 127.0.0.1 for the benchmark scripts: started on a free port, always stopped.

Shared by ``bench/run.py`` and ``bench/portal_weight.py``; never binds anything but loopback.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

HOST = "127.0.0.1"  # the only address the benchmarks ever talk to
BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(workers: int, var_dir: Path) -> Iterator[int]:
    """gunicorn on 127.0.0.1:<free port>; always stopped on exit."""
    port = free_port()
    log = var_dir / "gunicorn.log"
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"{HOST}:{port}", "--workers", str(workers), "--worker-class", "sync",
        "--log-level", "warning", "--error-logfile", str(log),
    ]  # fmt: skip
    proc = subprocess.Popen(command, cwd=BASE_DIR, env=os.environ.copy(), start_new_session=True)
    try:
        wait_until_ready(proc, port, log)
        yield port
    finally:
        stop(proc)


def wait_until_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited early; see {log}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health/", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer /health/ within 60 s; see {log}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # our own child's process group only
        proc.wait()
