"""Maps a course's records onto ``protocol.CourseState`` and asks the protocol for guidance.

A selector-level adapter: it reads only what the caller has already fetched (the course with
``selectors.COURSE_PREFETCH`` applied), so it runs no queries of its own and the caseload's
query count does not grow with its length.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.measures import selectors as measure_selectors
from openipt.treatment import formats, protocol
from openipt.treatment.models import Course, InventoryPerson, Session, TerminationRecord


def session_phase(course: Course, session: Session) -> str:
    """The phase the protocol gives this session, unless the clinician overrode it."""
    if session.phase_override:
        return session.phase_override
    fmt = formats.get_format(course.format)
    return str(formats.phase_for_session(fmt, session.number, course.planned_sessions))


def phase_label(phase: str) -> str:
    label = formats.PHASE_LABELS[formats.Phase(phase)]
    return _("%(clinical)s (%(lay)s)") % {"clinical": _(label.clinical), "lay": _(label.lay)}


def _session_record(session: Session) -> protocol.SessionRecord:
    return protocol.SessionRecord(
        number=session.number,
        on=timezone.localdate(session.starts_at),
        attendance=protocol.Attendance(session.attendance),
        phase_override=formats.Phase(session.phase_override) if session.phase_override else None,
        override_reason=session.phase_override_reason,
        opening_review=session.mood is not None and bool(session.events_since_last.strip()),
        techniques=tuple(session.techniques_used),
        tasks_set=1 if session.tasks_set.strip() else 0,
        risk_checked=session.risk_check != Session.Risk.NOT_ASKED,
        signed=session.is_signed,
    )


def _termination(
    course: Course, measures: tuple[protocol.MeasureResult, ...]
) -> protocol.Termination:
    record: TerminationRecord | None = getattr(course, "termination", None)
    if record is None:
        return protocol.Termination()
    # The final measure is one taken at (or after) the contracted last session.
    final_measure = any(
        m.session_number is not None and m.session_number >= course.planned_sessions
        for m in measures
    )
    return protocol.Termination(
        raised_at_session=record.raised_at_session,
        gains_reviewed=bool(record.gains.strip()),
        warning_signs=bool(record.warning_signs.strip()),
        relapse_plan=bool(record.relapse_plan.strip()),
        final_measure=final_measure,
        next_step=protocol.NextStep(record.next_step) if record.next_step else None,
        next_step_reason=record.next_step_reason,
    )


def _formulation(course: Course) -> protocol.Formulation:
    record = getattr(course, "formulation", None)
    if record is None:
        return protocol.Formulation()
    return protocol.Formulation(
        text_present=bool(record.text.strip()),
        shared_on=record.shared_on,
        agreed=record.is_agreed,
        agreed_on=record.shared_on if record.is_agreed else None,
    )


def course_state(course: Course) -> protocol.CourseState:
    sessions = list(course.sessions.all())
    people = [p for p in course.inventory.all() if p.snapshot == InventoryPerson.Snapshot.START]
    events = list(course.timeline.all())
    measures = measure_selectors.course_measure_results(course)
    return protocol.CourseState(
        format=formats.FormatCode(course.format),
        planned_sessions=course.planned_sessions,
        status=protocol.CourseStatus(course.status),
        contracts=tuple(
            protocol.ContractVersion(
                planned_sessions=c.planned_sessions,
                frequency=c.frequency,
                focus=tuple(formats.ProblemArea(a) for a in c.focus_areas),
                agreed_on=c.agreed_on,
                client_agreed=c.client_agreed,
                reason=c.reason,
            )
            for c in course.contracts.all()
        ),
        sessions=tuple(_session_record(s) for s in sessions),
        inventory=protocol.Inventory(people=len(people), in_circle=len(people)),
        timeline=protocol.Timeline(
            events=len(events), onset_marked=any(e.marks_symptom_onset for e in events)
        ),
        problem_areas=tuple(
            protocol.ProblemAreaRecord(
                area=formats.ProblemArea(pa.area),
                focus=pa.is_focus,
                primary=pa.is_primary,
                evidence=bool(pa.evidence.strip()),
                deficits_rationale=pa.deficits_rationale,
                dispute_person_linked=pa.other_person_id is not None,
                dispute_stage=formats.DisputeStage(pa.dispute_stage) if pa.dispute_stage else None,
            )
            for pa in course.problem_areas.all()
        ),
        formulation=_formulation(course),
        measures=measures,
        termination=_termination(course, measures),
        medication_decision_recorded=course.medication_status != Course.Medication.NOT_RECORDED,
        parent_sessions=tuple(s.number for s in sessions if "parent" in s.attendees),
        marks=tuple(
            protocol.TaskMark(code=m.task_code, status=protocol.MarkStatus(m.status))
            for m in course.task_statuses.all()
        ),
    )


@dataclass(frozen=True)
class ShownItem:
    """One guidance item ready for a template: translated reason, rule and severity."""

    code: str
    rule: int | None
    severity: str
    reason: str


def _shown(item: protocol.GuidanceItem) -> ShownItem:
    message = _(item.message)
    reason = message % item.params_dict if item.params else message
    return ShownItem(item.code, item.rule, str(item.severity), reason)


@dataclass(frozen=True)
class CourseGuidance:
    phase: str
    phase_label: str
    sessions_held: int
    next_session: int
    due: tuple[ShownItem, ...]
    warnings: tuple[ShownItem, ...]

    @property
    def flag_count(self) -> int:
        return len(self.due) + len(self.warnings)


def guidance_for(course: Course, *, today: dt.date | None = None) -> CourseGuidance:
    result = protocol.evaluate(course_state(course), today=today or timezone.localdate())
    return CourseGuidance(
        phase=str(result.phase),
        phase_label=phase_label(str(result.phase)),
        sessions_held=result.sessions_held,
        next_session=result.next_session,
        due=tuple(_shown(i) for i in result.due),
        warnings=tuple(_shown(i) for i in result.warnings),
    )


def task_checklist(course: Course, phase: str) -> list[tuple[protocol.TaskSpec, str]]:
    """The §3 tasks of one phase with the clinician's current mark ('' when unmarked)."""
    marks = {m.task_code: m.status for m in course.task_statuses.all()}
    specs = protocol.phase_tasks(formats.FormatCode(course.format), formats.Phase(phase))
    return [(spec, marks.get(spec.code, "")) for spec in specs]
