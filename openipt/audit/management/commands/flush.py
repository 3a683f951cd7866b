"""``flush`` that respects the append-only audit log.

Django's test runner flushes the database after every transactional test (pytest-django's
``transactional_db``, ``live_server``), and the audit triggers rightly refuse that. Under
the test settings the triggers are lifted for the flush and put back straight after.
Anywhere else, flushing a database that holds an audit log is refused.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections

from openipt.audit import triggers


class Command(FlushCommand):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if not triggers.installed(connection):
            super().handle(**options)
            return
        if not getattr(settings, "TESTING", False):
            raise CommandError(
                "The audit log is append-only, so this database cannot be flushed. "
                "To start again with an empty development database, delete its file."
            )
        triggers.drop(connection)
        try:
            super().handle(**options)
        finally:
            triggers.install(connection)
