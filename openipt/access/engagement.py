"""Gates to the client's side of care: the portal's own record, message attachments and the
consultation requests of the intake queue.

Each gate answers ``Http404`` to anyone who may not reach the thing, so a stranger learns
nothing, not even that it exists. With ``audit``, the read is recorded before anything is
shown (fail closed: if the audit write fails, the request fails).
"""

from __future__ import annotations

import uuid as uuid_lib

from django.http import Http404, HttpRequest

from openipt.accounts import policy
from openipt.accounts.models import User
from openipt.audit import services as audit_services
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.core.http import parse_uuid
from openipt.engagement.consultation import triage_membership
from openipt.engagement.models import ConsultationRequest, MessageAttachment, PortalAccess


def access_own_client(user: User) -> tuple[Client, PortalAccess]:
    """The signed-in client's own record. Anyone who is not a portal client gets ``Http404``.

    Every portal page starts here: the client is never taken from the URL or the form.
    """
    membership = policy.portal_membership(user)
    if membership is None:
        raise Http404
    access = (
        PortalAccess.objects.select_related("client__practice")
        .filter(user=user, client__practice_id=membership.practice_id)
        .first()
    )
    if access is None or access.client.status == Client.Status.ENTERED_IN_ERROR:
        raise Http404
    return access.client, access


def access_attachment(
    client: Client,
    attachment_uuid: str | uuid_lib.UUID,
    *,
    audit: HttpRequest | None = None,
    detail: str = "",
) -> MessageAttachment:
    """An attachment in this client's conversation (a client the caller has already passed
    through its gate), else ``Http404``. With ``audit``, the attachment's read is recorded."""
    attachment = (
        MessageAttachment.objects.filter(uuid=parse_uuid(attachment_uuid), message__client=client)
        .select_related("message")
        .first()
    )
    if attachment is None:
        raise Http404
    if audit is not None:
        audit_services.record_read(audit, client, attachment, detail=detail)
    return attachment


def access_consultation_request(
    user: User,
    request_uuid: str | uuid_lib.UUID,
    *,
    write: bool = False,
    audit: HttpRequest | None = None,
) -> ConsultationRequest:
    """A request of the user's practice if they may triage; otherwise ``Http404``.

    Reading and triaging (``write``) are one right today: only those who may triage open a
    request at all, and the triage services check it again, so ``write`` asks for nothing
    more (it is there so that every gate is called the same way). With ``audit``, the read is
    recorded (a request has no client yet, so the event carries the practice).
    """
    membership = triage_membership(user)
    item = ConsultationRequest.objects.filter(
        practice_id=membership.practice_id, uuid=parse_uuid(request_uuid)
    ).first()
    if item is None:
        raise Http404
    if audit is not None:
        audit_services.record(
            actor=user,
            action=AuditEvent.Action.READ,
            obj=item,
            practice_id=membership.practice_id,
            request=audit,
        )
    return item
