"""``manage.py serve``: the production web server and the background-task worker together.

Starts gunicorn (never ``runserver``), the background-task worker (``task_worker``:
django-tasks-db's worker that reconnects after a database restart) and the periodic
scheduler as child processes. Ctrl-C or SIGTERM stops them all and exits 0.

A child that exits on its own (the worker killed for want of memory, say) is started again
after a pause that doubles with each quick failure (1, 2, 4 ... at most 30 seconds; a child
that ran for a minute starts the count afresh). Only a child that keeps failing —
``OPENIPT_SERVE_MAX_RESTARTS`` times within five minutes (default 5) — makes serve stop
everything and exit non-zero, so that a supervisor (systemd, a container runtime) notices.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from openipt.core.env import env_int, env_str

DEFAULT_BIND = "127.0.0.1:8000"
DEFAULT_WEB_WORKERS = 2
# How long children get to finish in-flight requests and tasks before they are killed.
GRACE_SECONDS = 30
POLL_SECONDS = 0.2
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 30.0
RESTART_WINDOW = 300.0  # seconds in which failures count towards giving up
STABLE_SECONDS = 60.0  # a child that ran this long before it died starts the pauses afresh
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """On Linux, ask the kernel to stop the child if serve itself is killed (no orphans)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Command(BaseCommand):
    help = "Serve OpenIPT with gunicorn and run the background-task worker."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--bind",
            default=env_str("OPENIPT_BIND", DEFAULT_BIND),
            help="Address to listen on (default: $OPENIPT_BIND or %(default)s).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=env_int("OPENIPT_WEB_WORKERS", DEFAULT_WEB_WORKERS),
            help="Web worker processes (default: $OPENIPT_WEB_WORKERS or %(default)s).",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start the background-task worker (run it elsewhere).",
        )

    def handle(self, *args: Any, bind: str, workers: int, no_worker: bool, **options: Any) -> None:
        self._stop_signal: int | None = None
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._commands: dict[str, list[str]] = {}
        self._started: dict[str, float] = {}
        self._failures: dict[str, list[float]] = {}
        self._max_restarts = env_int("OPENIPT_SERVE_MAX_RESTARTS", 5)
        stop_signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in stop_signals}
        try:
            self._start("web server", self._web_command(bind, workers))
            if not no_worker:
                self._start("task worker", self._worker_command())
                self._start("task scheduler", self._scheduler_command())
            self.stdout.write(f"OpenIPT is serving on http://{bind}/ (Ctrl-C to stop)")
            died = self._wait()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if died is not None:
            raise CommandError(f"The {died} kept stopping unexpectedly; everything was shut down.")
        self.stdout.write("OpenIPT stopped.")

    def _web_command(self, bind: str, workers: int) -> list[str]:
        wsgi_module, _, wsgi_name = settings.WSGI_APPLICATION.rpartition(".")
        return [
            sys.executable, "-m", "gunicorn", f"{wsgi_module}:{wsgi_name}",
            "--bind", bind,
            "--workers", str(workers),
            "--graceful-timeout", str(GRACE_SECONDS - 5),
            "--access-logfile", "-",
            "--no-control-socket",  # one per host would collide between instances
        ]  # fmt: skip

    def _worker_command(self) -> list[str]:
        manage = str(settings.BASE_DIR / "manage.py")
        return [sys.executable, manage, "task_worker", "--no-reload", "--queue-name", "*"]

    def _scheduler_command(self) -> list[str]:
        manage = str(settings.BASE_DIR / "manage.py")
        every = str(settings.OPENIPT_PERIODIC_SECONDS)
        return [sys.executable, manage, "periodic", "--every", every]

    def _start(self, name: str, command: list[str]) -> None:
        process = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            command,
            cwd=settings.BASE_DIR,
            start_new_session=True,  # Ctrl-C reaches serve only; serve stops the children
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self._children[name] = process
        self._commands[name] = command
        self._started[name] = time.monotonic()
        self.stdout.write(f"Started the {name} (pid {process.pid}).")
        self.stdout.flush()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stop_signal is not None:
            self._kill_all()  # a second Ctrl-C: do not wait any longer
        self._stop_signal = signum

    def _wait(self) -> str | None:
        """Block until a stop signal (returns None) or a child that keeps failing (returns
        its name); restart any other child that exits, after its pause."""
        restart_at: dict[str, float] = {}
        while self._stop_signal is None:
            now = time.monotonic()
            for name, process in list(self._children.items()):
                if name in restart_at:
                    if now >= restart_at[name]:
                        del restart_at[name]
                        self._start(name, self._commands[name])
                    continue
                if process.poll() is None:
                    continue
                pause = self._pause_after_failure(name, now)
                if pause is None:
                    self.stderr.write(
                        f"The {name} exited with status {process.returncode} and keeps "
                        f"failing; giving up."
                    )
                    return name
                self.stderr.write(
                    f"The {name} exited with status {process.returncode}; "
                    f"starting it again in {pause:g} s."
                )
                restart_at[name] = now + pause
            time.sleep(POLL_SECONDS)
        return None

    def _pause_after_failure(self, name: str, now: float) -> float | None:
        """Seconds to wait before starting ``name`` again, or None to give up."""
        if now - self._started.get(name, now) >= STABLE_SECONDS:
            self._failures[name] = []  # it had been running well: a fresh start
        recent = [t for t in self._failures.get(name, []) if now - t < RESTART_WINDOW]
        recent.append(now)
        self._failures[name] = recent
        if len(recent) > self._max_restarts:
            return None
        pause: float = FIRST_PAUSE * 2 ** (len(recent) - 1)
        return min(pause, LONGEST_PAUSE)

    def _stop_all(self) -> None:
        for process in self._children.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + GRACE_SECONDS
        for process in self._children.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                self._kill_all()
                break
        for process in self._children.values():
            process.wait()

    def _kill_all(self) -> None:
        for process in self._children.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # the child and its own workers
