from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from allauth.account.internal.flows.login import record_authentication
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from openipt.accounts import policy, selectors, services
from openipt.accounts.forms import (
    GrantRefuseForm,
    InvitationAcceptForm,
    InviteForm,
    LanguageForm,
    MeasureScheduleForm,
    PracticeCrisisForm,
    SetupForm,
    StaffEditForm,
    crisis_initial,
)
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.accounts.models import Membership, Practice, RoleGrant, User
from openipt.accounts.practice_settings import (
    practice_crisis_settings_update,
    practice_measure_schedule_update,
)
from openipt.clients.models import ClientIdentifier
from openipt.clients.selectors import emergency_accesses_unreviewed
from openipt.core import languages
from openipt.core.http import GET_POST, attempt, form_errors_from

STAFF_PER_PAGE = 50
CHANGES_PER_PAGE = 50
GRANTS_SHOWN = 100  # pending requests and decisions shown at once; there are rarely many
REVIEW_DAYS = 30


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
        done = attempt(form, lambda: _practice_set_up(request, form))
        if done.value is not None:
            _sign_in(request, done.value)
            messages.success(request, _("Your practice is ready. Next, protect your account."))
            return redirect("mfa_activate_totp")
    return render(request, "accounts/setup.html", {"form": form})


@transaction.atomic
def _practice_set_up(request: HttpRequest, form: SetupForm) -> User:
    """The practice and its administrator, then its crisis contacts, in one transaction."""
    data = form.cleaned_data
    user = services.practice_setup(
        practice_name=data["practice_name"],
        time_zone=data["time_zone"],
        full_name=data["full_name"],
        email=data["email"],
        password=data["password1"],
        sees_clients=data["sees_clients"],
        request=request,
    )
    practice = Practice.objects.get(memberships__user=user)
    practice_crisis_settings_update(
        actor=user, practice=practice, settings=form.to_crisis_settings(), version=None,
        request=request,
    )  # fmt: skip
    return user


@login_required
def staff_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)
    page = Paginator(selectors.staff_list(admin), STAFF_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "invitations": selectors.pending_invitations(admin),
        "admin_membership": admin,
        "single_admin": selectors.admin_count(admin) == 1,
        "pending_count": selectors.pending_grants(admin).count(),
        "emergency_count": emergency_accesses_unreviewed(admin).count(),
        "duplicate_count": ClientIdentifier.objects.filter(
            practice_id=admin.practice_id, duplicate_of__isnull=False
        ).count(),
        "outbox_count": selectors.outbox_trouble_count(admin),
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
            invitation, token = sent.value
            text = (
                _("Invitation sent to %(email)s.")
                if token
                else _(
                    "The invitation to %(email)s waits for another administrator's approval. "
                    "It is sent once approved."
                )
            )
            messages.success(request, text % {"email": invitation.email})
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


def _staff_initial(member: Membership) -> dict[str, object]:
    """The roles and supervisors shown: those held and those waiting for approval."""
    waiting = selectors.pending_roles_of(member)
    supervisors = selectors.current_supervisors(member) | selectors.pending_supervisors_of(member)
    return {
        "is_admin": (member.is_admin and RoleGrant.Kind.ADMIN_REMOVAL not in waiting)
        or RoleGrant.Kind.ADMIN in waiting,
        "is_supervisor": member.is_supervisor or RoleGrant.Kind.SUPERVISOR in waiting,
        "is_clinician": member.is_clinician or RoleGrant.Kind.CLINICIAN in waiting,
        "supervisors": supervisors.distinct(),
    }


def _staff_saved_message(request: AuthenticatedHttpRequest, result: services.StaffUpdate) -> None:
    if not result.pending:
        messages.success(request, _("Changes saved."))
        return
    messages.success(
        request,
        ngettext(
            "Changes saved. One change waits for another administrator's approval.",
            "Changes saved. %(count)d changes wait for another administrator's approval.",
            len(result.pending),
        )
        % {"count": len(result.pending)},
    )


@login_required
@GET_POST
def staff_edit(request: AuthenticatedHttpRequest, uuid: str) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)
    member = selectors.access_staff_member(admin, uuid)
    is_self = member.pk == admin.pk
    choices = selectors.supervisor_choices(member)
    form = StaffEditForm(
        request.POST or None,
        initial=_staff_initial(member),
        supervisor_choices=choices,
        read_only=is_self,
    )
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
        if saved.value is not None:
            _staff_saved_message(request, saved.value)
            return redirect("accounts:staff-list")
    context = {
        "form": form,
        "member": member,
        "is_self": is_self,
        "waiting": selectors.pending_roles_of(member),
        "single_admin": selectors.admin_count(admin) == 1,
        "supervisions": selectors.supervisions_of(member),
    }
    return render(request, "accounts/staff_edit.html", context)


@login_required
@require_POST
def staff_deactivate(request: AuthenticatedHttpRequest, uuid: str) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)
    member = selectors.access_staff_member(admin, uuid)
    try:
        member = services.staff_deactivate(actor=request.user, membership=member, request=request)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("accounts:staff-edit", uuid=member.uuid)
    if member.is_active:
        messages.success(
            request,
            _("Deactivating an administrator waits for another administrator's approval."),
        )
        return redirect("accounts:staff-edit", uuid=member.uuid)
    messages.success(
        request, _("%(name)s can no longer sign in.") % {"name": member.user.get_full_name()}
    )
    return redirect("accounts:staff-list")


@login_required
@require_POST
def supervision_training(
    request: AuthenticatedHttpRequest, uuid: str, supervision_uuid: str
) -> HttpResponse:
    """Mark a staff member as in training under one of their supervisors, or no longer
    (docs/adr/0018-trainee-co-signature.md)."""
    admin = selectors.access_practice_admin(request.user)
    member = selectors.access_staff_member(admin, uuid)
    supervision = selectors.access_supervision(admin, member, supervision_uuid)
    training = request.POST.get("is_training") == "1"
    try:
        services.supervision_training_set(
            actor=request.user, supervision=supervision, is_training=training, request=request
        )
    except ValidationError as exc:  # shown as a message: the form is a single button
        messages.error(request, " ".join(exc.messages))
        return redirect("accounts:staff-edit", uuid=member.uuid)
    names = {"name": member.user.get_full_name(), "who": supervision.supervisor.user}
    if training:
        text = _("%(name)s is in training under %(who)s: %(who)s co-signs their notes.")
    else:
        text = _("%(name)s is no longer in training under %(who)s.")
    messages.success(request, text % names)
    return redirect("accounts:staff-edit", uuid=member.uuid)


@dataclass(frozen=True)
class GrantRow:
    """A request waiting for a second administrator, and whether this one may approve it."""

    grant: RoleGrant
    can_approve: bool
    mine: bool  # asked for by the admin looking at the page
    refuse_form: GrantRefuseForm


def _grant_row(admin: Membership, grant: RoleGrant) -> GrantRow:
    return GrantRow(
        grant=grant,
        can_approve=policy.can_decide_grant(admin, grant, approve=True),
        mine=grant.requested_by_id == admin.user_id,
        refuse_form=GrantRefuseForm(auto_id=f"id_refuse_{grant.uuid}_%s"),
    )


@login_required
def grant_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Requests to approve or refuse, recent decisions, and every staff-access change of
    the last 30 days from the audit log (docs/adr/0015-separation-of-duties.md)."""
    admin = selectors.access_practice_admin(request.user)
    since = timezone.now() - dt.timedelta(days=REVIEW_DAYS)
    pending = selectors.pending_grants(admin)[:GRANTS_SHOWN]
    changes = selectors.staff_changes(admin.practice_id, since=since)
    context = {
        "pending": [_grant_row(admin, grant) for grant in pending],
        "decisions": selectors.recent_grant_decisions(admin, since=since)[:GRANTS_SHOWN],
        "page": Paginator(changes, CHANGES_PER_PAGE).get_page(request.GET.get("page")),
        "single_admin": selectors.admin_count(admin) == 1,
        "days": REVIEW_DAYS,
    }
    return render(request, "accounts/grant_list.html", context)


def _grant_decide(
    request: AuthenticatedHttpRequest, decide: Callable[[], object], done: str
) -> None:
    try:
        decide()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)


@login_required
@require_POST
def grant_approve(request: AuthenticatedHttpRequest, uuid: str) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)
    grant = selectors.access_grant(admin, uuid)
    _grant_decide(
        request,
        lambda: services.role_grant_approve(actor=request.user, grant=grant, request=request),
        _("Approved. The change has taken effect."),
    )
    return redirect("accounts:grant-list")


@login_required
@require_POST
def grant_refuse(request: AuthenticatedHttpRequest, uuid: str) -> HttpResponse:
    admin = selectors.access_practice_admin(request.user)
    grant = selectors.access_grant(admin, uuid)
    form = GrantRefuseForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    _grant_decide(
        request,
        lambda: services.role_grant_refuse(
            actor=request.user, grant=grant, reason=reason, request=request
        ),
        _("Refused. Nothing has changed."),
    )
    return redirect("accounts:grant-list")


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


# --- Practice settings: crisis contacts -------------------------------


@login_required
@GET_POST
def practice_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The practice's crisis lines, emergency number and response time, which clients see
    whenever they look for help (docs/measures.md §7). Administrators only."""
    admin = selectors.access_practice_admin(request.user)
    practice = admin.practice
    initial = crisis_initial(list(practice.crisis_contacts)) | {
        "emergency_number": practice.emergency_number,
        "response_time": practice.response_time,
        "crisis_information": practice.crisis_information,
        "version": practice.version,
    }
    schedule_posted = request.method == "POST" and "measure_schedule" in request.POST
    schedule_form = MeasureScheduleForm(
        request.POST if schedule_posted else None,
        initial={
            "every_fourth_session": practice.measure_every_fourth_session,
            "version": practice.version,
        },
    )
    if schedule_posted:
        if schedule_form.is_valid():
            done = attempt(
                schedule_form,
                lambda: practice_measure_schedule_update(
                    actor=request.user, practice=practice,
                    every_fourth_session=schedule_form.cleaned_data["every_fourth_session"],
                    version=schedule_form.cleaned_data["version"], request=request,
                ),
            )  # fmt: skip
            if done.ok:
                messages.success(request, _("Saved. The course guidance follows this schedule."))
                return redirect("accounts:practice-settings")
        form = PracticeCrisisForm(initial=initial)
        context = {"form": form, "practice": practice, "schedule_form": schedule_form}
        return render(request, "accounts/practice_settings.html", context)
    form = PracticeCrisisForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = attempt(
            form,
            lambda: practice_crisis_settings_update(
                actor=request.user, practice=practice, settings=form.to_settings(),
                version=form.cleaned_data["version"], request=request,
            ),
        )  # fmt: skip
        if saved.ok:
            messages.success(request, _("Saved. Clients now see these contacts in the portal."))
            return redirect("accounts:practice-settings")
    context = {"form": form, "practice": practice, "schedule_form": schedule_form}
    return render(request, "accounts/practice_settings.html", context)


@login_required
@GET_POST
def language_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The language of one's own pages (clients choose theirs in the portal)."""
    form = LanguageForm(
        request.POST or None, browser_choice=True, initial={"language": request.user.language}
    )
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["language"]
        saved = attempt(
            form,
            lambda: services.user_language_set(
                actor=request.user, language=chosen, request=request
            ),
        )
        if saved.ok:
            with languages.speaking(chosen or translation.get_language()):
                messages.success(request, _("Your language is saved."))
            return redirect("accounts:language")
    return render(request, "accounts/language.html", {"form": form})
