"""Secure messages between a client and their care team, with small attachments.

In-app only: the email that goes out says nothing but that a message is waiting.
Attachments are checked by type and size, stored under random names, and only ever served
through an access-checked view as downloads.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.accounts import policy
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.core import languages, outbox
from openipt.engagement.models import Message, MessageAttachment, PortalAccess

if TYPE_CHECKING:
    from openipt.accounts.models import User

MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024
MAX_ATTACHMENTS = 3
THREAD_LIMIT = 100
# Allowed types: extension -> (content type, how the file must start).
ALLOWED_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "txt": ("text/plain", ()),
}


def check_attachment(upload: UploadedFile) -> tuple[str, str]:
    """Refuse anything but a small PDF, PNG, JPEG or plain-text file.

    Returns (extension, content type). The type is decided by the name *and* the first
    bytes, never by what the browser claims.
    """
    name = PurePath(upload.name or "").name
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED_TYPES:
        raise ValidationError(
            _("Please attach a PDF, PNG, JPEG or plain-text file."), code="file_type"
        )
    if (upload.size or 0) > MAX_ATTACHMENT_BYTES:
        raise ValidationError(_("Each file can be at most 2 MB."), code="file_size")
    content_type, magics = ALLOWED_TYPES[ext]
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if ext == "txt":
        if b"\x00" in head:
            raise ValidationError(_("This does not look like a plain-text file."), code="file_type")
    elif not any(head.startswith(magic) for magic in magics):
        raise ValidationError(
            _("The file's contents do not match its type (.%(ext)s).") % {"ext": ext},
            code="file_type",
        )
    return ext, content_type


def _may_write_as_staff(actor: User, client: Client) -> bool:
    return policy.can_access_client(policy.staff_membership(actor), client, write=True)


def _is_own_client(actor: User, client: Client) -> bool:
    return (
        policy.portal_membership(actor) is not None
        and PortalAccess.objects.filter(user=actor, client=client).exists()
    )


@transaction.atomic
def message_send(
    *,
    actor: User,
    client: Client,
    body: str,
    attachments: Sequence[UploadedFile] = (),
    request: HttpRequest | None = None,
) -> Message:
    """A message in the client's conversation, from the client or from their care team."""
    from_client = _is_own_client(actor, client)
    if not from_client and not _may_write_as_staff(actor, client):
        raise PermissionDenied
    if not body.strip():
        raise ValidationError({"body": _("Please write your message.")}, code="required")
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValidationError({"attachments": _("Please attach at most 3 files.")}, code="too_many")
    checked = []
    for upload in attachments:
        try:
            checked.append((upload, *check_attachment(upload)))
        except ValidationError as exc:
            raise ValidationError({"attachments": exc.messages}) from exc
    message = Message(client=client, sender=actor, from_client=from_client, body=body.strip())
    message.full_clean()
    message.save()
    for upload, ext, content_type in checked:
        _attach(message, upload, ext, content_type)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=message,
        client=client,
        request=request,
        detail=f"{len(checked)} attachments",
    )
    recipients = _recipients(client, from_client=from_client)
    if from_client:
        path = reverse("clients:messages", kwargs={"client_uuid": client.uuid})
    else:
        path = reverse("portal:messages")
    _notify(recipients, path, practice_id=client.practice_id)
    return message


def _attach(message: Message, upload: UploadedFile, ext: str, content_type: str) -> None:
    original = PurePath(upload.name or "file").name[:120]
    attachment = MessageAttachment(
        message=message,
        original_name=original,
        content_type=content_type,
        size=upload.size or 0,
    )
    # A random stored name: nothing about the person or the file leaks into the path.
    attachment.file.save(f"{secrets.token_hex(16)}.{ext}", upload, save=False)
    attachment.full_clean()
    attachment.save()


def _recipients(client: Client, *, from_client: bool) -> list[tuple[str, str]]:
    """Who is told of a new message, each with the language to tell them in."""
    if not from_client:
        access = PortalAccess.objects.filter(client=client).select_related("user").first()
        if access is None or access.user is None:
            return []
        return [(access.user.email, client.language)]
    team = client.care_team.filter(is_active=True, member__is_active=True).select_related(
        "member__user"
    )
    return [(entry.member.user.email, entry.member.user.language) for entry in team]


def _notify(recipients: list[tuple[str, str]], path: str, *, practice_id: int) -> None:
    """One e-mail per language: each recipient reads the notice in their own."""
    context = {"link": settings.OPENIPT_BASE_URL.rstrip("/") + path}
    by_language: dict[str, list[str]] = {}
    for email, language in recipients:
        by_language.setdefault(languages.supported(language), []).append(email)
    for language, emails in by_language.items():
        with languages.speaking(language):
            subject = render_to_string("portal/email/message_subject.txt", context).strip()
            body = render_to_string("portal/email/message_body.txt", context)
        outbox.queue_email(
            kind="message_notification", subject=subject, body=body, recipients=emails,
            practice_id=practice_id,
        )  # fmt: skip


def conversation(client: Client) -> list[Message]:
    """The newest messages of the client's conversation, oldest first (caller checked access)."""
    newest = Message.objects.filter(client=client).order_by("-created_at", "-id")[:THREAD_LIMIT]
    rows = list(newest.select_related("sender").prefetch_related("attachments"))
    rows.reverse()
    return rows


@transaction.atomic
def messages_mark_read(*, reader: User, client: Client) -> int:
    """Messages from the other side become read when this side opens the conversation."""
    from_client = not _is_own_client(reader, client)
    marked = Message.objects.filter(
        client=client, from_client=from_client, read_at__isnull=True
    ).update(read_at=timezone.now())
    if marked:
        audit.record(
            actor=reader,
            action=AuditEvent.Action.UPDATE,
            object_type=Message.audit_label,
            client=client,
            detail=f"{marked} marked read",
        )
    return marked


def unread_count(client: Client, *, for_client: bool) -> int:
    return Message.objects.filter(
        client=client, from_client=not for_client, read_at__isnull=True
    ).count()
