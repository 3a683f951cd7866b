"""Every write in accounts: first-run setup, invitations, roles, supervision, the second
administrator's approvals, deactivation, the weekly summary of staff-access changes, and
the audit trail of sign-ins. Each function is one transaction with its audit row."""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from openipt.accounts import selectors
from openipt.accounts.models import (
    Invitation,
    Membership,
    Practice,
    RoleGrant,
    StaffChangeSummary,
    Supervision,
    User,
    token_hash,
)
from openipt.accounts.policy import (
    active_membership,
    can_change_training,
    can_decide_grant,
    can_manage_practice,
    grants_need_second_admin,
)
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.core import languages, outbox
from openipt.core.http import parse_uuid
from openipt.core.models import OutboxEmail


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
        # Setup is the one place where a person's own roles are set, by themselves: there is
        # nobody else yet (docs/adr/0015-separation-of-duties.md).
        detail=f"practice set up; first administrator {user.email} with roles "
        f"{_roles_of(membership)}",
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
    """Create an invitation; the raw token is only in the email, the database holds its hash.

    With two or more administrators an invitation that gives any role (clinical or the
    administrator role) is a request:
    nothing is emailed (and the token returned is empty) until another administrator
    approves it, which sends it with a fresh token (docs/adr/0015-separation-of-duties.md).
    """
    _acting_admin(actor, practice.pk)
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
    waits = (is_admin or is_supervisor or is_clinician) and grants_need_second_admin(practice.pk)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=invitation,
        practice_id=practice.pk,
        request=request,
        detail=f"invitation {'waiting for approval' if waits else 'sent'} to {email}; "
        f"roles {roles}",
    )
    if waits:
        _grant_open(
            actor=actor,
            practice_id=practice.pk,
            kind=RoleGrant.Kind.INVITATION,
            invitation=invitation,
            request=request,
        )
        return invitation, ""
    _invitation_email(invitation=invitation, token=token)
    return invitation, token


def _invitation_release(invitation: Invitation) -> None:
    """Send an approved invitation with a new token (the first one was never sent) and a
    full validity period from now."""
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise ValidationError(_("This invitation was withdrawn; refuse the request instead."))
    token = secrets.token_urlsafe(32)
    invitation.token_hash = token_hash(token)
    invitation.expires_at = timezone.now() + dt.timedelta(days=settings.OPENIPT_INVITATION_DAYS)
    invitation.full_clean()
    invitation.save(update_fields=["token_hash", "expires_at", "updated_at"])
    _invitation_email(invitation=invitation, token=token)


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
    outbox.queue_email(
        kind="staff_invitation", subject=subject, body=body, recipients=[invitation.email],
        practice_id=invitation.practice_id,
    )  # fmt: skip


@transaction.atomic
def invitation_revoke(
    *, actor: User, invitation: Invitation, request: HttpRequest | None = None
) -> None:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    _acting_admin(actor, invitation.practice_id)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        return
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at", "updated_at"])
    for grant in RoleGrant.objects.select_for_update().filter(invitation=invitation, decision=""):
        _grant_close(
            actor=actor,
            grant=grant,
            decision=RoleGrant.Decision.REFUSED,
            reason=str(_("The invitation was withdrawn.")),
        )
        _grant_record(actor=actor, grant=grant, verb="withdrawn", request=request)
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
    if invitation.grants.exclude(decision=RoleGrant.Decision.APPROVED).exists():
        # Waiting for, or refused by, a second administrator (never sent, in fact).
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


# Separation of duties (docs/adr/0015-separation-of-duties.md, docs/quality.md S16): nobody
# changes their own roles or supervision; with two or more administrators a clinical role,
# a new supervision, giving or removing the admin role and deactivating an administrator
# are requests that a second administrator approves; other removals take effect at once.

CLINICAL_ROLES = (
    ("is_clinician", RoleGrant.Kind.CLINICIAN),
    ("is_supervisor", RoleGrant.Kind.SUPERVISOR),
)
# Every role whose grant waits for a second administrator.
ROLE_GRANTS = (*CLINICAL_ROLES, ("is_admin", RoleGrant.Kind.ADMIN))
_OWN_ROLES = _lazy("You cannot change your own roles. Another administrator must do it.")
_OWN_SUPERVISION = _lazy("You cannot change who supervises you. Another administrator must do it.")
_SELF_AS_SUPERVISOR = _lazy(
    "You cannot make yourself someone's supervisor or end your own supervision. "
    "Another administrator must do it."
)


@dataclass(frozen=True)
class StaffUpdate:
    """What ``staff_update`` did: the membership as it now is, and what waits for a second
    administrator."""

    membership: Membership
    pending: tuple[RoleGrant, ...]


@dataclass(frozen=True)
class _StaffPlan:
    """A staff member's roles and supervisors as the edit page shows them (held, or
    waiting for approval) against what the administrator asked for."""

    shown: dict[str, bool]
    waiting_roles: dict[str, RoleGrant]
    current_supervisors: frozenset[int]
    waiting_supervisors: dict[int, RoleGrant]
    wanted_supervisors: frozenset[int]

    @property
    def added(self) -> frozenset[int]:
        return self.wanted_supervisors - self.current_supervisors - self.waiting_supervisors.keys()

    @property
    def ended(self) -> frozenset[int]:
        return self.current_supervisors - self.wanted_supervisors

    @property
    def withdrawn(self) -> frozenset[int]:
        return frozenset(self.waiting_supervisors.keys() - self.wanted_supervisors)

    @property
    def supervisors_changed(self) -> bool:
        shown = self.current_supervisors | self.waiting_supervisors.keys()
        return self.wanted_supervisors != shown


def _acting_admin(actor: User, practice_id: int) -> Membership:
    """The actor's active administrator membership in this practice, read afresh rather
    than from the per-request cache; anyone else is refused."""
    membership = Membership.objects.filter(user_id=actor.pk, is_active=True).first()
    if membership is None or not can_manage_practice(membership):
        raise PermissionDenied
    if membership.practice_id != practice_id:
        raise PermissionDenied
    return membership


def _staff_plan(membership: Membership, wanted_supervisors: set[int]) -> _StaffPlan:
    pending = RoleGrant.objects.filter(membership=membership, decision="")
    by_kind = {grant.kind: grant for grant in pending}
    waiting_roles = {field: by_kind[kind] for field, kind in ROLE_GRANTS if kind in by_kind}
    shown = {
        field: getattr(membership, field) or field in waiting_roles
        for field in ("is_admin", "is_supervisor", "is_clinician")
    }
    if RoleGrant.Kind.ADMIN_REMOVAL in by_kind:
        # Its removal is waiting: shown as removed, so saving the page again keeps it.
        waiting_roles["admin_removal"] = by_kind[RoleGrant.Kind.ADMIN_REMOVAL]
        shown["is_admin"] = False
    current = Supervision.objects.filter(supervisee=membership, is_active=True)
    return _StaffPlan(
        shown=shown,
        waiting_roles=waiting_roles,
        current_supervisors=frozenset(current.values_list("supervisor_id", flat=True)),
        waiting_supervisors={
            grant.supervisor_id: grant
            for grant in pending
            if grant.kind == RoleGrant.Kind.SUPERVISION and grant.supervisor_id is not None
        },
        wanted_supervisors=frozenset(wanted_supervisors),
    )


def _staff_update_check(
    *, admin: Membership, membership: Membership, wanted: dict[str, bool], plan: _StaffPlan
) -> None:
    """Every reason to refuse the change, each next to the field it concerns."""
    if not any(wanted.values()):
        raise ValidationError(_("Choose at least one role."))
    errors: dict[str, list[str]] = {}
    if membership.is_admin and not wanted["is_admin"] and not _other_active_admins(membership):
        errors["is_admin"] = [_("The practice needs at least one administrator.")]
    if membership.pk == admin.pk:
        for field, value in wanted.items():
            if value != plan.shown[field]:
                errors.setdefault(field, []).append(str(_OWN_ROLES))
        if plan.supervisors_changed:
            errors.setdefault("supervisors", []).append(str(_OWN_SUPERVISION))
    elif admin.pk in plan.added | plan.ended | plan.withdrawn:
        errors.setdefault("supervisors", []).append(str(_SELF_AS_SUPERVISOR))
    for supervisor in Membership.objects.filter(pk__in=plan.added):
        if (
            supervisor.practice_id != membership.practice_id
            or not supervisor.is_supervisor
            or not supervisor.is_active
            or supervisor.pk == membership.pk
        ):
            errors.setdefault("supervisors", []).append(_("Choose supervisors from this practice."))
            break
    if errors:
        raise ValidationError(errors)


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
) -> StaffUpdate:
    """Set a staff member's roles and who supervises them.

    Removing a clinical role or a supervision takes effect at once. Any role, a new
    supervision and removing the admin role do too in a practice with one administrator;
    with more, each becomes a ``RoleGrant`` waiting for another administrator (for the
    admin role's removal, one who is neither the requester nor the person concerned).
    Nobody changes their own.
    """
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    admin = _acting_admin(actor, membership.practice_id)
    wanted = {"is_admin": is_admin, "is_supervisor": is_supervisor, "is_clinician": is_clinician}
    plan = _staff_plan(membership, {s.pk for s in supervisors})
    _staff_update_check(admin=admin, membership=membership, wanted=wanted, plan=plan)
    second = grants_need_second_admin(membership.practice_id)
    before = _roles_of(membership)
    pending: list[RoleGrant] = []
    removal = _admin_removal_plan(
        actor=actor,
        membership=membership,
        wanted=is_admin,
        plan=plan,
        second=second,
        request=request,
    )
    if removal is not None:
        pending.append(removal)
    for field, kind in ROLE_GRANTS:
        if field == "is_admin" and (membership.is_admin or "admin_removal" in plan.waiting_roles):
            continue  # held: handled by _admin_removal_plan
        held, waiting = getattr(membership, field), plan.waiting_roles.get(field)
        if wanted[field] and not held and waiting is None and second:
            grant = _grant_open(
                actor=actor,
                practice_id=membership.practice_id,
                kind=kind,
                membership=membership,
                request=request,
            )
            pending.append(grant)
        elif wanted[field] and not held and waiting is None:
            setattr(membership, field, True)
        elif not wanted[field]:
            setattr(membership, field, False)
            if waiting is not None:
                _grant_withdraw(actor=actor, grant=waiting, request=request)
    membership.full_clean()
    membership.save()
    for supervisor_pk in plan.withdrawn:
        _grant_withdraw(actor=actor, grant=plan.waiting_supervisors[supervisor_pk], request=request)
    ended = Supervision.objects.filter(
        supervisee=membership, supervisor_id__in=plan.ended, is_active=True
    )
    ended.update(is_active=False, updated_at=timezone.now())
    for supervisor_pk in plan.added:
        if second:
            grant = _grant_open(
                actor=actor,
                practice_id=membership.practice_id,
                kind=RoleGrant.Kind.SUPERVISION,
                membership=membership,
                supervisor_id=supervisor_pk,
                request=request,
            )
            pending.append(grant)
        else:
            _supervision_start(supervisee=membership, supervisor_id=supervisor_pk)
    started = set() if second else set(plan.added)
    _staff_update_record(
        actor=actor,
        membership=membership,
        before=before,
        started=started,
        ended=set(plan.ended),
        request=request,
    )
    return StaffUpdate(membership=membership, pending=tuple(pending))


def _admin_removal_plan(
    *,
    actor: User,
    membership: Membership,
    wanted: bool,
    plan: _StaffPlan,
    second: bool,
    request: HttpRequest | None,
) -> RoleGrant | None:
    """Removing someone's admin role: at once with one administrator (there is then no other
    administrator to remove, but an inactive one may be), a request with more. Ticking the
    role again withdraws a waiting removal. Returns the request opened, if any."""
    if not membership.is_admin:
        return None
    waiting = plan.waiting_roles.get("admin_removal")
    if wanted:
        if waiting is not None:
            _grant_withdraw(actor=actor, grant=waiting, request=request)
        return None
    if waiting is not None:
        return None
    if not second or not membership.is_active:
        # An inactive administrator counts for nothing: removing the role reduces nothing.
        membership.is_admin = False
        return None
    return _grant_open(
        actor=actor,
        practice_id=membership.practice_id,
        kind=RoleGrant.Kind.ADMIN_REMOVAL,
        membership=membership,
        request=request,
    )


def _roles_of(membership: Membership) -> str:
    return _roles(
        is_admin=membership.is_admin,
        is_supervisor=membership.is_supervisor,
        is_clinician=membership.is_clinician,
    )


def _emails(membership_pks: Iterable[int]) -> str:
    users = Membership.objects.filter(pk__in=list(membership_pks)).select_related("user")
    return ", ".join(sorted(m.user.email for m in users))


def _staff_update_record(
    *,
    actor: User,
    membership: Membership,
    before: str,
    started: set[int],
    ended: set[int],
    request: HttpRequest | None,
) -> None:
    """One audit event for what took effect now (requests have their own events)."""
    after = _roles_of(membership)
    if before == after and not started and not ended:
        return
    parts = [f"roles of {membership.user.email}: {before} -> {after}"]
    if started:
        parts.append(f"supervision started by {_emails(started)}")
    if ended:
        parts.append(f"supervision ended by {_emails(ended)}")
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=membership,
        practice_id=membership.practice_id,
        request=request,
        detail="; ".join(parts),
    )


def _supervision_start(*, supervisee: Membership, supervisor_id: int) -> Supervision:
    row = Supervision.objects.filter(supervisee=supervisee, supervisor_id=supervisor_id).first()
    if row is None:
        row = Supervision(
            practice_id=supervisee.practice_id, supervisor_id=supervisor_id, supervisee=supervisee
        )
    row.is_active = True
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def supervision_training_set(
    *,
    actor: User,
    supervision: Supervision,
    is_training: bool,
    request: HttpRequest | None = None,
) -> Supervision:
    """Mark the supervisee as in training under this supervisor, or no longer: while in
    training, their signed session notes wait for this supervisor's co-signature
    (docs/adr/0018-trainee-co-signature.md). It takes effect at once: it gives nobody access
    to anything (the supervisor already reads the supervisee's records) and only holds notes
    back, so it needs no second administrator; the audit log and the weekly summary carry it.
    Nobody changes it for a supervision of their own."""
    row = (
        Supervision.objects.select_for_update()
        .select_related("supervisor__user", "supervisee__user")
        .get(pk=supervision.pk)
    )
    admin = _acting_admin(actor, row.practice_id)
    if not can_change_training(admin, row):
        raise ValidationError(
            _(
                "You cannot change training in a supervision of your own. "
                "Another administrator must do it."
            )
        )
    if not row.is_active:
        raise ValidationError(_("This supervision has ended."))
    if row.is_training == is_training:
        return row
    others = Supervision.objects.filter(supervisee_id=row.supervisee_id, is_active=True)
    if is_training and others.filter(is_training=True).exclude(pk=row.pk).exists():
        raise ValidationError(
            _(
                "%(name)s is already in training under another supervisor. End that training "
                "first: one supervisor co-signs a trainee's notes."
            )
            % {"name": row.supervisee.user.get_full_name()}
        )
    row.is_training = is_training
    row.full_clean()
    row.save()
    state = "started" if is_training else "ended"
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=row.supervisee,
        practice_id=row.practice_id,
        request=request,
        detail=(
            f"training of {row.supervisee.user.email} under {row.supervisor.user.email}: {state}"
        ),
    )
    return row


def _email_of(membership: Membership | None) -> str:
    return membership.user.email if membership is not None else "?"


def grant_label(grant: RoleGrant) -> str:
    """What the request gives to whom, for the audit log and the weekly summary: names
    roles and email addresses, never anything clinical."""
    if grant.kind == RoleGrant.Kind.SUPERVISION:
        return f"supervision of {_email_of(grant.membership)} by {_email_of(grant.supervisor)}"
    inv = grant.invitation
    if inv is not None:
        roles = _roles(
            is_admin=inv.is_admin, is_supervisor=inv.is_supervisor, is_clinician=inv.is_clinician
        )
        return f"invitation of {inv.email} with roles {roles}"
    if grant.kind == RoleGrant.Kind.ADMIN_REMOVAL:
        return f"removal of admin role from {_email_of(grant.membership)}"
    if grant.kind == RoleGrant.Kind.DEACTIVATION:
        return f"deactivation of administrator {_email_of(grant.membership)}"
    return f"{grant.kind} role for {_email_of(grant.membership)}"


def _grant_open(
    *,
    actor: User,
    practice_id: int,
    kind: str,
    membership: Membership | None = None,
    supervisor_id: int | None = None,
    invitation: Invitation | None = None,
    request: HttpRequest | None = None,
) -> RoleGrant:
    grant = RoleGrant(
        practice_id=practice_id,
        kind=kind,
        membership=membership,
        supervisor_id=supervisor_id,
        invitation=invitation,
        requested_by=actor,
    )
    grant.full_clean()
    grant.save()
    _grant_record(actor=actor, grant=grant, verb="requested", request=request)
    return grant


def _grant_record(*, actor: User, grant: RoleGrant, verb: str, request: HttpRequest | None) -> None:
    grant = RoleGrant.objects.select_related(
        "membership__user", "supervisor__user", "invitation"
    ).get(pk=grant.pk)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=grant,
        practice_id=grant.practice_id,
        request=request,
        detail=f"{verb}: {grant_label(grant)}",
    )


def _grant_close(*, actor: User, grant: RoleGrant, decision: str, reason: str = "") -> None:
    grant.decision = decision
    grant.decided_by = actor
    grant.decided_at = timezone.now()
    grant.reason = reason
    grant.full_clean()
    grant.save()


def _grant_withdraw(*, actor: User, grant: RoleGrant, request: HttpRequest | None) -> None:
    _grant_close(
        actor=actor,
        grant=grant,
        decision=RoleGrant.Decision.REFUSED,
        reason=str(_("Withdrawn when the roles were changed again.")),
    )
    _grant_record(actor=actor, grant=grant, verb="withdrawn", request=request)


@transaction.atomic
def role_grant_approve(
    *, actor: User, grant: RoleGrant, request: HttpRequest | None = None
) -> RoleGrant:
    """A second administrator approves: only now does the change take effect. The requester
    and anyone the request concerns cannot approve it, and a request whose requester is no
    longer an active administrator of the practice cannot be approved (only refused)."""
    grant = RoleGrant.objects.select_for_update().get(pk=grant.pk)
    admin = _acting_admin(actor, grant.practice_id)
    if not grant.is_pending:
        raise ValidationError(_("This request has already been decided."))
    if not _is_active_admin(grant.requested_by_id, grant.practice_id):
        raise ValidationError(
            _(
                "The administrator who asked for this change no longer is one; "
                "refuse the request instead."
            )
        )
    if not can_decide_grant(admin, grant, approve=True):
        if grant.requested_by_id == actor.pk:
            raise ValidationError(
                _("You asked for this change, so another administrator must approve it.")
            )
        raise ValidationError(
            _("This change concerns you, so another administrator must approve it.")
        )
    _grant_apply(grant)
    _grant_close(actor=actor, grant=grant, decision=RoleGrant.Decision.APPROVED)
    _grant_record(actor=actor, grant=grant, verb="approved", request=request)
    return grant


def _is_active_admin(user_id: int, practice_id: int) -> bool:
    return Membership.objects.filter(
        user_id=user_id,
        user__is_active=True,
        practice_id=practice_id,
        kind=Membership.Kind.STAFF,
        is_admin=True,
        is_active=True,
    ).exists()


def _grant_apply(grant: RoleGrant) -> None:
    """Make the approved change, if it still can be made."""
    if grant.kind == RoleGrant.Kind.INVITATION:
        _invitation_release(Invitation.objects.select_for_update().get(grants=grant))
        return
    member = Membership.objects.select_for_update().get(grants=grant)
    if not member.is_active or member.kind != Membership.Kind.STAFF:
        raise ValidationError(_("This person no longer works here; refuse the request instead."))
    if grant.kind == RoleGrant.Kind.SUPERVISION:
        supervisor = Membership.objects.get(pk=grant.supervisor_id or 0)
        if not (supervisor.is_active and supervisor.is_supervisor):
            raise ValidationError(
                _("The supervisor no longer holds the supervisor role; refuse the request.")
            )
        _supervision_start(supervisee=member, supervisor_id=supervisor.pk)
        return
    if grant.kind in (RoleGrant.Kind.ADMIN_REMOVAL, RoleGrant.Kind.DEACTIVATION):
        if member.is_admin and not _other_active_admins(member):
            raise ValidationError(_("The practice needs at least one administrator."))
        if grant.kind == RoleGrant.Kind.DEACTIVATION:
            _membership_deactivate(member)
            return
        member.is_admin = False
        member.full_clean()
        member.save()
        return
    field = {str(kind): field for field, kind in ROLE_GRANTS}[grant.kind]
    setattr(member, field, True)
    member.full_clean()
    member.save()


@transaction.atomic
def role_grant_refuse(
    *, actor: User, grant: RoleGrant, reason: str = "", request: HttpRequest | None = None
) -> RoleGrant:
    """Any administrator may refuse (the requester: withdraw); nothing changes, and a
    refused invitation can never be accepted."""
    grant = RoleGrant.objects.select_for_update().get(pk=grant.pk)
    admin = _acting_admin(actor, grant.practice_id)
    if not grant.is_pending:
        raise ValidationError(_("This request has already been decided."))
    if not can_decide_grant(admin, grant, approve=False):
        raise PermissionDenied
    _grant_close(actor=actor, grant=grant, decision=RoleGrant.Decision.REFUSED, reason=reason)
    if grant.invitation_id is not None:
        Invitation.objects.filter(pk=grant.invitation_id, revoked_at=None).update(
            revoked_at=timezone.now(), updated_at=timezone.now()
        )
    verb = "withdrawn" if grant.requested_by_id == actor.pk else "refused"
    # The reason stays in the grant table: it is free text, kept out of the audit log.
    _grant_record(actor=actor, grant=grant, verb=verb, request=request)
    return grant


@transaction.atomic
def staff_deactivate(
    *, actor: User, membership: Membership, request: HttpRequest | None = None
) -> Membership:
    """Access ends at once (the account can no longer sign in); records stay.

    Deactivating an administrator while the practice has two or more active ones is a
    request (``RoleGrant`` of kind ``deactivation``) that an administrator who is neither
    the requester nor the person concerned approves; the membership is returned still
    active (docs/adr/0015-separation-of-duties.md)."""
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    admin = _acting_admin(actor, membership.practice_id)
    if membership.user_id == actor.pk:
        raise ValidationError(_("You cannot deactivate your own account."))
    if membership.is_admin and not _other_active_admins(membership):
        raise ValidationError(_("The practice needs at least one administrator."))
    if not membership.is_active:
        return membership
    if membership.is_admin and grants_need_second_admin(admin.practice_id):
        waiting = RoleGrant.objects.filter(
            membership=membership, kind=RoleGrant.Kind.DEACTIVATION, decision=""
        )
        if not waiting.exists():
            _grant_open(
                actor=actor,
                practice_id=membership.practice_id,
                kind=RoleGrant.Kind.DEACTIVATION,
                membership=membership,
                request=request,
            )
        return membership
    _membership_deactivate(membership)
    user = membership.user
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=membership,
        practice_id=membership.practice_id,
        request=request,
        detail=f"staff member {user.email} deactivated",
    )
    return membership


def _membership_deactivate(membership: Membership) -> None:
    membership.is_active = False
    membership.deactivated_at = timezone.now()
    membership.save(update_fields=["is_active", "deactivated_at", "updated_at"])
    User.objects.filter(pk=membership.user_id).update(is_active=False)


# The weekly summary of staff-access changes (docs/adr/0015-separation-of-duties.md): the
# check that remains when a practice has one administrator, and a second look when it has
# more. The periodic task runs every minute; a StaffChangeSummary row per practice and ISO
# week makes it send at most once.


@dataclass(frozen=True)
class StaffChangeLine:
    """One line of the summary: when, who, what (roles and email addresses only)."""

    when: str
    who: str
    what: str


def _practice_zone(practice: Practice) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(practice.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def last_complete_week(
    now: dt.datetime, zone: dt.tzinfo
) -> tuple[int, int, dt.datetime, dt.datetime]:
    """The ISO week before the one ``now`` falls in, Monday 00:00 to Monday 00:00 in the
    practice's time zone: (ISO year, ISO week, start, end)."""
    this_monday = now.astimezone(zone).date() - dt.timedelta(days=now.astimezone(zone).weekday())
    monday = this_monday - dt.timedelta(days=7)
    year, week, _day = monday.isocalendar()
    start = dt.datetime.combine(monday, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(this_monday, dt.time.min, tzinfo=zone)
    return year, week, start, end


def staff_summaries_send_due(*, now: dt.datetime | None = None) -> int:
    """Send each practice's summary of last week's staff-access changes, if not yet done.
    Returns how many practices were emailed."""
    now = now or timezone.now()
    sent = 0
    for practice in Practice.objects.order_by("pk"):
        year, week, start, end = last_complete_week(now, _practice_zone(practice))
        done = StaffChangeSummary.objects.filter(practice=practice, iso_year=year, iso_week=week)
        if not done.exists() and staff_summary_send(
            practice=practice, iso_year=year, iso_week=week, start=start, end=end
        ):
            sent += 1
    return sent


@transaction.atomic
def staff_summary_send(
    *, practice: Practice, iso_year: int, iso_week: int, start: dt.datetime, end: dt.datetime
) -> bool:
    """Record the week as done and email every active administrator its changes (none:
    recorded, no email). ``False`` when another run got there first or there was nothing."""
    try:
        with transaction.atomic():
            row = StaffChangeSummary.objects.create(
                practice=practice, iso_year=iso_year, iso_week=iso_week
            )
    except IntegrityError:
        return False
    zone = _practice_zone(practice)
    lines = [
        StaffChangeLine(
            when=f"{event.occurred_at.astimezone(zone):%a %d %b %H:%M}",
            who=event.actor_email or "OpenIPT",
            what=event.detail,
        )
        for event in selectors.staff_changes(practice.pk, since=start, until=end).order_by(
            "occurred_at", "id"
        )
    ]
    admins = list(
        User.objects.filter(
            memberships__practice=practice,
            memberships__kind=Membership.Kind.STAFF,
            memberships__is_admin=True,
            memberships__is_active=True,
            is_active=True,
        ).order_by("email")
    )
    row.changes, row.recipients = len(lines), len(admins) if lines else 0
    row.save(update_fields=["changes", "recipients", "updated_at"])
    audit.record(
        actor=None,
        action=AuditEvent.Action.ADMIN,
        obj=row,
        practice_id=practice.pk,
        detail=f"weekly staff-access summary {iso_year}-W{iso_week:02d}: {len(lines)} "
        f"change(s), emailed to {row.recipients} administrator(s)",
    )
    if not lines:
        return False
    context = {
        "practice": practice,
        "week": f"{iso_year}-W{iso_week:02d}",
        "start": start.date(),
        "end": (end - dt.timedelta(days=1)).date(),
        "lines": lines,
        "link": settings.OPENIPT_BASE_URL.rstrip("/") + reverse("accounts:grant-list"),
    }
    for admin in admins:  # one email each: administrators do not see each other's address
        with languages.speaking(admin.language):  # and each in their own language
            subject = render_to_string("accounts/email/staff_summary_subject.txt", context).strip()
            body = render_to_string("accounts/email/staff_summary_body.txt", context)
        outbox.queue_email(
            kind="staff_summary", subject=subject, body=body, recipients=[admin.email],
            practice_id=practice.pk,
        )  # fmt: skip
    return True


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


@transaction.atomic
def outbox_send_again(*, actor: User, uuid: str, request: HttpRequest | None = None) -> OutboxEmail:
    """An administrator puts an undeliverable email of their practice back in the queue."""
    row = OutboxEmail.objects.select_for_update().filter(uuid=parse_uuid(uuid)).first()
    if row is None or row.practice_id is None:
        raise PermissionDenied
    _acting_admin(actor, row.practice_id)
    if row.dead_at is None:
        raise ValidationError(_("This email is still being tried; nothing to do."))
    outbox.send_again(row)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        object_type="core.outboxemail",
        object_id=str(row.uuid),
        practice_id=row.practice_id,
        request=request,
        detail=f"{row.kind} email queued again after {row.attempts} failed attempts",
    )
    return row


# --- Language (docs/translation.md) ---------------------------------------------------------


def user_language_set(*, actor: User, language: str, request: HttpRequest | None = None) -> User:
    """A staff member's own choice of interface language ("" follows the browser)."""
    if language and language not in languages.codes():
        raise ValidationError({"language": _("Choose one of the languages offered.")})
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=actor.pk)
        if user.language == language:
            return user
        user.language = language
        user.save(update_fields=["language"])
        audit.record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            obj=user,
            request=request,
            detail=f"interface language: {language or 'browser'}",
        )
    return user
