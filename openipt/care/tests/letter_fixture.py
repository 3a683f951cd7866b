"""A course with everything a letter draws on, made through the real services: a focus, a
contract, attended sessions, PHQ-9 and GAD-7 at the start and the end, an ending record,
and a private process note whose text must never reach a letter (``CANARY``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openipt.care import letters
from openipt.care.tests.outcome_fixture import score
from openipt.clients import services as clients
from openipt.clients.models import ConsentRecord
from openipt.testing.personas import Personas
from openipt.treatment import services
from openipt.treatment.models import Course, Letter
from openipt.treatment.tests import factories

CANARY = "CANARY-PROCESS-NOTE-7Q4"
GAINS = "Dana rang her sister every week and feels less alone."
RELAPSE_PLAN = "Call her sister and book a session with her GP."


def demo_course(p: Personas) -> Course:
    alice = p.alice
    course = factories.make_course(alice, p.dana, planned_sessions=12)
    services.problem_area_create(
        actor=alice, course=course, area="role_transition",
        data=services.ProblemAreaData(is_primary=True, evidence="Moved city for work."),
    )  # fmt: skip
    services.contract_record(
        actor=alice, course=course,
        data=services.ContractData(
            planned_sessions=12, frequency="weekly", agreed_on=factories.START,
            focus_areas=("role_transition",), goals_summary="Build a circle of friends here.",
            arrangements="Mondays at 10:00; Dana lets us know if she cannot come.",
        ),
    )  # fmt: skip
    for number in (1, 2, 3):
        factories.make_session(alice, course, number)
    factories.make_session(alice, course, 4, attendance="no_show")
    first = course.sessions.get(number=1)
    services.process_note_save(actor=alice, session=first, version=0, text=CANARY)
    score(alice, course, "PHQ-9", 18, 1, factories.START)
    score(alice, course, "GAD-7", 14, 1, factories.START)
    score(alice, course, "PHQ-9", 7, 3, factories.START + dt.timedelta(days=14))
    score(alice, course, "GAD-7", 5, 3, factories.START + dt.timedelta(days=14))
    services.termination_save(
        actor=alice, course=course, version=0,
        data=services.TerminationData(
            gains=GAINS, warning_signs="Staying in bed at weekends.", relapse_plan=RELAPSE_PLAN,
            relapse_contacts="Her GP, Dr Rao.", next_step="none",
            next_step_reason="She feels ready to carry on alone.",
        ),
    )  # fmt: skip
    return course


def give_consent(p: Personas, kind: str) -> ConsentRecord:
    return clients.consent_record_add(
        actor=p.alice, client=p.dana, kind=kind, consented_on=factories.START,
        text_version="2026-1",
    )  # fmt: skip


def consent_to_all(p: Personas) -> None:
    give_consent(p, ConsentRecord.Kind.SHARE_REFERRER)
    give_consent(p, ConsentRecord.Kind.SHARE_SUMMARY)


def write_letter(p: Personas, course: Course, kind: str) -> Letter:
    return letters.letter_create(
        actor=p.alice, course=course, kind=kind, recipient_name="Dr A. Rao",
        recipient_address="Riverside Surgery\n1 High Street",
    )  # fmt: skip


# Permission-matrix fillers (tests/test_permission_matrix.py).


def letter_to_write(p: Personas) -> dict[str, Any]:
    """Dana's course, with her consent to letters to her GP: the assessment letter."""
    course = factories.make_course(p.alice, p.dana)
    give_consent(p, ConsentRecord.Kind.SHARE_REFERRER)
    return {"course_uuid": course.uuid, "kind": letters.Kind.ASSESSMENT}


def dana_letter(p: Personas) -> dict[str, Any]:
    course = factories.make_course(p.alice, p.dana)
    give_consent(p, ConsentRecord.Kind.SHARE_REFERRER)
    letter = write_letter(p, course, letters.Kind.ASSESSMENT)
    return {"course_uuid": course.uuid, "letter_uuid": letter.uuid}


def letter_kind(p: Personas) -> dict[str, Any]:
    return {"kind": letters.Kind.CLIENT_SUMMARY}
