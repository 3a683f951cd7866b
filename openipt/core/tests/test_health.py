"""``/ready/``: database, migrations and fresh heartbeats of the scheduler and the worker."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.db import DatabaseError
from django.utils import timezone

from openipt.core import health
from openipt.core.management.commands import periodic
from openipt.core.models import Heartbeat


@pytest.mark.django_db
def test_not_ready_until_the_scheduler_and_the_worker_have_beaten(client):
    response = client.get("/ready/")
    assert response.status_code == 503
    assert response.json()["problems"] == [
        "scheduler: no heartbeat yet", "worker: no heartbeat yet",
    ]  # fmt: skip

    call_command("periodic", "--now", stdout=io.StringIO())  # one round, tasks run here

    response = client.get("/ready/")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})
    assert "max-age=0" in response["Cache-Control"]
    assert set(Heartbeat.objects.values_list("name", flat=True)) == {"scheduler", "worker"}


@pytest.mark.django_db
def test_a_worker_that_stopped_taking_tasks_is_named(client):
    call_command("periodic", "--now", stdout=io.StringIO())
    later = timezone.now() + health.stale_after() + dt.timedelta(seconds=5)
    Heartbeat.objects.filter(name="scheduler").update(beat_at=later)
    with time_machine.travel(later):
        problems = client.get("/ready/").json()["problems"]
    assert len(problems) == 1
    assert problems[0].startswith("worker: last heartbeat ")


@pytest.mark.django_db
def test_an_unreachable_database_or_missing_migrations_are_named(client, monkeypatch):
    monkeypatch.setattr(health, "_migrations_pending", lambda: True)
    assert client.get("/ready/").json()["problems"] == ["database: migrations not applied"]

    def down() -> bool:
        raise DatabaseError("connection refused")

    monkeypatch.setattr(health, "_migrations_pending", down)
    response = client.get("/ready/")
    assert response.status_code == 503
    assert response.json()["problems"] == ["database: not reachable"]


@pytest.mark.django_db
def test_migrations_are_checked_once_then_remembered(monkeypatch):
    monkeypatch.setattr(health, "_migrations_checked", False)
    assert health._migrations_pending() is False
    assert health._migrations_checked is True
    assert health._migrations_pending() is False


@pytest.mark.django_db
def test_the_scheduler_outlives_a_database_that_went_away(monkeypatch):
    rounds: list[str] = []

    def flaky_round(self, tasks, *, now):
        rounds.append("round")
        if len(rounds) == 1:
            raise DatabaseError("server closed the connection unexpectedly")

    class Stop(Exception):
        pass

    def sleep(seconds: float) -> None:
        if len(rounds) >= 2:
            raise Stop

    monkeypatch.setattr(periodic.Command, "_round", flaky_round)
    monkeypatch.setattr(periodic.time, "sleep", sleep)
    with pytest.raises(Stop):
        call_command("periodic", "--every", "60", stdout=io.StringIO())
    assert rounds == ["round", "round"]  # the failed round did not end the scheduler

    monkeypatch.setattr(periodic.Command, "_round", flaky_round)
    rounds.clear()
    with pytest.raises(DatabaseError):  # a single run reports the failure
        call_command("periodic", stdout=io.StringIO())
