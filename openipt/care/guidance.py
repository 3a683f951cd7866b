"""Maps a course's records onto ``protocol.CourseState`` and asks the protocol for guidance.

A selector-level adapter: it reads what the caller has already fetched (the course with
``selectors.COURSE_PREFETCH`` applied) and, unless the caller passes them, the course's
open risk alerts in one query; a list page passes the alerts of all its courses, so its
query count does not grow with its length.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import FloatField, Q, TextField
from django.db.models.functions import Cast, Length, Substr
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from openipt.measures import selectors as measure_selectors
from openipt.measures import summary as measure_summary
from openipt.measures.models import Administration, RiskAlert
from openipt.treatment import formats, protocol
from openipt.treatment import summary as records_summary
from openipt.treatment.models import (
    Course,
    CourseSummary,
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


#: Enough of a note's text to tell whether it says anything (``str.strip``); the rare text
#: that opens with more white space than this is read whole (``course_sessions``).
TEXT_HEAD = 40


@dataclass(frozen=True)
class CourseSessions:
    """A course's sessions as the protocol and the course page read them, from one query of
    a few short columns: no model instance and no note text per session, so a maintenance
    course of hundreds of sessions costs little more than a short one."""

    records: tuple[protocol.SessionRecord, ...]  # in session order
    parent_sessions: tuple[int, ...]
    held: tuple[tuple[int, str, dt.datetime], ...]  # (number, attendance, start) per session


def _says_something(head: str, length: int, whole: str | None) -> bool:
    """``bool(text.strip())`` from the text's first ``TEXT_HEAD`` characters and its length
    (``whole``: the full text, read only when the head is all white space)."""
    if head.strip():
        return True
    return length > len(head) and bool((whole or "").strip())


_ATTENDANCE = {a.value: a for a in protocol.Attendance}
_PHASES = {p.value: p for p in formats.Phase}


def _json_list(text: str) -> list[str]:
    """A list column read as its JSON text (most are empty: no decoding then)."""
    return [] if text == "[]" else list(json.loads(text))


def _instant(text: str) -> dt.datetime:
    """A time column read as text: the database's UTC time, naive on SQLite, with its
    offset on PostgreSQL (whose connection Django sets to UTC). ``fromisoformat`` reads
    both in a fraction of the time of the field's own conversion, once per session."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def course_sessions(course: Course) -> CourseSessions:
    """``_session_record`` of every session of the course, from their columns (one query;
    a second only for a note that opens with ``TEXT_HEAD`` characters of white space)."""
    rows = list(
        Session.objects.filter(course=course)
        .annotate(
            review_head=Substr("events_since_last", 1, TEXT_HEAD),
            review_length=Length("events_since_last"),
            task_head=Substr("tasks_set", 1, TEXT_HEAD),
            task_length=Length("tasks_set"),
            signed_text=Cast("signed_at", TextField()),  # as text: no conversion per row
            start_text=Cast("starts_at", TextField()),
            techniques_text=Cast("techniques_used", TextField()),
            attendees_text=Cast("attendees", TextField()),
        )
        .values_list(
            "pk", "number", "start_text", "attendance", "phase_override",
            "phase_override_reason", "mood", "review_head", "review_length", "techniques_text",
            "task_head", "task_length", "risk_check", "signed_text", "attendees_text",
        )
    )  # fmt: skip
    zone = timezone.get_current_timezone()
    blank_heads = [
        row[0]
        for row in rows
        if (row[8] > TEXT_HEAD and not row[7].strip())
        or (row[11] > TEXT_HEAD and not row[10].strip())
    ]
    texts: dict[int, tuple[str, str]] = {}
    if blank_heads:
        texts = {
            pk: (review, task)
            for pk, review, task in Session.objects.filter(pk__in=blank_heads).values_list(
                "pk", "events_since_last", "tasks_set"
            )
        }
    records, starts = [], []
    for (pk, number, start_text, attendance, override, reason, mood, review_head, review_length,
         techniques, task_head, task_length, risk, signed, _attendees) in rows:  # fmt: skip
        review, task = texts.get(pk, (None, None))
        starts_at = _instant(start_text)
        starts.append(starts_at)
        records.append(
            protocol.SessionRecord(
                number=number,
                on=starts_at.astimezone(zone).date(),  # ``localdate`` without its look-ups
                attendance=_ATTENDANCE[attendance],
                phase_override=_PHASES[override] if override else None,
                override_reason=reason,
                opening_review=mood is not None
                and _says_something(review_head, review_length, review),
                techniques=tuple(_json_list(techniques)),
                tasks_set=1 if _says_something(task_head, task_length, task) else 0,
                risk_checked=risk != Session.Risk.NOT_ASKED,
                risk_concerns=risk == Session.Risk.CONCERNS,
                signed=signed is not None,
            )
        )
    return CourseSessions(
        records=tuple(records),
        # Decoded only where the text names a parent at all.
        parent_sessions=tuple(
            row[1] for row in rows if '"parent"' in row[14] and "parent" in json.loads(row[14])
        ),
        held=tuple((row[1], row[3], at) for row, at in zip(rows, starts, strict=True)),
    )


def depression_results(course: Course) -> tuple[protocol.MeasureResult, ...]:
    """``measures.selectors.course_measure_results`` from a few columns of the course's
    valid depression totals (one query; no model instance per score)."""
    codes = measure_selectors.DEPRESSION_CODES
    rows = (
        Administration.objects.filter(
            Q(instrument__code__in=codes) | Q(instrument__same_as__in=codes),
            course=course,
            status=Administration.Status.COMPLETED,
            total__isnull=False,
        )
        .order_by("completed_at", "pk")
        .annotate(
            total_float=Cast("total", FloatField()), done_text=Cast("completed_at", TextField())
        )
        .values_list("instrument__same_as", "instrument__code", "total_float", "done_text",
                     "session__number")
    )  # fmt: skip
    zone = timezone.get_current_timezone()
    return tuple(
        protocol.MeasureResult(
            instrument=same_as or code,
            total=total,
            on=_instant(done).astimezone(zone).date() if done else None,
            session_number=number,
        )
        for same_as, code, total, done, number in rows
        if (same_as or code) in codes
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
    return latest_of(measure_selectors.course_measure_results(course))


def latest_of(results: Sequence[protocol.MeasureResult]) -> protocol.MeasureResult | None:
    """The latest of some depression scores, by day and then session."""
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


def course_state(
    course: Course,
    *,
    sessions: CourseSessions | None = None,
    measures: tuple[protocol.MeasureResult, ...] | None = None,
) -> protocol.CourseState:
    """The protocol's inputs from the course's prefetched records; a page that read the
    sessions (``course_sessions``) and the depression scores (``depression_results``) in
    a few columns passes them instead of their prefetches."""
    if sessions is None:
        fetched = list(course.sessions.all())
        sessions = CourseSessions(
            records=tuple(_session_record(s) for s in fetched),
            parent_sessions=tuple(s.number for s in fetched if "parent" in s.attendees),
            held=(),
        )
    people = [p for p in course.inventory.all() if p.snapshot == InventoryPerson.Snapshot.START]
    events = list(course.timeline.all())
    if measures is None:
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
        sessions=sessions.records,
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
        parent_sessions=sessions.parent_sessions,
        marks=tuple(
            protocol.TaskMark(code=m.task_code, status=protocol.MarkStatus(m.status))
            for m in course.task_statuses.all()
        ),
        measure_every=every,
        anxiety_measures=anxiety_measures(course) if every is not None else (),
    )


@dataclass(frozen=True)
class SummaryRead:
    """A course's protocol inputs read from its summary row, with what the caseload's
    off-track badge needs besides (``measures.selectors.course_off_track`` on the records)."""

    state: protocol.CourseState
    own_measures: tuple[protocol.MeasureResult, ...]  # the course's own, without the carried


def summary_carried(previous: CourseSummary | None) -> protocol.MeasureResult | None:
    """``carried_baseline`` from the summary of the course this one follows."""
    if previous is None:
        return None
    numbers = records_summary.read_records(previous.records).numbers
    assert previous.measures is not None  # noqa: S101 - the caller reads only complete rows
    latest = latest_of(measure_summary.depression_results(previous.measures, numbers))
    if latest is None:
        return None
    return protocol.MeasureResult(latest.instrument, latest.total, latest.on, session_number=0)


def summary_read(
    course: Course, summary: CourseSummary, previous: CourseSummary | None = None
) -> SummaryRead:
    """``course_state`` from the course's summary row (``previous``: the summary of the
    course it follows, if any) instead of its records: no query when the course's practice
    was fetched with it. Both rows must be complete (``measures`` computed)."""
    records = records_summary.read_records(summary.records)
    assert summary.measures is not None  # noqa: S101 - the caller reads only complete rows
    own = measure_summary.depression_results(summary.measures, records.numbers)
    carried = summary_carried(previous)
    measures = (carried, *own) if carried is not None else own
    every = measure_schedule(course)
    final_measure = any(
        m.session_number is not None and m.session_number >= course.planned_sessions
        for m in measures
    )
    state = protocol.CourseState(
        format=formats.FormatCode(course.format),
        planned_sessions=course.planned_sessions,
        status=protocol.CourseStatus(course.status),
        contracts=records.contracts,
        sessions=records.sessions,
        inventory=records.inventory,
        timeline=records.timeline,
        problem_areas=records.problem_areas,
        formulation=records.formulation,
        measures=measures,
        termination=records_summary.termination_of(
            records.termination, final_measure=final_measure
        ),
        medication_decision_recorded=course.medication_status != Course.Medication.NOT_RECORDED,
        parent_sessions=records.parent_sessions,
        marks=records.marks,
        measure_every=every,
        anxiety_measures=(
            measure_summary.anxiety_results(summary.measures, records.numbers)
            if every is not None
            else ()
        ),
    )
    return SummaryRead(state, own)


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


# The same few items recur across a caseload: each is put into words once per language.
@functools.lru_cache(maxsize=4096)
def _shown_in(item: protocol.GuidanceItem, language: str | None) -> ShownItem:
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
    sessions: CourseSessions | None = None,
    measures: tuple[protocol.MeasureResult, ...] | None = None,
) -> CourseGuidance:
    """The protocol's guidance for a course, folded and merged with the phase's tasks
    (``protocol.worklist``), with the page's next action. The course's open risk alerts
    come first, whatever the protocol says (one query unless the caller passes
    ``open_alerts``, as a list page does for all its courses at once). ``sessions`` and
    ``measures``: as for ``course_state``."""
    if open_alerts is None:
        open_alerts = measure_selectors.open_alerts_by_course([course.pk]).get(course.pk, [])
    return guidance_of(
        course_state(course, sessions=sessions, measures=measures),
        today=today,
        appointment_today=appointment_today,
        open_alerts=open_alerts,
    )


def guidance_of(
    state: protocol.CourseState,
    *,
    today: dt.date | None = None,
    appointment_today: bool = False,
    open_alerts: Sequence[RiskAlert] = (),
) -> CourseGuidance:
    """``guidance_for`` over a course's protocol inputs, however they were gathered (the
    course's records, or its summary row: ``summary_read``)."""
    today = today or timezone.localdate()
    result = protocol.evaluate(state, today=today)
    work = protocol.worklist(state, result)
    language = get_language()
    return CourseGuidance(
        phase=str(result.phase),
        phase_label=phase_label(str(result.phase)),
        sessions_held=result.sessions_held,
        next_session=result.next_session,
        due=tuple(_alert_item(a) for a in open_alerts)
        + tuple(_shown_in(i, language) for i in work.todo if i.severity in _DUE),
        warnings=tuple(_shown_in(i, language) for i in work.todo if i.severity not in _DUE),
        each_session=tuple(_label_in(spec.label, language) for spec in work.each_session),
        settled=tuple(_settled_in(spec, mark, language) for spec, mark in work.settled),
        action=protocol.next_action(state, today=today, appointment_today=appointment_today),
    )


@functools.lru_cache(maxsize=1024)
def _label_in(label: str, language: str | None) -> str:
    return _(label)


@functools.lru_cache(maxsize=1024)
def _settled_in(
    spec: protocol.TaskSpec, mark: protocol.MarkStatus | None, language: str | None
) -> SettledTask:
    marks = dict(PhaseTaskStatus.Status.choices)
    return SettledTask(spec.code, _(spec.label), str(marks[mark.value]) if mark else "")
