"""Scheduling pages: week view, book / reschedule / outcome forms, series, calendar feeds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, cast
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from openipt.accounts import policy
from openipt.accounts.models import Membership, User
from openipt.audit import services as audit
from openipt.clients.models import Client
from openipt.clients.selectors import access_client, care_team_of
from openipt.scheduling import selectors, services
from openipt.scheduling.forms import BookForm, OutcomeForm, RescheduleForm, SeriesForm
from openipt.scheduling.models import Appointment
from openipt.scheduling.times import to_utc, zone_for
from openipt.treatment.selectors import access_course

View = Callable[..., HttpResponse]
GET_POST = require_http_methods(["GET", "POST"])
# Service errors name model fields; show them next to the form field the user typed.
FIELD_FOR = {"starts_at": "time", "duration_minutes": "duration_minutes"}


def staff_required(view: View) -> View:
    """Signed-in staff only; anyone else learns nothing (404)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if policy.staff_membership(_actor(request)) is None:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _actor(request: HttpRequest) -> User:
    return cast("User", request.user)


def _membership(request: HttpRequest) -> Membership:
    return cast("Membership", policy.staff_membership(_actor(request)))


def apply_errors(form: forms.Form, exc: ValidationError, time_field: str = "time") -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        target = time_field if name == "starts_at" else FIELD_FOR.get(name, name)
        form.add_error(target if target in form.fields else None, errors)


def _starts_at(form: forms.Form, client: Client) -> dt.datetime:
    data = form.cleaned_data
    return to_utc(data["date"], data["time"], zone_for(client.practice))


def _detail(appointment: Appointment) -> HttpResponse:
    return redirect("scheduling:appointment", uuid=appointment.uuid)


# Week -----------------------------------------------------------------------------------


@staff_required
@require_GET
def week(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    chosen = selectors.parse_week(request.GET.get("week"), membership)
    if chosen is None:
        messages.error(request, _("That is not a week. Showing this week instead."))
        chosen = cast("selectors.Week", selectors.parse_week(None, membership))
    days = selectors.clinician_week(_actor(request), chosen)
    count = sum(len(day.appointments) for day in days)
    if count:
        selectors.week_read_record(_actor(request), count, request)
    context = {"week": chosen, "days": days, "count": count, "zone": zone_for(membership.practice)}
    return render(request, "scheduling/week.html", context)


# One appointment ------------------------------------------------------------------------


def _book_form(request: HttpRequest, client: Client) -> BookForm:
    team = [m.member for m in care_team_of(client) if m.member.is_clinician]
    courses = [c for c in client.courses.order_by("-start_date") if c.is_open]
    mine = _membership(request)
    initial = {"clinician": str(mine.uuid)} if mine in team else {}
    if courses:
        initial["course"] = str(courses[0].uuid)
    return BookForm(request.POST or None, clinicians=team, courses=courses, initial=initial)


@staff_required
@GET_POST
def book(request: HttpRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(_actor(request), client_uuid, write=True)
    form = _book_form(request, client)
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.appointment_book(
                actor=_actor(request), client=client, clinician=form.chosen_clinician(),
                starts_at=_starts_at(form, client), kind=form.cleaned_data["kind"],
                duration_minutes=form.cleaned_data["duration_minutes"],
                course=form.chosen_course(), note=form.cleaned_data["note"],
                allow_overlap=form.cleaned_data["allow_overlap"], request=request,
            )  # fmt: skip
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Appointment booked."))
            return _detail(appointment)
    elif request.method == "GET":
        selectors.record_read(_actor(request), client, client, request, detail="booking form")
    return render(request, "scheduling/book.html", {"client": client, "form": form})


@staff_required
@require_GET
def appointment_detail(request: HttpRequest, uuid: UUID) -> HttpResponse:
    appointment = selectors.access_appointment(_actor(request), uuid)
    zone = zone_for(appointment.practice)
    can_write = appointments_writable(request, appointment)
    selectors.record_read(_actor(request), appointment.client, appointment, request)
    context = {"appointment": appointment, "zone": zone, "can_write": can_write}
    return render(request, "scheduling/appointment.html", context)


def appointments_writable(request: HttpRequest, appointment: Appointment) -> bool:
    return (
        selectors.appointments_for(_actor(request), write=True).filter(pk=appointment.pk).exists()
    )


@staff_required
@GET_POST
def reschedule(request: HttpRequest, uuid: UUID) -> HttpResponse:
    appointment = selectors.access_appointment(_actor(request), uuid, write=True)
    zone = zone_for(appointment.practice)
    start = appointment.starts_at.astimezone(zone)
    initial = {"date": start.date(), "time": start.time(), "version": appointment.version,
               "duration_minutes": appointment.duration_minutes}  # fmt: skip
    form = RescheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_reschedule(
                actor=_actor(request), appointment=appointment,
                version=form.cleaned_data["version"],
                starts_at=_starts_at(form, appointment.client),
                duration_minutes=form.cleaned_data["duration_minutes"],
                allow_overlap=form.cleaned_data["allow_overlap"], request=request,
            )  # fmt: skip
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Appointment moved."))
            return _detail(appointment)
    elif request.method == "GET":
        selectors.record_read(_actor(request), appointment.client, appointment, request)
    context = {"appointment": appointment, "form": form, "zone": zone}
    return render(request, "scheduling/reschedule.html", context)


@staff_required
@GET_POST
def outcome(request: HttpRequest, uuid: UUID) -> HttpResponse:
    appointment = selectors.access_appointment(_actor(request), uuid, write=True)
    form = OutcomeForm(request.POST or None, initial={"version": appointment.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_set_outcome(
                actor=_actor(request), appointment=appointment,
                version=form.cleaned_data["version"], status=form.cleaned_data["status"],
                request=request,
            )  # fmt: skip
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return _detail(appointment)
    elif request.method == "GET":
        selectors.record_read(_actor(request), appointment.client, appointment, request)
    context = {"appointment": appointment, "form": form, "zone": zone_for(appointment.practice)}
    return render(request, "scheduling/outcome.html", context)


# A client's appointments ----------------------------------------------------------------


@staff_required
@require_GET
def client_appointments(request: HttpRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(_actor(request), client_uuid)
    rows = selectors.client_appointments(client)
    can_write = access_client_writable(request, client)
    selectors.record_read(_actor(request), client, client, request, detail="appointments")
    context = {
        "client": client,
        "appointments": rows,
        "can_write": can_write,
        "zone": zone_for(client.practice),
    }
    return render(request, "scheduling/client_appointments.html", context)


def access_client_writable(request: HttpRequest, client: Client) -> bool:
    return policy.can_access_client(_membership(request), client, write=True)


@staff_required
@require_GET
def client_ics(request: HttpRequest, client_uuid: UUID) -> HttpResponse:
    """The client's appointments as an .ics file (what the portal will offer the client)."""
    client = access_client(_actor(request), client_uuid)
    body = selectors.client_calendar(client)
    audit.record(
        actor=_actor(request), action="export", obj=client, client=client, request=request,
        detail="appointments .ics",
    )  # fmt: skip
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="appointments.ics"'
    return response


# Series ---------------------------------------------------------------------------------


@staff_required
@GET_POST
def series(request: HttpRequest, course_uuid: UUID) -> HttpResponse:
    course = access_course(_actor(request), course_uuid, write=True)
    form = SeriesForm(request.POST or None, initial={"first_date": course.start_date})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.series_generate_from_contract(
                actor=_actor(request), course=course, weekday=data["weekday"],
                local_time=data["local_time"], first_date=data["first_date"],
                skip_dates=data["skip_dates"], duration_minutes=data["duration_minutes"],
                allow_overlap=data["allow_overlap"], request=request,
            )  # fmt: skip
        except ValidationError as exc:
            apply_errors(form, exc, time_field="local_time")
        else:
            messages.success(request, _("%(n)s appointments booked.") % {"n": created.count})
            return redirect("scheduling:client-appointments", client_uuid=course.client.uuid)
    elif request.method == "GET":
        selectors.record_read(_actor(request), course.client, course, request, detail="series")
    return render(request, "scheduling/series.html", {"course": course, "form": form})


# Calendar feed --------------------------------------------------------------------------


@staff_required
@GET_POST
def feed_settings(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    token = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            services.calendar_feed_revoke(
                actor=_actor(request), membership=membership, request=request
            )
            messages.success(request, _("The calendar link no longer works."))
            return redirect("scheduling:feed-settings")
        _feed, token = services.calendar_feed_create(
            actor=_actor(request), membership=membership, request=request
        )
    feed = selectors.active_feed(membership)
    url = request.build_absolute_uri(reverse("scheduling:feed", args=[token])) if token else None
    context = {"feed": feed, "feed_url": url, "zone": zone_for(membership.practice)}
    return render(request, "scheduling/feed_settings.html", context)


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """No sign-in: calendar apps cannot sign in, so the secret in the URL is the credential."""
    found = selectors.feed_by_token(token)
    body, count = selectors.feed_calendar(found)
    audit.record(
        actor=found.membership.user, action="read", obj=found,
        practice_id=found.membership.practice_id, request=request,
        detail=f"calendar feed: {count} events",
    )  # fmt: skip
    services.calendar_feed_touch(found)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="openipt.ics"'
    return response
