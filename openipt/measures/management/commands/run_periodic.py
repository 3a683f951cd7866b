"""``manage.py run_periodic``: the measures app's periodic work, for a scheduler to call.

Run it every minute (``serve`` or cron). Without options the tasks run here and now; with
``--enqueue`` they go to the django-tasks queue for the worker.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from openipt.measures.tasks import PERIODIC


class Command(BaseCommand):
    help = "Escalate overdue risk alerts and update assigned questionnaires (idempotent)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--enqueue", action="store_true", help="Queue the tasks for the worker."
        )

    def handle(self, *args: Any, enqueue: bool = False, **options: Any) -> None:
        for periodic in PERIODIC:
            if enqueue:
                result = periodic.enqueue()
                self.stdout.write(f"{periodic.name}: queued {result.id}")
            else:
                self.stdout.write(f"{periodic.name}: {periodic.call()}")
