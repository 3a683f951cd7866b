"""``manage.py task_worker``: django-tasks-db's ``db_worker`` that outlives a database restart.

It takes the same options as ``db_worker``. The library's worker stops with a traceback the
first time the database drops its connection (a restart, a failover, an administrator
ending the session): the next poll fails and the error ends the process. Here such an error
is logged, every connection is closed (the next poll opens a fresh one) and the worker goes
on after a pause of 1, 2, 4 … at most 30 seconds, back to 1 once it has run for a minute.

A task that was running when the connection went keeps its row ``RUNNING``; the periodic
``reclaim_stalled_tasks`` puts it back in the queue once its lease has run out
(openipt/core/task_reclaim.py). ``serve`` starts this command as its task worker.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from django.db import DatabaseError, InterfaceError, connections
from django_tasks_db.management.commands import db_worker

logger = logging.getLogger(__name__)

FIRST_PAUSE = 1.0
LONGEST_PAUSE = 30.0
STABLE_SECONDS = 60.0  # a worker that polled this long before the error starts afresh


def close_connections() -> None:
    """Drop every database connection; closing one that is already broken may fail too."""
    for connection in connections.all(initialized_only=True):
        with contextlib.suppress(DatabaseError, InterfaceError):
            connection.close()


def pause_before_retry(failures: int) -> float:
    """Seconds to wait after the ``failures``-th database error in a row: 1, 2, 4 … 30."""
    pause: float = FIRST_PAUSE * 2 ** max(failures - 1, 0)
    return min(pause, LONGEST_PAUSE)


class Command(db_worker.Command):
    help = "Run the background-task worker; it reconnects when the database goes away."

    def handle(self, *args: Any, **options: Any) -> None:
        failures = 0
        while True:
            started = time.monotonic()
            try:
                super().handle(*args, **options)
                return  # --batch or --max-tasks: the library's worker finished its work
            except (DatabaseError, InterfaceError):  # InterfaceError: connection closed
                logger.exception("The database is not answering; the task worker reconnects")
            close_connections()
            if time.monotonic() - started >= STABLE_SECONDS:
                failures = 0
            failures += 1
            time.sleep(pause_before_retry(failures))
