"""Liveness beats of the background processes and the readiness check built on them.

``/health/`` says the web process is up; ``/ready/`` (openipt/workspace/views/readiness.py) says
whether the whole service can do its work: the database answers, every migration is
applied, and the scheduler and the worker have beaten recently. Nothing here reads client
data, so neither endpoint needs signing in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from openipt.core.models import Heartbeat

SCHEDULER = "scheduler"
WORKER = "worker"


def beat(name: str) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})


def stale_after() -> dt.timedelta:
    """Three missed rounds of ``manage.py periodic`` (at least three minutes)."""
    return dt.timedelta(seconds=max(3 * settings.OPENIPT_PERIODIC_SECONDS, 180))


_migrations_checked = False


def _migrations_pending() -> bool:
    """Whether any migration is unapplied; once all are, the answer is kept for the process
    (migrations are applied before the server starts, never under it)."""
    global _migrations_checked  # a per-process cache of a one-way fact
    if _migrations_checked:
        return False
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    pending = bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    _migrations_checked = not pending
    return pending


@dataclass(frozen=True)
class Readiness:
    problems: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.problems


def readiness() -> Readiness:
    """What stops the service from doing its work, in plain words (empty when ready)."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
        if _migrations_pending():
            return Readiness(("database: migrations not applied",))
        beats = dict(Heartbeat.objects.values_list("name", "beat_at"))
    except DatabaseError:
        return Readiness(("database: not reachable",))
    oldest = timezone.now() - stale_after()
    problems = []
    for name in (SCHEDULER, WORKER):
        seen = beats.get(name)
        if seen is None:
            problems.append(f"{name}: no heartbeat yet")
        elif seen < oldest:
            problems.append(f"{name}: last heartbeat {seen:%Y-%m-%d %H:%M:%S} UTC")
    return Readiness(tuple(problems))
