"""Supervision meeting notes (openipt/treatment/supervision.py): Bob writes a draft of his
meeting with Alice, signs it, and can then only add to it; Alice reads it once signed and
marks her follow-up done; nobody else reads or writes it; every step is audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from openipt.accounts import policy
from openipt.accounts.models import Membership, Supervision
from openipt.audit.models import AuditEvent
from openipt.testing.personas import make_client, make_staff
from openipt.treatment import supervision
from openipt.treatment.models import SupervisionFollowUp, SupervisionMeeting
from openipt.treatment.tests import factories
from openipt.treatment.tests.supervision_builders import FOLLOW_UP, HELD_ON, bob_meeting

pytestmark = pytest.mark.django_db


def test_a_draft_is_read_by_its_supervisor_only_and_by_the_supervisee_once_signed(personas):
    alice, bob = personas.membership(personas.alice), personas.membership(personas.bob)
    draft = bob_meeting(personas, sign=False)
    assert policy.can_read_supervision_meeting(bob, draft)
    assert not policy.can_read_supervision_meeting(alice, draft)
    assert supervision.open_follow_ups(alice) == []

    signed = supervision.supervision_meeting_sign(
        actor=personas.bob, meeting=draft, version=draft.version
    )

    assert signed.signed_by == personas.bob
    assert signed.is_signed
    assert policy.can_read_supervision_meeting(alice, signed)
    assert [f.text for f in supervision.open_follow_ups(alice)] == [FOLLOW_UP]
    for other in (personas.charlie, personas.adam):
        assert not policy.can_read_supervision_meeting(policy.staff_membership(other), signed)


def test_a_signed_note_never_changes_but_can_be_added_to(personas):
    meeting = bob_meeting(personas)
    data = supervision.MeetingData(
        held_on=HELD_ON, supervisees=[personas.membership(personas.alice)], agreed="Changed"
    )
    with pytest.raises(ValidationError, match="signed"):
        supervision.supervision_meeting_update(
            actor=personas.bob, meeting=meeting, version=meeting.version, data=data
        )
    with pytest.raises(ValidationError, match="already signed"):
        supervision.supervision_meeting_sign(
            actor=personas.bob, meeting=meeting, version=meeting.version
        )
    supervision.supervision_amendment_add(
        actor=personas.bob, meeting=meeting, text="Sleep is better now."
    )
    meeting.refresh_from_db()
    assert meeting.agreed.startswith("Keep the work")
    assert [a.text for a in meeting.amendments.all()] == ["Sleep is better now."]


def test_a_draft_is_edited_at_its_version_and_its_follow_ups_rewritten(personas):
    alice = personas.membership(personas.alice)
    draft = bob_meeting(personas, sign=False)
    data = supervision.MeetingData(
        held_on=HELD_ON,
        supervisees=[alice],
        agreed="Revised",
        follow_ups=[supervision.FollowUpData(alice, "Try the role play", dt.date(2026, 2, 9))],
    )
    updated = supervision.supervision_meeting_update(
        actor=personas.bob, meeting=draft, version=draft.version, data=data
    )
    assert updated.agreed == "Revised"
    assert list(updated.cases.all()) == []
    assert [(f.text, f.due_on) for f in updated.follow_ups.all()] == [
        ("Try the role play", dt.date(2026, 2, 9))
    ]
    with pytest.raises(ValidationError):  # the version it was opened at has moved on
        supervision.supervision_meeting_update(
            actor=personas.bob, meeting=draft, version=draft.version, data=data
        )


def test_only_the_supervisors_own_supervisees_and_their_cases_can_be_named(personas):
    alice = personas.membership(personas.alice)
    bob = personas.membership(personas.bob)
    # Sam is a clinician of the practice whom Bob does not supervise.
    sam = make_staff(personas.practice, "sam@riverside.test", "Sam Clinician")
    sam_client = make_client(personas.practice, sam, given="Rowan", family="Other")
    sam_course = factories.make_course(sam, sam_client)
    with pytest.raises(ValidationError, match="supervise"):
        supervision.supervision_meeting_create(
            actor=personas.bob,
            data=supervision.MeetingData(
                held_on=HELD_ON, supervisees=[alice, Membership.objects.get(user=sam)]
            ),
        )
    with pytest.raises(ValidationError, match="cases"):
        supervision.supervision_meeting_create(
            actor=personas.bob,
            data=supervision.MeetingData(held_on=HELD_ON, supervisees=[alice], cases=[sam_course]),
        )
    with pytest.raises(ValidationError, match="Choose who"):
        supervision.supervision_meeting_create(
            actor=personas.bob, data=supervision.MeetingData(held_on=HELD_ON, supervisees=[])
        )
    # Alice, Charlie and Adam are no supervisors: they write no notes at all.
    for actor in (personas.alice, personas.charlie, personas.adam):
        with pytest.raises(PermissionDenied):
            supervision.supervision_meeting_create(
                actor=actor, data=supervision.MeetingData(held_on=HELD_ON, supervisees=[bob])
            )


def test_group_supervision_names_several_supervisees_each_with_their_follow_ups(personas):
    alice = personas.membership(personas.alice)
    sam_user = make_staff(personas.practice, "sam@riverside.test", "Sam Clinician")
    sam = Membership.objects.get(user=sam_user)
    Supervision.objects.create(
        practice=personas.practice, supervisor=personas.membership(personas.bob), supervisee=sam
    )
    meeting = supervision.supervision_meeting_create(
        actor=personas.bob,
        data=supervision.MeetingData(
            held_on=HELD_ON,
            supervisees=[alice, sam],
            follow_ups=[
                supervision.FollowUpData(alice, "Alice's task"),
                supervision.FollowUpData(sam, "Sam's task"),
            ],
        ),
    )
    meeting = supervision.supervision_meeting_sign(actor=personas.bob, meeting=meeting, version=1)
    assert [f.text for f in supervision.open_follow_ups(alice)] == ["Alice's task"]
    assert [f.text for f in supervision.open_follow_ups(sam)] == ["Sam's task"]
    assert policy.can_read_supervision_meeting(sam, meeting)


def test_the_supervisee_marks_their_follow_up_done_and_nobody_else_can(personas):
    meeting = bob_meeting(personas)
    follow_up = SupervisionFollowUp.objects.get(meeting=meeting)
    for other in (personas.bob, personas.charlie, personas.adam):
        with pytest.raises(PermissionDenied):
            supervision.supervision_follow_up_done(actor=other, follow_up=follow_up)
    done = supervision.supervision_follow_up_done(actor=personas.alice, follow_up=follow_up)
    assert done.is_done
    assert supervision.open_follow_ups(personas.membership(personas.alice)) == []
    again = supervision.supervision_follow_up_done(actor=personas.alice, follow_up=follow_up)
    assert again.done_at == done.done_at


def test_signing_is_refused_once_the_supervision_has_ended(personas):
    draft = bob_meeting(personas, sign=False)
    Supervision.objects.filter(supervisee__user=personas.alice).update(is_active=False)
    with pytest.raises(ValidationError, match="supervise"):
        supervision.supervision_meeting_sign(actor=personas.bob, meeting=draft, version=1)


def test_every_step_is_audited_without_what_was_written(personas):
    meeting = bob_meeting(personas)
    follow_up = SupervisionFollowUp.objects.get(meeting=meeting)
    supervision.supervision_follow_up_done(actor=personas.alice, follow_up=follow_up)
    supervision.supervision_amendment_add(actor=personas.bob, meeting=meeting, text="Added")
    events = AuditEvent.objects.filter(object_type__startswith="treatment.supervision").order_by(
        "id"
    )
    assert [(e.object_type, e.action, e.detail, e.client_id) for e in events] == [
        ("treatment.supervisionmeeting", "create", "1 supervisees, 1 cases, 1 follow-ups", None),
        ("treatment.supervisionmeeting", "update", "signed", None),
        (
            "treatment.supervisionmeeting",
            "update",
            "course discussed in supervision",
            personas.dana.pk,
        ),
        ("treatment.supervisionfollowup", "update", "marked done", None),
        ("treatment.supervisionamendment", "create", "amendment appended", None),
    ]
    assert not events.filter(detail__icontains="timeline").exists()


def test_the_policy_says_no_to_nobody_and_to_non_supervisors(personas):
    meeting = bob_meeting(personas)
    alice = personas.membership(personas.alice)
    assert not policy.can_keep_supervision(None)
    assert list(policy.supervisees_of(alice)) == []
    assert list(policy.supervisees_of(personas.membership(personas.bob))) == [alice]
    assert not policy.can_read_supervision_meeting(None, meeting)
    assert not policy.can_edit_supervision_meeting(alice, meeting)
    assert not policy.can_amend_supervision_meeting(alice, meeting)
    nobody = SupervisionMeeting.objects.filter(policy.supervision_meetings_q(None))
    assert not nobody.exists()
    assert list(SupervisionMeeting.objects.filter(policy.supervision_meetings_q(alice))) == [
        meeting
    ]
