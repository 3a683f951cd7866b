"""Reads of the measures app that need permission or span relations.

The gates (``access_*``, with their read audit) are in ``openipt.access.measures``; courses
are fetched by the gates in ``openipt.access`` before their measures are read here; the
course guidance (``openipt.care``) reads the measures it feeds the protocol from this module.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, Func, Min, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from openipt.accounts import policy
from openipt.accounts.models import Membership
from openipt.accounts.prepared import MemberQuery
from openipt.clients.models import Client
from openipt.core.prepared import Stand
from openipt.ipt.vocabulary import Attendance
from openipt.measures.models import Administration, Instrument, RiskAlert, SafetyPlan
from openipt.measures.scoring import change
from openipt.treatment.protocol import MeasureResult

if TYPE_CHECKING:
    from openipt.accounts.models import User
    from openipt.treatment.models import Course

# Instruments the IPT protocol counts as a depression measure (rules 10, 11, 13 and 17).
DEPRESSION_CODES = frozenset({"PHQ-9", "HAM-D-17", "PHQ-A"})


# --- Instruments ------------------------------------------------------------------------


def instruments_for(user: User) -> list[Instrument]:
    """The newest active version of each instrument the user's practice may use (the
    practice's own copy of a built-in translation before the built-in)."""
    membership = policy.staff_membership(user)
    if membership is None:
        return []
    return _usable(membership.practice_id)


def instrument_for(user: User, code: str) -> Instrument | None:
    """``instruments_for``'s entry for ``code`` (reading that code's rows only)."""
    membership = policy.staff_membership(user)
    if membership is None:
        return None
    found = _usable(membership.practice_id, Q(code=code))
    return found[0] if found else None


def _usable(practice_id: int | None, *conditions: Q) -> list[Instrument]:
    rows = Instrument.objects.filter(
        Q(practice__isnull=True) | Q(practice_id=practice_id), *conditions, is_active=True
    ).order_by("code", F("practice_id").asc(nulls_last=True), "-created_at")
    newest: dict[str, Instrument] = {}
    for row in rows:
        newest.setdefault(row.code, row)
    return list(newest.values())


def language_version(instrument: Instrument, language: str, *, practice_id: int) -> Instrument:
    """The version of the same measure (``same_as or code``) in ``language`` that the
    practice may use: the Spanish PHQ-9 for a client who reads Spanish. ``instrument``
    itself when it is already in that language or there is no such version (no query then
    in the first case)."""
    if instrument.language == language:
        return instrument
    identity = instrument.identity
    family = _usable(practice_id, Q(code=identity) | Q(same_as=identity))
    found = [row for row in family if row.language == language]
    # The original when it is in that language (English: the PHQ-9 itself), else a
    # practice's own (licensed) copy in that language before the built-in translation.
    found.sort(key=lambda row: (row.code != identity, row.practice_id is None, row.code))
    return found[0] if found else instrument


def offered_in(instruments: Iterable[Instrument], language: str) -> list[Instrument]:
    """The instruments for a client who reads ``language``, for a staff page's list: each
    measure's version in the client's language first (so it is the one offered by default),
    then its other versions, measures in code order."""
    rows = list(instruments)
    return sorted(rows, key=lambda row: (row.identity, row.language != language, row.code))


def one_per_measure(instruments: Iterable[Instrument], language: str) -> list[Instrument]:
    """Each measure once, for a form that offers one of each (the session note): its
    version in ``language`` when there is one, else the original (``code == identity``)."""
    chosen: dict[str, Instrument] = {}
    for row in offered_in(instruments, language):
        best = chosen.get(row.identity)
        if best is None or (best.language != language and row.code == row.identity):
            chosen[row.identity] = row
    return list(chosen.values())


# --- Administrations ----------------------------------------------------------------------


def completed_administrations() -> QuerySet[Administration]:
    # The instrument is prefetched, not joined: every row then shares one Instrument per
    # instrument, so its FHIR definition is decoded and parsed once per page instead of
    # once per administration (the main cost of long courses and the caseload; bench/).
    return (
        Administration.objects.filter(status=Administration.Status.COMPLETED)
        .select_related("session")
        .prefetch_related("instrument")
        .order_by("completed_at", "pk")
    )


def course_assignments(course: Course) -> list[Administration]:
    open_statuses = [Administration.Status.ASSIGNED, Administration.Status.DUE]
    return list(
        Administration.objects.filter(course=course, status__in=open_statuses)
        .select_related("instrument")
        .order_by("due_on")
    )


# The valid depression-measure totals (never evaluated itself: each use filters a copy).
_DEPRESSION_ROWS = completed_administrations().filter(
    Q(instrument__code__in=DEPRESSION_CODES) | Q(instrument__same_as__in=DEPRESSION_CODES),
    total__isnull=False,
)
# A prefetch for course querysets: lets ``course_measure_results`` run no query of its own.
ADMINISTRATIONS_PREFETCH = Prefetch("administrations", queryset=_DEPRESSION_ROWS)


def _measure_result(row: Administration) -> MeasureResult:
    assert row.total is not None  # noqa: S101 - only valid totals are selected
    return MeasureResult(
        instrument=row.instrument.same_as or row.instrument.code,  # a translation is its built-in
        total=float(row.total),
        on=timezone.localdate(row.completed_at) if row.completed_at else None,
        session_number=row.session.number if row.session else None,
    )


def _is_depression_measure(row: Administration) -> bool:
    return (
        row.status == Administration.Status.COMPLETED
        and row.total is not None
        and (row.instrument.same_as or row.instrument.code) in DEPRESSION_CODES
    )


def depression_measures_for_courses(
    course_ids: Iterable[int],
) -> dict[int, tuple[MeasureResult, ...]]:
    """The valid depression-measure totals of many courses, in one query."""
    rows = _DEPRESSION_ROWS.filter(course_id__in=list(course_ids))
    found: dict[int, list[MeasureResult]] = defaultdict(list)
    for row in rows:
        if row.course_id is not None:
            found[row.course_id].append(_measure_result(row))
    return {course_id: tuple(results) for course_id, results in found.items()}


def course_measure_results(course: Course) -> tuple[MeasureResult, ...]:
    """What ``protocol.CourseState.measures`` needs for one course: no query when the course
    was fetched with ``ADMINISTRATIONS_PREFETCH``, one otherwise."""
    if "administrations" in getattr(course, "_prefetched_objects_cache", {}):
        rows = [r for r in course.administrations.all() if _is_depression_measure(r)]
        return tuple(_measure_result(r) for r in rows)
    return depression_measures_for_courses([course.pk]).get(course.pk, ())


# --- Risk alerts --------------------------------------------------------------------------


def alerts_for(user: User) -> QuerySet[RiskAlert]:
    """Alerts the user must act on and whose client they may read."""
    return _alerts_of(policy.staff_membership(user))


def _alerts_of(membership: Membership | None, at: dt.datetime | None = None) -> QuerySet[RiskAlert]:
    readable = Client.objects.filter(policy.client_access_q(membership, at=at))
    return RiskAlert.objects.filter(policy.alert_recipient_q(membership), client__in=readable)


def _open_count(membership: Membership, stand: Stand) -> QuerySet[Membership, dict[str, Any]]:
    """One row: the membership with its open alerts counted."""
    rows = _alerts_of(membership, at=stand.time("now")).filter(status=RiskAlert.Status.OPEN)
    counted = rows.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    one = Membership.objects.filter(pk=membership.pk).annotate(n=Subquery(counted[:1]))
    row: QuerySet[Membership, dict[str, Any]] = one.values("n")
    return row


# The navigation's Alerts badge, prepared once per role (openipt/accounts/prepared.py).
_PREPARED_OPEN_COUNT = MemberQuery(_open_count)


def open_alerts_by_course(course_ids: Iterable[int]) -> dict[int, list[RiskAlert]]:
    """The open risk alerts of these courses, oldest first, in one query: the course
    guidance lists them first until someone acknowledges them."""
    found: dict[int, list[RiskAlert]] = defaultdict(list)
    rows = (
        RiskAlert.objects.filter(course_id__in=list(course_ids), status=RiskAlert.Status.OPEN)
        .select_related("administration__instrument")
        .order_by("raised_at", "id")
    )
    for alert in rows:
        assert alert.course_id is not None  # noqa: S101 - filtered on course_id
        found[alert.course_id].append(alert)
    return dict(found)


def open_alert_count(user: User) -> int:
    """The open alerts the user must act on (the navigation's badge, on every page)."""
    membership = policy.staff_membership(user)
    if membership is None or not membership.is_active:
        return alerts_for(user).filter(status=RiskAlert.Status.OPEN).count()
    row = _PREPARED_OPEN_COUNT.run(membership, {"now": timezone.now()})
    return int(row[0]) if row else 0


def alert_list(user: User) -> list[RiskAlert]:
    return list(
        alerts_for(user)
        .select_related("client", "administration__instrument", "clinician__user", "course")
        .order_by("status", "-raised_at")[:200]
    )


@dataclass(frozen=True)
class PracticeAlertRow:
    """One clinician's alerts, as counts and ages only: no client identity, no answers."""

    clinician_name: str
    open_count: int
    escalated_count: int
    oldest_open: dt.datetime | None


def practice_alert_summary(user: User) -> list[PracticeAlertRow]:
    membership = policy.staff_membership(user)
    if not policy.can_manage_practice(membership):
        raise Http404
    assert membership is not None  # noqa: S101 - can_manage_practice checked it
    open_q = Q(status=RiskAlert.Status.OPEN)
    rows = (
        RiskAlert.objects.filter(practice_id=membership.practice_id, status=RiskAlert.Status.OPEN)
        .values("clinician__user__full_name", "clinician__user__email")
        .annotate(
            open_count=Count("pk", filter=open_q),
            escalated_count=Count("pk", filter=open_q & Q(escalated_at__isnull=False)),
            oldest_open=Min("raised_at", filter=open_q),
        )
        .order_by("oldest_open")
    )
    return [
        PracticeAlertRow(
            r["clinician__user__full_name"] or r["clinician__user__email"],
            r["open_count"],
            r["escalated_count"],
            r["oldest_open"],
        )
        for r in rows
    ]


# --- Safety plans -------------------------------------------------------------------------


def current_safety_plan(client: Client) -> SafetyPlan | None:
    return SafetyPlan.objects.filter(client=client).select_related("author").first()


def safety_plan_history(client: Client) -> list[SafetyPlan]:
    return list(SafetyPlan.objects.filter(client=client).select_related("author")[:100])


def sessions_held(sessions: Iterable[tuple[int, str, dt.datetime]]) -> int:
    """The highest number among (number, attendance, starts_at) sessions attended by now:
    the protocol's count of sessions held, which its review points are measured against."""
    zone = timezone.get_current_timezone()  # once, not per session
    today = timezone.localdate(timezone=zone)
    return max(
        (
            number
            for number, attendance, starts_at in sessions
            if attendance == Attendance.ATTENDED and starts_at.astimezone(zone).date() <= today
        ),
        default=0,
    )


def course_off_track(course: Course) -> change.OffTrack | None:
    """The "not on track" signal on the course's first depression measure; no query when
    the course was fetched with ``ADMINISTRATIONS_PREFETCH`` and its sessions (the caseload)."""
    results = course_measure_results(course)
    if not results:
        return None
    code = results[0].instrument
    totals = [Decimal(str(r.total)) for r in results if r.instrument == code]
    held = sessions_held((s.number, s.attendance, s.starts_at) for s in course.sessions.all())
    return change.off_track(
        change.rule_for(code),
        totals,
        sessions_held=held,
        planned_sessions=course.planned_sessions,
    )


def practice_instruments(user: User) -> list[Instrument]:
    """Every instrument version the practice can see (built in and its own imports), for the
    practice's instrument library page; admins only."""
    membership = policy.staff_membership(user)
    if not policy.can_manage_practice(membership):
        raise Http404
    assert membership is not None  # noqa: S101 - narrowed by can_manage_practice
    return list(
        Instrument.objects.filter(Q(practice__isnull=True) | Q(practice_id=membership.practice_id))
        .select_related("licence_confirmed_by")
        .order_by("source", "code", "-created_at")
    )
