from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate

TRIGGER_MIGRATION = ("audit", "0003_append_only_triggers")


def _ensure_triggers(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Re-install the append-only triggers after ``migrate`` and after a test flush.

    On SQLite, any migration that rebuilds the audit table silently drops its triggers;
    this puts them back whenever the trigger migration is applied.
    """
    from django.db.migrations.recorder import MigrationRecorder

    from openipt.audit import triggers

    connection = connections[using]
    if connection.vendor not in triggers.EXPECTED:
        return
    if TRIGGER_MIGRATION not in MigrationRecorder(connection).applied_migrations():
        return
    triggers.install(connection)


class AuditConfig(AppConfig):
    name = "openipt.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_ensure_triggers, sender=self, dispatch_uid="openipt_audit_triggers")
