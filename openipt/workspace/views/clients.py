"""Client workspace pages: list and search, create, view, edit, status, care team, consent.

A page that shows a client's record fetches it through ``access_client`` with
``audit=request`` on a GET, so the read is recorded before anything is shown. A POST that
succeeds redirects and shows nothing; one that is refused shows the form again.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from openipt.access.clients import access_client, audit_on_get
from openipt.accounts.http import StaffRequest, staff_required
from openipt.care import glance
from openipt.care.selectors import client_courses
from openipt.clients import selectors, services
from openipt.clients.forms import (
    CareTeamAddForm,
    ClientForm,
    ClientSearchForm,
    ClientStatusForm,
    ConsentForm,
)
from openipt.clients.models import Client
from openipt.core.http import GET_POST, attempt, form_errors_from
from openipt.core.models import BaseModel


def _detail(client: BaseModel) -> HttpResponse:
    return redirect("clients:detail", client_uuid=client.uuid)


@staff_required
@require_GET
def client_list(request: StaffRequest) -> HttpResponse:
    form = ClientSearchForm(request.GET)
    page = None
    if form.is_valid():
        page = selectors.client_search(
            request.user,
            q=form.cleaned_data["q"],
            dob=form.cleaned_data["dob"],
            identifier=form.cleaned_data["identifier"],
            status=form.status_filter(),
            page=request.GET.get("page", 1),
            audit=request,
        )
    clinical = page is not None and glance.shows_clinical_columns(request.user)
    context = {
        "form": form,
        "page": page,
        "rows": _list_rows(request, page, clinical=clinical),
        "clinical": clinical,
        "may_create": selectors.may_create_client(request.user),
        "may_emergency": selectors.may_open_emergency_access(request.user),
    }
    template = "clients/list.html#results" if request.htmx else "clients/list.html"
    return render(request, template, context)


def _list_rows(
    request: StaffRequest, page: Page[Client] | None, *, clinical: bool
) -> list[tuple[Client, glance.Glance | None]]:
    """Each client shown, with the clinical columns for clinicians and supervisors (three
    queries for the whole page; the list read is already recorded by ``client_search``)."""
    if page is None:
        return []
    shown = list(page.object_list)
    glances = glance.client_glances(request.user, [c.pk for c in shown]) if clinical else {}
    return [(client, glances.get(client.pk)) for client in shown]


@staff_required
@GET_POST
def client_create(request: StaffRequest) -> HttpResponse:
    if not selectors.may_create_client(request.user):
        raise Http404
    membership = request.membership
    initial = {"primary_clinician": str(membership.uuid)} if membership.is_clinician else {}
    clinicians = selectors.primary_clinician_choices(request.user)
    form = ClientForm(request.POST or None, clinicians=clinicians, initial=initial)
    if request.method == "POST" and form.is_valid():
        created = attempt(
            form,
            lambda: services.client_create(
                actor=request.user,
                data=form.to_data(),
                primary_clinician=form.primary_clinician(),
                identifiers=form.identifiers(),
                request=request,
            ),
        )
        if created.value is not None:
            messages.success(request, _("Client added."))
            if selectors.accessible_clients(request.user).filter(pk=created.value.pk).exists():
                return _detail(created.value)
            return redirect("clients:list")
    return render(request, "clients/create.html", {"form": form})


@staff_required
@require_GET
def client_detail(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(request.user, client_uuid, audit=request)
    overview = selectors.client_overview(request.user, client)
    # The client page is the way into the client's IPT courses (read through their selector).
    courses = client_courses(request.user, overview.client)
    context = {"client": overview.client, "overview": overview, "courses": courses}
    return render(request, "clients/detail.html", context)


@staff_required
@GET_POST
def client_edit(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(request.user, client_uuid, write=True, audit=audit_on_get(request))
    if request.method == "POST":
        form = ClientForm(request.POST, with_version=True)
        if form.is_valid():
            saved = attempt(
                form,
                lambda: services.client_update(
                    actor=request.user,
                    client=client,
                    expected_version=form.cleaned_data["version"],
                    data=form.to_data(),
                    identifiers=form.identifiers(),
                    request=request,
                ),
            )
            if saved.ok:
                messages.success(request, _("Changes saved."))
                return _detail(client)
    else:
        form = ClientForm(initial=ClientForm.initial_for(client), with_version=True)
    return render(request, "clients/edit.html", {"client": client, "form": form})


@staff_required
@GET_POST
def client_status(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(request.user, client_uuid, write=True, audit=audit_on_get(request))
    if request.method == "POST":
        form = ClientStatusForm(request.POST)
        if form.is_valid():
            changed = attempt(
                form,
                lambda: services.client_set_status(
                    actor=request.user,
                    client=client,
                    status=form.cleaned_data["status"],
                    reason=form.cleaned_data["reason"],
                    expected_version=form.cleaned_data["version"],
                    request=request,
                ),
            )
            if changed.ok:
                messages.success(request, _("Status changed."))
                return _detail(client)
    else:
        suggested = (
            Client.Status.ARCHIVED
            if client.status == Client.Status.ACTIVE
            else Client.Status.ACTIVE
        )
        form = ClientStatusForm(initial={"status": suggested, "version": client.version})
    return render(request, "clients/status.html", {"client": client, "form": form})


@staff_required
@GET_POST
def care_team(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(request.user, client_uuid, write=True, audit=audit_on_get(request))
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
                form_errors_from(form, exc)
            else:
                team_errors = exc.messages
        else:
            if done:
                messages.success(request, done)
                if not selectors.can_write_client(request.user, client):
                    return redirect("clients:list")
                return redirect("clients:care-team", client_uuid=client.uuid)
    context = {
        "client": client,
        "form": form,
        "team": selectors.care_team_of(client),
        "team_errors": team_errors,
    }
    return render(request, "clients/care_team.html", context)


def _care_team_post(request: StaffRequest, client: Client, form: CareTeamAddForm) -> str:
    """Apply the posted care-team action; an empty answer means the form has errors."""
    action = request.POST.get("action", "")
    if action != "add":
        return _care_team_change(request, client, action)
    if not form.is_valid():
        return ""
    services.care_team_add(
        actor=request.user, client=client, member=form.chosen_member(), request=request
    )
    return _("Added to the care team.")


def _care_team_change(request: StaffRequest, client: Client, action: str) -> str:
    entries = {str(e.uuid): e for e in selectors.care_team_of(client)}
    entry = entries.get(request.POST.get("entry", ""))
    if entry is None or action not in ("remove", "primary"):
        raise Http404
    if action == "remove":
        services.care_team_remove(actor=request.user, client=client, entry=entry, request=request)
        return _("Removed from the care team.")
    services.care_team_make_primary(actor=request.user, client=client, entry=entry, request=request)
    return _("Primary clinician changed.")


@staff_required
@GET_POST
def consent_create(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(request.user, client_uuid, write=True, audit=audit_on_get(request))
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        consent = form.to_data()
        recorded = attempt(
            form,
            lambda: services.consent_record_add(
                actor=request.user,
                client=client,
                kind=consent.kind,
                consented_on=consent.consented_on,
                text_version=consent.text_version,
                notes=consent.notes,
                request=request,
            ),
        )
        if recorded.ok:
            messages.success(request, _("Consent recorded."))
            return _detail(client)
    return render(request, "clients/consent_form.html", {"client": client, "form": form})
