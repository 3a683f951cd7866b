"""Background tasks of the core app (django-tasks).

``deliver_outbox`` is enqueued after every commit that queued an email and, as a safety net,
by ``manage.py periodic`` every minute; it is idempotent (rows are claimed under a lease).
``reclaim_stalled_tasks`` puts the task rows of a worker that died back in the queue
(openipt/core/task_reclaim.py).
"""

from __future__ import annotations

from django_tasks import task

from openipt.core import health, outbox, submissions, task_reclaim


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


@task()
def reclaim_stalled_tasks() -> dict[str, list[str]]:
    """Tasks left running by a worker that died run again (openipt/core/task_reclaim.py);
    the ids of the rows put back and of those given up stay in this task's result."""
    done = task_reclaim.reclaim_stalled()
    return {"requeued": done.requeued, "failed": done.failed}
