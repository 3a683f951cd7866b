"""Gates to appointments, the clinician's week and the calendar feed.

Each gate answers ``Http404`` to anyone who may not reach the thing, so a stranger learns
nothing, not even that it exists. With ``audit``, the read is recorded before anything is
shown (fail closed: if the audit write fails, the request fails). Which appointments a user
reaches is ``openipt.scheduling.selectors.appointments_for`` (the clients they may reach).
"""

from __future__ import annotations

import uuid as uuid_lib

from django.http import Http404, HttpRequest

from openipt.accounts import policy
from openipt.accounts.models import User
from openipt.audit import services as audit_services
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.core.http import parse_uuid
from openipt.scheduling.models import Appointment, CalendarFeed
from openipt.scheduling.selectors import (
    Day,
    Week,
    appointments_for,
    bookable_clients,
    clinician_week,
    feed_calendar,
)
from openipt.scheduling.services import feed_token_hash
from openipt.treatment.models import Course

FEED_TOKEN_MAX = 100


def access_appointment(
    user: User,
    appointment_uuid: str | uuid_lib.UUID,
    *,
    write: bool = False,
    audit: HttpRequest | None = None,
    detail: str = "",
) -> Appointment:
    """The appointment if ``user`` may reach its client (``write``: change it); otherwise
    ``Http404``. With ``audit``, the read of the appointment is recorded."""
    appointment = (
        appointments_for(user, write=write)
        .select_related("client", "practice", "clinician__user", "course", "series")
        .filter(uuid=parse_uuid(appointment_uuid))
        .first()
    )
    if appointment is None:
        raise Http404
    if audit is not None:
        audit_services.record_read(
            audit, appointment.client, appointment, detail=detail, actor=user
        )
    return appointment


def access_clinician_week(user: User, week: Week, *, audit: HttpRequest | None = None) -> list[Day]:
    """The user's own appointments in ``week`` by local day (``Http404`` for non-staff).

    With ``audit``, a week that shows any appointment (and so client names) is recorded as
    one read of the week; the names themselves are not logged."""
    days = clinician_week(user, week)
    count = sum(len(day.appointments) for day in days)
    if audit is not None and count:
        membership = policy.staff_membership(user)
        audit_services.record_list_read(
            audit,
            actor=user,
            object_type="scheduling.week",
            practice_id=membership.practice_id if membership else None,
            detail=f"{count} appointments shown",
        )
    return days


def access_bookable_clients(
    user: User, *, audit: HttpRequest | None = None
) -> list[tuple[Client, Course | None]]:
    """The clients a clinician may book into their own calendar (``bookable_clients``);
    ``Http404`` for anyone without a calendar. With ``audit``, showing their names is
    recorded as one read of the list."""
    membership = policy.staff_membership(user)
    if membership is None or not policy.can_see_schedule(membership):
        raise Http404
    rows = bookable_clients(user)
    if audit is not None and rows:
        audit_services.record_list_read(
            audit,
            actor=user,
            object_type="scheduling.bookable_clients",
            practice_id=membership.practice_id,
            detail=f"{len(rows)} clients shown",
        )
    return rows


def access_feed(token: str) -> CalendarFeed:
    """The active feed for this secret token, of an active staff member; else ``Http404``.

    The feed URL is its own credential (calendar apps cannot sign in)."""
    if not token or len(token) > FEED_TOKEN_MAX:
        raise Http404
    feed = (
        CalendarFeed.objects.select_related("membership__practice", "membership__user")
        .filter(token_hash=feed_token_hash(token), revoked_at__isnull=True)
        .first()
    )
    if (
        feed is None
        or not feed.membership.is_active
        or not feed.membership.user.is_active
        or not feed.membership.is_staff_member
    ):
        raise Http404
    return feed


def access_feed_calendar(
    token: str, *, audit: HttpRequest | None = None
) -> tuple[CalendarFeed, bytes]:
    """The feed of ``token`` (``access_feed``) and its calendar. With ``audit``, the read is
    recorded as the feed's owner's, with the number of events served."""
    feed = access_feed(token)
    body, count = feed_calendar(feed)
    if audit is not None:
        audit_services.record(
            actor=feed.membership.user,
            action=AuditEvent.Action.READ,
            obj=feed,
            practice_id=feed.membership.practice_id,
            request=audit,
            detail=f"calendar feed: {count} events",
        )
    return feed, body
