"""Anchoring the audit chain outside the database (docs/adr/0010-audit-chain.md).

The hash chain shows that no event was changed, inserted or removed in the middle; it cannot
show that the newest events were cut off, or that the whole database was put back to an
older copy. So the chain's head — the id and hash of the newest event and the number of
events — is written, from time to time and on every backup, to an append-only file outside
the database (``settings.OPENIPT_AUDIT_CHECKPOINT_FILE``, by default
``var/audit-checkpoints.jsonl``; put it on other storage, or make it append-only with
``chattr +a``). ``audit_verify`` then also checks that the latest checkpoint's event is still
there with the same hash. A deliberate restore appends a checkpoint of its own, naming what
it went back to, so it is recorded rather than reported as tampering.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from openipt.audit.models import AuditEvent
from openipt.audit.services import GENESIS_HASH


@dataclass(frozen=True)
class Checkpoint:
    event_id: int
    hash: str
    count: int
    at: str
    reason: str


def _path() -> Path:
    return Path(settings.OPENIPT_AUDIT_CHECKPOINT_FILE)


def head(reason: str) -> Checkpoint:
    """The chain's newest event as it is now (event 0 and the genesis hash when empty)."""
    newest = AuditEvent.objects.order_by("-id").values("id", "hash").first()
    count = AuditEvent.objects.count()
    event_id, digest = (newest["id"], newest["hash"]) if newest else (0, GENESIS_HASH)
    return Checkpoint(event_id, digest, count, timezone.now().isoformat(), reason)


def append(checkpoint: Checkpoint) -> None:
    """One JSON line, flushed to disk before returning."""
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(checkpoint), sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def latest() -> Checkpoint | None:
    """The last readable line of the checkpoint file (a torn last line is skipped)."""
    path = _path()
    if not path.exists():
        return None
    found = None
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            found = Checkpoint(**json.loads(line))
        except (ValueError, TypeError):
            continue
    return found


def take(reason: str) -> Checkpoint | None:
    """Append the current head unless it is already the latest checkpoint."""
    now = head(reason)
    last = latest()
    if last is not None and (last.event_id, last.hash) == (now.event_id, now.hash):
        return None
    append(now)
    return now


def problem() -> str | None:
    """What the latest checkpoint says is missing from the chain, in words; None if nothing."""
    last = latest()
    if last is None or last.event_id == 0:
        return None
    event = AuditEvent.objects.filter(id=last.event_id).values("hash").first()
    if event is None:
        return (
            f"the log ends before event {last.event_id}, which the checkpoint of {last.at} "
            f"recorded: events were removed from the end or an older copy was put back"
        )
    if event["hash"] != last.hash:
        return (
            f"event {last.event_id} is not the one the checkpoint of {last.at} recorded: "
            f"the log was rewritten from that point"
        )
    return None
