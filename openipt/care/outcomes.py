"""The practice outcome dashboard: counts and rates over many courses (docs/measures.md
"Practice outcomes").

Read-only and never about one client: a member sees the courses ``policy.outcome_courses_q``
allows (administrators the whole practice, supervisors their supervisees' courses). The
work is a fixed number of queries whatever the number of courses: counts are aggregated in
the database with GROUP BY, and the scores of the courses that ended in the period arrive as
one ordered list of plain tuples, turned into change statistics in a single pass with the
same pure functions the course pages use (``openipt.measures.scoring.change``).

Definitions, for the period chosen (days in the practice's time zone, both ends included):

- started: the course's start date is in the period; concluded / ended early: the course
  ended in the period with that status. Courses entered in error are never counted.
- sessions attended and no-shows: sessions held in the period.
- waiting time: for courses started in the period, days from the request (the client's
  latest consultation request on or before the start date, else the day the course was
  opened) to the first attended session.
- referrals: clients registered in the period; consultation requests: requests received in
  the period (with a filter or a supervisor's view: only those of clients counted here).
- outcome rates: courses that ended in the period with a first and a last valid total on a
  measure. Recovery, reliable recovery, response and remission are out of the courses that
  were a case at the start (where the measure has a caseness cut-off), as NHS Talking
  Therapies and HEDIS count them; reliable improvement and deterioration out of every
  course with paired scores. "Depression and anxiety" is the Talking Therapies paired
  outcome where a course has both PHQ-9 and GAD-7, else the one of them it has.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models import (
    Count,
    DateTimeField,
    Expression,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.accounts import policy
from openipt.accounts.models import Membership
from openipt.clients.models import Client
from openipt.engagement.models import ConsultationRequest
from openipt.measures.models import Administration
from openipt.measures.scoring import change
from openipt.treatment.models import Area, Course, Format, ProblemArea, Session

# Cells counting fewer courses than this are suppressed unless the member asks to see them.
SMALL_CELL = 5
COMBINED = "combined"
GROUPINGS = ("clinician", "format", "area")
NO_FOCUS = "none"

_CLOSED = (Course.Status.CONCLUDED, Course.Status.ENDED_EARLY)


@dataclass(frozen=True)
class OutcomeFilters:
    date_from: dt.date
    date_to: dt.date
    clinician_id: int | None = None
    format: str = ""
    area: str = ""  # a problem-area value, NO_FOCUS, or "" for any
    group_by: str = "clinician"
    show_small: bool = False

    @property
    def narrowed(self) -> bool:
        return bool(self.clinician_id or self.format or self.area)

    def summary(self) -> str:
        """What was asked for, for the audit log (ids and codes only, never names)."""
        parts = [f"{self.date_from.isoformat()}..{self.date_to.isoformat()}"]
        parts += [f"clinician={self.clinician_id}"] if self.clinician_id else []
        parts += [f"format={self.format}"] if self.format else []
        parts += [f"area={self.area}"] if self.area else []
        parts += [f"by={self.group_by}", f"small={'shown' if self.show_small else 'hidden'}"]
        return " ".join(parts)


@dataclass(frozen=True)
class Tally:
    """A count of courses or people; ``suppressed`` when 1 to 4 and small cells are hidden."""

    value: int
    suppressed: bool = False


@dataclass(frozen=True)
class Rate:
    """``count`` of the ``base`` courses it is computed from met the definition."""

    count: int
    base: int
    suppressed: bool = False

    @property
    def percent(self) -> int | None:
        if self.base == 0 or self.suppressed:
            return None
        return (200 * self.count + self.base) // (2 * self.base)  # half up


@dataclass(frozen=True)
class Waiting:
    median_days: float | None
    base: int
    suppressed: bool = False


@dataclass(frozen=True)
class MeasureRates:
    key: str  # COMBINED or an instrument code
    label: str
    paired: int  # courses with a first and a last score on it
    reliable_improvement: Rate
    reliable_deterioration: Rate
    recovery: Rate | None  # None: the measure has no caseness cut-off
    reliable_recovery: Rate | None
    response: Rate | None  # None: the measure has no response or remission rule
    remission: Rate | None

    def rates(self) -> list[tuple[str, Rate]]:
        named = [
            (_("Reliable improvement"), self.reliable_improvement),
            (_("Reliable recovery"), self.reliable_recovery),
            (_("Recovery"), self.recovery),
            (_("Reliable deterioration"), self.reliable_deterioration),
            (_("Response"), self.response),
            (_("Remission"), self.remission),
        ]
        return [(name, rate) for name, rate in named if rate is not None]


@dataclass(frozen=True)
class GroupRow:
    key: str
    label: str
    started: Tally
    concluded: Tally
    ended_early: Tally
    attended: Tally
    no_shows: Tally
    waiting: Waiting
    outcome: MeasureRates  # depression and anxiety, combined where both exist


@dataclass(frozen=True)
class Dashboard:
    filters: OutcomeFilters
    referrals: Tally
    requests: Tally
    total: GroupRow
    groups: tuple[GroupRow, ...]
    measures: tuple[MeasureRates, ...]


# --- One course's judgement -----------------------------------------------------------------


@dataclass(frozen=True)
class Judgement:
    """What one course's first and last scores say (None: the measure cannot tell)."""

    case: bool | None
    improved: bool | None
    deteriorated: bool | None
    recovered: bool | None
    reliably_recovered: bool | None
    response: bool | None
    remission: bool | None


def judge(summary: change.ChangeSummary) -> Judgement:
    return Judgement(
        case=summary.case_at_start,
        improved=summary.reliable_improvement,
        deteriorated=summary.reliable_deterioration,
        recovered=summary.recovered,
        reliably_recovered=summary.reliable_recovery,
        response=summary.response,
        remission=summary.remission,
    )


def judge_course(summaries: Mapping[str, change.ChangeSummary]) -> Judgement | None:
    """Depression and anxiety for one course: the Talking Therapies paired outcome when both
    PHQ-9 and GAD-7 are paired (as the course's ending summary, ``CourseProgress.combined``),
    else the one it has; response and remission always come from the PHQ-9."""
    phq9, gad7 = summaries.get("PHQ-9"), summaries.get("GAD-7")
    if phq9 is not None and gad7 is not None:
        tt = change.talking_therapies(phq9, gad7)
        return Judgement(
            case=tt.case,
            improved=tt.reliable_improvement,
            deteriorated=tt.reliable_deterioration,
            recovered=tt.recovery,
            reliably_recovered=tt.reliable_recovery,
            response=phq9.response,
            remission=phq9.remission,
        )
    one = phq9 or gad7
    return judge(one) if one is not None else None


def _rate(judgements: Sequence[Judgement], attr: str, *, of_cases: bool, show: bool) -> Rate:
    values = [
        getattr(j, attr)
        for j in judgements
        if getattr(j, attr) is not None and (not of_cases or j.case is not False)
    ]
    return _suppress_rate(Rate(sum(1 for v in values if v), len(values)), show)


def _suppress_rate(rate: Rate, show: bool) -> Rate:
    small = 0 < rate.base < SMALL_CELL
    return Rate(rate.count, rate.base, suppressed=small and not show)


def measure_rates(
    key: str, label: str, judgements: Sequence[Judgement], *, show_small: bool
) -> MeasureRates:
    """The rates over courses' judgements on one measure (or the combined outcome)."""
    rule = change.RULES.get(key)
    has_case = key == COMBINED or (rule is not None and rule.case_at is not None)
    has_response = key == COMBINED or (rule is not None and rule.response_fraction is not None)
    case_only = has_case  # a measure with a cut-off counts recovery and remission among cases

    def rate(attr: str, of_cases: bool = False) -> Rate:
        return _rate(judgements, attr, of_cases=of_cases, show=show_small)

    return MeasureRates(
        key=key,
        label=label,
        paired=len(judgements),
        reliable_improvement=rate("improved"),
        reliable_deterioration=rate("deteriorated"),
        recovery=rate("recovered", True) if has_case else None,
        reliable_recovery=rate("reliably_recovered", True) if has_case else None,
        response=rate("response", case_only) if has_response else None,
        remission=rate("remission", case_only) if has_response else None,
    )


# --- Queries --------------------------------------------------------------------------------


def _bounds(filters: OutcomeFilters) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(filters.date_from, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def _focus(course_ref: str) -> Subquery:
    primary = ProblemArea.objects.filter(course_id=OuterRef(course_ref), is_primary=True)
    return Subquery(primary.values("area")[:1])


def scoped_courses(membership: Membership, filters: OutcomeFilters) -> QuerySet[Course]:
    """The courses the member may count, narrowed by the filters (not by the period)."""
    courses = (
        Course.objects.filter(policy.outcome_courses_q(membership))
        .exclude(status=Course.Status.ENTERED_IN_ERROR)
        .annotate(focus=_focus("pk"))
    )
    if filters.clinician_id:
        courses = courses.filter(clinician_id=filters.clinician_id)
    if filters.format:
        courses = courses.filter(format=filters.format)
    if filters.area == NO_FOCUS:
        courses = courses.filter(focus__isnull=True)
    elif filters.area:
        courses = courses.filter(focus=filters.area)
    return courses


def _group_expr(group_by: str, prefix: str) -> Expression | F | Subquery:
    """The grouping key of a row reached through ``prefix`` ("" for a course itself)."""
    if group_by == "area":
        return _focus(f"{prefix}id" if prefix else "pk")
    return F(f"{prefix}{'clinician_id' if group_by == 'clinician' else 'format'}")


def _key(value: Any) -> str:
    return NO_FOCUS if value is None else str(value)


def _course_counts(courses: QuerySet[Course], f: OutcomeFilters) -> dict[str, dict[str, int]]:
    period = {"start_date__gte": f.date_from, "start_date__lte": f.date_to}
    ended = {"ended_on__gte": f.date_from, "ended_on__lte": f.date_to}
    rows = (
        courses.filter(Q(**period) | Q(**ended))
        .annotate(g=_group_expr(f.group_by, ""))
        .values("g")
        .annotate(
            started=Count("pk", filter=Q(**period)),
            concluded=Count("pk", filter=Q(status=Course.Status.CONCLUDED, **ended)),
            ended_early=Count("pk", filter=Q(status=Course.Status.ENDED_EARLY, **ended)),
        )
        .order_by()
    )
    return {_key(r.pop("g")): r for r in rows}


def _session_counts(courses: QuerySet[Course], f: OutcomeFilters) -> dict[str, dict[str, int]]:
    start, end = _bounds(f)
    # Only courses open at some point in the period can have sessions in it: the database
    # then reads those courses' sessions, not every session of the practice.
    overlapping = courses.filter(start_date__lte=f.date_to).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=f.date_from)
    )
    rows = (
        Session.objects.filter(
            course__in=overlapping.values("pk"), starts_at__gte=start, starts_at__lt=end
        )
        .annotate(g=_group_expr(f.group_by, "course__"))
        .values("g")
        .annotate(
            attended=Count("pk", filter=Q(attendance=Session.Attendance.ATTENDED)),
            no_shows=Count("pk", filter=Q(attendance=Session.Attendance.NO_SHOW)),
            courses=Count("course_id", distinct=True),
        )
        .order_by()
    )
    return {_key(r.pop("g")): r for r in rows}


def _waits(courses: QuerySet[Course], f: OutcomeFilters) -> dict[str, list[float]]:
    requested = ConsultationRequest.objects.filter(
        client_id=OuterRef("client_id"), created_at__date__lte=OuterRef("start_date")
    ).order_by("-created_at")
    # Correlated subqueries, one row per course: cheaper than joining every session and
    # grouping by every column of the course.
    first = Session.objects.filter(
        course_id=OuterRef("pk"), attendance=Session.Attendance.ATTENDED
    ).order_by("starts_at")
    rows = (
        courses.filter(start_date__gte=f.date_from, start_date__lte=f.date_to)
        .annotate(
            g=_group_expr(f.group_by, ""),
            requested=Coalesce(
                Subquery(requested.values("created_at")[:1]),
                F("created_at"),
                output_field=DateTimeField(),
            ),
            first_session=Subquery(first.values("starts_at")[:1]),
        )
        .values_list("g", "requested", "first_session")
        .order_by()
    )
    waits: dict[str, list[float]] = defaultdict(list)
    for group, asked, first in rows:
        # No attended session yet, or one recorded before the request: no waiting time.
        if first is not None and first >= asked:
            waits[_key(group)].append((first - asked).total_seconds() / 86400)
    return waits


def _judgements(
    courses: QuerySet[Course], f: OutcomeFilters
) -> dict[str, dict[str, list[Judgement]]]:
    """Per group, per measure key, one judgement per course that ended in the period."""
    ended = courses.filter(status__in=_CLOSED, ended_on__gte=f.date_from, ended_on__lte=f.date_to)
    administrations = (
        Administration.objects.filter(
            Q(instrument__code__in=list(change.RULES))
            | Q(instrument__same_as__in=list(change.RULES)),
            status=Administration.Status.COMPLETED,
            total__isnull=False,
            course__in=ended.values("pk"),
        )
        # A float is exact for a total with one decimal place, and the change rules round it
        # half-up from its text ("12.9") as they do a Decimal. A published copy (a licensed
        # translation) counts as the built-in it is the same as (docs/fhir-import.md).
        .annotate(
            g=_group_expr(f.group_by, "course__"),
            score=Cast("total", FloatField()),
            measure=Coalesce(NullIf("instrument__same_as", Value("")), "instrument__code"),
        )
        .order_by("course_id", "completed_at", "pk")
        .values_list("course_id", "g", "measure", "score")
    )
    rows = _plain_rows(administrations)
    result: dict[str, dict[str, list[Judgement]]] = defaultdict(lambda: defaultdict(list))
    # Pure functions of (instrument, first, last): most courses share their pair with others.
    summarised: dict[tuple[str, float, float], change.ChangeSummary] = {}
    judged: dict[tuple[change.ChangeSummary, ...], Judgement | None] = {}
    for group, scores in _scores_by_course(rows):
        summaries: dict[str, change.ChangeSummary] = {}
        for code, totals in scores.items():
            if len(totals) == 2:
                key = (code, totals[0], totals[1])
                if key not in summarised:
                    summarised[key] = change.summarise(change.rule_for(code), totals)
                summaries[code] = summarised[key]
                result[group][code].append(judge(summaries[code]))
        pair = tuple(summaries[c] for c in ("PHQ-9", "GAD-7") if c in summaries)
        if pair not in judged:
            judged[pair] = judge_course(summaries)
        combined = judged[pair]
        if combined is not None:
            result[group][COMBINED].append(combined)
    return result


def _plain_rows(queryset: QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` of ids, codes and floats as the database driver returns
    them, without Django's per-value converters (the bulk of the time on a large practice;
    none of these columns needs one)."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def _scores_by_course(
    rows: Iterable[tuple[int, Any, str, float | None]],
) -> Iterable[tuple[str, dict[str, list[float]]]]:
    """Rows ordered by course, oldest first: each course's group and, per instrument, its
    first and latest totals (all that the change statistics compare)."""
    for _course, items in itertools.groupby(rows, key=lambda row: row[0]):
        group, scores = "", {}  # type: tuple[str, dict[str, list[float]]]
        for _same, g, code, total in items:
            group = _key(g)
            if total is None:
                continue
            if code not in scores:
                scores[code] = [total]
            elif len(scores[code]) == 1:
                scores[code].append(total)
            else:
                scores[code][1] = total
        yield group, scores


def _people(
    membership: Membership, courses: QuerySet[Course], f: OutcomeFilters
) -> tuple[int, int]:
    start, end = _bounds(f)
    period = {"created_at__gte": start, "created_at__lt": end}
    clients = Client.objects.filter(practice_id=membership.practice_id, **period)
    requests = ConsultationRequest.objects.filter(practice_id=membership.practice_id, **period)
    if f.narrowed or not membership.is_admin:
        clients = clients.filter(pk__in=courses.values("client_id"))
        requests = requests.filter(client_id__in=courses.values("client_id"))
    return clients.count(), requests.count()


# --- The dashboard --------------------------------------------------------------------------


def outcome_clinicians(membership: Membership) -> list[tuple[int, str]]:
    """The clinicians the member may count, as (membership id, name), by name."""
    rows = (
        Membership.objects.filter(policy.outcome_clinicians_q(membership), is_clinician=True)
        .values_list("pk", "user__full_name", "user__email")
        .order_by("user__full_name", "user__email")
    )
    return [(pk, name or email) for pk, name, email in rows]


def _tally(value: int, show: bool) -> Tally:
    return Tally(value, suppressed=0 < value < SMALL_CELL and not show)


def _waiting(days: list[float], show: bool) -> Waiting:
    median = round(statistics.median(days), 1) if days else None
    return Waiting(median, len(days), suppressed=0 < len(days) < SMALL_CELL and not show)


@dataclass
class _Group:
    counts: Mapping[str, int] = field(default_factory=dict)
    sessions: Mapping[str, int] = field(default_factory=dict)
    waits: list[float] = field(default_factory=list)
    judgements: Mapping[str, list[Judgement]] = field(default_factory=dict)


def _row(key: str, label: str, g: _Group, show: bool) -> GroupRow:
    # Session counts are hidden with the number of courses they come from.
    sessions_small = 0 < g.sessions.get("courses", 0) < SMALL_CELL and not show
    return GroupRow(
        key=key,
        label=label,
        started=_tally(g.counts.get("started", 0), show),
        concluded=_tally(g.counts.get("concluded", 0), show),
        ended_early=_tally(g.counts.get("ended_early", 0), show),
        attended=Tally(g.sessions.get("attended", 0), sessions_small),
        no_shows=Tally(g.sessions.get("no_shows", 0), sessions_small),
        waiting=_waiting(g.waits, show),
        outcome=measure_rates(
            COMBINED, _("Depression and anxiety"), g.judgements.get(COMBINED, []), show_small=show
        ),
    )


def _merged(groups: Iterable[_Group]) -> _Group:
    counts: dict[str, int] = defaultdict(int)
    sessions: dict[str, int] = defaultdict(int)
    waits: list[float] = []
    judgements: dict[str, list[Judgement]] = defaultdict(list)
    for g in groups:
        for name, value in g.counts.items():
            counts[name] += value
        for name, value in g.sessions.items():
            sessions[name] += value  # each course is in one group: distinct counts add up
        waits += g.waits
        for key, items in g.judgements.items():
            judgements[key] += items
    return _Group(counts, sessions, waits, judgements)


def _labels(group_by: str, clinicians: Sequence[tuple[int, str]]) -> dict[str, str]:
    if group_by == "clinician":
        return {str(pk): name for pk, name in clinicians}
    if group_by == "format":
        return {value: str(label) for value, label in Format.choices}
    return {value: str(label) for value, label in Area.choices} | {
        NO_FOCUS: _("No focus chosen yet")
    }


def _measure_label(key: str) -> str:
    names = {
        COMBINED: _("Depression and anxiety (combined where both were measured)"),
        "PHQ-9": _("Depression (PHQ-9)"),
        "GAD-7": _("Anxiety (GAD-7)"),
        "HAM-D-17": _("Depression, clinician-rated (HAM-D-17)"),
        "WHO-5": _("Wellbeing (WHO-5)"),
    }
    return names.get(key, key)


def practice_outcomes(
    membership: Membership,
    filters: OutcomeFilters,
    *,
    clinicians: Sequence[tuple[int, str]],
) -> Dashboard:
    """The dashboard for ``filters`` over the courses the member may count (seven queries).
    ``clinicians`` is ``outcome_clinicians(membership)``, already fetched for the filters."""
    if not policy.can_see_outcomes(membership):
        raise PermissionError("outcome dashboard")
    courses = scoped_courses(membership, filters)
    counts = _course_counts(courses, filters)
    sessions = _session_counts(courses, filters)
    waits = _waits(courses, filters)
    judgements = _judgements(courses, filters)
    referrals, requests = _people(membership, courses, filters)
    show = filters.show_small
    keys = set(counts) | set(sessions) | set(waits) | set(judgements)
    groups = {k: _Group(counts.get(k, {}), sessions.get(k, {}), waits.get(k, []),
                        judgements.get(k, {})) for k in keys}  # fmt: skip
    labels = _labels(filters.group_by, clinicians)
    rows = sorted(
        (_row(k, labels.get(k, _("Not listed")), g, show) for k, g in groups.items()),
        key=lambda r: r.label.lower(),
    )
    merged = _merged(groups.values())
    order = [COMBINED, *change.RULES]
    measures = tuple(
        measure_rates(key, _measure_label(key), merged.judgements[key], show_small=show)
        for key in order
        if merged.judgements.get(key)
    )
    return Dashboard(
        filters=filters,
        referrals=_tally(referrals, show),
        requests=_tally(requests, show),
        total=_row("all", _("Everyone in this view"), merged, show),
        groups=tuple(rows),
        measures=measures,
    )


# --- Export ---------------------------------------------------------------------------------

SUPPRESSED = "<5"
CsvRow = tuple[str, str, str, str, str, str, str]


def _tally_cells(section: str, group: str, name: str, tally: Tally) -> CsvRow:
    return (section, group, "", name, SUPPRESSED if tally.suppressed else str(tally.value), "", "")


def _rate_cells(section: str, group: str, measure: str, name: str, rate: Rate) -> CsvRow:
    if rate.suppressed:
        return (section, group, measure, name, "", SUPPRESSED, "")
    percent = "" if rate.percent is None else str(rate.percent)
    return (section, group, measure, name, str(rate.count), str(rate.base), percent)


def _group_cells(section: str, row: GroupRow) -> Iterable[CsvRow]:
    for name, tally in (
        ("courses started", row.started),
        ("courses concluded", row.concluded),
        ("courses ended early", row.ended_early),
        ("sessions attended", row.attended),
        ("no-shows", row.no_shows),
    ):
        yield _tally_cells(section, row.label, name, tally)
    wait = row.waiting
    median = "" if wait.suppressed or wait.median_days is None else str(wait.median_days)
    base = SUPPRESSED if wait.suppressed else str(wait.base)
    yield (section, row.label, "", "median days waiting", median, base, "")
    for name, rate in row.outcome.rates():
        yield _rate_cells(section, row.label, row.outcome.label, name, rate)


def csv_rows(board: Dashboard) -> Iterable[CsvRow]:
    """The dashboard as long-format rows: counts and rates with the count each comes from;
    group labels are clinicians, formats or problem areas, never clients."""
    everyone = str(board.total.label)
    yield _tally_cells("intake", everyone, "referrals (clients registered)", board.referrals)
    yield _tally_cells("intake", everyone, "consultation requests", board.requests)
    for measure in board.measures:
        for name, rate in measure.rates():
            yield _rate_cells("outcomes", everyone, measure.label, name, rate)
    yield from _group_cells("total", board.total)
    for row in board.groups:
        yield from _group_cells(f"by {board.filters.group_by}", row)
