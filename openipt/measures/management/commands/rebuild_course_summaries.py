"""``manage.py rebuild_course_summaries [--missing | --check]``: the caseload's per-course
summary rows (``treatment.CourseSummary``, docs/adr/0025-course-summary.md).

Without options every course's row is computed afresh from its records and scores and
written; with ``--missing`` only the courses that have no row yet (``make run`` does this
after migrating, so an upgraded practice gets its rows). ``--check`` writes nothing: it
lists each course whose stored row is missing or differs from a fresh computation, and exits
with status 1 when there is any.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from openipt.measures.summary import summaries_differing, summaries_rebuild

STALE = 1


class Command(BaseCommand):
    help = "Rebuild every course's summary row, or check them with --check."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--missing",
            action="store_true",
            help="build only the rows of courses that have none (after an upgrade)",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="report rows that differ from a fresh computation; exit 1 if any",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["check"]:
            count = summaries_rebuild(missing=options["missing"])
            self.stdout.write(f"Rebuilt {count} course summaries.")
            return
        stale = 0
        for course_id, fields in summaries_differing():
            stale += 1
            self.stdout.write(f"course {course_id}: {', '.join(fields)}")
        if stale:
            raise CommandError(f"{stale} course summaries differ.", returncode=STALE)
        self.stdout.write("Every course summary matches its records.")
