"""Background tasks of the audit app (django-tasks); see openipt/audit/checkpoints.py."""

from __future__ import annotations

from django_tasks import task

from openipt.audit import checkpoints


@task()
def checkpoint_audit_head() -> bool:
    """Anchor the chain's head outside the database when it moved (idempotent)."""
    return checkpoints.take("periodic") is not None
