"""Clinician pages of the measures app: fetch through the ``openipt.access`` gates, call one
service or selector, render or redirect.

A page that shows client data passes ``audit=request`` to its gate on a GET, so exactly one
read is recorded before anything is shown. A POST that succeeds redirects and shows nothing;
one that is refused shows the form again and records that read itself.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from collections.abc import Iterable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from openipt.access.clients import access_client, audit_on_get
from openipt.access.measures import access_alert, access_alert_list, access_instrument
from openipt.access.treatment import access_course
from openipt.accounts import policy
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.accounts.selectors import access_practice_admin
from openipt.audit.services import record_read
from openipt.core.http import GET_POST, attempt
from openipt.core.submissions import claims_with_change, submission_save
from openipt.measures import forms, selectors, services
from openipt.measures.models import Administration, Instrument, RiskAlert, SafetyPlan
from openipt.measures.progress import course_progress
from openipt.measures.scoring import InstrumentDefinition
from openipt.treatment.models import Session


@login_required
@GET_POST
@claims_with_change
def administration_create(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID
) -> HttpResponse:
    user = request.user
    detail = "measure entry"
    # PHQ-9 is the default depression measure of every IPT format (docs/ipt.md §7).
    asked = request.GET.get("instrument")
    instrument = access_instrument(user, asked or "PHQ-9")
    course = access_course(
        user, course_uuid, write=True, audit=audit_on_get(request), detail=detail
    )
    if not asked:  # the default is the PHQ-9 in the language the client reads
        instrument = selectors.language_version(
            instrument, course.client.language, practice_id=course.client.practice_id
        )
    # What the form and the entry read of a session; not its notes.
    shown = course.sessions.only("uuid", "course", "number", "starts_at")
    sessions = list(shown.order_by("-number")[:50])
    chosen = request.GET.get("session") or (str(sessions[0].uuid) if sessions else "")
    form = forms.EntryForm(
        request.POST or None,
        definition=instrument.parsed,
        sessions=sessions,
        initial={"session": chosen, "completed_on": _default_day(sessions, chosen)},
    )
    if request.method == "POST":
        if form.is_valid():
            entered = attempt(
                form,
                lambda: services.administration_enter(
                    actor=user, course=course, instrument=instrument, request=request,
                    answers=form.cleaned_data["answers"], session=form.cleaned_data["session"],
                    completed_on=form.cleaned_data["completed_on"],
                    # The one-time token, in the entry's own transaction.
                    then=lambda entry: submission_save(request, location=_entry_location(entry)),
                ),
            )  # fmt: skip
            if entered.value is not None:
                return _after_entry(request, entered.value)
        record_read(request, course.client, course, detail=detail, actor=user)
    return render(
        request, "measures/administration_form.html",
        {"course": course, "instrument": instrument, "form": form},
    )  # fmt: skip


def _default_day(sessions: list[Session], chosen: str) -> dt.date:
    """The date completed offered: the chosen session's day, else today (docs/measures.md §2)."""
    session = next((s for s in sessions if str(s.uuid) == chosen), None)
    return timezone.localdate(session.starts_at) if session else timezone.localdate()


def _after_entry(request: AuthenticatedHttpRequest, administration: Administration) -> HttpResponse:
    """To the alert when one was raised; otherwise back to the scores. An unanswered
    critical question is a prompt to ask about it (docs/measures.md §7)."""
    definition = administration.instrument.parsed
    for critical in definition.critical_items:
        if administration.answers.get(critical.link_id) is None:
            messages.warning(
                request,
                _("Question %(q)s was not answered: ask the client about it.")
                % {"q": critical.link_id},
            )
    if getattr(administration, "risk_alert", None) is not None:
        messages.warning(request, _("A risk alert was raised: review it now."))
    else:
        messages.success(request, _("Scores saved."))
    return redirect(_entry_location(administration))


def _entry_location(administration: Administration) -> str:
    """Where an entry leads: to the alert it raised, else to the course's scores."""
    alert: RiskAlert | None = getattr(administration, "risk_alert", None)
    if alert is not None:
        return reverse("measures:alert-detail", args=[alert.uuid])
    assert administration.course is not None  # noqa: S101 - entered under a course
    return reverse("measures:course-measures", args=[administration.course.uuid])


def _client_completed(instruments: Iterable[Instrument]) -> list[tuple[str, str]]:
    """What a client may be given to fill in alone: not the clinician-rated instruments."""
    return [(i.code, i.title) for i in instruments if not i.parsed.clinician_rated]


@login_required
@require_GET
def course_measures(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    user = request.user
    course = access_course(user, course_uuid, audit=request, detail="measures")
    can_write = policy.can_access_client(request.membership, course.client, write=True)
    instruments = selectors.instruments_for(user)
    context = {
        "course": course,
        "progress": course_progress(course),
        "assignments": selectors.course_assignments(course),
        "instruments": instruments,
        "can_write": can_write,
        "assign_form": forms.AssignForm(codes=_client_completed(instruments)),
    }
    return render(request, "measures/course_measures.html", context)


@login_required
@require_POST
def administration_assign(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID
) -> HttpResponse:
    user = request.user
    course = access_course(user, course_uuid, write=True)
    form = forms.AssignForm(request.POST, codes=_client_completed(selectors.instruments_for(user)))
    if form.is_valid():
        try:
            services.administration_assign(
                actor=user, client=course.client, course=course, request=request,
                instrument=access_instrument(user, form.cleaned_data["instrument"]),
                due_on=form.cleaned_data["due_on"],
            )  # fmt: skip
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
        else:
            messages.success(request, _("Questionnaire assigned to the client."))
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(str(e) for e in errors))
    return redirect("measures:course-measures", course.uuid)


@login_required
@require_GET
def alert_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    alerts = access_alert_list(request.user, audit=request)
    return render(request, "measures/alert_list.html", {"alerts": alerts})


@login_required
@GET_POST
def alert_detail(request: AuthenticatedHttpRequest, alert_uuid: uuid_lib.UUID) -> HttpResponse:
    user = request.user
    alert = access_alert(user, alert_uuid, audit=audit_on_get(request))
    form = forms.AcknowledgeForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            acknowledged = attempt(
                form,
                lambda: services.alert_acknowledge(
                    actor=user, alert=alert, acknowledgement=form.to_data(), request=request
                ),
            )
            if acknowledged.ok:
                messages.success(request, _("Alert acknowledged; what was done is recorded."))
                return redirect("measures:alerts")
        record_read(request, alert.client, alert, actor=user)
    instrument = alert.administration.instrument.parsed
    context = {"alert": alert, "form": form, "items": _critical_answers(alert, instrument)}
    return render(request, "measures/alert_detail.html", context)


def _critical_answers(alert: RiskAlert, definition: InstrumentDefinition) -> list[tuple[str, str]]:
    """The critical questions of the form and the answer given to each."""
    rows = []
    for critical in definition.critical_items:
        item = definition.item(critical.link_id)
        code = alert.administration.answers.get(critical.link_id)
        option = item.option_for_code(code) if item and code else None
        rows.append((item.text if item else critical.link_id, option.display if option else "-"))
    return rows


@login_required
@require_GET
def practice_alerts(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows = selectors.practice_alert_summary(request.user)
    return render(request, "measures/practice_alerts.html", {"rows": rows})


@login_required
@GET_POST
def safety_plan(request: AuthenticatedHttpRequest, client_uuid: uuid_lib.UUID) -> HttpResponse:
    user = request.user
    detail = "safety plan"
    client = access_client(user, client_uuid, audit=audit_on_get(request), detail=detail)
    can_write = policy.can_access_client(request.membership, client, write=True)
    current = selectors.current_safety_plan(client)
    form = forms.SafetyPlanForm(request.POST or None, instance=None, initial=_initial(current))
    if request.method == "POST":
        if not can_write:
            raise Http404
        if form.is_valid():
            saved = attempt(
                form,
                lambda: services.safety_plan_save(
                    actor=user,
                    client=client,
                    data=form.to_data(),
                    based_on=form.cleaned_data.get("based_on"),
                    request=request,
                ),
            )
            if saved.ok:
                messages.success(request, _("Safety plan saved as a new version."))
                return redirect("measures:safety-plan", client.uuid)
        record_read(request, client, detail=detail, actor=user)
    context = {"client": client, "plan": current, "form": form, "can_write": can_write}
    return render(request, "measures/safety_plan.html", context)


def _initial(plan: SafetyPlan | None) -> dict[str, object]:
    if plan is None:
        return {"based_on": 0}
    return {"based_on": plan.number, **{name: getattr(plan, name) for name in plan.FIELDS}}


@login_required
@require_GET
def safety_plan_history(
    request: AuthenticatedHttpRequest, client_uuid: uuid_lib.UUID
) -> HttpResponse:
    client = access_client(request.user, client_uuid, audit=request, detail="safety plan history")
    versions = selectors.safety_plan_history(client)
    return render(
        request, "measures/safety_plan_history.html", {"client": client, "versions": versions}
    )


@login_required
@GET_POST
def instrument_library(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The practice's questionnaires: built in, and imported under the practice's licence."""
    user = request.user
    admin = access_practice_admin(user)
    instruments = selectors.practice_instruments(user)
    form = forms.InstrumentImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            instrument = services.instrument_import(
                actor=user, practice=admin.practice, file_content=form.cleaned_data["file"],
                licence_confirmed=form.cleaned_data["licence_confirmed"],
            )  # fmt: skip
        except ValidationError as error:
            form.add_error("file", error)  # every problem is about the file chosen
        else:
            messages.success(
                request,
                _("%(title)s was imported and can now be used.") % {"title": instrument.title},
            )
            return redirect("measures:instruments")
    return render(
        request, "measures/instrument_library.html", {"instruments": instruments, "form": form}
    )
