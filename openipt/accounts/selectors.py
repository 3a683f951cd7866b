"""Reads in accounts, each behind a permission check that raises ``Http404``."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib

from allauth.mfa.models import Authenticator
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from openipt.accounts.models import (
    Invitation,
    Membership,
    RoleGrant,
    Supervision,
    User,
    token_hash,
)
from openipt.accounts.policy import can_manage_practice, staff_membership
from openipt.audit.models import AuditEvent
from openipt.core.http import parse_uuid
from openipt.core.models import OutboxEmail


def access_practice_admin(user: User) -> Membership:
    """The user's membership if they administer a practice; otherwise 404."""
    membership = staff_membership(user)
    if not can_manage_practice(membership):
        raise Http404
    assert membership is not None  # noqa: S101  (narrowing for the type checker)
    return membership


def access_staff_member(admin: Membership, uuid: str | uuid_lib.UUID) -> Membership:
    """A staff membership in the admin's own practice; other practices' staff are 404."""
    membership = (
        Membership.objects.select_related("user")
        .filter(practice_id=admin.practice_id, kind=Membership.Kind.STAFF, uuid=parse_uuid(uuid))
        .first()
    )
    if membership is None:
        raise Http404
    return membership


def access_invitation(admin: Membership, uuid: str | uuid_lib.UUID) -> Invitation:
    invitation = Invitation.objects.filter(
        practice_id=admin.practice_id, uuid=parse_uuid(uuid)
    ).first()
    if invitation is None:
        raise Http404
    return invitation


def staff_list(admin: Membership) -> QuerySet[Membership]:
    """The practice's staff with MFA status and supervisors, in a fixed number of queries."""
    totp = Authenticator.objects.filter(user_id=OuterRef("user_id"), type=Authenticator.Type.TOTP)
    supervisors = Supervision.objects.filter(is_active=True).select_related("supervisor__user")
    return (
        Membership.objects.filter(practice_id=admin.practice_id, kind=Membership.Kind.STAFF)
        .select_related("user")
        .annotate(mfa_enrolled=Exists(totp))
        .prefetch_related(
            Prefetch("supervisions_received", queryset=supervisors, to_attr="active_supervisions")
        )
        .order_by("-is_active", "user__full_name", "user__email")
    )


def pending_invitations(admin: Membership) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        practice_id=admin.practice_id,
        accepted_at=None,
        revoked_at=None,
        expires_at__gt=timezone.now(),
    ).order_by("email")


def supervisor_choices(membership: Membership) -> QuerySet[Membership]:
    """Who may supervise this staff member: active supervisors of the practice but them."""
    return (
        Membership.objects.filter(
            practice_id=membership.practice_id,
            kind=Membership.Kind.STAFF,
            is_supervisor=True,
            is_active=True,
        )
        .exclude(pk=membership.pk)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def current_supervisors(membership: Membership) -> QuerySet[Membership]:
    return Membership.objects.filter(
        supervisions_given__supervisee=membership, supervisions_given__is_active=True
    )


def invitation_by_token(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("practice").filter(token_hash=token_hash(token)).first()
    )


# Separation of duties: requests waiting for a second administrator, and the audit log's
# record of every change to staff access (docs/adr/0015-separation-of-duties.md).

# The audit events that change who may do what: roles, supervision, invitations, grants,
# joining and leaving, and first-run setup (the first administrator's own roles).
STAFF_ACCESS_OBJECTS = (
    "accounts.membership",
    "accounts.rolegrant",
    "accounts.invitation",
    "accounts.practice",
)


def staff_changes(
    practice_id: int, *, since: dt.datetime, until: dt.datetime | None = None
) -> QuerySet[AuditEvent]:
    """Every change to staff access in the practice, newest first, from the audit log (the
    hash-chained record, rather than tables an administrator could edit)."""
    events = AuditEvent.objects.filter(
        practice_id=practice_id,
        action=AuditEvent.Action.ADMIN,
        object_type__in=STAFF_ACCESS_OBJECTS,
        occurred_at__gte=since,
    )
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    return events.order_by("-occurred_at", "-id")


def _grants(admin: Membership) -> QuerySet[RoleGrant]:
    return RoleGrant.objects.filter(practice_id=admin.practice_id).select_related(
        "membership__user", "supervisor__user", "invitation", "requested_by", "decided_by"
    )


def pending_grants(admin: Membership) -> QuerySet[RoleGrant]:
    return _grants(admin).filter(decision="").order_by("requested_at", "id")


def recent_grant_decisions(admin: Membership, *, since: dt.datetime) -> QuerySet[RoleGrant]:
    return _grants(admin).exclude(decision="").filter(decided_at__gte=since).order_by("-decided_at")


def access_grant(admin: Membership, uuid: str | uuid_lib.UUID) -> RoleGrant:
    grant = _grants(admin).filter(uuid=parse_uuid(uuid)).first()
    if grant is None:
        raise Http404
    return grant


def pending_roles_of(membership: Membership) -> set[str]:
    """The roles given or removed (``RoleGrant.Kind`` values) waiting for approval for this
    person."""
    kinds = RoleGrant.objects.filter(
        membership=membership,
        decision="",
        kind__in=[
            RoleGrant.Kind.CLINICIAN,
            RoleGrant.Kind.SUPERVISOR,
            RoleGrant.Kind.ADMIN,
            RoleGrant.Kind.ADMIN_REMOVAL,
        ],
    ).values_list("kind", flat=True)
    return set(kinds)


def pending_supervisors_of(membership: Membership) -> QuerySet[Membership]:
    return Membership.objects.filter(
        pk__in=RoleGrant.objects.filter(
            membership=membership, decision="", kind=RoleGrant.Kind.SUPERVISION
        ).values("supervisor_id")
    )


def admin_count(admin: Membership) -> int:
    return Membership.objects.filter(
        practice_id=admin.practice_id, kind=Membership.Kind.STAFF, is_admin=True, is_active=True
    ).count()


# The email outbox (openipt/core/outbox.py): what an administrator sees of it. ---------------


def mask_address(address: str) -> str:
    """Enough to recognise an address, not enough to read a client's email off a screen."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}…{at}{domain}" if at else "…"


def outbox_troubles(admin: Membership) -> list[OutboxEmail]:
    """The practice's emails that could not be sent yet (retrying) or at all (parked),
    newest first."""
    return list(
        OutboxEmail.objects.filter(
            practice_id=admin.practice_id, sent_at__isnull=True, attempts__gt=0
        )
        .filter(Q(dead_at__isnull=False) | Q(claimed_at__isnull=True))
        .order_by("-created_at")[:200]
    )


def access_outbox_email(admin: Membership, uuid: str | uuid_lib.UUID) -> OutboxEmail:
    """One email of the admin's own practice; any other is 404."""
    row = OutboxEmail.objects.filter(practice_id=admin.practice_id, uuid=parse_uuid(uuid)).first()
    if row is None:
        raise Http404
    return row


def outbox_trouble_count(admin: Membership) -> int:
    return OutboxEmail.objects.filter(
        practice_id=admin.practice_id, sent_at__isnull=True, dead_at__isnull=False
    ).count()


def supervisions_of(membership: Membership) -> QuerySet[Supervision]:
    """The member's active supervisions as supervisee, with their supervisors' names (the
    staff page marks each as training or not)."""
    return (
        Supervision.objects.filter(supervisee=membership, is_active=True)
        .select_related("supervisor__user")
        .order_by("supervisor__user__full_name", "pk")
    )


def access_supervision(
    admin: Membership, membership: Membership, uuid: str | uuid_lib.UUID
) -> Supervision:
    """One active supervision of ``membership`` (a member of the admin's practice); 404
    otherwise."""
    found = (
        supervisions_of(membership)
        .filter(practice_id=admin.practice_id, uuid=parse_uuid(uuid))
        .select_related("supervisee__user")
        .first()
    )
    if found is None:
        raise Http404
    return found
