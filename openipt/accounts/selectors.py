"""Reads in accounts, each behind a permission check that raises ``Http404``."""

from __future__ import annotations

import uuid as uuid_lib

from allauth.mfa.models import Authenticator
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from openipt.accounts.models import Invitation, Membership, Supervision, User
from openipt.accounts.policy import can_manage_practice, staff_membership
from openipt.accounts.services import token_hash


def access_practice_admin(user: User) -> Membership:
    """The user's membership if they administer a practice; otherwise 404."""
    membership = staff_membership(user)
    if not can_manage_practice(membership):
        raise Http404
    assert membership is not None  # noqa: S101  (narrowing for the type checker)
    return membership


def _parse_uuid(value: str | uuid_lib.UUID) -> uuid_lib.UUID:
    try:
        return value if isinstance(value, uuid_lib.UUID) else uuid_lib.UUID(str(value))
    except ValueError as exc:
        raise Http404 from exc


def access_staff_member(admin: Membership, uuid: str | uuid_lib.UUID) -> Membership:
    """A staff membership in the admin's own practice; other practices' staff are 404."""
    membership = (
        Membership.objects.select_related("user")
        .filter(practice_id=admin.practice_id, kind=Membership.Kind.STAFF, uuid=_parse_uuid(uuid))
        .first()
    )
    if membership is None:
        raise Http404
    return membership


def access_invitation(admin: Membership, uuid: str | uuid_lib.UUID) -> Invitation:
    invitation = Invitation.objects.filter(
        practice_id=admin.practice_id, uuid=_parse_uuid(uuid)
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
