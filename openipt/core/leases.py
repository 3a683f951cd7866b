"""One due row for one worker, under a lease: the outbox's emails and the reminders.

A row that can be claimed has ``claimed_at``, ``claim_token`` and ``attempts``; the caller
says which rows are claimable now (due, not sent, not claimed or claimed longer ago than
its lease). ``claim_one`` takes the oldest, stamps it with a fresh token and counts the
attempt, in the caller's transaction; a worker that loses the race gets None and the
winner sends it. Marking it sent later under the same token keeps a reclaimed row from
being marked twice.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import F, Q

M = TypeVar("M", bound=models.Model)


def claim_one(model: type[M], claimable: Q, *, now: dt.datetime) -> M | None:
    """Claim the claimable row with the earliest ``due_at`` (call inside a transaction)."""
    manager: Any = model._default_manager
    candidates = manager.filter(claimable).order_by("due_at", "pk")
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True)
    row = candidates.first()
    if row is None:
        return None
    token = secrets.token_hex(16)
    claimed = manager.filter(claimable, pk=row.pk).update(
        claimed_at=now, claim_token=token, attempts=F("attempts") + 1
    )
    if not claimed:  # another worker took it first
        return None
    row.claimed_at, row.claim_token, row.attempts = now, token, row.attempts + 1
    return row  # type: ignore[no-any-return]
