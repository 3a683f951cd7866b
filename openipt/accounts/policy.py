"""Who may do what: the one place where authorisation is decided.

Deny by default. Views never decide access themselves; they call the ``access_*``
selectors, which call these functions and raise ``Http404`` when the answer is no (a
person without access cannot even learn that a record exists).

Rules:
- Clinical access to a client comes only from an active place on the client's care team
  (read and write), or from supervising an active care-team member (read only).
- The admin role manages the practice, its staff and the audit log; it gives no clinical
  access by itself.
- Nothing crosses practices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.db.models import Exists, OuterRef, Q

from openipt.accounts.models import Membership, Supervision

if TYPE_CHECKING:
    from openipt.accounts.models import User
    from openipt.clients.models import Client


def active_membership(user: User | None) -> Membership | None:
    """The user's active membership, cached on the user object for the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, "_openipt_membership", False)
    if cached is not False:
        return cast("Membership | None", cached)
    membership = (
        Membership.objects.select_related("practice").filter(user=user, is_active=True).first()
    )
    user._openipt_membership = membership  # type: ignore[attr-defined]
    return membership


def staff_membership(user: User | None) -> Membership | None:
    membership = active_membership(user)
    if membership is None or membership.kind != Membership.Kind.STAFF:
        return None
    return membership


def can_manage_practice(membership: Membership | None) -> bool:
    return membership is not None and membership.is_staff_member and membership.is_admin


def can_create_client(membership: Membership | None) -> bool:
    return (
        membership is not None
        and membership.is_staff_member
        and (membership.is_clinician or membership.is_admin)
    )


def can_be_on_care_team(membership: Membership | None) -> bool:
    return (
        membership is not None
        and membership.is_active
        and membership.is_staff_member
        and (membership.is_clinician or membership.is_supervisor or membership.is_admin)
    )


def _care_team_q(membership: Membership) -> Q:
    from openipt.clients.models import CareTeamMember

    # ``pk IN (care-team subquery)`` lets the database start from the clinician's own
    # care-team rows instead of testing every client of the practice (bench/README.md).
    return Q(
        pk__in=CareTeamMember.objects.filter(member=membership, is_active=True).values("client_id")
    )


def _supervised_q(membership: Membership) -> Q:
    from openipt.clients.models import CareTeamMember

    supervisees = Supervision.objects.filter(
        supervisor=membership, is_active=True, supervisee__is_active=True
    ).values("supervisee_id")
    return Q(
        pk__in=CareTeamMember.objects.filter(member_id__in=supervisees, is_active=True).values(
            "client_id"
        )
    )


def client_access_q(membership: Membership | None, *, write: bool = False) -> Q:
    """A filter on ``Client`` matching exactly the clients this membership may reach."""
    if membership is None or not membership.is_active or not membership.is_staff_member:
        return Q(pk__in=[])
    q = _care_team_q(membership)
    if not write and membership.is_supervisor:
        q |= _supervised_q(membership)
    return Q(practice_id=membership.practice_id) & q


def can_access_client(membership: Membership | None, client: Client, *, write: bool) -> bool:
    from openipt.clients.models import Client

    if membership is None or membership.practice_id != client.practice_id:
        return False
    return Client.objects.filter(client_access_q(membership, write=write), pk=client.pk).exists()


def alert_recipient_q(membership: Membership | None) -> Q:
    """A filter on ``measures.RiskAlert``: the alerts this membership must act on, as the
    responsible clinician or as a supervisor the alert was escalated to. Seeing the alert's
    clinical detail also needs read access to the client (``client_access_q``)."""
    if membership is None or not membership.is_active or not membership.is_staff_member:
        return Q(pk__in=[])
    from openipt.measures.models import RiskAlert

    escalated = RiskAlert.escalated_to.through.objects.filter(
        riskalert_id=OuterRef("pk"), membership_id=membership.pk
    )
    return Q(practice_id=membership.practice_id) & (Q(clinician=membership) | Q(Exists(escalated)))


def can_triage_consultations(membership: Membership | None) -> bool:
    """Admins and clinicians of a practice work through its consultation requests."""
    return (
        membership is not None
        and membership.is_active
        and membership.is_staff_member
        and (membership.is_admin or membership.is_clinician)
    )


def portal_membership(user: User | None) -> Membership | None:
    """The user's membership when they use the portal as a client; staff get ``None``."""
    membership = active_membership(user)
    if membership is None or membership.kind != Membership.Kind.CLIENT:
        return None
    return membership
