"""The caseload's per-course summary row (docs/adr/0025-course-summary.md): after any sequence
of real service calls the stored row equals a fresh computation from the records, and the
caseload's rows read from it equal the rows worked out from the full records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openipt.care import guidance as guidance_lib
from openipt.care import selectors
from openipt.core.versioning import EditConflict
from openipt.measures import services as measures
from openipt.measures.models import Instrument
from openipt.measures.scoring import answers_from_entries
from openipt.measures.summary import differences, fresh_summary
from openipt.treatment import protocol, services
from openipt.treatment.models import (
    Course,
    CourseSummary,
    InventoryPerson,
    PhaseTaskStatus,
    ProblemArea,
    Session,
    Technique,
    TimelineEvent,
)
from openipt.treatment.tests.factories import START, make_course

# A zone far from UTC, so that a day read from the summary is the reader's day.
READER_ZONE = "Pacific/Auckland"


def _at(course: Course, days: int, hour: int = 10) -> dt.datetime:
    day = course.start_date + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _score(personas: Any, course: Course, code: str, level: int, session: Session | None) -> None:
    instrument = Instrument.objects.get(code=code, practice__isnull=True)
    items = 9 if code == "PHQ-9" else 7
    entries = [level] * (items - 1) + [0]  # never the PHQ-9's item about self-harm
    measures.administration_enter(
        actor=personas.alice,
        course=course,
        instrument=instrument,
        answers=answers_from_entries(instrument.parsed, entries),
        session=session,
        completed_on=None if session is not None else START + dt.timedelta(days=3),
    )


@dataclass(frozen=True)
class Step:
    kind: str
    a: int  # which record, or a size
    b: int  # a second choice (attendance, risk, status ...)
    maintenance: bool  # on the maintenance course rather than the acute one


KINDS = (
    "session",
    "session_edit",
    "session_renumber",
    "sign",
    "technique",
    "phq9",
    "gad7",
    "note",
    "assigned",
    "person",
    "person_edit",
    "timeline",
    "timeline_edit",
    "area",
    "area_edit",
    "formulation",
    "contract",
    "termination",
    "mark",
    "medication",
    "goal",
)

STEPS = st.builds(
    Step,
    kind=st.sampled_from(KINDS),
    a=st.integers(0, 5),
    b=st.integers(0, 3),
    maintenance=st.booleans(),
)

ATTENDANCE = list(Session.Attendance.values)
RISK = list(Session.Risk.values)


def _unsigned(course: Course, a: int) -> Session | None:
    rows = list(course.sessions.filter(signed_at__isnull=True).order_by("number"))
    return rows[a % len(rows)] if rows else None


def _session_data(course: Course, number: int, a: int, b: int) -> services.SessionData:
    override = b == 3
    reason = ("Moving on early" if a % 2 else "x") if override else ""
    return services.SessionData(
        number=number,
        starts_at=_at(course, 7 * (number - 1) + a),
        attendance=ATTENDANCE[b % len(ATTENDANCE)],
        risk_check=RISK[a % len(RISK)],
        mood=a if a % 2 else None,
        events_since_last="A row with a friend" if b % 2 else "",
        tasks_set="Call a friend" if a % 3 == 0 else "",
        attendees=("client", "parent") if a == 4 else ("client",),
        phase_override="middle" if override else "",
        phase_override_reason=reason,
    )


def _session_steps(actor: Any, course: Course, step: Step) -> None:
    if step.kind == "session":
        number = services.next_session_number(course)
        services.session_create(
            actor=actor, course=course, data=_session_data(course, number, step.a, step.b)
        )
        return
    session = _unsigned(course, step.a)
    if session is None:
        return
    if step.kind == "session_edit":
        data = _session_data(course, session.number, step.b, step.a)
        services.session_update(actor=actor, session=session, version=session.version, data=data)
    elif step.kind == "session_renumber":
        number = services.next_session_number(course)
        data = services.SessionData.of(session)
        data = services.SessionData(**{**data.__dict__, "number": number})
        services.session_update(actor=actor, session=session, version=session.version, data=data)
    elif step.kind == "sign":
        services.session_sign(actor=actor, session=session, version=session.version)
    else:
        kind = list(Technique.Kind.values)[step.b % len(Technique.Kind.values)]
        services.technique_create(
            actor=actor, session=session, data=services.TechniqueData(kind=kind)
        )


def _measure_steps(personas: Any, course: Course, step: Step) -> None:
    session = _unsigned(course, step.a) if step.b % 2 else None
    if step.kind in ("phq9", "gad7"):
        _score(personas, course, "PHQ-9" if step.kind == "phq9" else "GAD-7", step.a % 4, session)
    elif step.kind == "note":
        number = services.next_session_number(course)
        phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
        entry = measures.EntryData(answers=answers_from_entries(phq9.parsed, [step.b] * 8 + [0]))
        note = measures.SessionNote(
            data=_session_data(course, number, step.a, step.b),
            measures=(measures.SessionMeasure("phq9", phq9, entry),),
            sign=step.a % 2 == 1,
        )
        measures.session_note_save(actor=personas.alice, course=course, note=note)
    else:  # sent to the client, who completes it in the portal
        gad7 = Instrument.objects.get(code="GAD-7", practice__isnull=True)
        sent = measures.administration_assign(
            actor=personas.alice,
            client=course.client,
            instrument=gad7,
            due_on=timezone.localdate(),
            course=course,
        )
        if step.b:
            measures.administration_complete(
                actor=personas.alice,
                administration=sent,
                answers=answers_from_entries(gad7.parsed, [step.b] * 7),
            )


def _inventory_steps(actor: Any, course: Course, step: Step) -> None:
    snapshot = InventoryPerson.Snapshot.END if step.b == 3 else InventoryPerson.Snapshot.START
    if step.kind == "person":
        data = services.PersonData(name=f"P{step.a}{step.b}", snapshot=snapshot)
        services.inventory_person_create(actor=actor, course=course, data=data)
    elif step.kind == "person_edit":
        person = course.inventory.order_by("pk").first()
        if person is not None:
            data = services.PersonData(name=person.name, snapshot=snapshot)
            services.inventory_person_update(
                actor=actor, person=person, version=person.version, data=data
            )
    elif step.kind == "timeline":
        event_data = services.TimelineEventData(
            date=START - dt.timedelta(days=30 * (step.a + 1)),
            kind="other",
            description="Moved house",
            marks_symptom_onset=step.b == 1,
        )
        services.timeline_event_create(actor=actor, course=course, data=event_data)
    else:
        event = TimelineEvent.objects.filter(course=course).order_by("pk").first()
        if event is not None:
            changed = services.TimelineEventData(
                date=event.date,
                kind=event.kind,
                description=event.description,
                marks_symptom_onset=not event.marks_symptom_onset,
            )
            services.timeline_event_update(
                actor=actor, event=event, version=event.version, data=changed
            )


AREAS = list(ProblemArea._meta.get_field("area").choices or ())


def _area_data(a: int, b: int, person: InventoryPerson | None) -> services.ProblemAreaData:
    return services.ProblemAreaData(
        is_primary=b == 1,
        is_secondary=b == 2,
        evidence="Since the move" if a % 2 else "",
        deficits_rationale="Few close ties" if a == 3 else "",
        other_person=person,
        dispute_stage="impasse" if b == 3 else "",
    )


def _formulation_steps(actor: Any, course: Course, step: Step) -> None:
    if step.kind == "area":
        area = AREAS[step.a % len(AREAS)][0]
        person = course.inventory.first()
        services.problem_area_create(
            actor=actor, course=course, area=area, data=_area_data(step.a, step.b, person)
        )
    elif step.kind == "area_edit":
        found = ProblemArea.objects.filter(course=course).order_by("pk").first()
        if found is not None:
            services.problem_area_update(
                actor=actor,
                problem_area=found,
                version=found.version,
                data=_area_data(step.b, step.a % 4, None),
            )
    elif step.kind == "formulation":
        existing = getattr(Course.objects.get(pk=course.pk), "formulation", None)
        data = services.FormulationData(
            text="How the move and the mood hang together" if step.a else "",
            shared_on=START + dt.timedelta(days=20) if step.b else None,
            client_agreement="agreed" if step.b == 2 else "",
        )
        services.formulation_save(
            actor=actor, course=course, version=existing.version if existing else 0, data=data
        )
    else:
        areas = ["grief"] if step.b % 2 else []
        contract = services.ContractData(
            planned_sessions=8 + step.a * 2,
            frequency="weekly",
            agreed_on=START + dt.timedelta(days=14),
            focus_areas=tuple(areas),
            reason="Renegotiated" if course.contracts.exists() else "",
        )
        services.contract_record(actor=actor, course=course, data=contract)


def _ending_steps(actor: Any, course: Course, step: Step) -> None:
    if step.kind == "termination":
        existing = getattr(Course.objects.get(pk=course.pk), "termination", None)
        data = services.TerminationData(
            raised_at_session=step.a or None,
            gains="Sleeping better" if step.b else "",
            warning_signs="Withdrawing" if step.b > 1 else "",
            relapse_plan="Call the practice" if step.b > 2 else "",
            next_step=["", "none", "maintenance"][step.a % 3],
            next_step_reason="Agreed together" if step.a % 3 else "",
        )
        services.termination_save(
            actor=actor, course=course, version=existing.version if existing else 0, data=data
        )
    elif step.kind == "mark":
        task = protocol.TASKS[(step.a * 4 + step.b) % len(protocol.TASKS)]
        status = list(PhaseTaskStatus.Status.values)[step.b % 3]
        services.phase_task_set(
            actor=actor,
            course=course,
            data=services.TaskMarkData(task_code=task.code, status=status),
        )
    elif step.kind == "medication":
        fresh = Course.objects.get(pk=course.pk)
        current = services.CourseUpdateData.of(fresh)
        update = services.CourseUpdateData(
            **{**current.__dict__, "medication_status": list(Course.Medication.values)[step.b]}
        )
        services.course_update(actor=actor, course=fresh, version=fresh.version, data=update)
    else:  # a goal is no input of the protocol: its service leaves the summary as it was
        services.goal_create(actor=actor, course=course, data=services.GoalData(text="Sleep"))


def _apply(personas: Any, course: Course, step: Step) -> None:
    actor = personas.alice
    course = Course.objects.select_related("client").get(pk=course.pk)
    if step.kind.startswith("session") or step.kind in ("sign", "technique"):
        _session_steps(actor, course, step)
    elif step.kind in ("phq9", "gad7", "note", "assigned"):
        _measure_steps(personas, course, step)
    elif step.kind.startswith(("person", "timeline")):
        _inventory_steps(actor, course, step)
    elif step.kind in ("area", "area_edit", "formulation", "contract"):
        _formulation_steps(actor, course, step)
    else:
        _ending_steps(actor, course, step)


def _try(personas: Any, course: Course, step: Step) -> None:
    """A step the services refuse (a third focus area, a session beyond the contract ...)
    changes nothing: that is part of what is checked."""
    try:
        with transaction.atomic():
            _apply(personas, course, step)
    except (ValidationError, EditConflict):
        pass


def _fetched(course: Course) -> tuple[Course, CourseSummary | None]:
    """The course as the caseload fetches it, and the summary of the course it follows."""
    fetched = Course.objects.select_related("client__practice", "summary", "follows__summary").get(
        pk=course.pk
    )
    previous = fetched.follows.summary if fetched.follows is not None else None
    return fetched, previous


def _reader_row(course: Course) -> selectors.CaseloadRow:
    fetched, previous = _fetched(course)
    return selectors.summary_row(fetched, fetched.summary, previous, open_alerts=[])


def _records_row(course: Course) -> selectors.CaseloadRow:
    return selectors.records_row(selectors.with_course_records(course), open_alerts=[])


def assert_summary_is_fresh(course: Course) -> None:
    stored = CourseSummary.objects.filter(course_id=course.pk).first()
    assert differences(stored, fresh_summary(course.pk)) == []
    with timezone.override(READER_ZONE):
        from_summary, from_records = _reader_row(course), _records_row(course)
        full = selectors.with_course_records(course)
        fetched, previous = _fetched(course)
        state = guidance_lib.summary_read(fetched, fetched.summary, previous).state
        assert state == guidance_lib.course_state(full)
    assert from_summary.latest_session == from_records.latest_session
    assert from_summary.risk_concerns == from_records.risk_concerns
    assert from_summary.off_track == from_records.off_track
    assert from_summary.guidance == from_records.guidance


def test_the_summary_always_equals_a_fresh_computation_after_any_service_calls(personas):
    practice = personas.practice

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(steps=st.lists(STEPS, min_size=1, max_size=14), schedule=st.booleans())
    def run(steps: list[Step], schedule: bool) -> None:
        with transaction.atomic():
            practice.measure_every_fourth_session = schedule
            practice.save(update_fields=["measure_every_fourth_session"])
            acute = make_course(personas.alice, personas.dana)
            maintenance = services.course_start_maintenance(
                actor=personas.alice,
                previous=acute,
                clinician=personas.membership(personas.alice),
                data=services.MaintenanceData(start_date=START + dt.timedelta(days=90)),
            )
            for step in steps:
                _try(personas, maintenance if step.maintenance else acute, step)
                assert_summary_is_fresh(acute)
                assert_summary_is_fresh(maintenance)
            transaction.set_rollback(True)

    run()
