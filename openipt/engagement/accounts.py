"""Client portal accounts: invitation by the care team, acceptance, what is shared.

A client's account is a ``User`` with a ``Membership(kind=client)`` (no staff roles, so no
staff page ever answers them) linked to exactly one ``Client`` by ``PortalAccess``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.accounts import policy
from openipt.accounts.models import Membership, Practice, User
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.core import languages, outbox
from openipt.engagement.models import PortalAccess, PortalInvitation

if TYPE_CHECKING:
    from collections.abc import Sequence

INVITATION_DAYS = 7


class CrisisContactsMissing(ValidationError):
    """The practice has not yet said whom its clients should call in a crisis, so no client
    may be invited to the portal: every portal page offers those contacts."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "Clients can be invited to the portal once the practice has added its crisis "
                "contacts, which every portal page shows them."
            ),
            code="no_crisis_contacts",
        )


def practice_ready_for_portal(practice: Practice) -> bool:
    """Whether the practice's clients can be invited: it has crisis contacts."""
    return practice.has_crisis_contacts


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _require_write(actor: User, client: Client) -> None:
    membership = policy.staff_membership(actor)
    if membership is None or not policy.can_access_client(membership, client, write=True):
        raise PermissionDenied


def portal_user(client: Client) -> User | None:
    access = PortalAccess.objects.filter(client=client).select_related("user").first()
    return access.user if access is not None else None


def pending_portal_invitations(client: Client) -> Sequence[PortalInvitation]:
    return list(
        PortalInvitation.objects.filter(
            client=client,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).order_by("-created_at")
    )


@transaction.atomic
def portal_invite(
    *, actor: User, client: Client, email: str, request: HttpRequest | None = None
) -> tuple[PortalInvitation, str]:
    """Invite the client by email; earlier pending invitations stop working. Refused with
    ``CrisisContactsMissing`` until the practice has crisis contacts."""
    _require_write(actor, client)
    if not practice_ready_for_portal(Practice.objects.get(pk=client.practice_id)):
        raise CrisisContactsMissing
    email = User.objects.normalize_email(email.strip()).lower()
    if portal_user(client) is not None:
        raise ValidationError(
            {"email": _("This client already has a portal account.")}, code="exists"
        )
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(
            {"email": _("This email address already belongs to an account.")}, code="taken"
        )
    PortalInvitation.objects.filter(
        client=client, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    token = secrets.token_urlsafe(32)
    invitation = PortalInvitation(
        client=client,
        email=email,
        token_hash=_hash(token),
        expires_at=timezone.now() + dt.timedelta(days=INVITATION_DAYS),
        invited_by=actor,
    )
    invitation.full_clean()
    invitation.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=invitation,
        client=client,
        request=request,
        detail="portal invitation sent",
    )
    practice_name = client.practice.name
    with languages.speaking(client.language):
        _invitation_email(email, token, practice_name, practice_id=client.practice_id)
    return invitation, token


def _invitation_email(email: str, token: str, practice_name: str, *, practice_id: int) -> None:
    link = settings.OPENIPT_BASE_URL.rstrip("/") + reverse("portal:welcome", args=[token])
    context = {"link": link, "practice": practice_name, "days": INVITATION_DAYS}
    subject = render_to_string("portal/email/invitation_subject.txt", context).strip()
    body = render_to_string("portal/email/invitation_body.txt", context)
    outbox.queue_email(
        kind="portal_invitation", subject=subject, body=body, recipients=[email],
        practice_id=practice_id,
    )  # fmt: skip


def portal_invitation_by_token(token: str) -> PortalInvitation | None:
    return (
        PortalInvitation.objects.select_related("client__practice")
        .filter(token_hash=_hash(token))
        .first()
    )


@transaction.atomic
def portal_invitation_accept(
    *, token: str, password: str, request: HttpRequest | None = None
) -> User:
    """Single use: creates the client's account and links it to their record."""
    invitation = (
        PortalInvitation.objects.select_for_update().filter(token_hash=_hash(token)).first()
    )
    if invitation is None or not invitation.is_usable:
        raise ValidationError(_("This invitation can no longer be used."), code="unusable")
    client = invitation.client
    if (
        portal_user(client) is not None
        or User.objects.filter(email__iexact=invitation.email).exists()
    ):
        raise ValidationError(
            _("An account already exists for this invitation. Please sign in instead."),
            code="exists",
        )
    user = User(email=invitation.email, full_name=client.display_name)
    user.set_password(password)
    user.full_clean()
    user.save()
    membership = Membership(user=user, practice_id=client.practice_id, kind=Membership.Kind.CLIENT)
    membership.full_clean()
    membership.save()
    access, _created = PortalAccess.objects.get_or_create(client=client)
    access.user = user
    access.full_clean()
    access.save()
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at", "updated_at"])
    audit.record(
        actor=user,
        action=AuditEvent.Action.CREATE,
        obj=access,
        client=client,
        request=request,
        detail="portal account created",
    )
    return user


@transaction.atomic
def portal_sharing_set(
    *, actor: User, client: Client, share_progress: bool, request: HttpRequest | None = None
) -> PortalAccess:
    """The clinician decides whether the client sees their progress chart."""
    _require_write(actor, client)
    access, _created = PortalAccess.objects.select_for_update().get_or_create(client=client)
    if access.share_progress == share_progress:
        return access
    access.share_progress = share_progress
    access.full_clean()
    access.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=access,
        client=client,
        request=request,
        detail=f"share_progress -> {share_progress}",
    )
    return access


def portal_access_of(client: Client) -> PortalAccess | None:
    return PortalAccess.objects.filter(client=client).first()


def portal_language_set(
    *, actor: User, language: str, request: HttpRequest | None = None
) -> Client:
    """The client's own choice of language, from the portal: their portal, invitations,
    reminders and letters to them follow it (docs/translation.md)."""
    if language not in languages.codes():
        raise ValidationError({"language": _("Choose one of the languages offered.")})
    with transaction.atomic():
        access = PortalAccess.objects.filter(user=actor).first()
        if access is None:
            raise PermissionDenied(_("Only a client can change the portal's language."))
        client = Client.objects.select_for_update().get(pk=access.client_id)
        if client.language == language:
            return client
        client.language = language
        client.version += 1
        client.updated_by = actor
        client.save(update_fields=["language", "version", "updated_by", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            obj=client,
            client=client,
            request=request,
            detail=f"changed: language ({language}), from the portal",
        )
    return client
