"""``manage.py audit_verify``: prove the audit log has not been changed (docs/quality.md S5).

Exit status 0 with "Audit chain intact: N events", or 1 naming the first broken event —
or, when the chain itself is whole, what the latest checkpoint outside the database says is
missing from its end (openipt/audit/checkpoints.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from openipt.audit import checkpoints, triggers
from openipt.audit.models import AuditEvent
from openipt.audit.verify import DEFAULT_CHUNK, verify_chain


class Command(BaseCommand):
    help = "Recompute the audit log's hash chain and report the first broken event."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size", type=int, default=DEFAULT_CHUNK, help="Events read at a time."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        chunk_size = max(1, int(options["chunk_size"]))
        if not triggers.complete(connection):
            self.stderr.write(
                self.style.WARNING("Warning: the audit table's append-only triggers are missing.")
            )
        progress = self._progress(chunk_size)
        result = verify_chain(chunk_size=chunk_size, progress=progress)
        if progress is not None:
            self.stderr.write("", style_func=str)
        if result.broken is not None:
            raise CommandError(
                f"Audit chain broken at event {result.broken.event_id}: {result.broken.reason}. "
                f"{result.checked} events before it are intact.",
                returncode=1,
            )
        missing = checkpoints.problem()
        if missing is not None:
            raise CommandError(
                f"Audit chain cut short: {missing}. The {result.checked} events present link "
                f"up, but the log no longer reaches its last checkpoint.",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {result.checked} events"))
        self.stdout.write(f"Latest hash: {result.head}")

    def _progress(self, chunk_size: int) -> Callable[[int], None] | None:
        """A progress line on a terminal, for tables of more than one chunk."""
        if not self.stderr.isatty():
            return None
        total = AuditEvent.objects.count()
        if total <= chunk_size:
            return None

        def report(done: int) -> None:
            self.stderr.write(f"\rChecked {done:,} of {total:,} events", ending="", style_func=str)

        return report
