"""gunicorn on 127.0.0.1 for the benchmark scripts: started on a free port, always stopped.

Shared by ``bench/run.py`` and ``bench/portal_weight.py``; never binds anything but loopback.
``gunicorn()`` also serves the reference project (``bench/floor/``) with the same command
line, and reads the server processes' CPU time from ``/proc``.
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
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"  # the only address the benchmarks ever talk to
BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    port: int
    pid: int  # the gunicorn master; its workers are its children

    def cpu_seconds(self) -> float:
        """User + system CPU time so far of the master and its live workers."""
        return sum(process_cpu_seconds(pid) for pid in (self.pid, *child_pids(self.pid)))


@contextmanager
def server(workers: int, var_dir: Path) -> Iterator[int]:
    """OpenIPT (config.wsgi) on 127.0.0.1:<free port>; always stopped on exit."""
    with gunicorn(workers, var_dir) as running:
        yield running.port


@contextmanager
def gunicorn(
    workers: int,
    var_dir: Path,
    app: str = "config.wsgi:application",
    env: dict[str, str] | None = None,
    log_name: str = "gunicorn.log",
) -> Iterator[Server]:
    """``app`` under gunicorn on 127.0.0.1:<free port>, answering /health/; always stopped.

    Every app the benchmarks serve gets this same command line (workers, worker class, no
    threads), so the only difference between them is the application.
    """
    port = free_port()
    log = var_dir / log_name
    command = [
        sys.executable, "-m", "gunicorn", app,
        "--bind", f"{HOST}:{port}", "--workers", str(workers), "--worker-class", "sync",
        "--log-level", "warning", "--error-logfile", str(log),
    ]  # fmt: skip
    environment = os.environ.copy() if env is None else env
    proc = subprocess.Popen(command, cwd=BASE_DIR, env=environment, start_new_session=True)
    try:
        wait_until_ready(proc, port, log)
        wait_for_workers(proc.pid, workers)
        yield Server(port=port, pid=proc.pid)
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


def wait_for_workers(master: int, workers: int) -> None:
    """The first answer comes from one worker; wait (briefly) until all of them are up."""
    deadline = time.monotonic() + 10
    while len(child_pids(master)) < workers and time.monotonic() < deadline:
        time.sleep(0.1)


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid``, from the parent field of every /proc/<pid>/stat."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _stat_fields(int(entry.name))[1:2] == [str(pid)]:
            children.append(int(entry.name))
    return children


def _stat_fields(pid: int) -> list[str]:
    """Fields 3 onwards of /proc/<pid>/stat (stat(5)); empty if the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    return stat[stat.rindex(")") + 2 :].split()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float:
    """utime + stime (fields 14 and 15) of one process; 0 if it is gone."""
    fields = _stat_fields(pid)
    if len(fields) < 13:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # our own child's process group only
        proc.wait()
