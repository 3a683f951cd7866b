"""What a clinician scans a list for: each client's next appointment, the course's last
session, the latest score on its primary measure with its direction of change, and whether
an alert is open (issue 9 part 7).

Every column is a scalar subquery, so a page of 3 or of 50 rows costs the same three
queries (clients, courses, instruments) and no row becomes a model instance: turning
prefetched rows into instances is what made the caseload slow (bench/README.md). The
caller has already decided that the user may read these clients (the list's selector) and
records the list read; ``alerts_for`` keeps the alert column to alerts the user may see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _

from openipt.accounts import policy
from openipt.clients.models import Client
from openipt.measures.models import Administration, Instrument, RiskAlert
from openipt.measures.selectors import DEPRESSION_CODES, alerts_for
from openipt.scheduling.models import Appointment
from openipt.scheduling.times import zone_for
from openipt.treatment.models import Course, Session

if TYPE_CHECKING:
    from openipt.accounts.models import User


@dataclass(frozen=True)
class NextAppointment:
    starts_at: dt.datetime  # in the practice's time zone
    label: str  # "Today, 14:00", "Tomorrow, 09:30", "Tue 8 Dec, 10:00"
    kind_note: str  # "" for a session, else its type ("Consultation")


@dataclass(frozen=True)
class LastSession:
    number: int
    on: dt.date  # in the practice's time zone


@dataclass(frozen=True)
class Trend:
    """The change from an earlier score, with an arrow and words (never colour alone)."""

    points: Decimal  # latest minus the earlier score
    arrow: str
    words: str  # "down 5 since the start", "no change since last time"


@dataclass(frozen=True)
class LatestScore:
    instrument: str
    total: str  # "14", or "12.5" for a prorated total
    band: str  # the band's label, "" when the instrument has no bands
    on: dt.date
    since_last: Trend | None  # None for a first score
    since_start: Trend | None  # None when the previous score is the first one


@dataclass(frozen=True)
class Glance:
    next_appointment: NextAppointment | None = None
    last_session: LastSession | None = None
    score: LatestScore | None = None
    open_alert: bool = False


def shows_clinical_columns(user: User) -> bool:
    """The list's clinical columns, by the policy's rule (``can_see_clinical_columns``)."""
    return policy.can_see_clinical_columns(policy.staff_membership(user))


# --- the subqueries ------------------------------------------------------------------------

_OPEN = [Course.Status.ASSESSMENT, Course.Status.ACTIVE]


def _client_columns(user: User, ref: str) -> dict[str, Any]:
    """Next booked appointment (never a cancelled one) and an open alert, per client."""
    upcoming = Appointment.objects.filter(
        client_id=OuterRef(ref), status=Appointment.Status.BOOKED, ends_at__gt=timezone.now()
    ).order_by("starts_at", "pk")
    alerts = alerts_for(user).filter(client_id=OuterRef(ref), status=RiskAlert.Status.OPEN)
    return {
        "next_at": Subquery(upcoming.values("starts_at")[:1]),
        "next_kind": Subquery(upcoming.values("kind")[:1]),
        "open_alert": Exists(alerts),
    }


def _scored() -> QuerySet[Administration]:
    return Administration.objects.filter(
        status=Administration.Status.COMPLETED, total__isnull=False, completed_at__isnull=False
    )


def _course_columns() -> dict[str, Any]:
    """The latest session, and the course's primary measure: the instrument of its first
    depression measure (as the protocol's baseline), else of its first score of any kind."""
    sessions = Session.objects.filter(course_id=OuterRef("pk")).order_by("-number", "-starts_at")
    rank = Case(
        When(instrument__code__in=DEPRESSION_CODES, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    primary = (
        _scored()
        .filter(course_id=OuterRef("pk"))
        .annotate(rank=rank)
        .order_by("rank", "completed_at", "pk")
    )
    return {
        "last_number": Subquery(sessions.values("number")[:1]),
        "last_at": Subquery(sessions.values("starts_at")[:1]),
        "score_instrument": Subquery(primary.values("instrument_id")[:1]),
    }


_SCORE_KEYS = (
    "latest_total", "latest_band", "latest_at", "previous_id", "previous_total", "first_id",
    "first_total",
)  # fmt: skip


def _scores(rows: list[dict[str, Any]]) -> None:
    """Latest, previous and first total on each course's primary measure
    (``score_instrument``), added to its row: one query for all the rows, reading at most
    three scores a course (ranked in the database), however many it has."""
    for row in rows:
        row.update(dict.fromkeys(_SCORE_KEYS))
    wanted = {(r["pk"], r["score_instrument"]) for r in rows if r["score_instrument"]}
    if not wanted:
        return
    by_course = {r["pk"]: r for r in rows}
    partition = [F("course_id"), F("instrument_id")]
    ranked = (
        _scored()
        .filter(
            course_id__in={course for course, _ in wanted},
            instrument_id__in={instrument for _, instrument in wanted},
        )
        .annotate(
            newest=Window(
                RowNumber(),
                partition_by=partition,
                order_by=[
                    F("completed_at").desc(),
                    F("pk").desc(),
                ],
            ),
            oldest=Window(
                RowNumber(),
                partition_by=partition,
                order_by=[
                    F("completed_at").asc(),
                    F("pk").asc(),
                ],
            ),
        )
        .filter(Q(newest__lte=2) | Q(oldest=1))
        .values_list(
            "course_id", "instrument_id", "newest", "oldest", "pk", "total", "band", "completed_at"
        )
    )
    for course, instrument, newest, oldest, pk, total, band, completed_at in ranked:
        if (course, instrument) not in wanted:
            continue  # another course's primary measure
        row = by_course[course]
        if newest == 1:
            row.update(latest_total=total, latest_band=band, latest_at=completed_at)
        elif newest == 2:  # the score before the latest
            row.update(previous_id=pk, previous_total=total)
        if oldest == 1:
            row.update(first_id=pk, first_total=total)


# --- turning the values into what the page shows -----------------------------------------


def _number(value: Decimal) -> str:
    return str(int(value)) if value == value.to_integral_value() else str(value.normalize())


def trend(latest: Decimal, earlier: Decimal, *, since: str) -> Trend:
    """``since`` is "last" (the previous score) or "start" (the course's first score)."""
    points = latest - earlier
    size = _number(abs(points))
    if since == "start":
        words = {
            -1: _("down %(n)s since the start"),
            0: _("no change since the start"),
            1: _("up %(n)s since the start"),
        }
    else:
        words = {
            -1: _("down %(n)s since last time"),
            0: _("no change since last time"),
            1: _("up %(n)s since last time"),
        }
    sign = (points > 0) - (points < 0)
    arrow = {-1: "↓", 0: "→", 1: "↑"}[sign]
    return Trend(points=points, arrow=arrow, words=words[sign] % {"n": size})


def _local_date(moment: dt.datetime, zone: ZoneInfo) -> dt.date:
    return moment.astimezone(zone).date()


def _appointment_label(moment: dt.datetime, zone: ZoneInfo) -> str:
    wall = moment.astimezone(zone)
    today = timezone.now().astimezone(zone).date()
    clock = time_format(wall, "H:i")
    if wall.date() == today:
        return _("Today, %(time)s") % {"time": clock}
    if wall.date() == today + dt.timedelta(days=1):
        return _("Tomorrow, %(time)s") % {"time": clock}
    pattern = "D j M" if wall.year == today.year else "D j M Y"
    return f"{date_format(wall, pattern)}, {clock}"


def _next(row: dict[str, Any], zone: ZoneInfo) -> NextAppointment | None:
    if row["next_at"] is None:
        return None
    kind = row["next_kind"]
    note = "" if kind in (None, Appointment.Kind.SESSION) else str(Appointment.Kind(kind).label)
    return NextAppointment(
        row["next_at"].astimezone(zone), _appointment_label(row["next_at"], zone), note
    )


def _band_labels(instrument_ids: set[int]) -> dict[int, tuple[str, dict[str, str]]]:
    if not instrument_ids:
        return {}
    return {
        i.pk: (i.code, {b.code: b.label for b in i.parsed.bands})
        for i in Instrument.objects.filter(pk__in=instrument_ids)
    }


def _score(
    row: dict[str, Any], bands: dict[int, tuple[str, dict[str, str]]], zone: ZoneInfo
) -> LatestScore | None:
    if row["latest_total"] is None or row["score_instrument"] not in bands:
        return None
    code, labels = bands[row["score_instrument"]]
    latest = Decimal(str(row["latest_total"]))
    since_last = since_start = None
    if row["previous_total"] is not None:
        since_last = trend(latest, Decimal(str(row["previous_total"])), since="last")
        if row["previous_id"] != row["first_id"]:
            since_start = trend(latest, Decimal(str(row["first_total"])), since="start")
    return LatestScore(
        instrument=code,
        total=_number(latest),
        band=labels.get(row["latest_band"], row["latest_band"] or ""),
        on=_local_date(row["latest_at"], zone),
        since_last=since_last,
        since_start=since_start,
    )


def _zone(user: User) -> ZoneInfo:
    membership = policy.staff_membership(user)
    return zone_for(membership.practice) if membership else ZoneInfo("UTC")


def _course_rows(course_ids: list[int], extra: dict[str, Any]) -> list[dict[str, Any]]:
    if not course_ids:
        return []
    columns = _course_columns()
    courses = Course.objects.filter(pk__in=course_ids).annotate(**columns, **extra).order_by()
    rows = list(courses.values("pk", "client_id", *columns, *extra))
    _scores(rows)
    return rows


def _glance(
    course: dict[str, Any] | None,
    client: dict[str, Any],
    bands: dict[int, tuple[str, dict[str, str]]],
    zone: ZoneInfo,
) -> Glance:
    last = None
    if course is not None and course["last_number"] is not None:
        last = LastSession(course["last_number"], _local_date(course["last_at"], zone))
    return Glance(
        next_appointment=_next(client, zone),
        last_session=last,
        score=_score(course, bands, zone) if course is not None else None,
        open_alert=bool(client["open_alert"]),
    )


def course_glances(user: User, course_ids: list[int]) -> dict[int, Glance]:
    """By course id: the caseload's columns, in two queries for any number of courses."""
    rows = _course_rows(course_ids, _client_columns(user, "client_id"))
    bands = _band_labels({r["score_instrument"] for r in rows if r["latest_total"] is not None})
    zone = _zone(user)
    return {r["pk"]: _glance(r, r, bands, zone) for r in rows}


def client_glances(user: User, client_ids: list[int]) -> dict[int, Glance]:
    """By client id: the client list's columns, from each client's current course (the open
    one, else the latest to start), in three queries for any number of clients."""
    if not client_ids:
        return {}
    current = (
        Course.objects.filter(client_id=OuterRef("pk"))
        .exclude(status=Course.Status.ENTERED_IN_ERROR)
        .annotate(closed=Case(When(status__in=_OPEN, then=Value(0)), default=Value(1)))
        .order_by("closed", "-start_date", "-pk")
    )
    columns = _client_columns(user, "pk")
    clients = list(
        Client.objects.filter(pk__in=client_ids)
        .annotate(course_id=Subquery(current.values("pk")[:1]), **columns)
        .order_by()
        .values("pk", "course_id", *columns)
    )
    course_ids = [c["course_id"] for c in clients if c["course_id"] is not None]
    courses = {r["pk"]: r for r in _course_rows(course_ids, {})}
    bands = _band_labels(
        {r["score_instrument"] for r in courses.values() if r["latest_total"] is not None}
    )
    zone = _zone(user)
    return {c["pk"]: _glance(courses.get(c["course_id"]), c, bands, zone) for c in clients}
