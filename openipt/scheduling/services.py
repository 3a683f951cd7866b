"""Every write to appointments, series and calendar feeds.

Each function is atomic, validates with ``full_clean`` and writes its audit event in the
same transaction. Callers have already checked access with the gates of
``openipt.access.scheduling`` (and ``openipt.access.clients``).

Double bookings: a clinician's new or moved appointment that overlaps one they already
have (booked or attended) is refused with the clashing time, unless the caller passes
``allow_overlap=True`` (the form's "Book anyway" box); the audit detail then says so.

Outcomes (cancelled, late cancellation, did not attend, attended) flow into the matching
treatment ``Session``'s attendance, through the treatment app's own service.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.accounts import policy
from openipt.accounts.models import Membership, User
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.core.versioning import lock_version, update_versioned
from openipt.scheduling import reminders
from openipt.scheduling.models import Appointment, AppointmentSeries, CalendarFeed
from openipt.scheduling.times import describe_range, to_utc, zone_for
from openipt.treatment import services as treatment_services
from openipt.treatment.models import ContractVersion, Course, Frequency, Session

OUTCOMES: dict[str, str] = {
    Appointment.Status.CANCELLED: Session.Attendance.CANCELLED,
    Appointment.Status.LATE_CANCELLATION: Session.Attendance.LATE_CANCELLATION,
    Appointment.Status.NO_SHOW: Session.Attendance.NO_SHOW,
    Appointment.Status.ATTENDED: Session.Attendance.ATTENDED,
}
INTERVAL_DAYS: dict[str, int] = {
    Frequency.WEEKLY: 7,
    Frequency.FORTNIGHTLY: 14,
    Frequency.MONTHLY: 28,
}


@dataclass(frozen=True)
class Slot:
    """A planned appointment time, before it is saved."""

    starts_at: dt.datetime
    duration_minutes: int

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)


# Double bookings ------------------------------------------------------------------------


def clashes(
    clinician: Membership, slot: Slot, *, exclude: Appointment | None = None
) -> list[Appointment]:
    """The clinician's appointments that overlap ``slot`` and still take up their time."""
    qs = Appointment.objects.filter(
        clinician=clinician,
        status__in=Appointment.OCCUPYING,
        starts_at__lt=slot.ends_at,
        ends_at__gt=slot.starts_at,
    ).select_related("practice")
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return list(qs.order_by("starts_at"))


def _clash_message(clinician: Membership, found: Iterable[Appointment]) -> list[str]:
    name = clinician.user.get_full_name()
    return [
        _(
            "%(name)s already has an appointment on %(when)s. Choose another time, or tick "
            "“Book anyway” to double-book on purpose."
        )
        % {"name": name, "when": describe_range(a.starts_at, a.ends_at, zone_for(a.practice))}
        for a in found
    ]


def _refuse_clashes(
    clinician: Membership, slots: Iterable[Slot], *, exclude: Appointment | None = None
) -> None:
    messages: list[str] = []
    for slot in slots:
        messages += _clash_message(clinician, clashes(clinician, slot, exclude=exclude))
    if messages:
        raise ValidationError({"starts_at": messages}, code="clash")


def _lock_clinician(clinician: Membership) -> None:
    """Serialise bookings for one clinician so two clashing bookings cannot both pass."""
    Membership.objects.select_for_update().filter(pk=clinician.pk).first()


# Appointments ---------------------------------------------------------------------------


def _check_parties(client: Client, clinician: Membership, course: Course | None) -> None:
    errors: dict[str, str] = {}
    if clinician.practice_id != client.practice_id or not policy.can_be_on_care_team(clinician):
        errors["clinician"] = _("Choose a clinician of this practice.")
    if course is not None and course.client_id != client.pk:
        errors["course"] = _("Choose a course of this client.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def appointment_book(
    *,
    actor: User,
    client: Client,
    clinician: Membership,
    starts_at: dt.datetime,
    duration_minutes: int = 50,
    kind: str = Appointment.Kind.SESSION,
    course: Course | None = None,
    note: str = "",
    allow_overlap: bool = False,
    request: HttpRequest | None = None,
) -> Appointment:
    _check_parties(client, clinician, course)
    slot = Slot(starts_at, duration_minutes)
    _lock_clinician(clinician)
    found = clashes(clinician, slot)
    if found and not allow_overlap:
        _refuse_clashes(clinician, [slot])
    appointment = Appointment(
        practice_id=client.practice_id,
        client=client,
        clinician=clinician,
        course=course,
        kind=kind,
        note=note,
        created_by=actor,
        updated_by=actor,
    )
    appointment.set_times(starts_at, duration_minutes)
    appointment.full_clean()
    appointment.save()
    detail = "double booking accepted" if found else ""
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=appointment,
        client=client,
        request=request,
        detail=detail,
    )
    reminders.plan_for_appointment(appointment)
    return appointment


@transaction.atomic
def appointment_reschedule(
    *,
    actor: User,
    appointment: Appointment,
    version: int,
    starts_at: dt.datetime,
    duration_minutes: int,
    allow_overlap: bool = False,
    request: HttpRequest | None = None,
) -> Appointment:
    """Move one appointment (of a series or not); its reminders move with it."""
    current = lock_version(appointment, version)
    if not current.is_booked:
        raise ValidationError(_("Only a booked appointment can be moved."))
    slot = Slot(starts_at, duration_minutes)
    _lock_clinician(current.clinician)
    found = clashes(current.clinician, slot, exclude=current)
    if found and not allow_overlap:
        _refuse_clashes(current.clinician, [slot], exclude=current)
    times = {
        "starts_at": slot.starts_at,
        "duration_minutes": slot.duration_minutes,
        "ends_at": slot.ends_at,
    }
    # Locked and checked above: the version cannot have moved on since.
    current = update_versioned(current, version=None, changes=times, updated_by=actor)
    detail = "rescheduled" + ("; double booking accepted" if found else "")
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=current,
        client=current.client,
        request=request,
        detail=detail,
    )
    reminders.cancel_for_appointment(current)
    reminders.plan_for_appointment(current)
    return current


@transaction.atomic
def appointment_set_outcome(
    *,
    actor: User,
    appointment: Appointment,
    version: int,
    status: str,
    request: HttpRequest | None = None,
) -> Appointment:
    """Record a cancellation, late cancellation, no-show or attendance.

    The matching treatment session (if one is recorded) gets the same attendance; if that
    session is signed, the treatment service refuses and nothing here is saved either.
    """
    if status not in OUTCOMES:
        raise ValidationError({"status": _("Choose what happened.")})
    current = lock_version(appointment, version)
    if current.status == status:
        raise ValidationError({"status": _("The appointment already has this status.")})
    previous = current.status
    changes = {"status": status, "session": matching_session(current)}
    # Locked and checked above: the version cannot have moved on since.
    current = update_versioned(current, version=None, changes=changes, updated_by=actor)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=current,
        client=current.client,
        request=request,
        detail=f"status {previous} -> {status}",
    )
    reminders.cancel_for_appointment(current)
    _flow_into_session(actor, current, request)
    return current


def appointment_cancel(
    *,
    actor: User,
    appointment: Appointment,
    version: int,
    late: bool = False,
    request: HttpRequest | None = None,
) -> Appointment:
    status = Appointment.Status.LATE_CANCELLATION if late else Appointment.Status.CANCELLED
    return appointment_set_outcome(
        actor=actor, appointment=appointment, version=version, status=status, request=request
    )


def appointment_no_show(
    *, actor: User, appointment: Appointment, version: int, request: HttpRequest | None = None
) -> Appointment:
    return appointment_set_outcome(
        actor=actor,
        appointment=appointment,
        version=version,
        status=Appointment.Status.NO_SHOW,
        request=request,
    )


def matching_session(appointment: Appointment) -> Session | None:
    """The treatment session recorded for this appointment: linked, or at the same time."""
    if appointment.session_id is not None:
        return appointment.session
    if appointment.course_id is None or appointment.kind != Appointment.Kind.SESSION:
        return None
    window_start = appointment.starts_at - dt.timedelta(hours=1)
    return (
        Session.objects.filter(
            course_id=appointment.course_id,
            starts_at__gte=window_start,
            starts_at__lt=appointment.ends_at,
        )
        .order_by("starts_at")
        .first()
    )


def _flow_into_session(actor: User, appointment: Appointment, request: HttpRequest | None) -> None:
    session = appointment.session
    attendance = OUTCOMES[appointment.status]
    if session is None or session.attendance == attendance:
        return
    treatment_services.session_update(
        actor=actor,
        session=session,
        version=session.version,
        data=replace(treatment_services.SessionData.of(session), attendance=attendance),
        request=request,
    )


# Series ---------------------------------------------------------------------------------


def series_dates(
    *, first_date: dt.date, weekday: int, interval_days: int, count: int, skip: set[dt.date]
) -> list[dt.date]:
    """``count`` dates on ``weekday`` from ``first_date`` on, every ``interval_days``,
    leaving out the skipped ones (the series then runs on past them)."""
    day = first_date + dt.timedelta(days=(weekday - first_date.weekday()) % 7)
    dates: list[dt.date] = []
    while len(dates) < count:
        if day not in skip:
            dates.append(day)
        day += dt.timedelta(days=interval_days)
    return dates


def _remaining_sessions(course: Course, planned: int) -> int:
    booked = Appointment.objects.filter(
        course=course, kind=Appointment.Kind.SESSION, status__in=Appointment.OCCUPYING
    ).count()
    return planned - booked


def _series_plan(course: Course) -> tuple[ContractVersion, int, int]:
    contract = course.contracts.order_by("-number").first()
    if contract is None:
        raise ValidationError(_("Record the treatment contract first: it sets the sessions."))
    interval = INTERVAL_DAYS.get(contract.frequency)
    if interval is None:
        raise ValidationError(
            _("The contract's frequency is flexible: book these appointments one at a time.")
        )
    count = _remaining_sessions(course, contract.planned_sessions)
    if count <= 0:
        raise ValidationError(
            _("All %(n)s sessions of the contract already have appointments.")
            % {"n": contract.planned_sessions}
        )
    return contract, interval, count


@transaction.atomic
def series_generate_from_contract(
    *,
    actor: User,
    course: Course,
    weekday: int,
    local_time: dt.time,
    first_date: dt.date,
    skip_dates: Iterable[dt.date] = (),
    duration_minutes: int = 50,
    allow_overlap: bool = False,
    request: HttpRequest | None = None,
) -> AppointmentSeries:
    """Book the sessions of the current contract still without an appointment, on one
    weekday at one local time in the practice's time zone (stored as UTC)."""
    client = course.client
    contract, interval, count = _series_plan(course)
    zone = zone_for(client.practice)
    skip = set(skip_dates)
    days = series_dates(
        first_date=first_date, weekday=weekday, interval_days=interval, count=count, skip=skip
    )
    slots = [Slot(to_utc(day, local_time, zone), duration_minutes) for day in days]
    _lock_clinician(course.clinician)
    if not allow_overlap:
        _refuse_clashes(course.clinician, slots)
    series = AppointmentSeries(
        practice_id=client.practice_id,
        course=course,
        contract=contract,
        weekday=weekday,
        local_time=local_time,
        time_zone=zone.key,
        first_date=first_date,
        interval_days=interval,
        count=count,
        skip_dates=sorted(d.isoformat() for d in skip),
        duration_minutes=duration_minutes,
        created_by=actor,
    )
    series.full_clean()
    series.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=series,
        client=client,
        request=request,
        detail=f"{count} appointments",
    )
    for slot in slots:
        _series_appointment(actor, series, slot, request)
    return series


def _series_appointment(
    actor: User, series: AppointmentSeries, slot: Slot, request: HttpRequest | None
) -> Appointment:
    course = series.course
    appointment = Appointment(
        practice_id=series.practice_id,
        client=course.client,
        clinician=course.clinician,
        course=course,
        series=series,
        kind=Appointment.Kind.SESSION,
        created_by=actor,
        updated_by=actor,
    )
    appointment.set_times(slot.starts_at, slot.duration_minutes)
    appointment.full_clean()
    appointment.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=appointment,
        client=course.client,
        request=request,
    )
    reminders.plan_for_appointment(appointment)
    return appointment


# Calendar feeds -------------------------------------------------------------------------


def feed_token_hash(token: str) -> str:
    """Tokens are 256 random bits, so a plain SHA-256 is enough (no slow hash needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _revoke_active(membership: Membership) -> int:
    return CalendarFeed.objects.filter(membership=membership, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@transaction.atomic
def calendar_feed_create(
    *, actor: User, membership: Membership, request: HttpRequest | None = None
) -> tuple[CalendarFeed, str]:
    """A new private feed URL token (shown once); any earlier one stops working."""
    Membership.objects.select_for_update().filter(pk=membership.pk).first()
    replaced = _revoke_active(membership)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(membership=membership, token_hash=feed_token_hash(token))
    feed.full_clean()
    feed.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=feed,
        practice_id=membership.practice_id,
        request=request,
        detail="replaced the previous feed" if replaced else "",
    )
    return feed, token


@transaction.atomic
def calendar_feed_revoke(
    *, actor: User, membership: Membership, request: HttpRequest | None = None
) -> bool:
    revoked = _revoke_active(membership) > 0
    if revoked:
        audit.record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            object_type="scheduling.calendarfeed",
            practice_id=membership.practice_id,
            request=request,
            detail="revoked",
        )
    return revoked


def calendar_feed_touch(feed: CalendarFeed) -> None:
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=timezone.now())
