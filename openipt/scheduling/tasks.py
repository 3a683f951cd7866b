"""Background-task entry points (django-tasks)."""

from __future__ import annotations

from django_tasks import task

from openipt.scheduling import reminders


@task()
def send_due_reminders() -> int:
    """Send every reminder that is due; safe to enqueue as often as you like."""
    return reminders.send_due()
