"""Refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) on the audit table.

The SQL is in ``openipt.audit.triggers``. On SQLite a later migration that rebuilds this
table drops the triggers; ``AuditConfig`` re-installs them after every ``migrate``.
"""

from django.db import migrations

from openipt.audit import triggers


def install(apps, schema_editor):
    triggers.install(schema_editor.connection)


def drop(apps, schema_editor):
    triggers.drop(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_prev_hash_one_successor"),
    ]

    operations = [
        migrations.RunPython(install, drop, elidable=False),
    ]
