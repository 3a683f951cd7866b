"""Checking the hash chain: recompute every event's hash and follow every link."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from openipt.audit.models import AuditEvent
from openipt.audit.services import GENESIS_HASH, event_digest

DEFAULT_CHUNK = 2000


@dataclass(frozen=True)
class Break:
    event_id: int
    reason: str


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    head: str
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _chunks(chunk_size: int) -> Iterator[list[AuditEvent]]:
    """All events in id order, ``chunk_size`` at a time (keyset paging: bounded memory)."""
    last_id = 0
    while True:
        chunk = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:chunk_size])
        if not chunk:
            return
        yield chunk
        last_id = chunk[-1].id


def verify_chain(
    *, chunk_size: int = DEFAULT_CHUNK, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    """Walk the chain from the first event; stop at the first one that does not fit."""
    expected_prev = GENESIS_HASH
    checked = 0
    for chunk in _chunks(chunk_size):
        for event in chunk:
            if event.prev_hash != expected_prev:
                reason = (
                    "link broken: its previous-event hash does not match the event before it "
                    "(an event was deleted, inserted or rewritten)"
                )
                return VerifyResult(checked, expected_prev, Break(event.id, reason))
            if event_digest(event) != event.hash:
                reason = "content altered: its hash does not match its content"
                return VerifyResult(checked, expected_prev, Break(event.id, reason))
            expected_prev = event.hash
            checked += 1
        if progress is not None:
            progress(checked)
    return VerifyResult(checked, expected_prev, None)
