"""A seeded practice for the outcome dashboard, with its rates worked out by hand.

Alice (supervised by Bob) has nine courses, Eve (supervised by nobody) one. Seven of Alice's
courses ended between 1 December 2025 and 30 June 2026 with a first and a last score:

  course  format  PHQ-9    GAD-7    ended
  1       ipt     18 -> 4  14 -> 5  concluded   both recover: combined recovered, reliably
  2       ipt     15 -> 7  12 -> 10 concluded   recovered on PHQ-9, still a case on GAD-7
  3       ipt     12 -> 16 -        concluded   PHQ-9 only, worse but not reliably
  4       ipt     8 -> 2   6 -> 1   concluded   not a case at the start; reliable improvement
  5       ipt     20 -> 10 16 -> 15 concluded   reliable improvement, still a case
  6       ipt_b   -        10 -> 3  concluded   GAD-7 only: reliable recovery
  7       ipt_b   10 -> 17 9 -> 15  ended early reliable deterioration on both

Course 8 has a single PHQ-9 (no pair); course 9 ended in 2025, before the period. Eve's
course (ipt): PHQ-9 16 -> 3, concluded in the period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from openipt.accounts.models import Membership, User
from openipt.engagement.models import ConsultationRequest
from openipt.measures.models import Instrument
from openipt.measures.scoring import answers_from_entries
from openipt.measures.services import administration_enter
from openipt.testing.personas import Personas, make_client, make_staff
from openipt.treatment.models import Course
from openipt.treatment.tests.factories import make_course, make_session

PERIOD = (dt.date(2025, 12, 1), dt.date(2026, 6, 30))
ENDED = dt.date(2026, 4, 1)


def entries(total: int, items: int) -> list[int | None]:
    """Answers adding up to ``total``, 0 to 3 each, the last item (PHQ-9's item 9) kept 0."""
    values = [0] * items
    left = total
    for i in range(items - 1):
        values[i] = min(3, left)
        left -= values[i]
    assert left == 0, total
    return list(values)


def score(actor: User, course: Course, code: str, total: int, session: int | None, on: dt.date):
    instrument = Instrument.objects.get(code=code, practice__isnull=True)
    answers = answers_from_entries(
        instrument.parsed, entries(total, len(instrument.parsed.scored_items))
    )
    sitting = course.sessions.get(number=session) if session is not None else None
    return administration_enter(
        actor=actor,
        course=course,
        instrument=instrument,
        answers=answers,
        session=sitting,
        completed_on=on,
    )


@dataclass(frozen=True)
class Seeded:
    eve: User
    alice_courses: list[Course]
    eve_course: Course


COURSES = [  # (format, PHQ-9 pair, GAD-7 pair, status)
    ("ipt", (18, 4), (14, 5), Course.Status.CONCLUDED),
    ("ipt", (15, 7), (12, 10), Course.Status.CONCLUDED),
    ("ipt", (12, 16), None, Course.Status.CONCLUDED),
    ("ipt", (8, 2), (6, 1), Course.Status.CONCLUDED),
    ("ipt", (20, 10), (16, 15), Course.Status.CONCLUDED),
    ("ipt_b", None, (10, 3), Course.Status.CONCLUDED),
    ("ipt_b", (10, 17), (9, 15), Course.Status.ENDED_EARLY),
]
# Days between each of courses 1-5's consultation request and its first session (10:00).
REQUESTED_DAYS_BEFORE = [7, 14, 21, 10, 5]


def _paired_course(
    actor: User, client_name: str, spec: tuple[Any, ...], personas: Personas
) -> Course:
    fmt, phq9, gad7, status = spec
    client = make_client(personas.practice, actor, given=client_name, family="Fixture")
    course = make_course(actor, client, format=fmt, start_date=dt.date(2026, 1, 5))
    for number in (1, 2):
        make_session(actor, course, number)
    for code, pair in (("PHQ-9", phq9), ("GAD-7", gad7)):
        if pair is not None:
            score(actor, course, code, pair[0], 1, dt.date(2026, 1, 5))
            score(actor, course, code, pair[1], 2, dt.date(2026, 1, 12))
    Course.objects.filter(pk=course.pk).update(status=status, ended_on=ENDED)
    return course


def seed(personas: Personas) -> Seeded:
    alice = personas.alice
    courses = [
        _paired_course(alice, f"Client{i}", spec, personas) for i, spec in enumerate(COURSES, 1)
    ]
    make_session(alice, courses[0], 3, attendance="no_show")
    for course, days in zip(courses, REQUESTED_DAYS_BEFORE, strict=False):
        asked = ConsultationRequest.objects.create(
            practice=personas.practice,
            name="Someone",
            email="someone@example.test",
            consent_to_contact=True,
            client=course.client,
        )
        when = timezone.make_aware(
            dt.datetime.combine(dt.date(2026, 1, 5), dt.time(10))
        ) - dt.timedelta(days=days)
        ConsultationRequest.objects.filter(pk=asked.pk).update(created_at=when)
    single = make_course(alice, make_client(personas.practice, alice, given="Single", family="F"))
    make_session(alice, single, 1)
    score(alice, single, "PHQ-9", 14, 1, dt.date(2026, 1, 5))
    Course.objects.filter(pk=single.pk).update(status=Course.Status.CONCLUDED, ended_on=ENDED)
    old = make_course(
        alice,
        make_client(personas.practice, alice, given="Earlier", family="F"),
        start_date=dt.date(2025, 3, 3),
    )
    score(alice, old, "PHQ-9", 20, None, dt.date(2025, 3, 3))
    score(alice, old, "PHQ-9", 2, None, dt.date(2025, 5, 5))
    Course.objects.filter(pk=old.pk).update(
        status=Course.Status.CONCLUDED, ended_on=dt.date(2025, 6, 1)
    )
    eve = make_staff(personas.practice, "eve@riverside.test", "Eve Clinician")
    eve_course = _paired_course(eve, "EveClient", ("ipt", (16, 3), None, "concluded"), personas)
    return Seeded(eve, [*courses, single, old], eve_course)


def membership(user: User) -> Membership:
    return Membership.objects.get(user=user)
