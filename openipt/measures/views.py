"""Clinician pages of the measures app: fetch with ``access_*``, call one service or
selector, render or redirect. Reads of client data write one audit event each."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from openipt.audit import services as audit
from openipt.clients import selectors as client_selectors
from openipt.measures import forms, selectors, services
from openipt.measures.models import Administration
from openipt.measures.progress import course_progress
from openipt.treatment import selectors as course_selectors

GET_POST = require_http_methods(["GET", "POST"])


def _user(request: HttpRequest) -> Any:
    return request.user


def _refused(form: BaseForm, error: ValidationError) -> None:
    """Put a service's refusal next to the fields (or on top of the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@login_required
@GET_POST
def administration_create(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    user = _user(request)
    course = course_selectors.access_course(user, course_uuid, write=True)
    # PHQ-9 is the default depression measure of every IPT format (IPT.md §7).
    instrument = selectors.access_instrument(user, request.GET.get("instrument") or "PHQ-9")
    sessions = list(course.sessions.order_by("-number")[:50])
    chosen = request.GET.get("session") or (str(sessions[0].uuid) if sessions else "")
    form = forms.EntryForm(
        request.POST or None,
        definition=instrument.parsed,
        sessions=sessions,
        initial={"session": chosen},
    )
    if request.method == "POST" and form.is_valid():
        try:
            administration = services.administration_enter(
                actor=user, course=course, instrument=instrument, request=request,
                answers=form.cleaned_data["answers"], session=form.cleaned_data["session"],
            )  # fmt: skip
        except ValidationError as error:
            _refused(form, error)
        else:
            return _after_entry(request, administration)
    course_selectors.record_read(user, course, course, request, detail="measure entry")
    return render(
        request, "measures/administration_form.html",
        {"course": course, "instrument": instrument, "form": form},
    )  # fmt: skip


def _after_entry(request: HttpRequest, administration: Administration) -> HttpResponse:
    """To the alert when one was raised; otherwise back to the scores. An unanswered
    critical question is a prompt to ask about it (MEASURES.md §7)."""
    definition = administration.instrument.parsed
    for critical in definition.critical_items:
        if administration.answers.get(critical.link_id) is None:
            messages.warning(
                request,
                _("Question %(q)s was not answered: ask the client about it.")
                % {"q": critical.link_id},
            )
    alert = getattr(administration, "risk_alert", None)
    if alert is not None:
        messages.warning(request, _("A risk alert was raised: review it now."))
        return redirect("measures:alert-detail", alert.uuid)
    messages.success(request, _("Scores saved."))
    assert administration.course is not None  # noqa: S101 - entered under a course
    return redirect("measures:course-measures", administration.course.uuid)


@login_required
@require_http_methods(["GET"])
def course_measures(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    user = _user(request)
    course = course_selectors.access_course(user, course_uuid)
    can_write = course_selectors.courses_for(user, write=True).filter(pk=course.pk).exists()
    instruments = selectors.instruments_for(user)
    context = {
        "course": course,
        "progress": course_progress(course),
        "assignments": selectors.course_assignments(course),
        "instruments": instruments,
        "can_write": can_write,
        "assign_form": forms.AssignForm(codes=[(i.code, i.title) for i in instruments]),
    }
    course_selectors.record_read(user, course, course, request, detail="measures")
    return render(request, "measures/course_measures.html", context)


@login_required
@require_POST
def administration_assign(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    user = _user(request)
    course = course_selectors.access_course(user, course_uuid, write=True)
    codes = [(i.code, i.title) for i in selectors.instruments_for(user)]
    form = forms.AssignForm(request.POST, codes=codes)
    if form.is_valid():
        services.administration_assign(
            actor=user, client=course.client, course=course, request=request,
            instrument=selectors.access_instrument(user, form.cleaned_data["instrument"]),
            due_on=form.cleaned_data["due_on"],
        )  # fmt: skip
        messages.success(request, _("Questionnaire assigned to the client."))
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(str(e) for e in errors))
    return redirect("measures:course-measures", course.uuid)


@login_required
@require_http_methods(["GET"])
def alert_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    alerts = selectors.alert_list(user)
    if alerts:
        audit.record(
            actor=user, action="read", object_type="measures.riskalert_list", request=request,
            practice_id=alerts[0].practice_id, detail=f"{len(alerts)} alerts shown",
        )  # fmt: skip
    return render(request, "measures/alert_list.html", {"alerts": alerts})


@login_required
@GET_POST
def alert_detail(request: HttpRequest, alert_uuid: uuid_lib.UUID) -> HttpResponse:
    user = _user(request)
    alert = selectors.access_alert(user, alert_uuid)
    form = forms.AcknowledgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ack = services.Acknowledgement(
            actions=tuple(form.cleaned_data["actions"]), note=form.cleaned_data["note"]
        )
        try:
            services.alert_acknowledge(
                actor=user, alert=alert, acknowledgement=ack, request=request
            )
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Alert acknowledged; what was done is recorded."))
            return redirect("measures:alerts")
    audit.record_read(request, alert.client, alert)
    instrument = alert.administration.instrument.parsed
    context = {"alert": alert, "form": form, "items": _critical_answers(alert, instrument)}
    return render(request, "measures/alert_detail.html", context)


def _critical_answers(alert: Any, definition: Any) -> list[tuple[str, str]]:
    """The critical questions of the form and the answer given to each."""
    rows = []
    for critical in definition.critical_items:
        item = definition.item(critical.link_id)
        code = alert.administration.answers.get(critical.link_id)
        option = item.option_for_code(code) if item and code else None
        rows.append((item.text if item else critical.link_id, option.display if option else "-"))
    return rows


@login_required
@require_http_methods(["GET"])
def practice_alerts(request: HttpRequest) -> HttpResponse:
    rows = selectors.practice_alert_summary(_user(request))
    return render(request, "measures/practice_alerts.html", {"rows": rows})


@login_required
@GET_POST
def safety_plan(request: HttpRequest, client_uuid: uuid_lib.UUID) -> HttpResponse:
    user = _user(request)
    client = client_selectors.access_client(user, client_uuid)
    can_write = client_selectors.can_write_client(user, client)
    current = selectors.current_safety_plan(client)
    form = forms.SafetyPlanForm(request.POST or None, instance=None, initial=_initial(current))
    if request.method == "POST":
        if not can_write:
            raise Http404
        if form.is_valid():
            try:
                services.safety_plan_save(
                    actor=user, client=client, data=form.cleaned_data, request=request
                )
            except ValidationError as error:
                _refused(form, error)
            else:
                messages.success(request, _("Safety plan saved as a new version."))
                return redirect("measures:safety-plan", client.uuid)
    client_selectors.client_read_record(user=user, client=client, request=request,
                                        detail="safety plan")  # fmt: skip
    context = {"client": client, "plan": current, "form": form, "can_write": can_write}
    return render(request, "measures/safety_plan.html", context)


def _initial(plan: Any) -> dict[str, str]:
    if plan is None:
        return {}
    return {name: getattr(plan, name) for name in plan.FIELDS}


@login_required
@require_http_methods(["GET"])
def safety_plan_history(request: HttpRequest, client_uuid: uuid_lib.UUID) -> HttpResponse:
    user = _user(request)
    client = client_selectors.access_client(user, client_uuid)
    versions = selectors.safety_plan_history(client)
    client_selectors.client_read_record(user=user, client=client, request=request,
                                        detail="safety plan history")  # fmt: skip
    return render(
        request, "measures/safety_plan_history.html", {"client": client, "versions": versions}
    )


@login_required
@GET_POST
def instrument_library(request: HttpRequest) -> HttpResponse:
    """The practice's questionnaires: built in, and imported under the practice's licence."""
    user = _user(request)
    instruments = selectors.practice_instruments(user)
    form = forms.InstrumentImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            instrument = services.instrument_import(
                actor=user, practice=request.membership.practice,  # type: ignore[attr-defined]
                file_content=form.cleaned_data["file"],
                licence_confirmed=form.cleaned_data["licence_confirmed"],
            )  # fmt: skip
        except ValidationError as error:
            form.add_error("file", error)
        else:
            messages.success(
                request,
                _("%(title)s was imported and can now be used.") % {"title": instrument.title},
            )
            return redirect("measures:instruments")
    return render(
        request, "measures/instrument_library.html", {"instruments": instruments, "form": form}
    )
