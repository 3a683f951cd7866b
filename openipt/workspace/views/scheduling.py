"""Scheduling pages: week view, book (a client, or a free slot) / move / cancel / outcome
forms, "write the note", the contract's sessions, calendar feeds.

A page that shows client data passes ``audit=request`` to its gate on a GET, so exactly one
read is recorded before anything is shown. A POST that succeeds redirects and shows nothing;
one that is refused shows the form again.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from openipt.access.clients import access_client, audit_on_get
from openipt.access.scheduling import (
    access_appointment,
    access_bookable_clients,
    access_feed_calendar,
)
from openipt.access.treatment import access_course
from openipt.accounts import policy
from openipt.accounts.http import StaffRequest, staff_required
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.clients.selectors import care_team_of
from openipt.core.http import GET_POST, Attempt, attempt, posted
from openipt.scheduling import selectors, services
from openipt.scheduling.forms import (
    BookForm,
    CancelForm,
    OutcomeForm,
    RescheduleForm,
    SeriesForm,
    SlotBookForm,
)
from openipt.scheduling.models import Appointment
from openipt.scheduling.times import to_utc, zone_for
from openipt.treatment.models import Course

# Service errors name model fields; show them next to the form field the user typed.
FIELD_MAP = {"starts_at": "time"}
SERIES_FIELD_MAP = {"starts_at": "local_time"}


def _starts_at(form: forms.Form, client: Client) -> dt.datetime:
    data = form.cleaned_data
    return to_utc(data["date"], data["time"], zone_for(client.practice))


def _detail(appointment: Appointment) -> HttpResponse:
    return redirect("scheduling:appointment", uuid=appointment.uuid)


# One appointment ------------------------------------------------------------------------


def _prefill(request: StaffRequest) -> dict[str, object]:
    """``?date=YYYY-MM-DD&time=HH:MM`` from a calendar's free slot; a value that cannot be
    read is left out, with a message (never an error page)."""
    initial: dict[str, object] = {}
    bad = False
    raw_date, raw_time = request.GET.get("date", ""), request.GET.get("time", "")
    if raw_date:
        try:
            initial["date"] = dt.date.fromisoformat(raw_date[:10])
        except ValueError:
            bad = True
    if raw_time:
        try:
            initial["time"] = dt.datetime.strptime(raw_time[:5], "%H:%M").time()  # noqa: DTZ007
        except ValueError:
            bad = True
    if bad:
        messages.warning(
            request, _("The date or time in the link could not be read. Choose them below.")
        )
    return initial


def _book_form(request: StaffRequest, client: Client) -> BookForm:
    team = [m.member for m in care_team_of(client) if m.member.is_clinician]
    courses = [c for c in client.courses.order_by("-start_date") if c.is_open]
    initial: dict[str, object] = {"kind": Appointment.Kind.CONSULTATION}
    if request.membership in team:
        initial["clinician"] = str(request.membership.uuid)
    if courses:
        initial |= {"course": str(courses[0].uuid), "kind": Appointment.Kind.SESSION}
    if request.method == "GET":
        initial |= _prefill(request)
    return BookForm(posted(request), clinicians=team, courses=courses, initial=initial)


def _booked(request: StaffRequest, rows: list[Appointment]) -> HttpResponse:
    if len(rows) == 1:
        messages.success(request, _("Appointment booked."))
        return _detail(rows[0])
    messages.success(request, _("%(n)s appointments booked.") % {"n": len(rows)})
    return redirect("scheduling:client-appointments", client_uuid=rows[0].client.uuid)


@staff_required
@GET_POST
def book(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(
        request.user, client_uuid, write=True, audit=audit_on_get(request), detail="booking form"
    )
    form = _book_form(request, client)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        booked = attempt(
            form,
            lambda: services.appointments_book_repeating(
                actor=request.user, client=client, clinician=form.chosen_clinician(),
                first_date=data["date"], local_time=data["time"], repeat=form.chosen_repeat(),
                kind=data["kind"], duration_minutes=data["duration_minutes"],
                course=form.chosen_course(), note=data["note"],
                allow_overlap=data["allow_overlap"], request=request,
            ),
            field_map=FIELD_MAP,
        )  # fmt: skip
        if booked.value:
            return _booked(request, booked.value)
    return render(request, "scheduling/book.html", {"client": client, "form": form})


@staff_required
@GET_POST
def book_slot(request: StaffRequest) -> HttpResponse:
    """Book a free slot of one's own calendar: choose a client, the rest follows."""
    clients = access_bookable_clients(request.user, audit=audit_on_get(request))
    initial = _prefill(request) if request.method == "GET" else {}
    form = SlotBookForm(posted(request), clients=clients, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        client, course, kind = form.chosen()
        booked = attempt(
            form,
            lambda: services.appointments_book_repeating(
                actor=request.user, client=client, clinician=request.membership,
                first_date=data["date"], local_time=data["time"], repeat=form.chosen_repeat(),
                kind=kind, duration_minutes=data["duration_minutes"], course=course,
                allow_overlap=data["allow_overlap"], request=request,
            ),
            field_map=FIELD_MAP,
        )  # fmt: skip
        if booked.value:
            return _booked(request, booked.value)
    zone = zone_for(request.membership.practice)
    return render(request, "scheduling/book_slot.html", {"form": form, "zone": zone})


@staff_required
@require_GET
def appointment_detail(request: StaffRequest, uuid: UUID) -> HttpResponse:
    appointment = access_appointment(request.user, uuid, audit=request)
    zone = zone_for(appointment.practice)
    can_write = policy.can_access_client(request.membership, appointment.client, write=True)
    context = {
        "appointment": appointment,
        "zone": zone,
        "can_write": can_write,
        "note_session": services.matching_session(appointment),
        "note_can_start": can_write and services.note_can_start(appointment),
    }
    return render(request, "scheduling/appointment.html", context)


@staff_required
@require_POST
def appointment_note(request: StaffRequest, uuid: UUID) -> HttpResponse:
    """ "Write the note": open the appointment's session record, made first if needed."""
    appointment = access_appointment(request.user, uuid, write=True)
    try:
        session, created = services.appointment_note_open(
            actor=request.user, appointment=appointment, request=request
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return _detail(appointment)
    course_uuid = appointment.course.uuid if appointment.course else session.course.uuid
    if created:
        messages.success(request, _("Session %(n)s started.") % {"n": session.number})
        return redirect("treatment:session-update", course_uuid, session.uuid)
    return redirect("treatment:session-detail", course_uuid, session.uuid)


def _reschedule(
    request: StaffRequest, form: RescheduleForm, appointment: Appointment
) -> Attempt[object]:
    data = form.cleaned_data
    move = (
        services.series_reschedule_following if form.following else services.appointment_reschedule
    )
    return attempt(
        form,
        lambda: move(
            actor=request.user, appointment=appointment, version=data["version"],
            starts_at=_starts_at(form, appointment.client),
            duration_minutes=data["duration_minutes"], allow_overlap=data["allow_overlap"],
            request=request,
        ),
        field_map=FIELD_MAP,
    )  # fmt: skip


@staff_required
@GET_POST
def reschedule(request: StaffRequest, uuid: UUID) -> HttpResponse:
    appointment = access_appointment(request.user, uuid, write=True, audit=audit_on_get(request))
    zone = zone_for(appointment.practice)
    start = appointment.starts_at.astimezone(zone)
    initial = {"date": start.date(), "time": start.time(), "version": appointment.version,
               "duration_minutes": appointment.duration_minutes}  # fmt: skip
    in_series = appointment.series_id is not None
    form = RescheduleForm(posted(request), initial=initial, in_series=in_series)
    if request.method == "POST" and form.is_valid():
        moved = _reschedule(request, form, appointment)
        if moved.ok:
            many = isinstance(moved.value, list) and len(moved.value) > 1
            messages.success(request, _("Appointments moved.") if many else _("Appointment moved."))
            return _detail(appointment)
    context = {"appointment": appointment, "form": form, "zone": zone}
    return render(request, "scheduling/reschedule.html", context)


@staff_required
@GET_POST
def cancel(request: StaffRequest, uuid: UUID) -> HttpResponse:
    """Cancel this appointment, or this and the later ones of its series, with a reason."""
    appointment = access_appointment(request.user, uuid, write=True, audit=audit_on_get(request))
    in_series = appointment.series_id is not None
    initial = {"version": appointment.version}
    form = CancelForm(posted(request), initial=initial, in_series=in_series)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        following = form.following
        done = attempt(
            form,
            lambda: services.series_cancel_following(
                actor=request.user, appointment=appointment, version=data["version"],
                reason=data["cancellation_reason"], late=data["late"], request=request,
            ) if following else services.appointment_cancel(
                actor=request.user, appointment=appointment, version=data["version"],
                reason=data["cancellation_reason"], late=data["late"], request=request,
            ),
        )  # fmt: skip
        if done.ok:
            count = done.value if isinstance(done.value, int) else 1
            messages.success(
                request,
                ngettext("Appointment cancelled.", "%(n)s appointments cancelled.", count)
                % {"n": count},
            )
            return _detail(appointment)
    context = {"appointment": appointment, "form": form, "zone": zone_for(appointment.practice)}
    return render(request, "scheduling/cancel.html", context)


@staff_required
@GET_POST
def outcome(request: StaffRequest, uuid: UUID) -> HttpResponse:
    appointment = access_appointment(request.user, uuid, write=True, audit=audit_on_get(request))
    form = OutcomeForm(posted(request), initial={"version": appointment.version})
    if request.method == "POST" and form.is_valid():
        saved = attempt(
            form,
            lambda: services.appointment_set_outcome(
                actor=request.user, appointment=appointment,
                version=form.cleaned_data["version"], status=form.cleaned_data["status"],
                reason=form.cleaned_data["cancellation_reason"], request=request,
            ),
            field_map=FIELD_MAP,
        )  # fmt: skip
        if saved.ok:
            messages.success(request, _("Saved."))
            return _detail(appointment)
    context = {"appointment": appointment, "form": form, "zone": zone_for(appointment.practice)}
    return render(request, "scheduling/outcome.html", context)


# A client's appointments ----------------------------------------------------------------


@staff_required
@require_GET
def client_appointments(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(request.user, client_uuid, audit=request, detail="appointments")
    context = {
        "client": client,
        "appointments": selectors.client_appointments(client),
        "can_write": policy.can_access_client(request.membership, client, write=True),
        "zone": zone_for(client.practice),
    }
    return render(request, "scheduling/client_appointments.html", context)


@staff_required
@require_GET
def client_ics(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    """The client's appointments as an .ics file (what the portal will offer the client)."""
    client = access_client(request.user, client_uuid)
    body = selectors.client_calendar(client)
    audit.record(
        actor=request.user, action=AuditEvent.Action.EXPORT, obj=client, client=client,
        request=request, detail="appointments .ics",
    )  # fmt: skip
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="appointments.ics"'
    return response


# The contract's sessions ----------------------------------------------------------------


def _series_form(request: StaffRequest, course: Course, remaining: int) -> SeriesForm:
    d = services.series_defaults(course)
    initial = {"weekday": d.weekday, "local_time": d.local_time, "first_date": d.first_date,
               "interval_days": d.interval_days, "duration_minutes": d.duration_minutes,
               "count": remaining}  # fmt: skip
    return SeriesForm(posted(request), initial=initial, remaining=remaining)


def _series_preview(form: SeriesForm, course: Course, remaining: int) -> list[dt.datetime]:
    """The dates the form would book: the posted values when valid, else the defaults."""
    if form.is_bound and form.errors:
        return []
    values = form.cleaned_data if form.is_bound else form.initial
    zone = zone_for(course.client.practice)
    days = services.series_dates(
        first_date=values["first_date"], weekday=int(values["weekday"]),
        interval_days=int(values.get("interval_days") or form.initial["interval_days"]),
        count=min(int(values.get("count") or remaining), remaining),
        skip=set(values.get("skip_dates") or []),
    )  # fmt: skip
    return [to_utc(day, values["local_time"], zone) for day in days]


@staff_required
@GET_POST
def series(request: StaffRequest, course_uuid: UUID) -> HttpResponse:
    """Book the contract's sessions that are neither held nor booked yet."""
    course = access_course(
        request.user, course_uuid, write=True, audit=audit_on_get(request), detail="series"
    )
    tally = services.contract_tally(course)
    form = _series_form(request, course, tally.to_book)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        created = attempt(
            form,
            lambda: services.series_generate_from_contract(
                actor=request.user, course=course, weekday=data["weekday"],
                local_time=data["local_time"], first_date=data["first_date"],
                skip_dates=data["skip_dates"], duration_minutes=data["duration_minutes"],
                interval_days=data["interval_days"], count=data["count"],
                allow_overlap=data["allow_overlap"], request=request,
            ),
            field_map=SERIES_FIELD_MAP,
        )  # fmt: skip
        if created.value is not None:
            count = created.value.count
            messages.success(request, _("%(n)s appointments booked.") % {"n": count})
            return redirect("scheduling:client-appointments", client_uuid=course.client.uuid)
    context = {
        "course": course, "form": form, "tally": tally,
        "preview": _series_preview(form, course, tally.to_book) if tally.to_book else [],
        "zone": zone_for(course.client.practice),
    }  # fmt: skip
    return render(request, "scheduling/series.html", context)


# Calendar feed --------------------------------------------------------------------------


@staff_required
@GET_POST
def feed_settings(request: StaffRequest) -> HttpResponse:
    membership = request.membership
    token = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            services.calendar_feed_revoke(
                actor=request.user, membership=membership, request=request
            )
            messages.success(request, _("The calendar link no longer works."))
            return redirect("scheduling:feed-settings")
        _feed, token = services.calendar_feed_create(
            actor=request.user, membership=membership, request=request
        )
    feed = selectors.active_feed(membership)
    url = request.build_absolute_uri(reverse("scheduling:feed", args=[token])) if token else None
    context = {"feed": feed, "feed_url": url, "zone": zone_for(membership.practice)}
    return render(request, "scheduling/feed_settings.html", context)


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """No sign-in: calendar apps cannot sign in, so the secret in the URL is the credential."""
    found, body = access_feed_calendar(token, audit=request)
    services.calendar_feed_touch(found)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="openipt.ics"'
    return response
