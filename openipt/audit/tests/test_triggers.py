"""S5: the database itself refuses to change or remove audit events, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from openipt.accounts.models import User
from openipt.audit import services, triggers
from openipt.audit.models import AuditEvent


@pytest.fixture
def event(db) -> AuditEvent:
    return services.record(actor=None, action="admin", object_type="test", detail="one")


def _raw(sql: str, params: list[str | int]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_triggers_are_installed_by_migrations(db):
    assert triggers.complete(connection)


def test_raw_update_is_refused(event):
    with pytest.raises(IntegrityError, match="append-only"):
        _raw("UPDATE audit_auditevent SET detail = %s WHERE id = %s", ["changed", event.id])
    event.refresh_from_db()
    assert event.detail == "one"


def test_raw_delete_is_refused(event):
    with pytest.raises(IntegrityError, match="append-only"):
        _raw("DELETE FROM audit_auditevent WHERE id = %s", [event.id])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_orm_update_and_delete_are_refused(event):
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="read")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "admin"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL only")
def test_truncate_is_refused_on_postgresql(event):
    with pytest.raises(IntegrityError, match="append-only"):
        _raw("TRUNCATE audit_auditevent", [])
    assert AuditEvent.objects.count() == 1


def test_triggers_can_be_put_back_after_being_dropped(no_triggers, event):
    assert not triggers.installed(connection)
    triggers.install(connection)
    triggers.install(connection)  # idempotent
    with pytest.raises(IntegrityError):
        _raw("DELETE FROM audit_auditevent WHERE id = %s", [event.id])


def test_production_settings_do_not_allow_the_trigger_bypass():
    import config.settings as production
    import config.test_settings as test_settings

    assert production.OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS is False
    assert test_settings.OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS is True


@override_settings(OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS=False)
def test_flush_without_the_bypass_refuses_and_drops_nothing(event, personas):
    with pytest.raises(CommandError, match="append-only") as refused:
        call_command("flush", interactive=False, verbosity=0)
    assert "OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS" in str(refused.value)
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert User.objects.filter(pk=personas.alice.pk).exists()  # nothing else flushed either
    assert triggers.complete(connection)  # and the triggers were never lifted
    with pytest.raises(IntegrityError):
        _raw("DELETE FROM audit_auditevent WHERE id = %s", [event.id])


@pytest.mark.parametrize("value", ["True", 1, "yes"])
def test_only_a_literal_true_allows_the_bypass(event, value):
    with (
        override_settings(OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS=value),
        pytest.raises(CommandError, match="append-only"),
    ):
        call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_flush_without_the_setting_at_all_refuses(event, settings):
    del settings.OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS
    with pytest.raises(CommandError, match="append-only"):
        call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@override_settings(OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS=False)
def test_flush_of_a_database_without_audit_triggers_needs_no_bypass(no_triggers):
    """Without the triggers there is nothing to lift: Django's own flush runs as usual."""
    # A row without foreign keys: PostgreSQL refuses to TRUNCATE a table with deferred
    # constraint checks still pending in the same transaction.
    User.objects.create_user(email="flush.me@example.test", password="not-used-here")
    assert User.objects.exists()
    call_command("flush", interactive=False, verbosity=0)  # rolled back with the test
    assert not User.objects.exists()
    assert triggers.complete(connection)  # flush's post_migrate signal installs them


def test_a_second_event_cannot_claim_the_same_predecessor(event):
    """Even if two writers raced past the lock, the chain could not fork."""
    fork = AuditEvent(
        occurred_at=event.occurred_at,
        action="admin",
        object_type="test",
        prev_hash=event.prev_hash,
    )
    fork.hash = services.event_digest(fork)
    with pytest.raises(IntegrityError), transaction.atomic():
        fork.save(force_insert=True)


@pytest.mark.django_db(transaction=True)
def test_transactional_tests_can_still_be_flushed():
    """The test runner's flush after this test must not trip over the triggers."""
    services.record(actor=None, action="admin", object_type="test")
    assert triggers.complete(connection)


@override_settings(OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS=True)
def test_flush_with_the_bypass_empties_the_log_and_puts_the_triggers_back(event):
    call_command("flush", interactive=False, verbosity=0)  # rolled back with the test
    assert not AuditEvent.objects.exists()
    assert triggers.complete(connection)
    services.record(actor=None, action="admin", object_type="test")
    with pytest.raises(IntegrityError):
        _raw("DELETE FROM audit_auditevent", [])
