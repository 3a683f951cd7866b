from __future__ import annotations

from allauth.account.internal.flows.login import record_authentication
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from openipt.accounts import selectors, services
from openipt.accounts.forms import InvitationAcceptForm, InviteForm, SetupForm, StaffEditForm
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.accounts.models import Practice, User
from openipt.core.http import GET_POST, attempt, form_errors_from

STAFF_PER_PAGE = 50


def _sign_in(request: HttpRequest, user: User) -> None:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    # Lets allauth treat the password just set as a fresh sign-in (no re-authentication
    # prompt before the authenticator is enrolled).
    record_authentication(request, user, "password", email=user.email, reauthenticated=True)


@GET_POST
def setup(request: HttpRequest) -> HttpResponse:
    """First run only: create the practice and its first administrator."""
    if Practice.objects.exists():
        raise Http404
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = attempt(
            form,
            lambda: services.practice_setup(
                practice_name=data["practice_name"],
                time_zone=data["time_zone"],
                full_name=data["full_name"],
                email=data["email"],
                password=data["password1"],
                sees_clients=data["sees_clients"],
                request=request,
            ),
        )
        if done.value is not None:
            _sign_in(request, done.value)
            messages.success(request, _("Your practice is ready. Next, protect your account."))
            return redirect("mfa_activate_totp")
    return render(request, "accounts/setup.html", {"form": form})


@login_required
def staff_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)
    page = Paginator(selectors.staff_list(admin), STAFF_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "invitations": selectors.pending_invitations(admin),
        "admin_membership": admin,
    }
    return render(request, "accounts/staff_list.html", context)


@login_required
@GET_POST
def staff_invite(request: AuthenticatedHttpRequest) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sent = attempt(
            form,
            lambda: services.invitation_create(
                actor=request.user,
                practice=admin.practice,
                email=data["email"],
                full_name=data["full_name"],
                is_admin=data["is_admin"],
                is_supervisor=data["is_supervisor"],
                is_clinician=data["is_clinician"],
                request=request,
            ),
        )
        if sent.value is not None:
            invitation, _token = sent.value
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
            )
            return redirect("accounts:staff-list")
    context = {"form": form, "days": settings.OPENIPT_INVITATION_DAYS}
    return render(request, "accounts/staff_invite.html", context)


@login_required
@require_POST
def invitation_revoke(request: AuthenticatedHttpRequest, uuid: str) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)
    invitation = selectors.access_invitation(admin, uuid)
    services.invitation_revoke(actor=request.user, invitation=invitation, request=request)
    messages.success(
        request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email}
    )
    return redirect("accounts:staff-list")


@login_required
@GET_POST
def staff_edit(request: AuthenticatedHttpRequest, uuid: str) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)
    member = selectors.access_staff_member(admin, uuid)
    initial = {
        "is_admin": member.is_admin,
        "is_supervisor": member.is_supervisor,
        "is_clinician": member.is_clinician,
        "supervisors": selectors.current_supervisors(member),
    }
    choices = selectors.supervisor_choices(member)
    form = StaffEditForm(request.POST or None, initial=initial, supervisor_choices=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = attempt(
            form,
            lambda: services.staff_update(
                actor=request.user,
                membership=member,
                is_admin=data["is_admin"],
                is_supervisor=data["is_supervisor"],
                is_clinician=data["is_clinician"],
                supervisors=data["supervisors"],
                request=request,
            ),
        )
        if saved.ok:
            messages.success(request, _("Changes saved."))
            return redirect("accounts:staff-list")
    context = {"form": form, "member": member, "is_self": member.user_id == request.user.pk}
    return render(request, "accounts/staff_edit.html", context)


@login_required
@require_POST
def staff_deactivate(request: AuthenticatedHttpRequest, uuid: str) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)
    member = selectors.access_staff_member(admin, uuid)
    try:
        services.staff_deactivate(actor=request.user, membership=member, request=request)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("accounts:staff-edit", uuid=member.uuid)
    messages.success(
        request, _("%(name)s can no longer sign in.") % {"name": member.user.get_full_name()}
    )
    return redirect("accounts:staff-list")


@GET_POST
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = selectors.invitation_by_token(token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    if not invitation.is_usable:
        return render(request, "accounts/invitation_invalid.html", status=410)
    form = InvitationAcceptForm(
        request.POST or None, initial={"full_name": invitation.full_name}, email=invitation.email
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
                request=request,
            )
        except ValidationError as exc:
            if exc.code == "unusable":
                return render(request, "accounts/invitation_invalid.html", status=410)
            form_errors_from(form, exc)
        else:
            _sign_in(request, user)
            messages.success(request, _("Welcome. Next, protect your account."))
            return redirect("mfa_activate_totp")
    context = {"form": form, "invitation": invitation}
    return render(request, "accounts/invitation_accept.html", context)
