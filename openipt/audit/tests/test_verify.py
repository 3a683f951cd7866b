"""S5: ``manage.py audit_verify`` finds an edit or a deletion made behind the triggers' back."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from openipt.audit import services
from openipt.audit.models import AuditEvent


@pytest.fixture
def events(db) -> list[AuditEvent]:
    return [
        services.record(actor=None, action="admin", object_type="test", detail=f"event {i}")
        for i in range(7)
    ]


def _verify(*args: str) -> str:
    out = StringIO()
    call_command("audit_verify", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _raw(sql: str, params: list[str | int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_intact_chain_is_reported_with_its_size(events):
    output = _verify("--chunk-size", "3")  # several chunks
    assert "Audit chain intact: 7 events" in output
    assert events[-1].hash in output


def test_empty_log_is_intact(db):
    assert "Audit chain intact: 0 events" in _verify()


def test_row_edited_with_raw_sql_is_reported(events, no_triggers):
    target = events[3]
    _raw("UPDATE audit_auditevent SET detail = %s WHERE id = %s", ["nothing to see", target.id])
    with pytest.raises(CommandError) as failure:
        _verify("--chunk-size", "2")
    assert failure.value.returncode == 1
    assert f"event {target.id}: content altered" in str(failure.value)


def test_edit_with_recomputed_hash_breaks_the_next_link(events, no_triggers):
    target = AuditEvent.objects.get(pk=events[2].pk)
    target.detail = "rewritten"
    _raw(
        "UPDATE audit_auditevent SET detail = %s, hash = %s WHERE id = %s",
        [target.detail, services.event_digest(target), target.id],
    )
    with pytest.raises(CommandError, match=f"event {events[3].id}: link broken"):
        _verify()


def test_deleted_row_is_reported_as_a_broken_link(events, no_triggers):
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [events[4].id])
    with pytest.raises(CommandError, match=f"event {events[5].id}: link broken"):
        _verify()


def test_deleting_the_first_event_is_found_too(events, no_triggers):
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [events[0].id])
    with pytest.raises(CommandError, match=f"event {events[1].id}: link broken"):
        _verify()


def test_missing_triggers_are_warned_about(events, no_triggers):
    err = StringIO()
    call_command("audit_verify", stdout=StringIO(), stderr=err)
    assert "triggers are missing" in err.getvalue()
