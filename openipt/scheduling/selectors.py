"""Reads of appointments, always through the policy module. The gates (``access_*``, with
their read audit) are in ``openipt.access.scheduling``.

A clinician's week shows their own appointments with clients they may still reach. A
supervisor reads a supervisee's client's appointments but never changes them; an
administrator without a place on the care team sees none.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.accounts import policy
from openipt.accounts.models import Membership
from openipt.clients.models import Client
from openipt.clients.selectors import accessible_clients
from openipt.scheduling import ics
from openipt.scheduling.models import Appointment, CalendarFeed
from openipt.scheduling.times import to_utc, zone_for
from openipt.treatment.models import Course

if TYPE_CHECKING:
    from openipt.accounts.models import User

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
FEED_PAST = dt.timedelta(days=30)
FEED_AHEAD = dt.timedelta(days=366)


def appointments_for(user: User, *, write: bool = False) -> QuerySet[Appointment]:
    """Exactly the appointments of clients ``user`` may read (or, with ``write``, change)."""
    return Appointment.objects.filter(client__in=accessible_clients(user, write=write))


# Week view ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    monday: dt.date
    start: dt.datetime  # UTC
    end: dt.datetime  # UTC

    @property
    def param(self) -> str:
        year, week, _day = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def previous(self) -> str:
        return _week_param(self.monday - dt.timedelta(days=7))

    @property
    def next(self) -> str:
        return _week_param(self.monday + dt.timedelta(days=7))

    @property
    def days(self) -> list[dt.date]:
        return [self.monday + dt.timedelta(days=i) for i in range(7)]


def _week_param(monday: dt.date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(value: str | None, membership: Membership) -> Week | None:
    """The ISO week ``YYYY-Www`` (this week when empty) in the practice's time zone;
    ``None`` when the value is not a valid week."""
    zone = zone_for(membership.practice)
    if not value:
        monday = timezone.localdate(timezone=zone)
        monday -= dt.timedelta(days=monday.weekday())
    else:
        match = WEEK_RE.match(value.strip())
        if match is None:
            return None
        try:
            monday = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            return None
    start = to_utc(monday, dt.time(0, 0), zone)
    end = to_utc(monday + dt.timedelta(days=7), dt.time(0, 0), zone)
    return Week(monday, start, end)


@dataclass(frozen=True)
class Day:
    date: dt.date
    appointments: list[Appointment]


def clinician_week(user: User, week: Week) -> list[Day]:
    """The user's own appointments in ``week``, grouped by local day (query count fixed)."""
    membership = policy.staff_membership(user)
    if membership is None:
        raise Http404
    zone = zone_for(membership.practice)
    rows = (
        appointments_for(user)
        .filter(clinician=membership, starts_at__gte=week.start, starts_at__lt=week.end)
        .select_related("client", "course")
        .order_by("starts_at", "pk")
    )
    by_day: dict[dt.date, list[Appointment]] = {day: [] for day in week.days}
    for appointment in rows:
        by_day.setdefault(appointment.starts_at.astimezone(zone).date(), []).append(appointment)
    return [Day(day, items) for day, items in by_day.items()]


# Client appointments and .ics -----------------------------------------------------------


LIST_LIMIT = 200


@dataclass(frozen=True)
class ClientAppointments:
    """Upcoming appointments soonest first, then past ones latest first (200 of each)."""

    upcoming: list[Appointment]
    past: list[Appointment]

    def __bool__(self) -> bool:
        return bool(self.upcoming or self.past)


def client_appointments(client: Client, *, now: dt.datetime | None = None) -> ClientAppointments:
    """The client's appointments in two lists; an appointment still under way is upcoming.
    Two queries, whatever the number of rows."""
    now = now or timezone.now()
    qs = client.appointments.select_related("clinician__user", "practice", "course")
    upcoming = qs.filter(ends_at__gt=now).order_by("starts_at", "pk")[:LIST_LIMIT]
    past = qs.filter(ends_at__lte=now).order_by("-starts_at", "-pk")[:LIST_LIMIT]
    return ClientAppointments(list(upcoming), list(past))


def bookable_clients(user: User, *, limit: int = 500) -> list[tuple[Client, Course | None]]:
    """The active clients ``user`` may book for, each with their open IPT course (the latest
    one begun), those in a course first, then by name. Two queries."""
    open_courses = Course.objects.filter(
        status__in=(Course.Status.ASSESSMENT, Course.Status.ACTIVE)
    ).order_by("-start_date", "-pk")
    clients = (
        accessible_clients(user, write=True)
        .filter(status=Client.Status.ACTIVE)
        .annotate(in_course=Exists(open_courses.filter(client=OuterRef("pk"))))
        .order_by("-in_course", "legal_family_name", "legal_given_name", "pk")
        .prefetch_related(Prefetch("courses", queryset=open_courses, to_attr="open_courses"))
    )
    rows = list(clients[:limit])
    return [(c, c.open_courses[0] if c.open_courses else None) for c in rows]


def client_calendar(client: Client) -> bytes:
    """The client's own booked and attended appointments as .ics, without clinical content
    (used by the staff download now and by the portal)."""
    practice = client.practice.name
    rows = (
        client.appointments.filter(status__in=Appointment.OCCUPYING)
        .select_related("practice")
        .order_by("starts_at")
    )
    return ics.build_calendar(
        rows,
        name=practice,
        summary=lambda a: _("Appointment with %(practice)s") % {"practice": practice},
    )


# Clinician feed -------------------------------------------------------------------------


def active_feed(membership: Membership) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(membership=membership, revoked_at__isnull=True).first()


def feed_calendar(feed: CalendarFeed) -> tuple[bytes, int]:
    """The clinician's appointments (past month, next year) as "Client appointment" events."""
    now = timezone.now()
    user = feed.membership.user
    rows = list(
        appointments_for(user)
        .filter(
            clinician=feed.membership,
            status__in=Appointment.OCCUPYING,
            starts_at__gte=now - FEED_PAST,
            starts_at__lt=now + FEED_AHEAD,
        )
        .select_related("practice")
        .order_by("starts_at")
    )
    title = _("Client appointment")
    body = ics.build_calendar(rows, name=_("OpenIPT appointments"), summary=lambda a: title)
    return body, len(rows)
