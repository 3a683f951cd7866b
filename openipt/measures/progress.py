"""A course's measures ready for a page: per instrument the scores, change statistics, the
off-track heuristic and the chart. Read-only; a fixed number of queries for any number of
administrations (two: the administrations and the sessions)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from openipt.measures import charts
from openipt.measures.models import Administration
from openipt.measures.scoring import InstrumentDefinition
from openipt.measures.scoring import change as change_lib
from openipt.measures.selectors import course_administrations, sessions_held
from openipt.treatment import formats

if TYPE_CHECKING:
    from openipt.treatment.models import Course


@dataclass(frozen=True)
class Row:
    administration: Administration
    session: int
    band_label: str

    @property
    def language(self) -> str:
        """The language of the version answered (``es``); empty for the English original."""
        instrument = self.administration.instrument
        return instrument.language if instrument.language_mark else ""

    @property
    def language_mark(self) -> str:
        """The version answered when it is not the English original ("Spanish")."""
        return self.administration.instrument.language_mark


@dataclass(frozen=True)
class InstrumentProgress:
    code: str
    title: str
    definition: InstrumentDefinition
    rows: tuple[Row, ...]
    summary: change_lib.ChangeSummary
    rule: change_lib.ChangeRule
    off_track: change_lib.OffTrack
    chart: SafeString


@dataclass(frozen=True)
class CourseProgress:
    instruments: tuple[InstrumentProgress, ...]
    invalid: tuple[Administration, ...]  # completed forms with no valid total

    @property
    def off_track(self) -> bool:
        return any(i.off_track.flagged for i in self.instruments)

    @property
    def combined(self) -> Combined | None:
        """Recovery over depression and anxiety together (NHS Talking Therapies: PHQ-9 and
        GAD-7, docs/measures.md §5) when the course has paired scores on both; None
        otherwise, and then each measure's own recovery is the figure to report."""
        # By the rule, not the code: a licensed translation scored as the PHQ-9 counts.
        firsts = {
            code: next((i for i in self.instruments if i.rule.code == code), None)
            for code in ("PHQ-9", "GAD-7")
        }
        pair = [i for i in firsts.values() if i is not None]
        if len(pair) != 2:
            return None
        outcome = change_lib.talking_therapies(pair[0].summary, pair[1].summary)
        if not outcome.eligible:
            return None
        still = tuple(
            i.code
            for i in pair
            if i.summary.latest is not None and change_lib.is_case(i.rule, i.summary.latest)
        )
        return Combined(outcome, still)


@dataclass(frozen=True)
class Combined:
    outcome: change_lib.TalkingTherapiesOutcome
    still_a_case: tuple[str, ...]  # the measures at or over their cut-off at the latest score


def _phase_marks(course: Course) -> list[charts.PhaseMark]:
    """Where each phase begins, named in plain words ("Getting started"), with the clinical
    name ("Initial phase") for the tooltip, as on the other staff pages (docs/ipt.md §10)."""
    fmt = formats.get_format(course.format)
    marks, previous = [], None
    for number in range(1, course.planned_sessions + 1):
        phase = formats.phase_for_session(fmt, number, course.planned_sessions)
        if phase != previous:
            label = formats.PHASE_LABELS[phase]
            marks.append(charts.PhaseMark(number, _(label.lay), _(label.clinical)))
            previous = phase
    return marks


def _session_of(row: Administration, session_dates: list[tuple[int, dt.datetime]]) -> int:
    """Its session's number, else the last session held before it was completed."""
    if row.session is not None:
        return row.session.number
    done = row.completed_at
    held = [n for n, at in session_dates if done is not None and at <= done]
    return max(held, default=0)


def _on(row: Administration) -> dt.date | None:
    return timezone.localdate(row.completed_at) if row.completed_at else None


def _band_label(definition: InstrumentDefinition, code: str) -> str:
    return next((b.label for b in definition.bands if b.code == code), "")


def course_progress(course: Course) -> CourseProgress:
    administrations = course_administrations(course)
    sessions = list(course.sessions.values_list("number", "attendance", "starts_at"))
    session_dates = [(number, at) for number, _attendance, at in sessions]
    held = sessions_held(sessions)
    definitions: dict[int, InstrumentDefinition] = {}
    # One series per measure, not per row of the instrument table: a translation (the
    # Spanish PHQ-9, ``same_as`` PHQ-9) and the original share one chart and one change.
    grouped: dict[str, list[Row]] = {}
    shown: dict[str, InstrumentDefinition] = {}
    invalid = []
    for row in administrations:
        if row.total is None:
            invalid.append(row)
            continue
        definition = definitions.setdefault(row.instrument_id, row.instrument.parsed)
        item = Row(row, _session_of(row, session_dates), _band_label(definition, row.band))
        identity = row.instrument.identity
        grouped.setdefault(identity, []).append(item)
        if identity not in shown or definition.code == identity:
            shown[identity] = definition  # the original's title and scale when it is there
    phases = _phase_marks(course)
    last = max(course.planned_sessions, held)
    days: dict[int, dt.date] = {}
    for number, at in sorted(session_dates, key=lambda pair: pair[1]):
        days.setdefault(number, timezone.localdate(at))
    result = [
        _instrument_progress(
            shown[identity],
            rows,
            phases=phases,
            last=last,
            held=held,
            planned=course.planned_sessions,
            session_days=days,
        )
        for identity, rows in grouped.items()
    ]
    result.sort(key=lambda p: (p.rule.code not in ("PHQ-9", "HAM-D-17"), p.code))
    return CourseProgress(tuple(result), tuple(invalid))


def _instrument_progress(
    definition: InstrumentDefinition,
    rows: list[Row],
    *,
    phases: list[charts.PhaseMark],
    last: int,
    held: int,
    planned: int,
    session_days: dict[int, dt.date],
) -> InstrumentProgress:
    rows.sort(key=lambda r: (r.session, r.administration.completed_at))
    totals = [Decimal(r.administration.total_display or 0) for r in rows]
    rule = change_lib.rule_for(definition.code, definition.direction, same_as=definition.same_as)
    points = [
        charts.ChartPoint(
            r.session,
            total,
            r.band_label,
            _on(r.administration),
            linked=r.administration.session_id is not None,
            by_client=r.administration.mode == Administration.Mode.CLIENT_COMPLETED,
            language=r.language,
            language_name=r.language_mark,
        )
        for r, total in zip(rows, totals, strict=True)
    ]
    svg = charts.course_chart_svg(
        definition,
        points,
        last_session=last,
        phases=phases,
        reliable_change=rule.reliable_change,
        ident=f"chart-{definition.code.lower()}",
        session_dates=session_days,
    )
    return InstrumentProgress(
        code=definition.code,
        title=definition.title,
        definition=definition,
        rows=tuple(rows),
        summary=change_lib.summarise(rule, totals),
        rule=rule,
        off_track=change_lib.off_track(rule, totals, sessions_held=held, planned_sessions=planned),
        chart=svg,
    )
