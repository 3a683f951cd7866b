"""The navigation's inbox counts run as a prepared query (openipt/core/prepared.py): they
must always equal the same counts built through the ORM, for every role and every kind of
item, and cost one query."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openipt.engagement import inbox
from openipt.testing.personas import make_client
from openipt.treatment import services
from openipt.treatment.tests.factories import make_course
from openipt.treatment.tests.matrix import signed_by_trainee
from openipt.workspace.tests.matrix import (
    client_diary,
    client_message,
    client_questionnaire,
    client_task_report,
)

pytestmark = pytest.mark.django_db


def _both(membership):
    return inbox.inbox_counts(membership), inbox.inbox_counts_built(membership)


def test_prepared_counts_equal_built_counts_for_every_role_and_kind(personas):
    members = [personas.membership(u) for u in (personas.alice, personas.bob, personas.charlie)]
    for membership in members:
        prepared, built = _both(membership)
        assert prepared == built == inbox.InboxCounts()

    course = make_course(personas.alice, personas.dana)
    client_message(personas.dana)
    client_diary(personas.dana)
    client_task_report(personas.alice, course, 1)
    client_questionnaire(personas.alice, personas.dana)
    erin_course = make_course(personas.charlie, personas.erin)
    client_message(personas.erin)
    client_task_report(personas.charlie, erin_course, 1)

    alice, bob, charlie = (_both(m) for m in members)
    assert alice[0] == alice[1]
    assert (alice[0].messages, alice[0].diary, alice[0].tasks, alice[0].questionnaires) == (
        1, 1, 1, 1,
    )  # fmt: skip
    assert bob[0] == bob[1] == inbox.InboxCounts()  # supervises Alice: no inbox of Dana's
    assert charlie[0] == charlie[1]
    assert (charlie[0].messages, charlie[0].tasks) == (1, 1)  # Erin's, nothing of Dana's


def test_prepared_counts_follow_read_state_and_the_window(personas):
    alice = personas.membership(personas.alice)
    message = client_message(personas.dana)
    diary = client_diary(personas.dana)
    assert inbox.inbox_counts(alice).total == 2
    inbox.inbox_item_mark_read(actor=personas.alice, kind="diary", item_uuid=diary.uuid)
    assert _both(alice)[0] == _both(alice)[1]
    assert inbox.inbox_counts(alice).diary == 0
    assert inbox.inbox_counts(alice).messages == 1
    message.created_at = timezone.now() - inbox.WINDOW - dt.timedelta(days=1)
    message.save(update_fields=["created_at"])
    assert inbox.inbox_counts(alice) == inbox.inbox_counts_built(alice)
    assert inbox.inbox_counts(alice).total == 0


def test_prepared_counts_cover_notes_to_cosign_and_notes_returned(personas):
    """Bob is Alice's training supervisor: her signed note waits for him, and once he
    returns it, it is back in her inbox."""
    signed = signed_by_trainee(personas)
    alice, bob = personas.membership(personas.alice), personas.membership(personas.bob)
    assert _both(bob)[0] == _both(bob)[1]
    assert inbox.inbox_counts(bob).cosign == 1
    services.session_return(
        actor=personas.bob, session=signed, version=signed.version, comment="Add the mood."
    )
    assert _both(alice)[0] == _both(alice)[1]
    assert inbox.inbox_counts(alice).returned == 1
    assert inbox.inbox_counts(bob).cosign == 0


def test_the_counts_are_one_query_and_one_clients_counts_are_built(personas):
    alice = personas.membership(personas.alice)
    other = make_client(personas.practice, personas.alice, given="Olive", family="Other")
    client_message(personas.dana)
    client_message(other)
    inbox.inbox_counts(alice)  # prepared on first use
    with CaptureQueriesContext(connection) as queries:
        counts = inbox.inbox_counts(alice)
    assert len(queries) == 1
    assert counts.messages == 2
    assert inbox.inbox_counts(alice, client=personas.dana).messages == 1


def test_an_inactive_membership_has_no_counts(personas):
    alice = personas.membership(personas.alice)
    client_message(personas.dana)
    alice.is_active = False
    assert inbox.inbox_counts(alice) == inbox.InboxCounts()


def test_prepared_lists_equal_the_built_ones(personas):
    """The member's own lists (prepared) hold what one client's lists (built each time)
    hold when every item is that client's: every kind, newest first, within the limit."""
    course = make_course(personas.alice, personas.dana)
    client_message(personas.dana)
    client_diary(personas.dana)
    client_task_report(personas.alice, course, 1)
    client_questionnaire(personas.alice, personas.dana)
    client_message(personas.dana)
    alice = personas.membership(personas.alice)

    def seen(items):
        return [(item.kind, item.uuid, item.client.pk, item.record.pk) for item in items]

    mine = inbox.inbox_items(alice)
    assert len(mine) == 5
    assert seen(mine) == seen(inbox.inbox_items(alice, client=personas.dana))
    assert seen(inbox.inbox_items(alice, limit=2)) == seen(mine[:2])
    assert seen(inbox.inbox_items(alice, kind="message")) == seen(
        inbox.inbox_items(alice, client=personas.dana, kind="message")
    )
    assert inbox.inbox_items(personas.membership(personas.bob)) == []


def test_a_note_to_cosign_is_listed_first_for_the_supervisor(personas):
    signed = signed_by_trainee(personas)
    client_message(personas.dana)
    items = inbox.inbox_items(personas.membership(personas.bob))
    assert [(item.kind, item.record.pk) for item in items] == [("cosign", signed.pk)]
