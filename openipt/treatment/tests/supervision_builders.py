"""Builders of supervision meeting notes for tests and the permission matrix: Bob's note of a
meeting with Alice about her course with Dana, with one follow-up for Alice, made through
the real services (openipt/treatment/supervision.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openipt.testing.personas import Personas
from openipt.treatment import supervision
from openipt.treatment.models import SupervisionFollowUp, SupervisionMeeting
from openipt.treatment.tests import factories

HELD_ON = dt.date(2026, 2, 2)
FOLLOW_UP = "Bring the timeline of the move to the next meeting"


def bob_meeting(p: Personas, *, sign: bool = True) -> SupervisionMeeting:
    alice = p.membership(p.alice)
    course = factories.make_course(p.alice, p.dana)
    data = supervision.MeetingData(
        held_on=HELD_ON,
        supervisees=[alice],
        cases=[course],
        agreed="Keep the work on the role change; ask about sleep each week.",
        follow_ups=[supervision.FollowUpData(alice, FOLLOW_UP)],
    )
    meeting = supervision.supervision_meeting_create(actor=p.bob, data=data)
    if sign:
        meeting = supervision.supervision_meeting_sign(
            actor=p.bob, meeting=meeting, version=meeting.version
        )
    return meeting


def signed_meeting(p: Personas) -> dict[str, Any]:
    return {"meeting_uuid": bob_meeting(p).uuid}


def draft_meeting(p: Personas) -> dict[str, Any]:
    return {"meeting_uuid": bob_meeting(p, sign=False).uuid}


def alice_follow_up(p: Personas) -> dict[str, Any]:
    meeting = bob_meeting(p)
    return {"follow_up_uuid": SupervisionFollowUp.objects.get(meeting=meeting).uuid}
