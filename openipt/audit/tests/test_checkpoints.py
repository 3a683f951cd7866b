"""The chain's head anchored outside the database: a cut-off or rolled-back tail is found."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from openipt.audit import checkpoints, services, tasks
from openipt.audit.models import AuditEvent
from openipt.audit.services import GENESIS_HASH


def _event(i: int) -> AuditEvent:
    return services.record(actor=None, action="admin", object_type="test", detail=f"event {i}")


def _verify() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out, stderr=StringIO())
    return out.getvalue()


def _raw(sql: str, params: list[str | int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_an_empty_log_has_the_genesis_head_and_nothing_to_miss():
    assert checkpoints.latest() is None
    assert checkpoints.problem() is None
    first = checkpoints.take("backup")
    assert first is not None
    assert (first.event_id, first.hash, first.count) == (0, GENESIS_HASH, 0)
    assert checkpoints.problem() is None


@pytest.mark.django_db
def test_a_checkpoint_is_taken_only_when_the_head_moved():
    events = [_event(i) for i in range(3)]
    assert tasks.checkpoint_audit_head.call() is True
    assert tasks.checkpoint_audit_head.call() is False  # nothing new: no second line
    lines = settings.OPENIPT_AUDIT_CHECKPOINT_FILE.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["event_id"] == events[-1].id
    assert json.loads(lines[0])["reason"] == "periodic"
    assert "Audit chain intact: 3 events" in _verify()


@pytest.mark.django_db
def test_a_torn_last_line_is_skipped():
    _event(0)
    taken = checkpoints.take("periodic")
    with settings.OPENIPT_AUDIT_CHECKPOINT_FILE.open("a") as handle:
        handle.write('{"event_id": 9')  # the machine stopped mid-write
    assert checkpoints.latest() == taken


@pytest.mark.django_db
def test_deleting_the_newest_events_behind_the_triggers_back_is_reported(no_triggers):
    events = [_event(i) for i in range(5)]
    checkpoints.take("periodic")
    _raw("DELETE FROM audit_auditevent WHERE id >= %s", [events[3].id])

    with pytest.raises(CommandError, match=f"the log ends before event {events[-1].id}"):
        _verify()


@pytest.mark.django_db
def test_a_rewritten_tail_is_reported(no_triggers):
    events = [_event(i) for i in range(3)]
    checkpoints.take("periodic")
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].id])
    _raw(
        "UPDATE audit_auditevent SET id = %s WHERE id = %s", [events[-1].id, events[-2].id]
    )  # an older copy put back with its ids shifted: the id exists, its hash differs

    with pytest.raises(CommandError, match=f"event {events[-1].id} is not the one"):
        _verify()


@pytest.mark.django_db
def test_a_restore_recorded_as_a_checkpoint_is_not_tampering(no_triggers):
    events = [_event(i) for i in range(4)]
    checkpoints.take("periodic")
    _raw("DELETE FROM audit_auditevent WHERE id > %s", [events[1].id])  # back to an older copy
    checkpoints.take("restore of a backup")

    assert "Audit chain intact: 2 events" in _verify()
