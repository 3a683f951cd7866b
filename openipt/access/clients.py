"""Gates to the client record."""

from __future__ import annotations

import uuid as uuid_lib

from django.http import Http404, HttpRequest

from openipt.accounts import policy
from openipt.accounts.models import Membership, User
from openipt.audit.services import record_read
from openipt.clients.models import Client, EmergencyAccess
from openipt.clients.selectors import accessible_clients
from openipt.core.http import parse_uuid


def access_client(
    user: User,
    client_uuid: str | uuid_lib.UUID,
    *,
    write: bool = False,
    audit: HttpRequest | None = None,
    detail: str = "",
) -> Client:
    """The client with this UUID if ``user`` may reach it (``write``: change it); otherwise
    ``Http404``. With ``audit``, the read of the client record is recorded."""
    client = accessible_clients(user, write=write).filter(uuid=parse_uuid(client_uuid)).first()
    if client is None:
        raise Http404
    if audit is not None:
        record_read(audit, client, detail=detail, actor=user)
    return client


def audit_on_get(request: HttpRequest) -> HttpRequest | None:
    """What a form page passes as ``audit``: the request on a GET, which shows the record;
    ``None`` on a POST, which redirects when it succeeds (a refused POST that shows the
    record again records its read itself where the page did so before)."""
    return request if request.method == "GET" else None


def access_emergency_admin(user: User) -> Membership:
    """The user's membership if they administer a practice (and so review its emergency
    accesses); otherwise ``Http404``."""
    membership = policy.staff_membership(user)
    if membership is None or not policy.can_manage_practice(membership):
        raise Http404
    return membership


def access_emergency_access(user: User, access_uuid: str | uuid_lib.UUID) -> EmergencyAccess:
    """An emergency access of the administrator's practice, for review; else ``Http404``."""
    admin = access_emergency_admin(user)
    access = (
        EmergencyAccess.objects.filter(practice_id=admin.practice_id, uuid=parse_uuid(access_uuid))
        .select_related("client")
        .first()
    )
    if access is None:
        raise Http404
    return access
