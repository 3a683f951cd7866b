from __future__ import annotations

from allauth.account.internal.flows.login import record_authentication
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from openipt.accounts import selectors, services
from openipt.accounts.forms import InvitationAcceptForm, InviteForm, SetupForm, StaffEditForm
from openipt.accounts.models import Practice, User

STAFF_PER_PAGE = 50


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's validation errors next to the matching fields, else on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _sign_in(request: HttpRequest, user: User) -> None:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    # Lets allauth treat the password just set as a fresh sign-in (no re-authentication
    # prompt before the authenticator is enrolled).
    record_authentication(request, user, "password", email=user.email, reauthenticated=True)


@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """First run only: create the practice and its first administrator."""
    if Practice.objects.exists():
        raise Http404
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.practice_setup(
                practice_name=data["practice_name"],
                time_zone=data["time_zone"],
                full_name=data["full_name"],
                email=data["email"],
                password=data["password1"],
                sees_clients=data["sees_clients"],
                request=request,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            _sign_in(request, user)
            messages.success(request, _("Your practice is ready. Next, protect your account."))
            return redirect("mfa_activate_totp")
    return render(request, "accounts/setup.html", {"form": form})


@login_required
def staff_list(request: HttpRequest) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)  # type: ignore[arg-type]
    page = Paginator(selectors.staff_list(admin), STAFF_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "invitations": selectors.pending_invitations(admin),
        "admin_membership": admin,
    }
    return render(request, "accounts/staff_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def staff_invite(request: HttpRequest) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)  # type: ignore[arg-type]
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation, _token = services.invitation_create(
                actor=request.user,  # type: ignore[arg-type]
                practice=admin.practice,
                email=data["email"],
                full_name=data["full_name"],
                is_admin=data["is_admin"],
                is_supervisor=data["is_supervisor"],
                is_clinician=data["is_clinician"],
                request=request,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
            )
            return redirect("accounts:staff-list")
    context = {"form": form, "days": settings.OPENIPT_INVITATION_DAYS}
    return render(request, "accounts/staff_invite.html", context)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, uuid: str) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)  # type: ignore[arg-type]
    invitation = selectors.access_invitation(admin, uuid)
    services.invitation_revoke(actor=request.user, invitation=invitation, request=request)  # type: ignore[arg-type]
    messages.success(
        request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email}
    )
    return redirect("accounts:staff-list")


@login_required
@require_http_methods(["GET", "POST"])
def staff_edit(request: HttpRequest, uuid: str) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)  # type: ignore[arg-type]
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
        try:
            services.staff_update(
                actor=request.user,  # type: ignore[arg-type]
                membership=member,
                is_admin=data["is_admin"],
                is_supervisor=data["is_supervisor"],
                is_clinician=data["is_clinician"],
                supervisors=data["supervisors"],
                request=request,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("accounts:staff-list")
    context = {"form": form, "member": member, "is_self": member.user_id == request.user.pk}
    return render(request, "accounts/staff_edit.html", context)


@login_required
@require_POST
def staff_deactivate(request: HttpRequest, uuid: str) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)  # type: ignore[arg-type]
    member = selectors.access_staff_member(admin, uuid)
    try:
        services.staff_deactivate(actor=request.user, membership=member, request=request)  # type: ignore[arg-type]
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("accounts:staff-edit", uuid=member.uuid)
    messages.success(
        request, _("%(name)s can no longer sign in.") % {"name": member.user.get_full_name()}
    )
    return redirect("accounts:staff-list")


@require_http_methods(["GET", "POST"])
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
            _add_errors(form, exc)
        else:
            _sign_in(request, user)
            messages.success(request, _("Welcome. Next, protect your account."))
            return redirect("mfa_activate_totp")
    context = {"form": form, "invitation": invitation}
    return render(request, "accounts/invitation_accept.html", context)
