"""Scheduling pages: week view, book / reschedule / outcome forms, series, calendar feeds.

A page that shows client data passes ``audit=request`` to its gate on a GET, so exactly one
read is recorded before anything is shown. A POST that succeeds redirects and shows nothing;
one that is refused shows the form again.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from openipt.access.clients import access_client, audit_on_get
from openipt.access.scheduling import (
    access_appointment,
    access_clinician_week,
    access_feed_calendar,
)
from openipt.access.treatment import access_course
from openipt.accounts import policy
from openipt.accounts.http import StaffRequest, staff_required
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.clients.selectors import care_team_of
from openipt.core.http import GET_POST, attempt
from openipt.scheduling import selectors, services
from openipt.scheduling.forms import BookForm, OutcomeForm, RescheduleForm, SeriesForm
from openipt.scheduling.models import Appointment
from openipt.scheduling.times import to_utc, zone_for

# Service errors name model fields; show them next to the form field the user typed.
FIELD_MAP = {"starts_at": "time"}
SERIES_FIELD_MAP = {"starts_at": "local_time"}


def _starts_at(form: forms.Form, client: Client) -> dt.datetime:
    data = form.cleaned_data
    return to_utc(data["date"], data["time"], zone_for(client.practice))


def _detail(appointment: Appointment) -> HttpResponse:
    return redirect("scheduling:appointment", uuid=appointment.uuid)


# Week -----------------------------------------------------------------------------------


@staff_required
@require_GET
def week(request: StaffRequest) -> HttpResponse:
    membership = request.membership
    chosen = selectors.parse_week(request.GET.get("week"), membership)
    if chosen is None:
        messages.error(request, _("That is not a week. Showing this week instead."))
        chosen = selectors.parse_week(None, membership)
        assert chosen is not None  # noqa: S101 - an empty value is always this week
    days = access_clinician_week(request.user, chosen, audit=request)
    count = sum(len(day.appointments) for day in days)
    context = {"week": chosen, "days": days, "count": count, "zone": zone_for(membership.practice)}
    return render(request, "scheduling/week.html", context)


# One appointment ------------------------------------------------------------------------


def _book_form(request: StaffRequest, client: Client) -> BookForm:
    team = [m.member for m in care_team_of(client) if m.member.is_clinician]
    courses = [c for c in client.courses.order_by("-start_date") if c.is_open]
    initial = {"clinician": str(request.membership.uuid)} if request.membership in team else {}
    if courses:
        initial["course"] = str(courses[0].uuid)
    return BookForm(request.POST or None, clinicians=team, courses=courses, initial=initial)


@staff_required
@GET_POST
def book(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(
        request.user, client_uuid, write=True, audit=audit_on_get(request), detail="booking form"
    )
    form = _book_form(request, client)
    if request.method == "POST" and form.is_valid():
        booked = attempt(
            form,
            lambda: services.appointment_book(
                actor=request.user, client=client, clinician=form.chosen_clinician(),
                starts_at=_starts_at(form, client), kind=form.cleaned_data["kind"],
                duration_minutes=form.cleaned_data["duration_minutes"],
                course=form.chosen_course(), note=form.cleaned_data["note"],
                allow_overlap=form.cleaned_data["allow_overlap"], request=request,
            ),
            field_map=FIELD_MAP,
        )  # fmt: skip
        if booked.value is not None:
            messages.success(request, _("Appointment booked."))
            return _detail(booked.value)
    return render(request, "scheduling/book.html", {"client": client, "form": form})


@staff_required
@require_GET
def appointment_detail(request: StaffRequest, uuid: UUID) -> HttpResponse:
    appointment = access_appointment(request.user, uuid, audit=request)
    zone = zone_for(appointment.practice)
    can_write = policy.can_access_client(request.membership, appointment.client, write=True)
    context = {"appointment": appointment, "zone": zone, "can_write": can_write}
    return render(request, "scheduling/appointment.html", context)


@staff_required
@GET_POST
def reschedule(request: StaffRequest, uuid: UUID) -> HttpResponse:
    appointment = access_appointment(request.user, uuid, write=True, audit=audit_on_get(request))
    zone = zone_for(appointment.practice)
    start = appointment.starts_at.astimezone(zone)
    initial = {"date": start.date(), "time": start.time(), "version": appointment.version,
               "duration_minutes": appointment.duration_minutes}  # fmt: skip
    form = RescheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        moved = attempt(
            form,
            lambda: services.appointment_reschedule(
                actor=request.user, appointment=appointment,
                version=form.cleaned_data["version"],
                starts_at=_starts_at(form, appointment.client),
                duration_minutes=form.cleaned_data["duration_minutes"],
                allow_overlap=form.cleaned_data["allow_overlap"], request=request,
            ),
            field_map=FIELD_MAP,
        )  # fmt: skip
        if moved.ok:
            messages.success(request, _("Appointment moved."))
            return _detail(appointment)
    context = {"appointment": appointment, "form": form, "zone": zone}
    return render(request, "scheduling/reschedule.html", context)


@staff_required
@GET_POST
def outcome(request: StaffRequest, uuid: UUID) -> HttpResponse:
    appointment = access_appointment(request.user, uuid, write=True, audit=audit_on_get(request))
    form = OutcomeForm(request.POST or None, initial={"version": appointment.version})
    if request.method == "POST" and form.is_valid():
        saved = attempt(
            form,
            lambda: services.appointment_set_outcome(
                actor=request.user, appointment=appointment,
                version=form.cleaned_data["version"], status=form.cleaned_data["status"],
                request=request,
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
    rows = selectors.client_appointments(client)
    context = {
        "client": client,
        "appointments": rows,
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


# Series ---------------------------------------------------------------------------------


@staff_required
@GET_POST
def series(request: StaffRequest, course_uuid: UUID) -> HttpResponse:
    course = access_course(
        request.user, course_uuid, write=True, audit=audit_on_get(request), detail="series"
    )
    form = SeriesForm(request.POST or None, initial={"first_date": course.start_date})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        created = attempt(
            form,
            lambda: services.series_generate_from_contract(
                actor=request.user, course=course, weekday=data["weekday"],
                local_time=data["local_time"], first_date=data["first_date"],
                skip_dates=data["skip_dates"], duration_minutes=data["duration_minutes"],
                allow_overlap=data["allow_overlap"], request=request,
            ),
            field_map=SERIES_FIELD_MAP,
        )  # fmt: skip
        if created.value is not None:
            count = created.value.count
            messages.success(request, _("%(n)s appointments booked.") % {"n": count})
            return redirect("scheduling:client-appointments", client_uuid=course.client.uuid)
    return render(request, "scheduling/series.html", {"course": course, "form": form})


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
