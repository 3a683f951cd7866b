"""Every write to client records: create, edit, status, care team, consent, emergency access.

Each function is keyword-only, runs in one transaction, validates with ``full_clean`` and
writes its audit event in the same transaction (one, plus one per possible duplicate
identifier flagged, ADR 14). Permission is checked here too, so
the portal, the API and the workspace cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from openipt.accounts import policy
from openipt.accounts.models import Membership, Practice
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import (
    CareTeamMember,
    Client,
    ClientIdentifier,
    ConsentRecord,
    EmergencyAccess,
)
from openipt.core import outbox
from openipt.core.versioning import lock_version

if TYPE_CHECKING:
    from openipt.accounts.models import User


@dataclass(frozen=True)
class ClientData:
    """The editable demographics of a client."""

    legal_given_name: str
    legal_family_name: str
    date_of_birth: dt.date
    preferred_name: str = ""
    pronouns: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""
    preferred_language: str = ""
    language: str = "en"
    emergency_contact_name: str = ""
    emergency_contact_relationship: str = ""
    emergency_contact_phone: str = ""


@dataclass(frozen=True)
class IdentifierData:
    system: str
    value: str


@dataclass(frozen=True)
class ConsentData:
    """A consent the client gave, as the consent form records it."""

    kind: str
    consented_on: dt.date
    text_version: str
    notes: str = ""


CLIENT_FIELDS = tuple(f.name for f in fields(ClientData))


# Shown above the edit form when someone else saved the client first (``EditConflict``).
STALE_MESSAGE = gettext_lazy(
    "Someone else saved changes to this client after you opened the page, so "
    "your changes were not saved. Open the record again to see the latest "
    "details, then make your changes."
)


def identifier_field(system: str) -> str:
    """The error key (and form field name) for an identifier of ``system``."""
    return f"identifier_{system}"


def search_name_for(client: Client) -> str:
    parts = (client.legal_given_name, client.legal_family_name, client.preferred_name)
    return " ".join(p.strip() for p in parts if p.strip()).lower()[:320]


def _require_write(actor: User, client: Client) -> Membership:
    membership = policy.staff_membership(actor)
    if membership is None or not policy.can_access_client(membership, client, write=True):
        raise PermissionDenied
    return membership


def _check_primary(practice: Practice, primary: Membership) -> None:
    if (
        primary.practice_id != practice.pk
        or not policy.can_be_on_care_team(primary)
        or not primary.is_clinician
    ):
        raise ValidationError(
            {"primary_clinician": _("Choose a clinician of this practice.")}, code="invalid"
        )


@transaction.atomic
def client_create(
    *,
    actor: User,
    data: ClientData,
    practice: Practice | None = None,
    primary_clinician: Membership | None = None,
    identifiers: Sequence[IdentifierData] = (),
    request: HttpRequest | None = None,
) -> Client:
    """Create a client with a primary clinician (the creator, if they are a clinician)."""
    membership = policy.staff_membership(actor)
    if membership is None or not policy.can_create_client(membership):
        raise PermissionDenied
    if practice is not None and practice.pk != membership.practice_id:
        raise PermissionDenied
    if primary_clinician is None:
        if not membership.is_clinician:
            raise ValidationError(
                {"primary_clinician": _("Choose the client's primary clinician.")},
                code="required",
            )
        primary_clinician = membership
    _check_primary(membership.practice, primary_clinician)
    client = Client(practice=membership.practice, created_by=actor, updated_by=actor)
    for name in CLIENT_FIELDS:
        setattr(client, name, getattr(data, name))
    client.search_name = search_name_for(client)
    client.full_clean()
    client.save()
    team = CareTeamMember(
        client=client,
        member=primary_clinician,
        role=CareTeamMember.Role.PRIMARY,
        added_by=actor,
    )
    team.full_clean()
    team.save()
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=client, client=client, request=request
    )
    # After the create event, so a possible-duplicate event follows the record it names.
    _set_identifiers(client, identifiers, actor=actor, request=request)
    return client


def _set_identifiers(
    client: Client,
    identifiers: Sequence[IdentifierData],
    *,
    actor: User,
    request: HttpRequest | None,
) -> list[str]:
    """Make the client's identifiers match ``identifiers`` (one per system; blank removes).

    Returns the systems that changed. A value another client of the practice already holds
    is a field error for someone who may see that client; for anyone else it is saved,
    flagged as a possible duplicate and audited (``_flag_duplicate``, ADR 14).
    """
    wanted = {i.system: i.value.strip() for i in identifiers}
    current = {i.system: i for i in client.identifiers.all()}
    changed: list[str] = []
    for system, value in wanted.items():
        existing = current.get(system)
        if existing is not None and existing.value == value:
            continue
        changed.append(system)
        if not value:
            if existing is not None:
                existing.delete()
            continue
        identifier = existing or ClientIdentifier(
            client=client, practice_id=client.practice_id, system=system
        )
        identifier.value = value
        identifier.duplicate_of = _identifier_holder(actor, client, system, value)
        try:
            identifier.full_clean()
        except ValidationError as exc:
            raise ValidationError({identifier_field(system): exc.messages}) from exc
        identifier.save()
        if identifier.duplicate_of is not None:
            _flag_duplicate(actor, identifier, identifier.duplicate_of, request)
    return changed


def _identifier_holder(actor: User, client: Client, system: str, value: str) -> Client | None:
    """The other client already holding ``value``, if the actor may not see them.

    Someone who may see the holder (their care team, a supervisor of it) is told plainly:
    the record is open to them anyway. Anyone else must learn nothing (ADR 14).
    """
    taken = (
        ClientIdentifier.objects.filter(
            practice_id=client.practice_id,
            system=system,
            value=value,
            duplicate_of__isnull=True,
        )
        .exclude(client=client)
        .select_related("client")
        .first()
    )
    if taken is None:
        return None
    if policy.can_access_client(policy.staff_membership(actor), taken.client, write=False):
        raise ValidationError(
            {
                identifier_field(system): _(
                    "Another client in this practice already has this identifier."
                )
            },
            code="duplicate",
        )
    return taken.client


def _flag_duplicate(
    actor: User, identifier: ClientIdentifier, holder: Client, request: HttpRequest | None
) -> None:
    """Audit, on the holder's log, that someone outside their care entered their identifier.

    The detail names the system, never the value, so the log itself reveals nothing.
    """
    audit.record(
        actor=actor,
        action=AuditEvent.Action.DUPLICATE,
        obj=identifier.client,
        client=holder,
        request=request,
        detail=(
            f"{identifier.system} identifier of this client entered for another record "
            "by someone outside their care; that record is flagged for an administrator "
            "to merge"
        ),
    )


@transaction.atomic
def client_update(
    *,
    actor: User,
    client: Client,
    expected_version: int,
    data: ClientData,
    identifiers: Sequence[IdentifierData] | None = None,
    request: HttpRequest | None = None,
) -> Client:
    """Save edited demographics, refusing the save if the record changed meanwhile."""
    _require_write(actor, client)
    fresh = lock_version(client, expected_version, message=STALE_MESSAGE)
    changed = [n for n in CLIENT_FIELDS if getattr(fresh, n) != getattr(data, n)]
    for name in changed:
        setattr(fresh, name, getattr(data, name))
    fresh.search_name = search_name_for(fresh)
    fresh.full_clean()
    changed_ids = _set_identifiers(fresh, identifiers or (), actor=actor, request=request)
    changed += [identifier_field(s) for s in changed_ids]
    if not changed:
        return fresh
    fresh.version += 1
    fresh.updated_by = actor
    fresh.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=fresh,
        client=fresh,
        request=request,
        detail="changed: " + ", ".join(changed),
    )
    return fresh


@transaction.atomic
def client_set_status(
    *,
    actor: User,
    client: Client,
    status: str,
    reason: str,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
) -> Client:
    """Archive, reactivate or mark as entered in error. Nothing is ever deleted."""
    _require_write(actor, client)
    fresh = lock_version(client, expected_version, message=STALE_MESSAGE)
    if status not in Client.Status.values:
        raise ValidationError({"status": _("Choose a status.")}, code="invalid")
    if status == fresh.status:
        raise ValidationError(
            {"status": _("The client already has this status.")}, code="unchanged"
        )
    if not reason.strip():
        raise ValidationError(
            {"reason": _("Please give the reason for this change.")}, code="required"
        )
    previous = fresh.status
    fresh.status = status
    fresh.status_reason = reason.strip()
    fresh.version += 1
    fresh.updated_by = actor
    fresh.full_clean()
    fresh.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=fresh,
        client=fresh,
        request=request,
        detail=f"status: {previous} -> {status}",
    )
    return fresh


@transaction.atomic
def care_team_add(
    *,
    actor: User,
    client: Client,
    member: Membership,
    request: HttpRequest | None = None,
) -> CareTeamMember:
    """Put a colleague of the same practice on the client's care team."""
    _require_write(actor, client)
    if member.practice_id != client.practice_id or not policy.can_be_on_care_team(member):
        raise ValidationError({"member": _("Choose a colleague of this practice.")}, code="invalid")
    entry = CareTeamMember.objects.filter(client=client, member=member).first()
    if entry is not None and entry.is_active:
        raise ValidationError(
            {"member": _("This person is already on the care team.")}, code="duplicate"
        )
    if entry is None:
        entry = CareTeamMember(client=client, member=member, added_by=actor)
    entry.is_active = True
    entry.role = CareTeamMember.Role.OTHER
    entry.added_by = actor
    entry.full_clean()
    entry.save()
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=entry, client=client, request=request
    )
    return entry


@transaction.atomic
def care_team_remove(
    *,
    actor: User,
    client: Client,
    entry: CareTeamMember,
    request: HttpRequest | None = None,
) -> CareTeamMember:
    """Take someone off the care team (the row stays, inactive). Never the primary."""
    _require_write(actor, client)
    entry = CareTeamMember.objects.select_for_update().get(pk=entry.pk, client=client)
    if entry.role == CareTeamMember.Role.PRIMARY:
        raise ValidationError(
            _("Make someone else the primary clinician before removing this person."),
            code="primary",
        )
    if not entry.is_active:
        return entry
    entry.is_active = False
    entry.full_clean()
    entry.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=entry,
        client=client,
        request=request,
        detail="removed from care team",
    )
    return entry


@transaction.atomic
def care_team_make_primary(
    *,
    actor: User,
    client: Client,
    entry: CareTeamMember,
    request: HttpRequest | None = None,
) -> CareTeamMember:
    """Make an active care-team clinician the primary; the previous primary stays on."""
    _require_write(actor, client)
    entry = CareTeamMember.objects.select_for_update().get(pk=entry.pk, client=client)
    if not entry.is_active or not entry.member.is_clinician or not entry.member.is_active:
        raise ValidationError(
            _("Only an active clinician on the care team can be the primary clinician."),
            code="invalid",
        )
    if entry.role == CareTeamMember.Role.PRIMARY:
        return entry
    # Demote first: the database allows only one active primary per client.
    CareTeamMember.objects.filter(
        client=client, role=CareTeamMember.Role.PRIMARY, is_active=True
    ).update(role=CareTeamMember.Role.OTHER)
    entry.role = CareTeamMember.Role.PRIMARY
    entry.full_clean()
    entry.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=entry,
        client=client,
        request=request,
        detail="made primary clinician",
    )
    return entry


@transaction.atomic
def consent_record_add(
    *,
    actor: User,
    client: Client,
    kind: str,
    consented_on: dt.date,
    text_version: str,
    notes: str = "",
    request: HttpRequest | None = None,
) -> ConsentRecord:
    """Record a consent the client gave; ``recorded_by`` is the actor."""
    _require_write(actor, client)
    consent = ConsentRecord(
        client=client,
        kind=kind,
        consented_on=consented_on,
        text_version=text_version.strip(),
        notes=notes.strip(),
        recorded_by=actor,
    )
    consent.full_clean()
    consent.save()
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=consent, client=client, request=request
    )
    return consent


# Break-glass (docs/adr/0016-emergency-access.md).


@transaction.atomic
def emergency_access_open(
    *, actor: User, client: Client, reason: str, request: HttpRequest | None = None
) -> EmergencyAccess:
    """Open read-only access to ``client`` for ``settings.OPENIPT_BREAK_GLASS_MINUTES``, for
    active staff of the practice who cannot read the record already. The reason is kept on
    the row (the audit detail never carries free text); the primary clinician and the
    practice's administrators are told by email once it is committed."""
    membership = policy.staff_membership(actor)
    if membership is None or not policy.can_open_emergency_access(membership, client):
        raise PermissionDenied
    minutes = settings.OPENIPT_BREAK_GLASS_MINUTES
    started = timezone.now()
    access = EmergencyAccess(
        practice_id=client.practice_id,
        client=client,
        membership=membership,
        reason=reason.strip(),
        started_at=started,
        expires_at=started + dt.timedelta(minutes=minutes),
    )
    access.full_clean()
    access.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.EMERGENCY_ACCESS,
        obj=access,
        client=client,
        request=request,
        detail=f"emergency access for {minutes} minutes",
    )
    _emergency_notify(access, actor)
    return access


def _emergency_notify(access: EmergencyAccess, actor: User) -> None:
    """Who is told: the primary clinician (a link to the client's page, which they can open)
    and every other active administrator (a link to the review page). Neither email names
    the client or carries the reason."""
    primary = (
        CareTeamMember.objects.filter(
            client=access.client, role=CareTeamMember.Role.PRIMARY, is_active=True
        )
        .select_related("member__user")
        .first()
    )
    admins = Membership.objects.filter(
        practice_id=access.practice_id, kind=Membership.Kind.STAFF, is_admin=True, is_active=True
    ).select_related("user")
    base = settings.OPENIPT_BASE_URL.rstrip("/")
    review_link = base + reverse("accounts:emergency-access")
    letters = {m.user.email: review_link for m in admins if m.user.is_active}
    if primary is not None and primary.member.is_active and primary.member.user.is_active:
        client_link = base + reverse("clients:detail", args=[access.client.uuid])
        letters.setdefault(primary.member.user.email, client_link)
    letters.pop(actor.email, None)
    name = actor.get_full_name()
    for email, link in letters.items():
        _emergency_email(email=email, name=name, link=link, practice_id=access.practice_id)


def _emergency_email(*, email: str, name: str, link: str, practice_id: int) -> None:
    subject = _("Emergency access to a client record in OpenIPT")
    body = _(
        "%(name)s opened the record of a client of yours in an emergency. "
        "Review it at:\n\n%(link)s\n"
    ) % {"name": name, "link": link}
    outbox.queue_email(
        kind="emergency_access", subject=subject, body=body, recipients=[email],
        practice_id=practice_id,
    )  # fmt: skip


@transaction.atomic
def emergency_access_review(
    *, actor: User, access: EmergencyAccess, note: str = "", request: HttpRequest | None = None
) -> EmergencyAccess:
    """An administrator marks an emergency access as reviewed, with an optional note."""
    membership = policy.staff_membership(actor)
    locked = EmergencyAccess.objects.select_for_update().select_related("client").get(pk=access.pk)
    if membership is None or not policy.can_review_emergency_access(membership, locked):
        raise PermissionDenied
    if locked.is_reviewed:
        raise ValidationError(_("This emergency access has already been reviewed."))
    locked.reviewed_by = membership
    locked.reviewed_at = timezone.now()
    locked.review_note = note.strip()
    locked.full_clean()
    locked.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.EMERGENCY_REVIEW,
        obj=locked,
        client=locked.client,
        request=request,
    )
    return locked
