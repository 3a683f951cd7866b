"""Database triggers that make ``audit_auditevent`` append-only (docs/quality.md S5).

SQLite and PostgreSQL both refuse UPDATE and DELETE on the table (PostgreSQL also refuses
TRUNCATE). The error is an integrity error on both, so it surfaces in Django as
``django.db.IntegrityError``.

The SQL lives here, not only in the migration, because:
- on SQLite, any later migration that rebuilds the table (``_remake_table``) drops its
  triggers; ``AuditConfig`` re-installs them after every ``migrate`` (idempotent);
- tests drop them to prove that ``audit_verify`` catches an edit made behind their back;
- the test runner's ``flush`` has to lift them for a moment (see the ``flush`` command).

The triggers stop mistakes and casual tampering by the application's own database role;
someone who can drop triggers can still edit rows, which is what the hash chain and
``manage.py audit_verify`` are for.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_auditevent"
MESSAGE = "audit log is append-only"

_SQLITE_INSTALL = [
    f"CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_auditevent_no_update",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete",
]

# SQLSTATE 23000 (integrity_constraint_violation) maps to IntegrityError, as on SQLite.
_POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION audit_auditevent_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$""",
    f"CREATE OR REPLACE TRIGGER audit_auditevent_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION audit_auditevent_refuse_change()",
    f"CREATE OR REPLACE TRIGGER audit_auditevent_no_truncate BEFORE TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_auditevent_refuse_change()",
]
_POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS audit_auditevent_append_only ON {TABLE}",
    f"DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON {TABLE}",
    "DROP FUNCTION IF EXISTS audit_auditevent_refuse_change()",
]

EXPECTED = {
    "sqlite": {"audit_auditevent_no_update", "audit_auditevent_no_delete"},
    "postgresql": {"audit_auditevent_append_only", "audit_auditevent_no_truncate"},
}


def _statements(vendor: str, *, install: bool) -> list[str]:
    if vendor == "sqlite":
        return _SQLITE_INSTALL if install else _SQLITE_DROP
    if vendor == "postgresql":
        return _POSTGRES_INSTALL if install else _POSTGRES_DROP
    raise NotImplementedError(f"No append-only audit triggers for database {vendor!r}")


def _execute(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers (idempotent)."""
    _execute(connection, _statements(connection.vendor, install=True))


def drop(connection: BaseDatabaseWrapper) -> None:
    """Remove the triggers (idempotent). Only migrations, tests and test flushes do this."""
    _execute(connection, _statements(connection.vendor, install=False))


def installed(connection: BaseDatabaseWrapper) -> set[str]:
    """The names of the append-only triggers present on the audit table."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [TABLE],
            )
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger"
                " WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal",
                [TABLE],
            )
        else:
            return set()
        return {row[0] for row in cursor.fetchall()} & EXPECTED[connection.vendor]


def complete(connection: BaseDatabaseWrapper) -> bool:
    return installed(connection) == EXPECTED.get(connection.vendor, {"?"})
