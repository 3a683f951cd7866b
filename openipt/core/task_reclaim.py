"""Background tasks whose worker died are run again (django-tasks-db's own rows).

django-tasks-db claims a task row by setting ``status`` to ``RUNNING``, ``started_at`` to
now and adding the worker's id to ``worker_ids``, in one transaction under
``SELECT … FOR UPDATE SKIP LOCKED``; the worker marks the row ``SUCCESSFUL`` or ``FAILED``
when the task returns. A worker that is killed in between (``kill -9``, out of memory, a
power cut) leaves its row ``RUNNING`` for ever, and no worker ever takes it again.

``reclaim_stalled`` (the periodic task ``reclaim_stalled_tasks``) finds rows that have been
``RUNNING`` for longer than ``settings.OPENIPT_TASK_LEASE_SECONDS`` and puts each back to
``READY`` for the next free worker; a row already claimed ``MAX_ATTEMPTS`` times (the
length of ``worker_ids``) is marked ``FAILED`` with ``WorkerLost`` instead, so a task that
kills its worker every time cannot take the worker down for ever. Every change is a
conditional update on the row as it was read, so a worker that finishes the task in the
same moment wins and its result stays.

Running a task again is safe because every task body is idempotent:

- ``deliver_outbox`` and ``send_due_reminders`` claim each email or reminder under their
  own lease and mark it sent under the claim token (openipt/core/leases.py), so a second
  run sends only what the first did not;
- ``escalate_overdue_alerts`` and ``send_weekly_staff_summaries`` record what they did
  (once per alert, once per practice and week) in the same transaction as the email;
- the rest recompute a state from the database (heartbeat, questionnaire status, expiry
  of old submission tokens, the audit checkpoint when the chain moved).

The lease is longer than these tasks normally run. One that is merely slow and outlives it
(a stalled worker, not a dead one; a silent mail server holds each email for up to
``EMAIL_TIMEOUT``) may then run twice at the same time; the same leases keep that to one
send. The log names the task and its row, never its arguments.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger(__name__)

# A task claimed this many times by workers that all died is given up as failed.
MAX_ATTEMPTS = 3


class WorkerLost(Exception):
    """The error recorded on a task whose worker stopped while running it, every time."""


@dataclass
class Reclaimed:
    """The ids of the rows put back to run again and of those given up as failed."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.OPENIPT_TASK_LEASE_SECONDS)


def reclaim_stalled(*, now: dt.datetime | None = None) -> Reclaimed:
    """Put every task row left ``RUNNING`` longer than the lease back, or fail it."""
    now = now or timezone.now()
    done = Reclaimed()
    stalled = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=now - lease()
    ).order_by("started_at")
    for row in stalled:
        attempts = len(row.worker_ids)
        as_read = DBTaskResult.objects.filter(
            pk=row.pk, status=TaskResultStatus.RUNNING, started_at=row.started_at
        )
        last_worker = row.worker_ids[-1] if row.worker_ids else "?"
        if attempts >= MAX_ATTEMPTS:
            changed = as_read.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                return_value=None,
                exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                traceback=(
                    f"{WorkerLost.__qualname__}: the worker stopped while running this task, "
                    f"{attempts} times; it is not tried again.\n"
                ),
            )
            if changed:
                done.failed.append(str(row.pk))
                logger.error(
                    "Task %s (%s) was left running by worker %s since %s; given up after "
                    "%s attempts",
                    row.pk, row.task_path, last_worker, row.started_at.isoformat(), attempts,
                )  # fmt: skip
        else:
            changed = as_read.update(status=TaskResultStatus.READY)
            if changed:
                done.requeued.append(str(row.pk))
                logger.warning(
                    "Task %s (%s) was left running by worker %s since %s; queued to run "
                    "again (attempt %s of %s)",
                    row.pk, row.task_path, last_worker, row.started_at.isoformat(),
                    attempts + 1, MAX_ATTEMPTS,
                )  # fmt: skip
    return done
