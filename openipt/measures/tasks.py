"""Background tasks of the measures app (django-tasks).

django-tasks has no scheduler: ``manage.py periodic`` enqueues the tasks listed in
``settings.OPENIPT_PERIODIC_TASKS`` (these two among them) each time it runs, and ``serve``
runs it every minute (or cron does, where ``serve`` is not used). Both tasks are idempotent,
so a missed or doubled run does no harm.
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
