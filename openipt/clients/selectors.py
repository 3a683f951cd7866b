"""Every read of client records that needs permission. The gate to one client record is
``openipt.access.clients.access_client``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from openipt.accounts import policy
from openipt.accounts.models import Membership
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.audit.services import record_list_read
from openipt.clients.models import (
    CareTeamMember,
    Client,
    ClientIdentifier,
    ConsentRecord,
    EmergencyAccess,
)

if TYPE_CHECKING:
    from openipt.accounts.models import User


def accessible_clients(user: User, *, write: bool = False) -> QuerySet[Client]:
    """Exactly the clients ``user`` may read (or, with ``write``, change)."""
    membership = policy.staff_membership(user)
    return Client.objects.filter(policy.client_access_q(membership, write=write))


def can_write_client(user: User, client: Client) -> bool:
    return policy.can_access_client(policy.staff_membership(user), client, write=True)


def _record_list_read(user: User, page: Page[Client], request: HttpRequest) -> None:
    """Audit one read for a page of search results (names and dates of birth were shown).

    The search terms are not logged: they may themselves be personal data.
    """
    membership = policy.staff_membership(user)
    record_list_read(
        request,
        actor=user,
        object_type="clients.client_list",
        practice_id=membership.practice_id if membership else None,
        detail=f"page {page.number}: {len(page.object_list)} clients shown",
    )


def _primary_prefetch() -> Prefetch[Any]:
    return Prefetch(
        "care_team",
        queryset=CareTeamMember.objects.filter(
            role=CareTeamMember.Role.PRIMARY, is_active=True
        ).select_related("member__user"),
        to_attr="primary_team",
    )


def client_search(
    user: User,
    *,
    q: str = "",
    dob: dt.date | None = None,
    identifier: str = "",
    status: str | None = Client.Status.ACTIVE,
    page: int | str = 1,
    audit: HttpRequest | None = None,
) -> Page[Client]:
    """One page of the clients ``user`` may read, matching every given criterion.

    Name search matches any part of the legal or preferred names, ignoring case; each word
    of ``q`` must match. ``identifier`` matches a whole identifier value exactly. With
    ``audit``, a page that shows anyone is recorded as one read (an empty page is not).
    """
    qs = accessible_clients(user)
    for term in q.lower().split():
        qs = qs.filter(search_name__contains=term)
    if dob is not None:
        qs = qs.filter(date_of_birth=dob)
    if identifier.strip():
        owners = ClientIdentifier.objects.filter(value=identifier.strip()).values("client_id")
        qs = qs.filter(pk__in=owners)
    if status:
        qs = qs.filter(status=status)
    qs = qs.order_by("legal_family_name", "legal_given_name", "pk").prefetch_related(
        _primary_prefetch(),
        Prefetch("identifiers", queryset=ClientIdentifier.objects.order_by("system")),
    )
    result = Paginator(qs, settings.OPENIPT_CLIENTS_PER_PAGE).get_page(page)
    if audit is not None and result.object_list:
        _record_list_read(user, result, audit)
    return result


@dataclass(frozen=True)
class ClientOverview:
    client: Client
    identifiers: list[ClientIdentifier]
    care_team: list[CareTeamMember]
    consents: list[ConsentRecord]
    can_write: bool


def client_overview(user: User, client: Client) -> ClientOverview:
    """Everything the client page shows, for a client fetched (and its read audited) by
    ``openipt.access.clients.access_client``."""
    return ClientOverview(
        client=client,
        identifiers=list(client.identifiers.order_by("system")),
        care_team=care_team_of(client),
        consents=list(
            client.consents.select_related("recorded_by").order_by("-consented_on", "-pk")
        ),
        can_write=can_write_client(user, client),
    )


def care_team_of(client: Client) -> list[CareTeamMember]:
    """Active care-team members, primary first."""
    return list(
        client.care_team.filter(is_active=True)
        .select_related("member__user")
        .order_by("-role", "member__user__full_name")  # "primary" > "other": primary first
    )


def care_team_candidates(client: Client) -> list[Membership]:
    """Colleagues who could join this client's care team (not already on it)."""
    on_team = CareTeamMember.objects.filter(client=client, is_active=True).values("member_id")
    staff = (
        Membership.objects.filter(practice_id=client.practice_id, is_active=True)
        .exclude(pk__in=on_team)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return [m for m in staff if policy.can_be_on_care_team(m)]


def primary_clinician_choices(user: User) -> list[Membership]:
    """Clinicians of the user's practice who can be a new client's primary clinician."""
    membership = policy.staff_membership(user)
    if membership is None:
        return []
    staff = (
        Membership.objects.filter(
            practice_id=membership.practice_id, is_active=True, is_clinician=True
        )
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return [m for m in staff if policy.can_be_on_care_team(m)]


def may_create_client(user: User) -> bool:
    return policy.can_create_client(policy.staff_membership(user))


# Break-glass (docs/adr/0016-emergency-access.md).


def may_open_emergency_access(user: User) -> bool:
    """Whether the user's roles allow break-glass at all (per client it is decided by
    ``policy.can_open_emergency_access``)."""
    return policy.can_be_on_care_team(policy.staff_membership(user))


def emergency_access_find(
    user: User,
    *,
    identifier: str = "",
    given: str = "",
    family: str = "",
    dob: dt.date | None = None,
    audit: HttpRequest | None = None,
) -> Client | None:
    """The one client of the user's practice matching an identifier exactly, or a legal
    given and family name (ignoring case) and date of birth exactly, among those the user
    cannot open; failing that, a matching client they can open already; ``None`` when no
    single record matches. It tells the searcher no more than they already typed. With ``audit``,
    a search that matches nobody is recorded too, so fishing shows in the audit log."""
    membership = policy.staff_membership(user)
    found: Client | None = None
    if membership is not None:
        qs = Client.objects.filter(practice_id=membership.practice_id).exclude(
            status=Client.Status.ENTERED_IN_ERROR
        )
        if identifier.strip():
            # A number flagged as a possible duplicate belongs to the record that had it
            # first; the flagged copy is not a way to find (or hide) that record.
            owners = ClientIdentifier.objects.filter(
                practice_id=membership.practice_id,
                value=identifier.strip(),
                duplicate_of__isnull=True,
            ).values("client_id")
            qs = qs.filter(pk__in=owners)
        elif given.strip() and family.strip() and dob is not None:
            qs = qs.filter(
                legal_given_name__iexact=given.strip(),
                legal_family_name__iexact=family.strip(),
                date_of_birth=dob,
            )
        else:
            qs = qs.none()
        # Count only the records the user cannot open: counting their own clients too would
        # let "one match" versus "several" say whether someone else shares the details.
        reachable = policy.client_access_q(membership)
        others = list(qs.exclude(reachable)[:2])
        if len(others) == 1:
            found = others[0]
        elif not others:
            found = qs.filter(reachable).first()  # their own client: nothing to reveal
    if found is None and audit is not None:
        _record_emergency_miss(user, membership, audit)
    return found


def _record_emergency_miss(user: User, membership: Membership | None, request: HttpRequest) -> None:
    audit.record(
        actor=user,
        action=AuditEvent.Action.EMERGENCY_ACCESS,
        object_type="clients.emergencyaccess",
        practice_id=membership.practice_id if membership else None,
        request=request,
        detail="refused: no single record matched",
    )


def emergency_access_until(user: User, client: Client) -> dt.datetime | None:
    """When the user's unexpired emergency access to ``client`` ends, if they have one."""
    membership = policy.staff_membership(user)
    if membership is None:
        return None
    return (
        membership.emergency_accesses.filter(client=client, expires_at__gt=timezone.now())
        .order_by("-expires_at")
        .values_list("expires_at", flat=True)
        .first()
    )


@dataclass(frozen=True)
class EmergencyReviewList:
    pending: list[EmergencyAccess]
    recent: list[EmergencyAccess]
    now: dt.datetime


RECENTLY_REVIEWED = 20


def emergency_accesses_unreviewed(admin: Membership) -> QuerySet[EmergencyAccess]:
    return EmergencyAccess.objects.filter(practice_id=admin.practice_id, reviewed_at__isnull=True)


def emergency_review_list(
    admin: Membership, *, audit: HttpRequest | None = None
) -> EmergencyReviewList:
    """Every unreviewed emergency access of the administrator's practice, oldest first, and
    the most recently reviewed ones. With ``audit``, showing any is recorded as one read
    (client names and reasons are on the page)."""
    related = ("client", "membership__user", "reviewed_by__user")
    pending = list(
        emergency_accesses_unreviewed(admin).select_related(*related).order_by("started_at")
    )
    recent = list(
        EmergencyAccess.objects.filter(practice_id=admin.practice_id, reviewed_at__isnull=False)
        .select_related(*related)
        .order_by("-reviewed_at")[:RECENTLY_REVIEWED]
    )
    if audit is not None and (pending or recent):
        record_list_read(
            audit,
            actor=admin.user,
            practice_id=admin.practice_id,
            object_type="clients.emergencyaccess_list",
            detail=f"{len(pending)} unreviewed, {len(recent)} reviewed shown",
        )
    return EmergencyReviewList(pending=pending, recent=recent, now=timezone.now())


def flagged_duplicates(
    admin: Membership, *, audit: HttpRequest | None = None
) -> list[ClientIdentifier]:
    """Identifiers entered for a new record while another client of the practice already had
    them (docs/adr/0014-duplicate-identifiers.md), newest first, for an administrator to
    sort out. With ``audit``, showing any is recorded as one read (both names are shown)."""
    rows = list(
        ClientIdentifier.objects.filter(practice_id=admin.practice_id, duplicate_of__isnull=False)
        .select_related("client", "duplicate_of")
        .order_by("-created_at", "-pk")[:200]
    )
    if audit is not None and rows:
        record_list_read(
            audit,
            actor=admin.user,
            practice_id=admin.practice_id,
            object_type="clients.clientidentifier_duplicates",
            detail=f"{len(rows)} possible duplicates shown",
        )
    return rows
