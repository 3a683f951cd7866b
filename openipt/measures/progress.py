"""A course's measures ready for a page: per instrument the scores, change statistics, the
off-track heuristic and the chart. Read-only; a fixed number of queries for any number of
administrations (two: the administrations and the sessions)."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from typing import TYPE_CHECKING

from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Value, Window
from django.db.models.functions import Coalesce, NullIf, RowNumber
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from openipt.ipt.vocabulary import Attendance
from openipt.measures import charts
from openipt.measures.models import Administration
from openipt.measures.scoring import InstrumentDefinition
from openipt.measures.scoring import change as change_lib
from openipt.measures.selectors import completed_administrations
from openipt.treatment import formats
from openipt.treatment.models import Session

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


def _phase_marks(course: Course, first: int = 0, last: int | None = None) -> list[charts.PhaseMark]:
    """Where each phase begins after session ``first`` (up to ``last``, else the planned
    last session), named in plain words ("Getting started"), with the clinical name
    ("Initial phase") for the tooltip, as on the other staff pages (docs/ipt.md §10)."""
    fmt = formats.get_format(course.format)
    planned = course.planned_sessions
    marks, previous = [], None
    if first >= 1:
        previous = formats.phase_for_session(fmt, first, planned)
    for number in range(first + 1, min(planned, last if last is not None else planned) + 1):
        phase = formats.phase_for_session(fmt, number, course.planned_sessions)
        if phase != previous:
            label = formats.PHASE_LABELS[phase]
            marks.append(charts.PhaseMark(number, _(label.lay), _(label.clinical)))
            previous = phase
    return marks


class _SessionAt:
    """The highest session number among the sessions started by a moment (the sessions
    sorted by time once, on the first score filled in between sessions)."""

    def __init__(self, session_dates: Sequence[tuple[int, dt.datetime]]) -> None:
        self.session_dates = session_dates
        self.starts: list[dt.datetime] | None = None
        self.highest: list[int] = []

    def __call__(self, done: dt.datetime | None) -> int:
        if self.starts is None:
            ordered = sorted(self.session_dates, key=lambda pair: pair[1])
            self.starts = [at for _number, at in ordered]
            self.highest = list(accumulate((number for number, _at in ordered), max))
        index = bisect_right(self.starts, done) if done is not None else 0
        return self.highest[index - 1] if index else 0


def _session_of(row: Administration, session_at: _SessionAt) -> int:
    """Its session's number, else the last session held before it was completed."""
    if row.session is not None:
        return row.session.number
    return session_at(row.completed_at)


def _on(row: Administration) -> dt.date | None:
    return timezone.localdate(row.completed_at) if row.completed_at else None


def _band_label(definition: InstrumentDefinition, code: str) -> str:
    return next((b.label for b in definition.bands if b.code == code), "")


def _sessions_held(sessions: Sequence[tuple[int, str, dt.datetime]], zone: dt.tzinfo) -> int:
    """``measures.selectors.sessions_held``, with the time zone looked up once rather than
    once a session (hundreds in a maintenance course)."""
    today = timezone.localdate()
    return max(
        (
            number
            for number, attendance, starts_at in sessions
            if attendance == Attendance.ATTENDED and starts_at.astimezone(zone).date() <= today
        ),
        default=0,
    )


def _baselines(course: Course) -> QuerySet[Administration]:
    """The first valid score of each measure of the course, in the order the chart puts
    them (by session, then time), found by the database whatever the number of scores."""
    started = Session.objects.filter(
        course=OuterRef("course"), starts_at__lte=OuterRef("completed_at")
    )
    return (
        completed_administrations()
        .filter(course=course, total__isnull=False)
        .annotate(
            at_session=Coalesce(
                F("session__number"),
                Subquery(started.order_by("-number").values("number")[:1]),
                Value(0),
            ),
            identity=Coalesce(NullIf("instrument__same_as", Value("")), "instrument__code"),
        )
        .annotate(
            place=Window(
                RowNumber(),
                partition_by=[F("identity")],
                order_by=[F("at_session"), F("completed_at"), F("pk")],
            )
        )
        .filter(place=1)
    )


def course_progress(
    course: Course,
    *,
    sessions: Sequence[tuple[int, str, dt.datetime]] | None = None,
    held: int | None = None,
    latest_sessions: int | None = None,
) -> CourseProgress:
    """``sessions``: the course's (number, attendance, start) rows, and ``held``, the
    number of the latest session held (``sessions_held``), when the caller has them (the
    course page, from its guidance). ``latest_sessions``: when the chart would span more
    sessions than that, the scores of the latest so many sessions only (the course page,
    where a maintenance course can run to hundreds), each measure still judged against
    its first score; the course's scores page shows them all. A fixed number of queries
    whatever the size."""
    if sessions is None:
        sessions = list(course.sessions.values_list("number", "attendance", "starts_at"))
    session_dates = [(number, at) for number, _attendance, at in sessions]
    session_at = _SessionAt(session_dates)
    zone = timezone.get_current_timezone()
    if held is None:
        held = _sessions_held(sessions, zone)
    last = max(course.planned_sessions, held)
    first = 0
    fetched = completed_administrations().filter(course=course)
    if latest_sessions is not None and last > latest_sessions:
        end = max([held, *(number for number, _at in session_dates)])
        first = max(0, end - latest_sessions)
        last = min(last, first + latest_sessions)
    if first:
        # The scores of the sessions after ``first`` (``_session_of`` > ``first``): those
        # given in one, and those filled in after one began; and each measure's first.
        begun = min(at for number, at in session_dates if number > first)
        fetched = fetched.filter(
            Q(session__number__gt=first)
            | Q(session__isnull=True, completed_at__gte=begun)
            | Q(pk__in=_baselines(course).values("pk"))
        )
    definitions: dict[int, InstrumentDefinition] = {}
    # One series per measure, not per row of the instrument table: a translation (the
    # Spanish PHQ-9, ``same_as`` PHQ-9) and the original share one chart and one change.
    grouped: dict[str, list[Row]] = {}
    shown: dict[str, InstrumentDefinition] = {}
    invalid = []
    for row in fetched:
        if row.total is None:
            invalid.append(row)
            continue
        definition = definitions.setdefault(row.instrument_id, row.instrument.parsed)
        item = Row(row, _session_of(row, session_at), _band_label(definition, row.band))
        identity = row.instrument.identity
        grouped.setdefault(identity, []).append(item)
        if identity not in shown or definition.code == identity:
            shown[identity] = definition  # the original's title and scale when it is there
    phases = _phase_marks(course, first, last)
    days: dict[int, dt.date] = {}  # what places a score between sessions on the axis
    shown_dates = [pair for pair in session_dates if pair[0] >= first] if first else session_dates
    for number, at in sorted(shown_dates, key=lambda pair: pair[1]):
        days.setdefault(number, at.astimezone(zone).date())  # ``localdate``, look-ups once
    result = [
        _instrument_progress(
            shown[identity],
            rows,
            phases=phases,
            first=first,
            last=last,
            held=held,
            planned=course.planned_sessions,
            session_days=days,
        )
        for identity, rows in grouped.items()
        if not first or any(r.session > first for r in rows)
    ]
    result.sort(key=lambda p: (p.rule.code not in ("PHQ-9", "HAM-D-17"), p.code))
    return CourseProgress(tuple(result), tuple(invalid))


def _instrument_progress(
    definition: InstrumentDefinition,
    rows: list[Row],
    *,
    phases: list[charts.PhaseMark],
    first: int,
    last: int,
    held: int,
    planned: int,
    session_days: dict[int, dt.date],
) -> InstrumentProgress:
    """``rows``: the scores of the sessions after ``first``, and the measure's first score
    (its baseline) even when that came earlier; only the former are drawn and listed."""
    rows.sort(key=lambda r: (r.session, r.administration.completed_at))
    totals = [Decimal(r.administration.total_display or 0) for r in rows]
    baseline = totals[0] if totals else None
    if first and rows[0].session <= first:
        rows = rows[1:]
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
        for r, total in zip(rows, totals[len(totals) - len(rows) :], strict=True)
    ]
    svg = charts.course_chart_svg(
        definition,
        points,
        first_session=first,
        last_session=last,
        baseline=baseline,
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
