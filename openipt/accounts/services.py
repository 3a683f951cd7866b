"""Every write in accounts: first-run setup, invitations, roles, supervision, deactivation,
and the audit trail of sign-ins. Each function is one transaction with its audit row."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.accounts.models import Invitation, Membership, Practice, Supervision, User
from openipt.accounts.policy import active_membership
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def email_in_use(*, practice: Practice | None, email: str) -> bool:
    """An existing account, or a pending invitation to this practice, holds the address."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        return True
    pending = Invitation.objects.filter(
        email__iexact=email, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    )
    return practice is not None and pending.filter(practice=practice).exists()


@transaction.atomic
def practice_setup(
    *,
    practice_name: str,
    time_zone: str,
    full_name: str,
    email: str,
    password: str,
    sees_clients: bool,
    request: HttpRequest | None = None,
) -> User:
    """First run: the practice, its first administrator and their membership."""
    if Practice.objects.exists():
        raise ValidationError(_("This installation has already been set up."))
    practice = Practice(name=practice_name, time_zone=time_zone)
    practice.full_clean()
    practice.save()
    user = _user_create(email=email, full_name=full_name, password=password)
    membership = Membership(user=user, practice=practice, is_admin=True, is_clinician=sees_clients)
    membership.full_clean()
    membership.save()
    audit.record(
        actor=user,
        action=AuditEvent.Action.ADMIN,
        obj=practice,
        practice_id=practice.pk,
        request=request,
        detail="practice set up; first administrator created",
    )
    return user


def _user_create(*, email: str, full_name: str, password: str) -> User:
    user = User(email=User.objects.normalize_email(email).lower(), full_name=full_name)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


def _roles(*, is_admin: bool, is_supervisor: bool, is_clinician: bool) -> str:
    names = [("admin", is_admin), ("supervisor", is_supervisor), ("clinician", is_clinician)]
    return ",".join(name for name, held in names if held) or "none"


@transaction.atomic
def invitation_create(
    *,
    actor: User,
    practice: Practice,
    email: str,
    full_name: str,
    is_admin: bool,
    is_supervisor: bool,
    is_clinician: bool,
    request: HttpRequest | None = None,
) -> tuple[Invitation, str]:
    """Create an invitation; the raw token is only in the email, the database holds its hash."""
    email = User.objects.normalize_email(email).lower()
    if email_in_use(practice=practice, email=email):
        raise ValidationError(
            {"email": _("Someone with this email address already has an account or invitation.")}
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        practice=practice,
        email=email,
        full_name=full_name,
        is_admin=is_admin,
        is_supervisor=is_supervisor,
        is_clinician=is_clinician,
        token_hash=token_hash(token),
        expires_at=timezone.now() + dt.timedelta(days=settings.OPENIPT_INVITATION_DAYS),
        invited_by=actor,
    )
    invitation.full_clean()
    invitation.save()
    roles = _roles(is_admin=is_admin, is_supervisor=is_supervisor, is_clinician=is_clinician)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=invitation,
        practice_id=practice.pk,
        request=request,
        detail=f"invitation sent to {email}; roles {roles}",
    )
    transaction.on_commit(lambda: _invitation_email(invitation=invitation, token=token))
    return invitation, token


def _invitation_email(*, invitation: Invitation, token: str) -> None:
    path = reverse("accounts:invitation-accept", kwargs={"token": token})
    context = {
        "invitation": invitation,
        "practice": invitation.practice,
        "link": settings.OPENIPT_BASE_URL.rstrip("/") + path,
        "days": settings.OPENIPT_INVITATION_DAYS,
    }
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation_body.txt", context)
    send_mail(subject, body, None, [invitation.email])


@transaction.atomic
def invitation_revoke(
    *, actor: User, invitation: Invitation, request: HttpRequest | None = None
) -> None:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        return
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=invitation,
        practice_id=invitation.practice_id,
        request=request,
        detail=f"invitation to {invitation.email} revoked",
    )


@transaction.atomic
def invitation_accept(
    *, token: str, full_name: str, password: str, request: HttpRequest | None = None
) -> User:
    """Single use: the invitation is locked, checked and marked used with the new account."""
    invitation = Invitation.objects.select_for_update().filter(token_hash=token_hash(token)).first()
    if invitation is None or not invitation.is_usable:
        raise ValidationError(_("This invitation can no longer be used."), code="unusable")
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError(
            _("An account with this email address already exists. Please sign in instead."),
            code="exists",
        )
    user = _user_create(email=invitation.email, full_name=full_name, password=password)
    membership = Membership(
        user=user,
        practice=invitation.practice,
        is_admin=invitation.is_admin,
        is_supervisor=invitation.is_supervisor,
        is_clinician=invitation.is_clinician,
    )
    membership.full_clean()
    membership.save()
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at", "updated_at"])
    audit.record(
        actor=user,
        action=AuditEvent.Action.ADMIN,
        obj=membership,
        practice_id=invitation.practice_id,
        request=request,
        detail=f"invitation accepted by {user.email}",
    )
    return user


def _other_active_admins(membership: Membership) -> bool:
    return (
        Membership.objects.filter(
            practice_id=membership.practice_id,
            is_admin=True,
            is_active=True,
            kind=Membership.Kind.STAFF,
        )
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def staff_update(
    *,
    actor: User,
    membership: Membership,
    is_admin: bool,
    is_supervisor: bool,
    is_clinician: bool,
    supervisors: Iterable[Membership],
    request: HttpRequest | None = None,
) -> Membership:
    """Set a staff member's roles and who supervises them."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if not (is_admin or is_supervisor or is_clinician):
        raise ValidationError(_("Choose at least one role."))
    if membership.is_admin and not is_admin and not _other_active_admins(membership):
        raise ValidationError({"is_admin": _("The practice needs at least one administrator.")})
    membership.is_admin, membership.is_supervisor = is_admin, is_supervisor
    membership.is_clinician = is_clinician
    membership.full_clean()
    membership.save()
    wanted = _supervisors_set(membership=membership, supervisors=supervisors)
    roles = _roles(is_admin=is_admin, is_supervisor=is_supervisor, is_clinician=is_clinician)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=membership,
        practice_id=membership.practice_id,
        request=request,
        detail=f"roles of {membership.user.email}: {roles}; supervisors: {len(wanted)}",
    )
    return membership


def _supervisors_set(*, membership: Membership, supervisors: Iterable[Membership]) -> set[int]:
    wanted = {s.pk for s in supervisors}
    for supervisor_pk in wanted:
        supervisor = Membership.objects.get(pk=supervisor_pk)
        if (
            supervisor.practice_id != membership.practice_id
            or not supervisor.is_supervisor
            or supervisor.pk == membership.pk
        ):
            raise ValidationError({"supervisors": _("Choose supervisors from this practice.")})
    existing = {s.supervisor_id: s for s in Supervision.objects.filter(supervisee=membership)}
    for supervisor_pk, row in existing.items():
        if row.is_active != (supervisor_pk in wanted):
            row.is_active = supervisor_pk in wanted
            row.save(update_fields=["is_active", "updated_at"])
    for supervisor_pk in wanted - existing.keys():
        row = Supervision(
            practice_id=membership.practice_id,
            supervisor_id=supervisor_pk,
            supervisee=membership,
        )
        row.full_clean()
        row.save()
    return wanted


@transaction.atomic
def staff_deactivate(
    *, actor: User, membership: Membership, request: HttpRequest | None = None
) -> Membership:
    """Access ends at once (the account can no longer sign in); records stay."""
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    if membership.user_id == actor.pk:
        raise ValidationError(_("You cannot deactivate your own account."))
    if membership.is_admin and not _other_active_admins(membership):
        raise ValidationError(_("The practice needs at least one administrator."))
    if not membership.is_active:
        return membership
    membership.is_active = False
    membership.deactivated_at = timezone.now()
    membership.save(update_fields=["is_active", "deactivated_at", "updated_at"])
    user = membership.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=membership,
        practice_id=membership.practice_id,
        request=request,
        detail=f"staff member {user.email} deactivated",
    )
    return membership


def auth_event_record(
    *, user: User | None, action: str, request: HttpRequest | None, detail: str = ""
) -> None:
    """Sign-in, sign-out and failed sign-in. Never receives or stores a password."""
    membership = active_membership(user) if user is not None and user.is_active else None
    practice_id = membership.practice_id if membership is not None else None
    if practice_id is None and user is not None and user.pk:
        practice_id = (
            Membership.objects.filter(user=user).values_list("practice_id", flat=True).first()
        )
    # A failed sign-in names the account that was tried, not an actor: it may be anyone.
    actor = None if action == AuditEvent.Action.LOGIN_FAILED else user
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=action,
            object_type="accounts.user",
            object_id=str(user.uuid) if user is not None else "",
            practice_id=practice_id,
            request=request,
            detail=detail,
        )
