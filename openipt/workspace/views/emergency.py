"""Break-glass pages (docs/adr/0016-emergency-access.md): a staff member outside a client's
care team opens the record in an emergency, and administrators review every such access.

The client pages themselves stay as they are: without access they answer 404, so they
never tell anyone that a record exists. The way in is this separate page, where the staff
member types what they already know exactly (an identifier, or legal name and date of
birth) and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from openipt.access.clients import access_emergency_access, access_emergency_admin
from openipt.accounts import policy
from openipt.accounts.http import StaffRequest, staff_required
from openipt.clients import selectors, services
from openipt.clients.forms import EmergencyAccessForm, EmergencyReviewForm
from openipt.clients.models import Client, EmergencyAccess
from openipt.core.http import GET_POST, attempt

NO_MATCH = gettext_lazy("No single record matches these details exactly. Check them and try again.")


@staff_required
@GET_POST
def emergency_open(request: StaffRequest) -> HttpResponse:
    if not selectors.may_open_emergency_access(request.user):
        raise Http404
    form = EmergencyAccessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        client = _find(request, form)
        if client is None:
            form.add_error(None, NO_MATCH)
        elif selectors.accessible_clients(request.user).filter(pk=client.pk).exists():
            messages.info(request, _("You can already open this record; no emergency access."))
            return redirect("clients:detail", client_uuid=client.uuid)
        else:
            reason = form.cleaned_data["reason"]
            opened = attempt(
                form,
                lambda: services.emergency_access_open(
                    actor=request.user, client=client, reason=reason, request=request
                ),
            )
            if opened.ok:
                return redirect("clients:detail", client_uuid=client.uuid)
    context = {"form": form, "minutes": settings.OPENIPT_BREAK_GLASS_MINUTES}
    return render(request, "clients/emergency.html", context)


def _find(request: StaffRequest, form: EmergencyAccessForm) -> Client | None:
    data = form.cleaned_data
    return selectors.emergency_access_find(
        request.user,
        identifier=data["identifier"],
        given=data["legal_given_name"],
        family=data["legal_family_name"],
        dob=data["date_of_birth"],
        audit=request,
    )


@dataclass(frozen=True)
class ReviewRow:
    access: EmergencyAccess
    form: EmergencyReviewForm
    can_review: bool


@staff_required
@require_GET
def emergency_review_list(request: StaffRequest) -> HttpResponse:
    admin = access_emergency_admin(request.user)
    listing = selectors.emergency_review_list(admin, audit=request)
    rows = [
        ReviewRow(
            a, EmergencyReviewForm(prefix=str(a.uuid)), policy.can_review_emergency_access(admin, a)
        )
        for a in listing.pending
    ]
    context = {"rows": rows, "recent": listing.recent, "now": listing.now}
    return render(request, "accounts/emergency_access.html", context)


@staff_required
@require_POST
def emergency_review(request: StaffRequest, uuid: UUID) -> HttpResponse:
    access = access_emergency_access(request.user, uuid)
    form = EmergencyReviewForm(request.POST, prefix=str(access.uuid))
    if form.is_valid():
        reviewed = attempt(
            form,
            lambda: services.emergency_access_review(
                actor=request.user, access=access, note=form.cleaned_data["note"], request=request
            ),
        )
        if reviewed.ok:
            messages.success(request, _("Emergency access marked as reviewed."))
            return redirect("accounts:emergency-access")
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))
    return redirect("accounts:emergency-access")


@staff_required
@require_GET
def duplicate_list(request: StaffRequest) -> HttpResponse:
    """Records that may be the same person: an administrator asks their clinicians to check
    and corrects the number on the wrong one (the flag then goes)."""
    admin = access_emergency_admin(request.user)
    rows = selectors.flagged_duplicates(admin, audit=request)
    return render(request, "accounts/duplicates.html", {"rows": rows})
