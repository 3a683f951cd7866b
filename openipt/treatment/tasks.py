"""Background-task entry points (django-tasks)."""

from __future__ import annotations

from django_tasks import task

from openipt.treatment import recordings


@task()
def delete_expired_recordings() -> int:
    """Delete the session recordings whose retention date has passed; safe to enqueue as
    often as you like."""
    return recordings.delete_expired()
