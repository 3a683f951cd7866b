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
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, DateTimeField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
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
REASON_MAX = 200
MAX_REPEAT = 52
CANCELLATIONS = (Appointment.Status.CANCELLED, Appointment.Status.LATE_CANCELLATION)
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
    reason: str = "",
    request: HttpRequest | None = None,
) -> Appointment:
    """Record a cancellation (with its ``reason``), late cancellation, no-show or attendance.

    The matching treatment session (if one is recorded) gets the same attendance; if that
    session is signed, the treatment service refuses and nothing here is saved either.
    """
    if status not in OUTCOMES:
        raise ValidationError({"status": _("Choose what happened.")})
    reason = _reason(reason) if status in CANCELLATIONS else ""
    current = lock_version(appointment, version)
    if current.status == status:
        raise ValidationError({"status": _("The appointment already has this status.")})
    previous = current.status
    changes = {
        "status": status,
        "session": matching_session(current),
        "cancellation_reason": reason,
    }
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
    reason: str = "",
    request: HttpRequest | None = None,
) -> Appointment:
    status = Appointment.Status.LATE_CANCELLATION if late else Appointment.Status.CANCELLED
    return appointment_set_outcome(
        actor=actor, appointment=appointment, version=version, status=status, reason=reason,
        request=request,
    )  # fmt: skip


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


# A course's future appointments (the ending) ------------------------------------------


def _require_write(actor: User, client: Client) -> None:
    """``PermissionDenied`` unless ``actor`` is staff with write access to ``client``."""
    if not policy.can_access_client(policy.staff_membership(actor), client, write=True):
        raise PermissionDenied


def _reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) > REASON_MAX:
        raise ValidationError(
            {
                "cancellation_reason": _("Keep the reason under %(n)s characters.")
                % {"n": REASON_MAX}
            }
        )
    return reason


def course_future_appointments(course: Course) -> list[Appointment]:
    """The course's booked appointments that start after now, soonest first."""
    return list(
        Appointment.objects.filter(
            course=course, status=Appointment.Status.BOOKED, starts_at__gt=timezone.now()
        )
        .select_related("practice", "clinician__user")
        .order_by("starts_at", "pk")
    )


@transaction.atomic
def appointments_cancel_future(
    *, actor: User, course: Course, reason: str, request: HttpRequest | None = None
) -> int:
    """Cancel every booked appointment of ``course`` still to come, each with ``reason``
    and its own audit event; their reminders are not sent. Returns how many."""
    _require_write(actor, course.client)
    reason = _reason(reason)
    ids = [a.pk for a in course_future_appointments(course)]
    rows = Appointment.objects.select_for_update(of=("self",)).filter(
        pk__in=ids, status=Appointment.Status.BOOKED
    )
    count = 0
    for appointment in rows.select_related("client", "session").order_by("starts_at", "pk"):
        _cancel_one(actor, appointment, reason, request)
        count += 1
    return count


def _cancel_one(
    actor: User,
    appointment: Appointment,
    reason: str,
    request: HttpRequest | None,
    *,
    status: str | None = None,
) -> Appointment:
    """Cancel one booked appointment already locked by the caller (``status``: a late
    cancellation instead)."""
    status = status or Appointment.Status.CANCELLED
    changes = {
        "status": status,
        "cancellation_reason": reason,
        "session": matching_session(appointment),
    }
    current = update_versioned(appointment, version=None, changes=changes, updated_by=actor)
    detail = f"status {Appointment.Status.BOOKED} -> {status}"
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=current,
        client=current.client,
        request=request,
        detail=detail + ("; reason given" if reason else ""),
    )
    reminders.cancel_for_appointment(current)
    _flow_into_session(actor, current, request)
    return current


def matching_session(appointment: Appointment) -> Session | None:
    """The treatment session recorded for this appointment: linked, or at the same time."""
    if appointment.session_id is not None:
        return appointment.session
    if appointment.course_id is None or appointment.kind != Appointment.Kind.SESSION:
        return None
    window_start = appointment.starts_at - dt.timedelta(hours=1)
    # A session already linked to another appointment is that one's (one link each).
    linked = Appointment.objects.filter(session=OuterRef("pk")).exclude(pk=appointment.pk)
    return (
        Session.objects.filter(
            course_id=appointment.course_id,
            starts_at__gte=window_start,
            starts_at__lt=appointment.ends_at,
        )
        .exclude(Exists(linked))
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


# Repeats from the booking form -----------------------------------------------------------


@dataclass(frozen=True)
class Repeat:
    """How often a booking repeats: once (``interval_days`` 0), or every 7 or 14 days for
    ``count`` appointments or until ``until`` (inclusive), at most ``MAX_REPEAT``."""

    interval_days: int = 0
    count: int = 1
    until: dt.date | None = None

    def dates(self, first: dt.date) -> list[dt.date]:
        if self.interval_days <= 0:
            return [first]
        if self.until is not None:
            if self.until < first:
                raise ValidationError({"until": _("The last date is before the first one.")})
            count = (self.until - first).days // self.interval_days + 1
        else:
            count = self.count
        if not 1 <= count <= MAX_REPEAT:
            raise ValidationError(
                {"count": _("Book between 1 and %(n)s appointments at once.") % {"n": MAX_REPEAT}}
            )
        return [first + dt.timedelta(days=self.interval_days * i) for i in range(count)]


@transaction.atomic
def appointments_book_repeating(
    *,
    actor: User,
    client: Client,
    clinician: Membership,
    first_date: dt.date,
    local_time: dt.time,
    repeat: Repeat | None = None,
    duration_minutes: int = 50,
    kind: str = Appointment.Kind.SESSION,
    course: Course | None = None,
    note: str = "",
    allow_overlap: bool = False,
    request: HttpRequest | None = None,
) -> list[Appointment]:
    """Book one appointment or a weekly / fortnightly run, all or nothing, at one wall-clock
    time in the practice's time zone. Every clash of every date is reported at once."""
    _require_write(actor, client)
    _check_parties(client, clinician, course)
    zone = zone_for(client.practice)
    repeat = repeat or Repeat()
    days = repeat.dates(first_date)
    slots = [Slot(to_utc(day, local_time, zone), duration_minutes) for day in days]
    _lock_clinician(clinician)
    found = [a for slot in slots for a in clashes(clinician, slot)]
    if found and not allow_overlap:
        _refuse_clashes(clinician, slots)
    series = None
    if len(slots) > 1:
        series = _save_series(
            actor, client, course=course, contract=None, weekday=days[0].weekday(),
            local_time=local_time, zone=zone, first_date=days[0],
            interval_days=repeat.interval_days, count=len(slots), skip=set(),
            duration_minutes=duration_minutes, request=request,
        )  # fmt: skip
    detail = "double booking accepted" if found else ""
    return [
        _new_appointment(
            actor,
            client=client,
            clinician=clinician,
            course=course,
            series=series,
            kind=kind,
            slot=slot,
            note=note,
            request=request,
            detail=detail,
        )
        for slot in slots
    ]


def _new_appointment(
    actor: User,
    *,
    client: Client,
    clinician: Membership,
    course: Course | None,
    series: AppointmentSeries | None,
    kind: str,
    slot: Slot,
    note: str = "",
    request: HttpRequest | None,
    detail: str = "",
) -> Appointment:
    appointment = Appointment(
        practice_id=client.practice_id, client=client, clinician=clinician, course=course,
        series=series, kind=kind, note=note, created_by=actor, updated_by=actor,
    )  # fmt: skip
    appointment.set_times(slot.starts_at, slot.duration_minutes)
    appointment.full_clean()
    appointment.save()
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=appointment, client=client,
        request=request, detail=detail,
    )  # fmt: skip
    reminders.plan_for_appointment(appointment)
    return appointment


def _save_series(
    actor: User,
    client: Client,
    *,
    course: Course | None,
    contract: ContractVersion | None,
    weekday: int,
    local_time: dt.time,
    zone: ZoneInfo,
    first_date: dt.date,
    interval_days: int,
    count: int,
    skip: set[dt.date],
    duration_minutes: int,
    request: HttpRequest | None,
) -> AppointmentSeries:
    series = AppointmentSeries(
        practice_id=client.practice_id, course=course, contract=contract, weekday=weekday,
        local_time=local_time, time_zone=zone.key, first_date=first_date,
        interval_days=interval_days, count=count,
        skip_dates=sorted(d.isoformat() for d in skip),
        duration_minutes=duration_minutes, created_by=actor,
    )  # fmt: skip
    series.full_clean()
    series.save()
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=series, client=client,
        request=request, detail=f"{count} appointments",
    )  # fmt: skip
    return series


# The contract's sessions ----------------------------------------------------------------


@dataclass(frozen=True)
class ContractTally:
    """Where a course stands against its contract (docs/ipt.md §5, the agreed sessions).

    ``held``: sessions recorded as attended, plus attended appointments without a record yet.
    ``missed``: sessions recorded as missed or cancelled; each has used one of the
    contract's session numbers. ``booked``: session appointments still booked (future, or
    past and waiting for an outcome) with no session recorded for them.
    """

    contract: ContractVersion | None
    held: int = 0
    missed: int = 0
    booked: int = 0

    @property
    def planned(self) -> int:
        return self.contract.planned_sessions if self.contract else 0

    @property
    def to_book(self) -> int:
        return max(0, self.planned - self.held - self.missed - self.booked)


def _unrecorded_session_appointments(course: Course) -> QuerySet[Appointment]:
    """The course's occupying session appointments with no session recorded for them
    (none linked, none at the same time: the rule of ``matching_session``)."""
    window = Session.objects.filter(
        course_id=OuterRef("course_id"),
        starts_at__gte=ExpressionWrapper(
            OuterRef("starts_at") - dt.timedelta(hours=1), output_field=DateTimeField()
        ),
        starts_at__lt=OuterRef("ends_at"),
    )
    return Appointment.objects.filter(
        course=course,
        kind=Appointment.Kind.SESSION,
        status__in=Appointment.OCCUPYING,
        session__isnull=True,
    ).exclude(Exists(window))


def contract_tally(course: Course) -> ContractTally:
    """Held, missed and booked sessions of the course's current contract (three queries)."""
    contract = course.contracts.order_by("-number").first()
    attended = Q(attendance=Session.Attendance.ATTENDED)
    sessions = Session.objects.filter(course=course, number__gte=1).aggregate(
        held=Count("pk", filter=attended), missed=Count("pk", filter=~attended)
    )
    open_rows = _unrecorded_session_appointments(course).aggregate(
        attended=Count("pk", filter=Q(status=Appointment.Status.ATTENDED)),
        booked=Count("pk", filter=Q(status=Appointment.Status.BOOKED)),
    )
    return ContractTally(
        contract=contract,
        held=sessions["held"] + open_rows["attended"],
        missed=sessions["missed"],
        booked=open_rows["booked"],
    )


@dataclass(frozen=True)
class SeriesDefaults:
    weekday: int
    local_time: dt.time
    first_date: dt.date
    interval_days: int
    duration_minutes: int


DEFAULT_TIME = dt.time(10, 0)


def series_defaults(course: Course, *, today: dt.date | None = None) -> SeriesDefaults:
    """What the contract's remaining sessions most likely look like: the contract's
    frequency, the weekday and time used most often so far, starting one interval after the
    last booked or held session (and not before tomorrow)."""
    zone = zone_for(course.client.practice)
    today = today or timezone.localdate(timezone=zone)
    contract = course.contracts.order_by("-number").first()
    interval = INTERVAL_DAYS.get(contract.frequency if contract else "", 7)
    recent = [
        (moment.astimezone(zone), minutes)
        for moment, minutes in [
            *Appointment.objects.filter(
                course=course, kind=Appointment.Kind.SESSION, status__in=Appointment.OCCUPYING
            )
            .order_by("-starts_at")
            .values_list("starts_at", "duration_minutes")[:RECENT],
            *Session.objects.filter(course=course, attendance=Session.Attendance.ATTENDED)
            .order_by("-starts_at")
            .values_list("starts_at", "duration_minutes")[:RECENT],
        ]
    ]
    if not recent:
        start = max(today + dt.timedelta(days=1), course.start_date)
        return SeriesDefaults(start.weekday(), DEFAULT_TIME, start, interval, 50)
    recent.sort(key=lambda row: row[0], reverse=True)
    usual = Counter((wall.weekday(), wall.time().replace(second=0)) for wall, _m in recent)
    # most_common keeps first-seen order on ties, and ``recent`` is latest first.
    (weekday, clock), _n = usual.most_common(1)[0]
    last = recent[0][0].date()
    first = max(last + dt.timedelta(days=interval), today + dt.timedelta(days=1))
    return SeriesDefaults(weekday, clock, first, interval, recent[0][1])


RECENT = 20


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


def _series_plan(
    course: Course, interval_days: int | None, count: int | None
) -> tuple[ContractVersion, int, int]:
    if not course.is_open:
        raise ValidationError(_("The course is closed, so no more sessions are booked in it."))
    tally = contract_tally(course)
    contract = tally.contract
    if contract is None:
        raise ValidationError(_("Record the treatment contract first: it sets the sessions."))
    interval = interval_days or INTERVAL_DAYS.get(contract.frequency)
    if interval is None:
        raise ValidationError(
            _("The contract's frequency is flexible: choose how often the sessions repeat.")
        )
    if tally.to_book <= 0:
        raise ValidationError(
            _("All %(n)s sessions of the contract are already held or booked.")
            % {"n": contract.planned_sessions}
        )
    if count is not None and count > tally.to_book:
        raise ValidationError(
            {"count": _("Only %(n)s sessions of the contract are left to book.")
             % {"n": tally.to_book}}
        )  # fmt: skip
    return contract, interval, count or tally.to_book


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
    interval_days: int | None = None,
    count: int | None = None,
    allow_overlap: bool = False,
    request: HttpRequest | None = None,
) -> AppointmentSeries:
    """Book the contract's sessions that are neither held nor booked yet (``count``: fewer),
    on one weekday at one local time in the practice's time zone (stored as UTC). Never more
    than the contract's number of sessions: the course row is locked while counting."""
    client = course.client
    _require_write(actor, client)
    course = lock_version(course, None)
    contract, interval, count = _series_plan(course, interval_days, count)
    zone = zone_for(client.practice)
    skip = set(skip_dates)
    days = series_dates(
        first_date=first_date, weekday=weekday, interval_days=interval, count=count, skip=skip
    )
    slots = [Slot(to_utc(day, local_time, zone), duration_minutes) for day in days]
    _lock_clinician(course.clinician)
    found = [a for slot in slots for a in clashes(course.clinician, slot)]
    if found and not allow_overlap:
        _refuse_clashes(course.clinician, slots)
    series = _save_series(
        actor, client, course=course, contract=contract, weekday=weekday,
        local_time=local_time, zone=zone, first_date=first_date, interval_days=interval,
        count=count, skip=skip, duration_minutes=duration_minutes, request=request,
    )  # fmt: skip
    detail = "double booking accepted" if found else ""
    for slot in slots:
        _new_appointment(
            actor, client=client, clinician=course.clinician, course=course, series=series,
            kind=Appointment.Kind.SESSION, slot=slot, request=request, detail=detail,
        )  # fmt: skip
    return series


# Moving or cancelling this and the later ones of a series -------------------------------


def _wall(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _shift(moment: dt.datetime, delta: dt.timedelta, zone: ZoneInfo) -> dt.datetime:
    """``moment`` moved by ``delta`` of wall-clock time in ``zone`` (10:00 stays 10:00 local
    across a clock change, as the series was planned)."""
    wall = _wall(moment, zone) + delta
    return to_utc(wall.date(), wall.time(), zone)


def _this_and_later(current: Appointment) -> list[Appointment]:
    """``current`` (already locked) and the booked appointments after it in its series."""
    after = Q(starts_at__gt=current.starts_at) | Q(starts_at=current.starts_at, pk__gt=current.pk)
    later = (
        Appointment.objects.select_for_update()
        .filter(series_id=current.series_id, status=Appointment.Status.BOOKED)
        .filter(after)
        .exclude(pk=current.pk)
        .select_related("clinician__user", "practice")
        .order_by("starts_at", "pk")
    )
    return [current, *later]


@transaction.atomic
def series_reschedule_following(
    *,
    actor: User,
    appointment: Appointment,
    version: int,
    starts_at: dt.datetime,
    duration_minutes: int,
    allow_overlap: bool = False,
    request: HttpRequest | None = None,
) -> list[Appointment]:
    """Move this appointment and every later booked one of its series by the same shift of
    wall-clock time in the series' time zone; all or nothing. Earlier ones stay."""
    _require_write(actor, appointment.client)
    current = lock_version(appointment, version)
    if not current.is_booked:
        raise ValidationError(_("Only a booked appointment can be moved."))
    if current.series_id is None:
        raise ValidationError(_("This appointment is not part of a series."))
    series = AppointmentSeries.objects.get(pk=current.series_id)
    zone = _zone_named(series.time_zone, current)
    delta = _wall(starts_at, zone) - _wall(current.starts_at, zone)
    rows = _this_and_later(current)
    moves = [(starts_at, rows[0])] + [(_shift(a.starts_at, delta, zone), a) for a in rows[1:]]
    plan = [(a, Slot(start, duration_minutes)) for start, a in moves]
    moving = {a.pk for a in rows}
    _lock_clinician(current.clinician)
    found = [c for a, slot in plan for c in clashes(a.clinician, slot) if c.pk not in moving]
    if found and not allow_overlap:
        raise ValidationError({"starts_at": _clash_message(current.clinician, found)})
    detail = f"rescheduled with {len(rows) - 1} later in the series" + (
        "; double booking accepted" if found else ""
    )
    return [_move(actor, a, slot, request, detail) for a, slot in plan]


def _zone_named(name: str, appointment: Appointment) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return zone_for(appointment.practice)


def _move(
    actor: User, appointment: Appointment, slot: Slot, request: HttpRequest | None, detail: str
) -> Appointment:
    times = {"starts_at": slot.starts_at, "duration_minutes": slot.duration_minutes,
             "ends_at": slot.ends_at}  # fmt: skip
    moved = update_versioned(appointment, version=None, changes=times, updated_by=actor)
    audit.record(
        actor=actor, action=AuditEvent.Action.UPDATE, obj=moved, client=moved.client,
        request=request, detail=detail,
    )  # fmt: skip
    reminders.cancel_for_appointment(moved)
    reminders.plan_for_appointment(moved)
    return moved


@transaction.atomic
def series_cancel_following(
    *,
    actor: User,
    appointment: Appointment,
    version: int,
    reason: str,
    late: bool = False,
    request: HttpRequest | None = None,
) -> int:
    """Cancel this appointment (``late``: a late cancellation) and every later booked one
    of its series, with one reason; returns how many."""
    _require_write(actor, appointment.client)
    reason = _reason(reason)
    current = lock_version(appointment, version)
    if not current.is_booked:
        raise ValidationError(_("Only a booked appointment can be cancelled."))
    rows = _this_and_later(current) if current.series_id else [current]
    first = Appointment.Status.LATE_CANCELLATION if late else Appointment.Status.CANCELLED
    for i, row in enumerate(rows):
        _cancel_one(actor, row, reason, request, status=first if i == 0 else None)
    return len(rows)


# "Write the note" -----------------------------------------------------------------------

NOTE_LEAD = dt.timedelta(hours=1)


def note_can_start(appointment: Appointment, *, now: dt.datetime | None = None) -> bool:
    """A session appointment of an open course, booked or attended, that starts today (in
    the practice's time zone) or earlier, or within the next hour."""
    now = now or timezone.now()
    zone = zone_for(appointment.practice)
    course = appointment.course
    return (
        appointment.kind == Appointment.Kind.SESSION
        and course is not None
        and course.is_open
        and appointment.status in Appointment.OCCUPYING
        and (
            appointment.starts_at <= now + NOTE_LEAD
            or appointment.starts_at.astimezone(zone).date() <= now.astimezone(zone).date()
        )
    )


@transaction.atomic
def appointment_note_open(
    *, actor: User, appointment: Appointment, request: HttpRequest | None = None
) -> tuple[Session, bool]:
    """The session recorded for this appointment, created when there is none yet (next
    number, the appointment's time, attended) and linked; ``(session, created)``.

    The appointment row is locked first, so a second request waits and then finds the
    session the first one made: never two sessions for one appointment."""
    _require_write(actor, appointment.client)
    current = lock_version(appointment, None)
    found = matching_session(current)
    if found is not None:
        if current.session_id is None:
            _link_session(actor, current, found, request)
        return found, False
    course = current.course
    if course is None or not note_can_start(current):
        raise ValidationError(_note_refusal(current))
    session = treatment_services.session_create(
        actor=actor,
        course=course,
        data=treatment_services.SessionData(
            number=treatment_services.next_session_number(course),
            starts_at=current.starts_at,
            duration_minutes=current.duration_minutes,
            attendance=Session.Attendance.ATTENDED,
        ),
        request=request,
    )
    _link_session(actor, current, session, request)
    return session, True


def _link_session(
    actor: User, appointment: Appointment, session: Session, request: HttpRequest | None
) -> None:
    changes: dict[str, object] = {"session": session}
    if appointment.is_booked and appointment.starts_at <= timezone.now():
        changes["status"] = Appointment.Status.ATTENDED  # the note says it took place
    current = update_versioned(appointment, version=None, changes=changes, updated_by=actor)
    audit.record(
        actor=actor, action=AuditEvent.Action.UPDATE, obj=current, client=current.client,
        request=request, detail="session note linked",
    )  # fmt: skip
    if "status" in changes:
        reminders.cancel_for_appointment(current)


def _note_refusal(appointment: Appointment) -> str:
    if appointment.kind != Appointment.Kind.SESSION or appointment.course is None:
        return _("Only a session of an IPT course has a session note.")
    if not appointment.course.is_open:
        return _("The course is no longer open, so no new session can be recorded in it.")
    if appointment.status not in Appointment.OCCUPYING:
        return _("This appointment did not take place. Record its attendance instead.")
    return _("The note can be started on the day of the session.")


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
