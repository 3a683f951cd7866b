"""``flush`` that respects the append-only audit log.

Django's test runner flushes the database after every transactional test (pytest-django's
``transactional_db``, ``live_server``), and the audit triggers rightly refuse that. Only
when ``OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS`` is True (``config.test_settings`` sets it) are
the triggers lifted for the flush and put back straight after. Otherwise, and so under the
production settings, flushing a database that holds an audit log is refused.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections

from openipt.audit import triggers

REFUSAL = (
    "The audit log is append-only (database triggers refuse to change or delete its "
    "events), so this database cannot be flushed. To start again with an empty "
    "development database, delete its file. (Only the test settings, which set "
    "OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS = True, may lift the triggers for a flush.)"
)


class Command(FlushCommand):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if not triggers.installed(connection):
            super().handle(**options)
            return
        if getattr(settings, "OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS", False) is not True:
            raise CommandError(REFUSAL)
        triggers.drop(connection)
        try:
            super().handle(**options)
        finally:
            triggers.install(connection)
