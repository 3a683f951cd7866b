"""The client's mood and relationships diary: written in the portal, read by the care team."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.http import HttpRequest

from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.engagement.models import DiaryEntry

if TYPE_CHECKING:
    from openipt.accounts.models import User

DIARY_PAGE = 50


@dataclass(frozen=True)
class DiaryData:
    entry_date: dt.date
    mood: int
    with_whom: str = ""
    what_happened: str = ""


@transaction.atomic
def diary_entry_create(
    *, actor: User, client: Client, data: DiaryData, request: HttpRequest | None = None
) -> DiaryEntry:
    """The client writes an entry in their own diary (the portal passes their own record)."""
    entry = DiaryEntry(
        client=client,
        entry_date=data.entry_date,
        mood=data.mood,
        with_whom=data.with_whom.strip(),
        what_happened=data.what_happened.strip(),
        author=actor,
    )
    entry.full_clean()
    entry.save()
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=entry, client=client, request=request
    )
    return entry


def diary_entries(client: Client, *, limit: int = DIARY_PAGE) -> list[DiaryEntry]:
    """The newest entries of this client's diary (the caller has checked access)."""
    return list(DiaryEntry.objects.filter(client=client)[:limit])


def diary_entries_since(client: Client, since: dt.datetime | None) -> list[DiaryEntry]:
    """Entries written after ``since`` (e.g. the last session), oldest first.

    For the next session's opening review. The caller has checked read access to the client
    and records the read (e.g. as part of the session page's read event).
    """
    qs = DiaryEntry.objects.filter(client=client)
    if since is not None:
        qs = qs.filter(created_at__gt=since)
    return list(qs.order_by("created_at", "pk")[:DIARY_PAGE])
