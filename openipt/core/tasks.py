"""Background tasks of the core app (django-tasks).

``deliver_outbox`` is enqueued after every commit that queued an email and, as a safety net,
by ``manage.py periodic`` every minute; it is idempotent (rows are claimed under a lease).
"""

from __future__ import annotations

from django_tasks import task

from openipt.core import health, outbox, submissions


@task()
def deliver_outbox() -> int:
    """Send every queued email that is due (openipt/core/outbox.py)."""
    return outbox.deliver_due()


@task()
def worker_heartbeat() -> str:
    """Proof that the worker takes tasks off the queue (``/ready/``)."""
    health.beat(health.WORKER)
    return "alive"


@task()
def forget_old_submissions() -> int:
    """Submission tokens older than a day are forgotten (openipt/core/submissions.py)."""
    return submissions.forget_old()
