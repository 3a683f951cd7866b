"""Client workspace pages: list and search, create, view, edit, status, care team, consent."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from openipt.accounts import policy
from openipt.clients import selectors, services
from openipt.clients.forms import (
    CareTeamAddForm,
    ClientForm,
    ClientSearchForm,
    ClientStatusForm,
    ConsentForm,
)
from openipt.clients.models import Client
from openipt.clients.selectors import access_client, client_read_record
from openipt.core.models import BaseModel

if TYPE_CHECKING:
    from openipt.accounts.models import User

View = Callable[..., HttpResponse]
GET_POST = require_http_methods(["GET", "POST"])


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
    """The signed-in user (``staff_required`` has made sure there is one)."""
    return cast("User", request.user)


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's refusal next to the matching field (or above the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _detail(client: BaseModel) -> HttpResponse:
    return redirect("clients:detail", client_uuid=client.uuid)


@staff_required
@require_GET
def client_list(request: HttpRequest) -> HttpResponse:
    form = ClientSearchForm(request.GET)
    page = None
    if form.is_valid():
        page = selectors.client_search(
            _actor(request),
            q=form.cleaned_data["q"],
            dob=form.cleaned_data["dob"],
            identifier=form.cleaned_data["identifier"],
            status=form.status_filter(),
            page=request.GET.get("page", 1),
        )
        if page.object_list:
            selectors.client_list_read_record(user=_actor(request), page=page, request=request)
    context = {
        "form": form,
        "page": page,
        "may_create": selectors.may_create_client(_actor(request)),
    }
    template = "clients/list.html#results" if request.htmx else "clients/list.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@staff_required
@GET_POST
def client_create(request: HttpRequest) -> HttpResponse:
    if not selectors.may_create_client(_actor(request)):
        raise Http404
    membership = request.membership  # type: ignore[attr-defined]
    initial = {"primary_clinician": str(membership.uuid)} if membership.is_clinician else {}
    clinicians = selectors.primary_clinician_choices(_actor(request))
    form = ClientForm(request.POST or None, clinicians=clinicians, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            client = services.client_create(
                actor=_actor(request),
                data=form.client_data(),
                primary_clinician=form.primary_clinician(),
                identifiers=form.identifiers(),
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Client added."))
            if selectors.accessible_clients(_actor(request)).filter(pk=client.pk).exists():
                return _detail(client)
            return redirect("clients:list")
    return render(request, "clients/create.html", {"form": form})


@staff_required
@require_GET
def client_detail(request: HttpRequest, client_uuid: UUID) -> HttpResponse:
    overview = selectors.client_overview(_actor(request), client_uuid, request=request)
    # The client page is the way into the client's IPT courses (read through their selector).
    from openipt.treatment.selectors import client_courses

    courses = client_courses(_actor(request), overview.client)
    context = {"client": overview.client, "overview": overview, "courses": courses}
    return render(request, "clients/detail.html", context)


@staff_required
@GET_POST
def client_edit(request: HttpRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(_actor(request), client_uuid, write=True)
    if request.method == "POST":
        form = ClientForm(request.POST, with_version=True)
        if form.is_valid():
            try:
                services.client_update(
                    actor=_actor(request),
                    client=client,
                    expected_version=form.cleaned_data["version"],
                    data=form.client_data(),
                    identifiers=form.identifiers(),
                    request=request,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return _detail(client)
    else:
        form = ClientForm(initial=ClientForm.initial_for(client), with_version=True)
        client_read_record(user=_actor(request), client=client, request=request)
    return render(request, "clients/edit.html", {"client": client, "form": form})


@staff_required
@GET_POST
def client_status(request: HttpRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(_actor(request), client_uuid, write=True)
    if request.method == "POST":
        form = ClientStatusForm(request.POST)
        if form.is_valid():
            try:
                services.client_set_status(
                    actor=_actor(request),
                    client=client,
                    status=form.cleaned_data["status"],
                    reason=form.cleaned_data["reason"],
                    expected_version=form.cleaned_data["version"],
                    request=request,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Status changed."))
                return _detail(client)
    else:
        suggested = Client.Status.ARCHIVED if client.status == "active" else Client.Status.ACTIVE
        form = ClientStatusForm(initial={"status": suggested, "version": client.version})
        client_read_record(user=_actor(request), client=client, request=request)
    return render(request, "clients/status.html", {"client": client, "form": form})


@staff_required
@GET_POST
def care_team(request: HttpRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(_actor(request), client_uuid, write=True)
    adding = request.POST.get("action") == "add"
    team_errors: list[str] = []
    form = CareTeamAddForm(
        request.POST if adding else None, candidates=selectors.care_team_candidates(client)
    )
    if request.method == "POST":
        try:
            done = _care_team_post(request, client, form)
        except ValidationError as exc:
            if adding:
                apply_errors(form, exc)
            else:
                team_errors = exc.messages
        else:
            if done:
                messages.success(request, done)
                if not selectors.can_write_client(_actor(request), client):
                    return redirect("clients:list")
                return redirect("clients:care-team", client_uuid=client.uuid)
    else:
        client_read_record(user=_actor(request), client=client, request=request)
    context = {
        "client": client,
        "form": form,
        "team": selectors.care_team_of(client),
        "team_errors": team_errors,
    }
    return render(request, "clients/care_team.html", context)


def _care_team_post(request: HttpRequest, client: Client, form: CareTeamAddForm) -> str:
    """Apply the posted care-team action; an empty answer means the form has errors."""
    action = request.POST.get("action", "")
    if action != "add":
        return _care_team_change(request, client, action)
    if not form.is_valid():
        return ""
    services.care_team_add(
        actor=_actor(request), client=client, member=form.chosen_member(), request=request
    )
    return _("Added to the care team.")


def _care_team_change(request: HttpRequest, client: Client, action: str) -> str:
    entries = {str(e.uuid): e for e in selectors.care_team_of(client)}
    entry = entries.get(request.POST.get("entry", ""))
    if entry is None or action not in ("remove", "primary"):
        raise Http404
    if action == "remove":
        services.care_team_remove(
            actor=_actor(request), client=client, entry=entry, request=request
        )
        return _("Removed from the care team.")
    services.care_team_make_primary(
        actor=_actor(request), client=client, entry=entry, request=request
    )
    return _("Primary clinician changed.")


@staff_required
@GET_POST
def consent_create(request: HttpRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(_actor(request), client_uuid, write=True)
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_record_add(
                actor=_actor(request), client=client, request=request, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Consent recorded."))
            return _detail(client)
    if request.method == "GET":
        client_read_record(user=_actor(request), client=client, request=request)
    return render(request, "clients/consent_form.html", {"client": client, "form": form})
