"""``manage.py periodic``: enqueue the periodic background tasks, once or every N seconds.

django-tasks has no scheduler of its own. ``serve`` runs this command beside the worker
(``--every 60``); a deployment without ``serve`` can call ``manage.py periodic`` from cron
each minute instead. Every task listed in ``settings.OPENIPT_PERIODIC_TASKS`` is idempotent,
so running it late, twice or on two hosts at once does no harm.
"""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


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
            for task in tasks:
                if now:
                    self.stdout.write(f"{task.name}: {task.call()}")
                else:
                    result = task.enqueue()
                    self.stdout.write(f"{task.name}: queued {result.id}")
            if every <= 0:
                return
            time.sleep(every)
