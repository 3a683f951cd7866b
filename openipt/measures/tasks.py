"""Background tasks of the measures app (django-tasks).

django-tasks has no scheduler: ``manage.py run_periodic`` runs (or, with ``--enqueue``,
enqueues) these every time it is called, and ``serve`` or cron calls it every minute. Both
tasks are idempotent, so a missed or doubled run does no harm.
"""

from __future__ import annotations

from django_tasks import task

from openipt.measures import services


@task()
def escalate_overdue_alerts() -> int:
    """Escalate each risk alert left unacknowledged too long to the supervisor(s), once."""
    return services.alerts_escalate_overdue()


@task()
def refresh_assignments() -> list[int]:
    """Assigned questionnaires become due on their day and expire when long overdue."""
    due, expired = services.administrations_refresh_status()
    return [due, expired]


PERIODIC = (escalate_overdue_alerts, refresh_assignments)
