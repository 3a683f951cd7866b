"""The course's own records as ``CourseSummary.records``: what ``protocol.CourseState`` takes
from them, kept in one small row so that a list of courses (the caseload) reads one row per
course instead of every session, contract and inventory person
(docs/adr/0025-course-summary.md).

Only inputs are stored, nothing that depends on today's date: a session keeps its start as
an instant, and its day is found in the reader's time zone when the summary is read. The
services of this app call ``course_summary_refresh`` in their own transaction whenever they
change one of these records; the scores are the measures app's part of the row
(``openipt.measures.summary``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.utils import timezone

from openipt.treatment import formats, protocol
from openipt.treatment.models import (
    ContractVersion,
    Course,
    CourseSummary,
    Formulation,
    InventoryPerson,
    PhaseTaskStatus,
    ProblemArea,
    Session,
    TerminationRecord,
    TimelineEvent,
)

#: Changes whenever the layout of ``records`` changes (a rebuild then rewrites every row).
VERSION = 1


def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _grouped(rows: Iterable[Any], key: str = "course_id") -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        found[getattr(row, key)].append(row)
    return found


def _session(s: Session) -> dict[str, Any]:
    return {
        "id": s.pk,
        "number": s.number,
        "at": s.starts_at.astimezone(dt.UTC).isoformat(),
        "attendance": s.attendance,
        "override": s.phase_override,
        "override_reason": s.phase_override_reason,
        "review": s.mood is not None and bool(s.events_since_last.strip()),
        "techniques": list(s.techniques_used),
        "task": bool(s.tasks_set.strip()),
        "risk": s.risk_check,
        "signed": s.is_signed,
        "parent": "parent" in s.attendees,
    }


_SESSION_FIELDS = (
    "course",
    "number",
    "starts_at",
    "attendance",
    "phase_override",
    "phase_override_reason",
    "mood",
    "events_since_last",
    "techniques_used",
    "tasks_set",
    "risk_check",
    "signed_at",
    "attendees",
)


def _contract(c: ContractVersion) -> dict[str, Any]:
    return {
        "planned": c.planned_sessions,
        "frequency": c.frequency,
        "focus": list(c.focus_areas),
        "agreed_on": _day(c.agreed_on),
        "client_agreed": c.client_agreed,
        "reason": c.reason,
    }


def _problem_area(pa: ProblemArea) -> dict[str, Any]:
    return {
        "area": pa.area,
        "focus": pa.is_focus,
        "primary": pa.is_primary,
        "evidence": bool(pa.evidence.strip()),
        "deficits_rationale": pa.deficits_rationale,
        "person": pa.other_person_id is not None,
        "stage": pa.dispute_stage,
    }


def _formulation(record: Formulation | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "text": bool(record.text.strip()),
        "shared_on": _day(record.shared_on),
        "agreed": record.is_agreed,
    }


def _termination(record: TerminationRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "raised_at": record.raised_at_session,
        "gains": bool(record.gains.strip()),
        "warning_signs": bool(record.warning_signs.strip()),
        "relapse_plan": bool(record.relapse_plan.strip()),
        "next_step": record.next_step,
        "next_step_reason": record.next_step_reason,
    }


def records_for(course_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The ``records`` part of these courses' summaries, computed afresh from the database
    in a fixed number of queries (one refresh, or a batch of a rebuild)."""
    within = {"course_id__in": course_ids}
    sessions = _grouped(
        Session.objects.filter(**within).order_by("number", "pk").only(*_SESSION_FIELDS)
    )
    contracts = _grouped(ContractVersion.objects.filter(**within).order_by("number"))
    people = dict(
        InventoryPerson.objects.filter(**within, snapshot=InventoryPerson.Snapshot.START)
        .values("course_id")
        .annotate(n=Count("pk"))
        .values_list("course_id", "n")
    )
    events = _grouped(TimelineEvent.objects.filter(**within).only("course", "marks_symptom_onset"))
    areas = _grouped(ProblemArea.objects.filter(**within).order_by("pk"))
    formulations = {f.course_id: f for f in Formulation.objects.filter(**within)}
    endings = {t.course_id: t for t in TerminationRecord.objects.filter(**within)}
    marks = _grouped(PhaseTaskStatus.objects.filter(**within).order_by("pk"))
    return {
        pk: {
            "version": VERSION,
            "sessions": [_session(s) for s in sessions.get(pk, [])],
            "contracts": [_contract(c) for c in contracts.get(pk, [])],
            "inventory": people.get(pk, 0),
            "timeline": [
                len(events.get(pk, [])),
                any(e.marks_symptom_onset for e in events.get(pk, [])),
            ],
            "problem_areas": [_problem_area(pa) for pa in areas.get(pk, [])],
            "formulation": _formulation(formulations.get(pk)),
            "termination": _termination(endings.get(pk)),
            "marks": [[m.task_code, m.status] for m in marks.get(pk, [])],
        }
        for pk in course_ids
    }


def course_records(course_id: int) -> dict[str, Any]:
    """The ``records`` part of one course's summary, computed afresh from the database."""
    return records_for([course_id])[course_id]


def _latest(records: dict[str, Any]) -> dict[str, Any]:
    """The columns of the row that come from the latest session (highest number)."""
    sessions = records["sessions"]
    last = max(sessions, key=lambda s: s["number"], default=None)
    return {
        "sessions_count": len(sessions),
        "latest_session_number": last["number"] if last else 0,
        "latest_session_at": dt.datetime.fromisoformat(last["at"]) if last else None,
        "latest_risk_check": last["risk"] if last else "",
    }


def fields_for(records: dict[str, Any]) -> dict[str, Any]:
    """Every field of the row that this app owns, from the course's ``records``."""
    return {"records": records, **_latest(records)}


def summary_fields(course_id: int) -> dict[str, Any]:
    """Every field of the row that this app owns, computed afresh."""
    return fields_for(course_records(course_id))


#: ``CourseSummary.measures`` of a course with no scores (a course just created).
NO_MEASURES: dict[str, Any] = {"depression": [], "anxiety": []}


def course_summary_create(*, course: Course) -> CourseSummary:
    """The summary of a course just created: its records (none yet but the course's own) and
    no scores. Called by the services that create a course, in their transaction."""
    return CourseSummary.objects.create(
        course=course, measures=dict(NO_MEASURES), **summary_fields(course.pk)
    )


def summary_lock(*, course_id: int) -> None:
    """Lock the course's summary row before a refresh reads its inputs (on PostgreSQL;
    SQLite's write lock is already held), so two writes on one course at once each see the
    other's. Every refresh, of either part, calls it first."""
    CourseSummary.objects.select_for_update().filter(course_id=course_id).values_list("pk").first()


def course_summary_refresh(*, course_id: int) -> None:
    """Recompute the records part of one course's summary from the database. A course that
    has no summary yet gets one whose scores are still to be computed (``measures`` null:
    readers then work from the records, and ``rebuild_course_summaries`` fills it in)."""
    summary_lock(course_id=course_id)
    fields = summary_fields(course_id)
    updated = CourseSummary.objects.filter(course_id=course_id)
    if not updated.update(**fields, updated_at=timezone.now()):
        CourseSummary.objects.create(course_id=course_id, measures=None, **fields)


# --- Reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Records:
    """The records part of a summary as the protocol's inputs (``protocol.CourseState``),
    dated in the current time zone."""

    sessions: tuple[protocol.SessionRecord, ...]
    contracts: tuple[protocol.ContractVersion, ...]
    inventory: protocol.Inventory
    timeline: protocol.Timeline
    problem_areas: tuple[protocol.ProblemAreaRecord, ...]
    formulation: protocol.Formulation
    termination: dict[str, Any] | None  # the final measure needs the scores (care adds it)
    marks: tuple[protocol.TaskMark, ...]
    parent_sessions: tuple[int, ...]
    numbers: dict[int, int]  # session id -> number, for the scores given in a session


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value is not None else None


_ATTENDANCE = {a.value: a for a in protocol.Attendance}
_PHASES = {p.value: p for p in formats.Phase}


def _session_record(s: dict[str, Any], zone: dt.tzinfo) -> protocol.SessionRecord:
    return protocol.SessionRecord(
        number=s["number"],
        on=dt.datetime.fromisoformat(s["at"]).astimezone(zone).date(),  # ``localdate``
        attendance=_ATTENDANCE[s["attendance"]],
        phase_override=_PHASES[s["override"]] if s["override"] else None,
        override_reason=s["override_reason"],
        opening_review=s["review"],
        techniques=tuple(s["techniques"]),
        tasks_set=1 if s["task"] else 0,
        risk_checked=s["risk"] != Session.Risk.NOT_ASKED,
        risk_concerns=s["risk"] == Session.Risk.CONCERNS,
        signed=s["signed"],
    )


def _area_record(pa: dict[str, Any]) -> protocol.ProblemAreaRecord:
    return protocol.ProblemAreaRecord(
        area=formats.ProblemArea(pa["area"]),
        focus=pa["focus"],
        primary=pa["primary"],
        evidence=pa["evidence"],
        deficits_rationale=pa["deficits_rationale"],
        dispute_person_linked=pa["person"],
        dispute_stage=formats.DisputeStage(pa["stage"]) if pa["stage"] else None,
    )


def _formulation_of(record: dict[str, Any] | None) -> protocol.Formulation:
    if record is None:
        return protocol.Formulation()
    shared_on = _date(record["shared_on"])
    return protocol.Formulation(
        text_present=record["text"],
        shared_on=shared_on,
        agreed=record["agreed"],
        agreed_on=shared_on if record["agreed"] else None,
    )


def read_records(records: dict[str, Any]) -> Records:
    """``CourseSummary.records`` as the protocol's inputs, dated in the current time zone."""
    zone = timezone.get_current_timezone()
    events, onset = records["timeline"]
    return Records(
        sessions=tuple(_session_record(s, zone) for s in records["sessions"]),
        contracts=tuple(
            protocol.ContractVersion(
                planned_sessions=c["planned"],
                frequency=c["frequency"],
                focus=tuple(formats.ProblemArea(a) for a in c["focus"]),
                agreed_on=_date(c["agreed_on"]),
                client_agreed=c["client_agreed"],
                reason=c["reason"],
            )
            for c in records["contracts"]
        ),
        inventory=protocol.Inventory(people=records["inventory"], in_circle=records["inventory"]),
        timeline=protocol.Timeline(events=events, onset_marked=onset),
        problem_areas=tuple(_area_record(pa) for pa in records["problem_areas"]),
        formulation=_formulation_of(records["formulation"]),
        termination=records["termination"],
        marks=tuple(
            protocol.TaskMark(code=code, status=protocol.MarkStatus(status))
            for code, status in records["marks"]
        ),
        parent_sessions=tuple(s["number"] for s in records["sessions"] if s["parent"]),
        numbers={s["id"]: s["number"] for s in records["sessions"]},
    )


def termination_of(record: dict[str, Any] | None, *, final_measure: bool) -> protocol.Termination:
    """The summary's ending record as ``protocol.Termination`` (``final_measure`` comes from
    the scores, which the caller knows)."""
    if record is None:
        return protocol.Termination()
    return protocol.Termination(
        raised_at_session=record["raised_at"],
        gains_reviewed=record["gains"],
        warning_signs=record["warning_signs"],
        relapse_plan=record["relapse_plan"],
        final_measure=final_measure,
        next_step=protocol.NextStep(record["next_step"]) if record["next_step"] else None,
        next_step_reason=record["next_step_reason"],
    )
