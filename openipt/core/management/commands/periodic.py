"""``manage.py periodic``: enqueue the periodic background tasks, once or every N seconds.

django-tasks has no scheduler of its own. ``serve`` runs this command beside the worker
(``--every 60``); a deployment without ``serve`` can call ``manage.py periodic`` from cron
each minute instead. Every task listed in ``settings.OPENIPT_PERIODIC_TASKS`` is idempotent,
so running it late, twice or on two hosts at once does no harm.

Each round also records the scheduler's heartbeat (``/ready/``). With ``--every``, a round
that fails because the database is away is logged and retried on the next round with a
fresh connection, so a database restart does not end the scheduler.

Among the tasks, ``reclaim_stalled_tasks`` queues again the tasks that a worker which died
left marked running (openipt/core/task_reclaim.py).
"""

from __future__ import annotations

import logging
import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, InterfaceError, connections
from django.utils.module_loading import import_string

from openipt.core import health

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Enqueue the periodic background tasks (alert escalation, reminders, expiry)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--every", type=int, default=0, help="Repeat every N seconds (0: run once)."
        )
        parser.add_argument(
            "--now", action="store_true", help="Run the tasks here instead of enqueuing them."
        )

    def handle(self, *args: Any, every: int, now: bool, **options: Any) -> None:
        tasks = [import_string(path) for path in settings.OPENIPT_PERIODIC_TASKS]
        while True:
            try:
                self._round(tasks, now=now)
            except (DatabaseError, InterfaceError):  # InterfaceError: connection closed
                if every <= 0:
                    raise
                logger.exception("The database is not answering; trying again next round")
                connections.close_all()  # reconnect on the next round
            if every <= 0:
                return
            time.sleep(every)

    def _round(self, tasks: list[Any], *, now: bool) -> None:
        health.beat(health.SCHEDULER)
        for task in tasks:
            if now:
                self.stdout.write(f"{task.name}: {task.call()}")
            else:
                result = task.enqueue()
                self.stdout.write(f"{task.name}: queued {result.id}")
