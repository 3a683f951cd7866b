"""``manage.py send_reminders``: send due reminders once, or every N seconds.

``manage.py serve`` runs ``send_reminders --every 60`` next to the task worker. Killing it
at any moment is safe: a reminder claimed but not sent is sent by the next run once its
claim times out, and one already sent is never sent again (see reminders.py).
"""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from openipt.scheduling import reminders


class Command(BaseCommand):
    help = "Send the appointment reminders that are due (once, or in a loop with --every)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            help="Keep running and send due reminders every this many seconds.",
        )

    def handle(self, *args: Any, every: int, **options: Any) -> None:
        planned = reminders.plan_upcoming()
        self.stdout.write(f"Planned {planned} reminder(s) for the coming days.")
        while True:
            sent = reminders.send_due()
            if sent or not every:
                self.stdout.write(f"Sent {sent} reminder(s).")
            if not every:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
