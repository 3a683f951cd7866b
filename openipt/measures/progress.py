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
from openipt.measures.selectors import course_administrations
from openipt.treatment import formats

if TYPE_CHECKING:
    from openipt.treatment.models import Course


@dataclass(frozen=True)
class Row:
    administration: Administration
    session: int
    band_label: str


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


def _phase_marks(course: Course) -> list[charts.PhaseMark]:
    fmt = formats.get_format(course.format)
    marks, previous = [], None
    for number in range(1, course.planned_sessions + 1):
        phase = formats.phase_for_session(fmt, number, course.planned_sessions)
        if phase != previous:
            marks.append(charts.PhaseMark(number, _(formats.PHASE_LABELS[phase].clinical)))
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
    session_dates = list(course.sessions.values_list("number", "starts_at"))
    held = max((n for n, at in session_dates if at <= timezone.now()), default=0)
    definitions: dict[int, InstrumentDefinition] = {}
    grouped: dict[int, list[Row]] = {}
    invalid = []
    for row in administrations:
        if row.total is None:
            invalid.append(row)
            continue
        definition = definitions.setdefault(row.instrument_id, row.instrument.parsed)
        item = Row(row, _session_of(row, session_dates), _band_label(definition, row.band))
        grouped.setdefault(row.instrument_id, []).append(item)
    phases = _phase_marks(course)
    last = max(course.planned_sessions, held)
    result = [
        _instrument_progress(definitions[pk], rows, phases=phases, last=last, held=held)
        for pk, rows in grouped.items()
    ]
    result.sort(key=lambda p: (p.code not in ("PHQ-9", "HAM-D-17"), p.code))
    return CourseProgress(tuple(result), tuple(invalid))


def _instrument_progress(
    definition: InstrumentDefinition,
    rows: list[Row],
    *,
    phases: list[charts.PhaseMark],
    last: int,
    held: int,
) -> InstrumentProgress:
    rows.sort(key=lambda r: (r.session, r.administration.completed_at))
    totals = [Decimal(r.administration.total_display or 0) for r in rows]
    rule = change_lib.rule_for(definition.code, definition.direction)
    points = [
        charts.ChartPoint(r.session, total, r.band_label, _on(r.administration))
        for r, total in zip(rows, totals, strict=True)
    ]
    svg = charts.course_chart_svg(
        definition,
        points,
        last_session=last,
        phases=phases,
        reliable_change=rule.reliable_change,
        ident=f"chart-{definition.code.lower()}",
    )
    return InstrumentProgress(
        code=definition.code,
        title=definition.title,
        definition=definition,
        rows=tuple(rows),
        summary=change_lib.summarise(rule, totals),
        rule=rule,
        off_track=change_lib.off_track(rule, totals, current_session=held),
        chart=svg,
    )
