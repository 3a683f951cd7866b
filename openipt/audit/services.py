"""Writing audit events. Every create, read, update, delete, print and export of client data
calls ``record`` (or ``record_read`` from a view).

Rules for callers:

- Call it inside the same transaction as the change it describes, and for a read before the
  response is built. If it fails, it raises, and so the surrounding request fails too: the
  change is rolled back and the data is not shown (fail closed, docs/quality.md S12). Never
  catch its exceptions.
- ``detail`` is a short, non-clinical note for administrators: which fields changed (their
  names, never their values), a status transition, a count. It must never carry clinical
  content: no notes, answers, scores, diagnoses, free text typed about a client. The audit
  log is kept for years, is read by administrators without clinical access and is exported
  to CSV; anything clinical in it would leak past every other control.

How the chain works: each event stores the hash of the event before it (``prev_hash``) and
its own ``hash`` = SHA-256 over a fixed, versioned layout of its fields and ``prev_hash``
(``event_digest``). Writers are serialised on the chain head, so the chain never forks
(and a unique constraint on ``prev_hash`` refuses a fork if that ever failed):

- PostgreSQL: a transaction-scoped advisory lock, held until the caller's transaction ends.
- SQLite: transactions start IMMEDIATE (settings), taking the single write lock first.
  Even under DEFERRED, a writer whose snapshot is stale cannot upgrade to a write lock
  (SQLITE_BUSY_SNAPSHOT), so a fork still fails rather than being committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid as uuid_lib
from typing import Any, Protocol

from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from openipt.audit.models import AuditEvent
from openipt.core.net import client_ip


class Actor(Protocol):
    """Who did it: a signed-in user. The audit app sits below the accounts and clients apps
    (they write events), so it knows people and clients by these few attributes only."""

    @property
    def pk(self) -> Any: ...

    @property
    def email(self) -> str: ...


class Subject(Protocol):
    """The client an event is about."""

    @property
    def pk(self) -> Any: ...

    @property
    def uuid(self) -> uuid_lib.UUID: ...

    @property
    def practice_id(self) -> int: ...


GENESIS_HASH = "0" * 64
HASH_LAYOUT = "openipt-audit-v1"
_CHAIN_LOCK_KEY = 7_041_990  # PostgreSQL advisory lock that serialises the chain head
DETAIL_MAX = 500


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_digest(event: AuditEvent) -> str:
    """SHA-256 over the event's content and the previous hash, in a fixed layout.

    The fields are encoded as one JSON array (so no field can bleed into the next) behind
    a layout version; change the layout only by adding a new version and keeping the old
    one verifiable.
    """
    layout = [
        HASH_LAYOUT,
        _utc_text(event.occurred_at),
        event.practice_id,
        event.actor_id,
        event.actor_email,
        event.client_id,
        event.client_uuid,
        event.action,
        event.object_type,
        event.object_id,
        event.source_address,
        event.detail,
        event.prev_hash,
    ]
    payload = json.dumps(layout, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def client_address(request: HttpRequest | None) -> str:
    """The address the request came from: ``REMOTE_ADDR``, or behind a proxy named in
    ``OPENIPT_TRUSTED_PROXIES`` the client it reports (``openipt.core.net.client_ip``).

    A client-supplied ``X-Forwarded-For`` from anywhere else is never believed. The rate
    limits key on the same answer.
    """
    if request is None:
        return ""
    return client_ip(request)[:45]


def record(
    *,
    actor: Actor | None,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    client: Subject | None = None,
    practice_id: int | None = None,
    request: HttpRequest | None = None,
    detail: str = "",
) -> AuditEvent:
    """Append one event to the chain and return it. ``detail`` is never clinical content."""
    if action not in AuditEvent.Action.values:
        raise ValueError(f"Unknown audit action {action!r}")
    if obj is not None:
        # A model moved to another app keeps the name its events have always carried.
        object_type = object_type or getattr(obj, "audit_label", obj._meta.label_lower)
        object_id = object_id or str(getattr(obj, "uuid", obj.pk))
    if client is not None:
        if practice_id is not None and practice_id != client.practice_id:
            raise ValueError("The client belongs to another practice than the event")
        practice_id = client.practice_id
    known_actor = actor is not None and actor.pk is not None
    for attempt in range(1, APPEND_ATTEMPTS + 1):
        try:
            return _append(
                actor=actor if known_actor else None, action=action, object_type=object_type,
                object_id=object_id, client=client, practice_id=practice_id, request=request,
                detail=detail,
            )  # fmt: skip
        except IntegrityError:
            # Another writer appended after the head this one read (the unique ``prev_hash``
            # refused the fork): read the new head and append after it.
            if attempt == APPEND_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


#: How often an append that lost the race for the chain's head reads the head again. The
#: chain lock (an advisory lock on PostgreSQL, the write lock of an IMMEDIATE transaction
#: on SQLite) normally leaves nothing to race for; this covers a database that cannot lock.
APPEND_ATTEMPTS = 5


def _append(
    *,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: str,
    client: Subject | None,
    practice_id: int | None,
    request: HttpRequest | None,
    detail: str,
) -> AuditEvent:
    known_actor = actor is not None
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            occurred_at=timezone.now(),
            practice_id=practice_id,
            actor_id=actor.pk if known_actor and actor is not None else None,
            actor_email=actor.email[:254] if known_actor and actor is not None else "",
            client_id=client.pk if client is not None else None,
            client_uuid=str(client.uuid) if client is not None else "",
            action=action,
            object_type=object_type[:60],
            object_id=object_id[:64],
            source_address=client_address(request),
            detail=detail[:DETAIL_MAX],
            prev_hash=last or GENESIS_HASH,
        )
        event.hash = event_digest(event)
        event.save(force_insert=True)
    return event


def record_read(
    request: HttpRequest | None,
    client: Subject,
    obj: Any = None,
    *,
    detail: str = "",
    actor: Actor | None = None,
) -> AuditEvent:
    """Record that ``actor`` (default: the signed-in user of ``request``) has been shown
    ``obj`` of ``client`` (default: the client record itself). The one read helper: the
    ``openipt.access`` gates call it when given ``audit=request``."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return record(
        actor=actor,
        action=AuditEvent.Action.READ,
        obj=client if obj is None else obj,
        client=client,
        request=request,
        detail=detail,
    )


def record_list_read(
    request: HttpRequest | None,
    *,
    actor: Actor | None,
    practice_id: int | None,
    object_type: str,
    detail: str,
) -> AuditEvent:
    """Record that ``actor`` was shown a list naming several clients (a search page, the
    alert list, a week of appointments): one read event for the page, with what kind of
    list and how many rows in ``detail``, never the names themselves."""
    return record(
        actor=actor,
        action=AuditEvent.Action.READ,
        object_type=object_type,
        practice_id=practice_id,
        request=request,
        detail=detail,
    )


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
