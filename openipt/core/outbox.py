"""The email outbox: services queue, the worker sends (docs/adr/0005-background-tasks.md).

``queue_email`` writes an ``OutboxEmail`` row inside the caller's transaction and, once that
transaction commits, enqueues the ``deliver_outbox`` task; it never opens a connection to
the mail server, so a refusing, slow or silent server cannot fail or hold a request.
``deliver_due`` (the worker, and ``manage.py periodic`` every minute as a safety net) claims
one row at a time under a lease, sends it with a bounded timeout and records the outcome:

- sent: ``sent_at`` is set under the claim token, so a second worker cannot mark it again;
- refused or timed out: retried with exponential backoff (1, 2, 4 ... minutes, at most an
  hour apart) up to ``MAX_ATTEMPTS``, then parked as undeliverable (``dead_at``) where an
  administrator sees it and can send it again;
- the worker died mid-send: the lease runs out and another worker claims the row again.

The guarantee is *at least once*: the only duplicate possible is a worker dying after the
server accepted the email and before the row was marked; the resend carries the same
``Message-ID`` (derived from the row), which mail systems use to fold duplicates.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from openipt.core import leases
from openipt.core.models import OutboxEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
CLAIM_LEASE = dt.timedelta(minutes=5)
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_RETRY = dt.timedelta(hours=1)
BATCH = 100


def queue_email(
    *,
    kind: str,
    subject: str,
    body: str,
    recipients: Iterable[str],
    practice_id: int | None = None,
) -> OutboxEmail | None:
    """Queue one email to ``recipients`` (one message, all of them in To); None if nobody."""
    addresses = sorted({address.strip() for address in recipients if address and address.strip()})
    if not addresses:
        return None
    row = OutboxEmail.objects.create(
        kind=kind,
        practice_id=practice_id,
        recipients=addresses,
        subject=" ".join(subject.split())[:255],
        body=body,
        due_at=timezone.now(),
    )
    transaction.on_commit(_wake_worker)
    return row


def _wake_worker() -> None:
    """Ask the worker to deliver now; if even that fails, the minute-by-minute run will."""
    from openipt.core.tasks import deliver_outbox  # here: openipt.core.tasks imports us

    try:
        deliver_outbox.enqueue()
    except Exception:  # the row is committed; it will be sent by the next periodic run
        logger.exception("Could not enqueue outbox delivery; the periodic run will send it")


def retry_delay(attempts: int) -> dt.timedelta:
    """Wait before the next try after ``attempts`` failed ones: 1, 2, 4 ... 60 minutes."""
    delay: dt.timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(delay, LONGEST_RETRY)


def _claimable(now: dt.datetime) -> Q:
    return Q(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE),
        sent_at__isnull=True,
        dead_at__isnull=True,
        due_at__lte=now,
    )


@transaction.atomic
def claim_next(*, now: dt.datetime | None = None) -> OutboxEmail | None:
    """Claim the oldest due row for this worker (committed when this returns)."""
    now = now or timezone.now()
    return leases.claim_one(OutboxEmail, _claimable(now), now=now)


def message_id(row: OutboxEmail) -> str:
    """The same for every attempt at one row, so a resend is recognisably the same email."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "openipt.invalid"
    return f"<outbox-{row.uuid}@{domain}>"


def _send(row: OutboxEmail) -> None:
    with get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT) as mail:
        email = EmailMessage(
            row.subject,
            row.body,
            None,
            list(row.recipients),
            connection=mail,
            headers={"Message-ID": message_id(row)},
        )
        email.send()


def deliver(row: OutboxEmail) -> bool:
    """Send one claimed row; True when the server accepted it. A worker whose lease ran out
    while it was stalled finds its claim gone (another worker has the row) and sends nothing."""
    still_ours = OutboxEmail.objects.filter(
        pk=row.pk, claim_token=row.claim_token, sent_at__isnull=True, dead_at__isnull=True
    )
    if not still_ours.exists():
        return False
    try:
        _send(row)
    except Exception as error:  # any failure of the mail server: retry later, never raise
        _failed(row, f"{type(error).__name__}: {error}"[:500])
        return False
    OutboxEmail.objects.filter(pk=row.pk, claim_token=row.claim_token, sent_at__isnull=True).update(
        sent_at=timezone.now(), last_error=""
    )
    return True


def _failed(row: OutboxEmail, error: str) -> None:
    now = timezone.now()
    changes: dict[str, object] = {"claimed_at": None, "claim_token": "", "last_error": error}
    if row.attempts >= MAX_ATTEMPTS:
        changes["dead_at"] = now
        logger.error(
            "Email %s is undeliverable after %s attempts: %s", row.uuid, row.attempts, error
        )
    else:
        changes["due_at"] = now + retry_delay(row.attempts)
        logger.warning(
            "Email %s not sent (attempt %s), will retry: %s", row.uuid, row.attempts, error
        )
    OutboxEmail.objects.filter(pk=row.pk, claim_token=row.claim_token).update(**changes)


def deliver_due(*, limit: int = BATCH) -> int:
    """Send what is due, oldest first, at most ``limit`` rows; the number sent."""
    sent = 0
    for _ in range(limit):
        row = claim_next()
        if row is None:
            break
        sent += deliver(row)
    return sent


def send_again(row: OutboxEmail) -> None:
    """An undeliverable row goes back in the queue with a fresh set of attempts."""
    OutboxEmail.objects.filter(pk=row.pk, sent_at__isnull=True).update(
        dead_at=None, attempts=0, due_at=timezone.now(), claimed_at=None, claim_token=""
    )
    transaction.on_commit(_wake_worker)
