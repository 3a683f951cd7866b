"""Reading the audit log: who may, which events, and the rows shown or exported."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from openipt.accounts.models import Membership, Practice, User
from openipt.accounts.policy import active_membership, can_manage_practice
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client

EXPORT_CHUNK = 2000


@dataclass(frozen=True)
class AuditFilters:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    user: User | None = None
    client_uuid: uuid.UUID | None = None
    client_name: str = ""

    def summary(self) -> str:
        """The filters for the audit event of an export: dates and IDs, never a name typed."""
        parts = []
        if self.date_from:
            parts.append(f"from {self.date_from.isoformat()}")
        if self.date_to:
            parts.append(f"to {self.date_to.isoformat()}")
        if self.user is not None:
            parts.append(f"user {self.user.uuid}")
        if self.client_uuid is not None:
            parts.append(f"client {self.client_uuid}")
        if self.client_name:
            parts.append("client name search")
        return "filters: " + (", ".join(parts) or "none")


@dataclass(frozen=True)
class AuditRow:
    id: int
    occurred_utc: dt.datetime
    occurred_local: dt.datetime
    user_name: str
    user_email: str
    client_uuid: str
    client_name: str
    action: str
    action_label: str
    object_type: str
    object_id: str
    source_address: str
    detail: str


def access_audit_log(user: User) -> Membership:
    """The admin membership whose practice's audit log ``user`` may read; 404 otherwise."""
    membership = active_membership(user)
    if not can_manage_practice(membership) or membership is None:
        raise Http404
    return membership


def practice_zone(practice: Practice) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(practice.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _day_start(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone)


def audit_events(practice: Practice, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The practice's events matching ``filters``, newest first."""
    zone = practice_zone(practice)
    events = AuditEvent.objects.filter(practice_id=practice.pk)
    if filters.date_from:
        events = events.filter(occurred_at__gte=_day_start(filters.date_from, zone))
    if filters.date_to:
        next_day = filters.date_to + dt.timedelta(days=1)
        events = events.filter(occurred_at__lt=_day_start(next_day, zone))
    if filters.user is not None:
        events = events.filter(actor_id=filters.user.pk)
    if filters.client_uuid is not None:
        events = events.filter(client_uuid=str(filters.client_uuid))
    if filters.client_name:
        matching = Client.objects.filter(
            practice=practice, search_name__contains=filters.client_name.lower()
        ).values("pk")
        events = events.filter(client_id__in=matching)
    return events.order_by("-occurred_at", "-id")


def audit_rows(practice: Practice, events: Iterable[AuditEvent]) -> list[AuditRow]:
    """Display rows for ``events``: two queries (clients, users) whatever their number."""
    events = list(events)
    client_ids = {e.client_id for e in events if e.client_id is not None}
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    clients = (
        {
            c.pk: c
            for c in Client.objects.filter(practice=practice, pk__in=client_ids).only(
                "pk", "preferred_name", "legal_given_name", "legal_family_name"
            )
        }
        if client_ids
        else {}
    )
    users = (
        {u.pk: u for u in User.objects.filter(pk__in=actor_ids).only("pk", "full_name", "email")}
        if actor_ids
        else {}
    )
    zone = practice_zone(practice)
    labels = dict(AuditEvent.Action.choices)
    rows = []
    for e in events:
        client = clients.get(e.client_id) if e.client_id is not None else None
        user = users.get(e.actor_id) if e.actor_id is not None else None
        rows.append(
            AuditRow(
                id=e.id,
                occurred_utc=e.occurred_at.astimezone(dt.UTC),
                occurred_local=e.occurred_at.astimezone(zone),
                user_name=(user.full_name if user is not None else ""),
                user_email=e.actor_email,
                client_uuid=e.client_uuid,
                client_name=client.display_name if client is not None else "",
                action=e.action,
                action_label=str(labels.get(e.action, e.action)),
                object_type=e.object_type,
                object_id=e.object_id,
                source_address=e.source_address,
                detail=e.detail,
            )
        )
    return rows


def audit_rows_for_export(practice: Practice, filters: AuditFilters) -> Iterator[AuditRow]:
    """Every matching row, newest first, read ``EXPORT_CHUNK`` events at a time."""
    events = audit_events(practice, filters)
    last: tuple[dt.datetime, int] | None = None
    while True:
        page = events
        if last is not None:
            page = page.filter(occurred_at__lte=last[0]).exclude(
                occurred_at=last[0], id__gte=last[1]
            )
        chunk = list(page[:EXPORT_CHUNK])
        if not chunk:
            return
        yield from audit_rows(practice, chunk)
        last = (chunk[-1].occurred_at, chunk[-1].id)
