"""The audit app's remaining branches: the other database vendor, the verify command's
progress line, the post-migrate trigger hook and how events name what they are about.

Each suite runs on one database (SQLite or PostgreSQL), so the other vendor's SQL paths are
checked here against a recording stand-in for the connection: the statements it would send,
not the database's answer (test_triggers.py checks that on the real database).
"""

from __future__ import annotations

import types
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from openipt.audit import apps as audit_apps
from openipt.audit import services, triggers
from openipt.audit.models import AuditEvent
from openipt.audit.verify import Break, VerifyResult, verify_chain


class _Cursor:
    def __init__(self, conn: _Connection) -> None:
        self.conn = conn

    def __enter__(self) -> _Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        self.conn.executed.append((sql, params))

    def fetchall(self) -> list[tuple[str]]:
        return [(name,) for name in self.conn.rows]


class _Connection:
    """Just enough of a database connection to record what would be sent to it."""

    def __init__(self, vendor: str, rows: tuple[str, ...] = ()) -> None:
        self.vendor = vendor
        self.rows = rows
        self.executed: list[tuple[str, list[Any] | None]] = []

    def cursor(self) -> _Cursor:
        return _Cursor(self)

    @property
    def statements(self) -> list[str]:
        return [sql for sql, _ in self.executed]


# --- triggers: PostgreSQL and unsupported vendors ----------------------------------------


def test_postgresql_install_creates_the_function_and_both_triggers():
    fake = _Connection("postgresql")
    triggers.install(fake)
    assert len(fake.statements) == 3
    assert "CREATE OR REPLACE FUNCTION audit_auditevent_refuse_change()" in fake.statements[0]
    assert "integrity_constraint_violation" in fake.statements[0]
    assert "BEFORE UPDATE OR DELETE ON audit_auditevent" in fake.statements[1]
    assert "BEFORE TRUNCATE ON audit_auditevent" in fake.statements[2]


def test_postgresql_drop_removes_both_triggers_and_the_function():
    fake = _Connection("postgresql")
    triggers.drop(fake)
    assert fake.statements == [
        "DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent",
        "DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent",
        "DROP FUNCTION IF EXISTS audit_auditevent_refuse_change()",
    ]


def test_sqlite_install_and_drop_name_both_triggers():
    fake = _Connection("sqlite")
    triggers.install(fake)
    triggers.drop(fake)
    assert [sql.split(" ON ")[0] for sql in fake.statements[:2]] == [
        "CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_update BEFORE UPDATE",
        "CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_delete BEFORE DELETE",
    ]
    assert fake.statements[2:] == [
        "DROP TRIGGER IF EXISTS audit_auditevent_no_update",
        "DROP TRIGGER IF EXISTS audit_auditevent_no_delete",
    ]


@pytest.mark.parametrize("action", [triggers.install, triggers.drop])
def test_an_unsupported_database_is_refused_rather_than_left_unprotected(action):
    fake = _Connection("mysql")
    with pytest.raises(NotImplementedError, match="mysql"):
        action(fake)
    assert fake.executed == []


def test_postgresql_triggers_are_read_from_pg_trigger():
    fake = _Connection(
        "postgresql",
        rows=("audit_auditevent_append_only", "audit_auditevent_no_truncate", "unrelated"),
    )
    assert triggers.installed(fake) == triggers.EXPECTED["postgresql"]
    [(sql, params)] = fake.executed
    assert "FROM pg_trigger" in sql
    assert "NOT tgisinternal" in sql
    assert params == ["audit_auditevent"]
    assert triggers.complete(fake)


def test_postgresql_with_one_trigger_missing_is_not_complete():
    fake = _Connection("postgresql", rows=("audit_auditevent_append_only",))
    assert not triggers.complete(fake)


def test_sqlite_triggers_are_read_from_sqlite_master():
    fake = _Connection("sqlite", rows=("audit_auditevent_no_update",))
    assert triggers.installed(fake) == {"audit_auditevent_no_update"}
    assert "FROM sqlite_master" in fake.statements[0]
    assert not triggers.complete(fake)


def test_an_unsupported_database_has_no_triggers_and_is_never_complete():
    fake = _Connection("mysql", rows=("audit_auditevent_no_update",))
    assert triggers.installed(fake) == set()
    assert fake.executed == []
    assert not triggers.complete(fake)


# --- the post-migrate hook -----------------------------------------------------------------


def _sender() -> Any:
    return apps.get_app_config("audit")


def test_post_migrate_puts_dropped_triggers_back(no_triggers):
    assert not triggers.installed(connection)
    audit_apps._ensure_triggers(_sender())
    assert triggers.complete(connection)


def test_post_migrate_skips_an_unsupported_database(monkeypatch):
    fake = _Connection("mysql")
    monkeypatch.setattr(audit_apps, "connections", {"default": fake})
    audit_apps._ensure_triggers(_sender())
    assert fake.executed == []


def test_post_migrate_waits_for_the_trigger_migration(no_triggers, monkeypatch):
    """Before the migration that creates the audit table's triggers, there is nothing to do."""
    from django.db.migrations import recorder

    applied = recorder.MigrationRecorder.applied_migrations

    def without_trigger_migration(self: Any) -> dict[tuple[str, str], Any]:
        found = dict(applied(self))
        found.pop(audit_apps.TRIGGER_MIGRATION)
        return found

    monkeypatch.setattr(recorder.MigrationRecorder, "applied_migrations", without_trigger_migration)
    audit_apps._ensure_triggers(_sender())
    assert not triggers.installed(connection)


# --- the chain lock -----------------------------------------------------------------------


def test_postgresql_writers_take_the_chain_advisory_lock(monkeypatch):
    fake = _Connection("postgresql")
    monkeypatch.setattr(services, "connection", fake)
    services._lock_chain()
    assert fake.executed == [("SELECT pg_advisory_xact_lock(%s)", [services._CHAIN_LOCK_KEY])]


def test_sqlite_writers_rely_on_immediate_transactions_instead(monkeypatch):
    fake = _Connection("sqlite")
    monkeypatch.setattr(services, "connection", fake)
    services._lock_chain()
    assert fake.executed == []


# --- what an event names -------------------------------------------------------------------


class _Labelled:
    """A model that moved app: its current label differs from the one its events carry."""

    audit_label = "clients.diaryentry"
    _meta = types.SimpleNamespace(label_lower="engagement.diaryentry")
    uuid = "3f1c3a52-5b1e-4b8e-9d35-0d5f8c2b1a11"
    pk = 41


class _Plain:
    pk = 42
    _meta = types.SimpleNamespace(label_lower="engagement.diaryentry")


def test_an_object_keeps_the_audit_label_it_was_moved_with(db):
    event = services.record(actor=None, action="read", obj=_Labelled())
    assert event.object_type == "clients.diaryentry"
    assert event.object_id == _Labelled.uuid  # the uuid, not the database id


def test_an_object_without_label_or_uuid_is_named_by_model_and_pk(db):
    event = services.record(actor=None, action="read", obj=_Plain())
    assert event.object_type == "engagement.diaryentry"
    assert event.object_id == "42"


def test_explicit_names_win_over_the_object(db):
    event = services.record(
        actor=None, action="read", obj=_Plain(), object_type="custom", object_id="x1"
    )
    assert (event.object_type, event.object_id) == ("custom", "x1")


def test_an_event_without_object_or_client_names_only_what_it_is_given(db):
    event = services.record(actor=None, action="admin", object_type="practice")
    assert (event.object_type, event.object_id) == ("practice", "")
    assert (event.client_id, event.client_uuid, event.practice_id) == (None, "", None)


def test_a_client_event_takes_the_clients_practice(personas):
    dana = personas.dana
    event = services.record(actor=personas.alice, action="read", client=dana)
    assert event.practice_id == dana.practice_id
    assert (event.client_id, event.client_uuid) == (dana.pk, str(dana.uuid))
    same = services.record(
        actor=personas.alice, action="read", client=dana, practice_id=dana.practice_id
    )
    assert same.practice_id == dana.practice_id


def test_an_actor_without_a_pk_is_recorded_as_nobody(db):
    unsaved = types.SimpleNamespace(pk=None, email="ghost@example.test")
    event = services.record(actor=unsaved, action="admin", object_type="test")
    assert (event.actor_id, event.actor_email) == (None, "")


def test_an_event_reads_as_its_time_action_and_type(db):
    event = services.record(actor=None, action="export", object_type="audit.report")
    assert str(event) == f"{event.occurred_at:%Y-%m-%d %H:%M:%S} export audit.report"


# --- verification ----------------------------------------------------------------------------


def test_a_result_is_intact_only_without_a_break():
    assert VerifyResult(3, "h", None).intact
    assert not VerifyResult(3, "h", Break(4, "content altered")).intact


def test_verify_reports_progress_after_each_chunk(db):
    for i in range(5):
        services.record(actor=None, action="admin", object_type="test", detail=str(i))
    seen: list[int] = []
    result = verify_chain(chunk_size=2, progress=seen.append)
    assert seen == [2, 4, 5]
    assert result.checked == 5
    assert result.intact


class _Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def _verify_on_a_terminal(*args: str) -> tuple[str, str]:
    out, err = StringIO(), _Terminal()
    call_command("audit_verify", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_audit_verify_shows_progress_on_a_terminal_for_a_long_log(db):
    for _ in range(3):
        services.record(actor=None, action="admin", object_type="test")
    out, err = _verify_on_a_terminal("--chunk-size", "2")
    assert "Audit chain intact: 3 events" in out
    assert "\rChecked 2 of 3 events" in err
    assert "\rChecked 3 of 3 events" in err
    assert err.endswith("\n")  # the progress line is finished before the result


def test_audit_verify_shows_no_progress_when_one_chunk_holds_the_log(db):
    for _ in range(2):
        services.record(actor=None, action="admin", object_type="test")
    out, err = _verify_on_a_terminal("--chunk-size", "2")
    assert "Audit chain intact: 2 events" in out
    assert "Checked" not in err
    assert AuditEvent.objects.count() == 2


def test_audit_verify_shows_no_progress_when_not_on_a_terminal(db):
    for _ in range(3):
        services.record(actor=None, action="admin", object_type="test")
    err = StringIO()
    call_command("audit_verify", "--chunk-size", "1", stdout=StringIO(), stderr=err)
    assert "Checked" not in err.getvalue()


def test_audit_verify_warns_when_the_triggers_are_missing(no_triggers):
    err = StringIO()
    call_command("audit_verify", stdout=StringIO(), stderr=err)
    assert "append-only triggers are missing" in err.getvalue()


# --- reads ---------------------------------------------------------------------------------


def test_a_read_without_a_request_names_the_given_actor_and_no_address(personas):
    event = services.record_read(None, personas.dana, actor=personas.bob)
    assert (event.action, event.actor_id, event.source_address) == ("read", personas.bob.pk, "")
    assert event.client_uuid == str(personas.dana.uuid)


def test_a_read_without_a_request_or_actor_is_recorded_as_nobody(personas):
    event = services.record_read(None, personas.dana)
    assert (event.actor_id, event.actor_email) == (None, "")


def test_an_explicit_actor_wins_over_the_requests_user(personas):
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.9")
    request.user = personas.alice
    event = services.record_read(request, personas.dana, actor=personas.bob)
    assert (event.actor_id, event.source_address) == (personas.bob.pk, "192.0.2.9")


def test_an_anonymous_request_reads_as_nobody(personas):
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.9")
    request.user = AnonymousUser()
    event = services.record_read(request, personas.dana, obj=personas.dana, detail="lookup")
    assert (event.actor_id, event.actor_email, event.detail) == (None, "", "lookup")
