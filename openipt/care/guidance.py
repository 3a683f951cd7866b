"""Maps a course's records onto ``protocol.CourseState`` and asks the protocol for guidance.

A selector-level adapter: it reads what the caller has already fetched (the course with
``selectors.COURSE_PREFETCH`` applied) and, unless the caller passes them, the course's
open risk alerts in one query; a list page passes the alerts of all its courses, so its
query count does not grow with its length.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from openipt.measures import selectors as measure_selectors
from openipt.measures.models import RiskAlert
from openipt.treatment import formats, protocol
from openipt.treatment.models import (
    Course,
    InventoryPerson,
    PhaseTaskStatus,
    Session,
    TerminationRecord,
)


def session_phase(course: Course, session: Session) -> str:
    """The phase the protocol gives this session, unless the clinician overrode it."""
    if session.phase_override:
        return session.phase_override
    fmt = formats.get_format(course.format)
    return str(formats.phase_for_session(fmt, session.number, course.planned_sessions))


def phase_label(phase: str) -> str:
    """The phase by its plain name ("Getting started", "Working on it", "Finishing well"):
    the one phase vocabulary of the staff pages (docs/ipt.md §10)."""
    return _(formats.PHASE_LABELS[formats.Phase(phase)].lay)


def phase_clinical(phase: str) -> str:
    """The clinical name of the phase ("Initial phase"), for a tooltip or a details line."""
    return _(formats.PHASE_LABELS[formats.Phase(phase)].clinical)


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
        risk_concerns=session.risk_check == Session.Risk.CONCERNS,
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


def carried_baseline(course: Course) -> protocol.MeasureResult | None:
    """For a course that follows another (maintenance IPT), the earlier course's latest
    depression score: it serves as this course's baseline (docs/ipt.md §7, ``ipt_m``). No
    query when ``follows`` and its administrations were prefetched."""
    previous = course.follows if course.follows_id else None
    latest = latest_measure(previous) if previous is not None else None
    if latest is None:
        return None
    return protocol.MeasureResult(latest.instrument, latest.total, latest.on, session_number=0)


def latest_measure(course: Course) -> protocol.MeasureResult | None:
    """The course's latest depression score (no query with ``ADMINISTRATIONS_PREFETCH``)."""
    results = measure_selectors.course_measure_results(course)
    return max(results, key=lambda m: (m.on or dt.date.min, m.session_number or 0), default=None)


#: The practice's measurement schedule, when it chose one: every how many sessions.
SCHEDULE_EVERY = 4
ANXIETY_CODES = ("GAD-7",)


def measure_schedule(course: Course) -> int | None:
    """``SCHEDULE_EVERY`` when the course's practice asks for PHQ-9 and GAD-7 at least every
    fourth session, else ``None`` (no query when the practice was fetched with the course)."""
    return SCHEDULE_EVERY if course.client.practice.measure_every_fourth_session else None


def anxiety_measures(course: Course) -> tuple[protocol.MeasureResult, ...]:
    """The course's valid GAD-7 totals (a translation scored as the GAD-7 counts), one query;
    read only while a measurement schedule is on."""
    rows = measure_selectors.completed_administrations().filter(
        Q(instrument__code__in=ANXIETY_CODES) | Q(instrument__same_as__in=ANXIETY_CODES),
        course=course,
        total__isnull=False,
    )
    return tuple(
        protocol.MeasureResult(
            instrument=row.instrument.same_as or row.instrument.code,
            total=float(row.total or 0),
            on=timezone.localdate(row.completed_at) if row.completed_at else None,
            session_number=row.session.number if row.session else None,
        )
        for row in rows
    )


def course_state(course: Course) -> protocol.CourseState:
    sessions = list(course.sessions.all())
    people = [p for p in course.inventory.all() if p.snapshot == InventoryPerson.Snapshot.START]
    events = list(course.timeline.all())
    measures = measure_selectors.course_measure_results(course)
    carried = carried_baseline(course)
    if carried is not None:
        measures = (carried, *measures)
    every = measure_schedule(course)
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
        measure_every=every,
        anxiety_measures=anxiety_measures(course) if every is not None else (),
    )


@dataclass(frozen=True)
class ShownItem:
    """One guidance item ready for a template: translated reason, severity, and the rule
    behind it in plain words (``rule_text``, for a details element; never a bare number)."""

    code: str
    rule: int | None
    severity: str
    reason: str
    rule_text: str = ""
    task: str = ""  # the §3 task's short label, when the item is about one
    url: str = ""  # where the item is dealt with, when that is not the task mark
    markable: bool = True  # a clinician may mark it done, not applicable or deferred


#: The severity of an open critical-item alert: above every protocol item.
RISK = "risk"


def _alert_item(alert: RiskAlert) -> ShownItem:
    """An open critical-item alert as the first guidance item. It cannot be marked away:
    it ends when someone acknowledges the alert with what was done."""
    raised = timezone.localtime(alert.raised_at)
    return ShownItem(
        "risk.alert_open",
        None,
        RISK,
        _(
            "%(instrument)s on %(date)s had an answer about self-harm or safety that nobody "
            "has responded to yet: check in with the client and record what was done."
        )
        % {
            "instrument": alert.administration.instrument.code,
            "date": date_format(raised, "j M"),
        },
        url=reverse("measures:alert-detail", args=[alert.uuid]),
        markable=False,
    )


def _shown(item: protocol.GuidanceItem) -> ShownItem:
    message = _(item.message)
    reason = message % item.params_dict if item.params else message
    summary = protocol.rule_summary(item.rule)
    spec = TASKS_BY_CODE.get(item.code)
    return ShownItem(
        item.code,
        item.rule,
        str(item.severity),
        reason,
        rule_text=_(summary) if summary else "",
        task=_(spec.label) if spec else "",
    )


TASKS_BY_CODE = {spec.code: spec for spec in protocol.TASKS}


@dataclass(frozen=True)
class SettledTask:
    """A phase task that nothing flags now: marked by the clinician, or met by the records."""

    code: str
    label: str
    mark: str  # the mark's label, "" when the records meet it


NO_ACTION = protocol.Action(protocol.NextAction.NONE)


@dataclass(frozen=True)
class CourseGuidance:
    phase: str
    phase_label: str
    sessions_held: int
    next_session: int
    due: tuple[ShownItem, ...]  # folded: a repeated per-session item is one line
    warnings: tuple[ShownItem, ...]
    each_session: tuple[str, ...] = ()  # the phase's per-session task labels
    settled: tuple[SettledTask, ...] = ()
    action: protocol.Action = NO_ACTION

    @property
    def flag_count(self) -> int:
        return len(self.due) + len(self.warnings)

    @property
    def todo(self) -> tuple[ShownItem, ...]:
        """The one list of the overview: due (overdue first), then warnings and notices."""
        return self.due + self.warnings


_DUE = (protocol.Severity.OVERDUE, protocol.Severity.DUE)


def guidance_for(
    course: Course,
    *,
    today: dt.date | None = None,
    appointment_today: bool = False,
    open_alerts: Sequence[RiskAlert] | None = None,
) -> CourseGuidance:
    """The protocol's guidance for a course, folded and merged with the phase's tasks
    (``protocol.worklist``), with the page's next action. The course's open risk alerts
    come first, whatever the protocol says (one query unless the caller passes
    ``open_alerts``, as a list page does for all its courses at once)."""
    today = today or timezone.localdate()
    if open_alerts is None:
        open_alerts = measure_selectors.open_alerts_by_course([course.pk]).get(course.pk, [])
    state = course_state(course)
    result = protocol.evaluate(state, today=today)
    work = protocol.worklist(state, result)
    marks = dict(PhaseTaskStatus.Status.choices)
    return CourseGuidance(
        phase=str(result.phase),
        phase_label=phase_label(str(result.phase)),
        sessions_held=result.sessions_held,
        next_session=result.next_session,
        due=tuple(_alert_item(a) for a in open_alerts)
        + tuple(_shown(i) for i in work.todo if i.severity in _DUE),
        warnings=tuple(_shown(i) for i in work.todo if i.severity not in _DUE),
        each_session=tuple(_(spec.label) for spec in work.each_session),
        settled=tuple(
            SettledTask(spec.code, _(spec.label), str(marks[mark.value]) if mark else "")
            for spec, mark in work.settled
        ),
        action=protocol.next_action(state, today=today, appointment_today=appointment_today),
    )
