"""Writing audit events. Every read or write of client data calls ``record``.

``record`` must be called inside the same transaction as the change it describes; if it
fails, the surrounding request fails too (fail closed, QUALITY.md S12).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from openipt.audit.models import AuditEvent

if TYPE_CHECKING:
    from openipt.accounts.models import User

GENESIS_HASH = "0" * 64
_CHAIN_LOCK_KEY = 7_041_990  # PostgreSQL advisory lock that serialises the chain head


def event_digest(event: AuditEvent) -> str:
    """The SHA-256 of the event's content and the previous hash, in a fixed layout."""
    occurred = event.occurred_at.astimezone(timezone.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    parts = [
        occurred,
        str(event.practice_id or ""),
        str(event.actor_id or ""),
        event.actor_email,
        str(event.client_id or ""),
        event.client_uuid,
        event.action,
        event.object_type,
        event.object_id,
        event.source_address,
        event.detail,
        event.prev_hash,
    ]
    payload = "\x1f".join(parts).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


def client_address(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


def record(
    *,
    actor: User | None,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    client: Any = None,
    practice_id: int | None = None,
    request: HttpRequest | None = None,
    detail: str = "",
) -> AuditEvent:
    """Append one event to the chain. ``detail`` must never contain clinical content."""
    if action not in AuditEvent.Action.values:
        raise ValueError(f"Unknown audit action {action!r}")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "uuid", obj.pk))
    if client is not None and practice_id is None:
        practice_id = client.practice_id
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            occurred_at=timezone.now(),
            practice_id=practice_id,
            actor_id=actor.pk if actor is not None and actor.pk else None,
            actor_email=(actor.email if actor is not None and actor.pk else "")[:254],
            client_id=client.pk if client is not None else None,
            client_uuid=str(client.uuid) if client is not None else "",
            action=action,
            object_type=object_type[:60],
            object_id=object_id[:64],
            source_address=client_address(request),
            detail=detail[:500],
            prev_hash=last or GENESIS_HASH,
        )
        event.hash = event_digest(event)
        event.save(force_insert=True)
    return event


def _lock_chain() -> None:
    # SQLite: transactions start IMMEDIATE (settings), so writers are already serialised.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
