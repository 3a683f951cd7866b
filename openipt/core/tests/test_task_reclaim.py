"""Task rows left ``RUNNING`` by a worker that died are queued again, or given up as failed."""

from __future__ import annotations

import datetime as dt
import io
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from openipt.core import task_reclaim
from openipt.core.management.commands import task_worker
from openipt.core.tasks import reclaim_stalled_tasks
from openipt.core.tests.worker_tasks import note_run, runs

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

pytestmark = pytest.mark.usefixtures("_database_backend", "_signal_handlers_kept")


@pytest.fixture
def _database_backend() -> Iterator[None]:
    with override_settings(TASKS=DATABASE_TASKS, OPENIPT_TASK_LEASE_SECONDS=600):
        yield


@pytest.fixture
def _signal_handlers_kept() -> Iterator[None]:
    """The worker installs its own Ctrl-C and SIGTERM handlers; give the test run its own back."""
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for sig, handler in kept.items():
        signal.signal(sig, handler)


def _left_running(folder: Path, *, minutes_ago: float, workers: int = 1) -> DBTaskResult[..., Any]:
    """A row as a worker leaves it when it is killed mid-task: claimed, never finished."""
    result = note_run.enqueue(str(folder))
    row = DBTaskResult.objects.get(pk=result.id)
    for number in range(workers):
        row.claim(f"lost-worker-{number}")
    DBTaskResult.objects.filter(pk=row.pk).update(
        started_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
    )
    row.refresh_from_db()
    return row


def _run_worker_until_idle() -> None:
    call_command(
        "task_worker", "--batch", "--no-reload", "--no-startup-delay", "--queue-name", "*",
        "--interval", "0", "--worker-id", "the-next-worker", stdout=io.StringIO(),
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)  # the worker manages its own transactions
def test_a_task_left_running_past_its_lease_runs_again_and_finishes_once(tmp_path):
    row = _left_running(tmp_path, minutes_ago=11)
    _run_worker_until_idle()
    row.refresh_from_db()
    assert row.status == TaskResultStatus.RUNNING  # the worker never takes it by itself
    assert runs(tmp_path) == []

    done = task_reclaim.reclaim_stalled()

    assert done.requeued == [str(row.pk)]
    assert done.failed == []
    row.refresh_from_db()
    assert row.status == TaskResultStatus.READY
    _run_worker_until_idle()
    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    assert row.return_value == "done"
    assert row.worker_ids == ["lost-worker-0", "the-next-worker"]
    assert runs(tmp_path) == ["started", "finished"]
    assert task_reclaim.reclaim_stalled() == task_reclaim.Reclaimed()


@pytest.mark.django_db
def test_a_task_within_its_lease_is_left_alone(tmp_path, settings):
    row = _left_running(tmp_path, minutes_ago=9)
    assert task_reclaim.reclaim_stalled() == task_reclaim.Reclaimed()
    row.refresh_from_db()
    assert row.status == TaskResultStatus.RUNNING

    settings.OPENIPT_TASK_LEASE_SECONDS = 8 * 60  # the lease is the setting's
    assert task_reclaim.reclaim_stalled().requeued == [str(row.pk)]


@pytest.mark.django_db
def test_finished_and_waiting_tasks_are_never_touched(tmp_path):
    waiting = DBTaskResult.objects.get(pk=note_run.enqueue(str(tmp_path)).id)
    finished = _left_running(tmp_path, minutes_ago=30)
    finished.set_successful("done")
    assert task_reclaim.reclaim_stalled() == task_reclaim.Reclaimed()
    waiting.refresh_from_db()
    finished.refresh_from_db()
    assert (waiting.status, finished.status) == ("READY", "SUCCESSFUL")


@pytest.mark.django_db
def test_a_task_that_lost_its_worker_every_time_is_given_up_as_failed(tmp_path, caplog):
    row = _left_running(tmp_path, minutes_ago=11, workers=task_reclaim.MAX_ATTEMPTS)

    with caplog.at_level(logging.WARNING, logger="openipt.core.task_reclaim"):
        done = task_reclaim.reclaim_stalled()

    assert done.failed == [str(row.pk)]
    assert done.requeued == []
    row.refresh_from_db()
    assert row.status == TaskResultStatus.FAILED
    assert row.finished_at is not None
    assert row.exception_class_path == "openipt.core.task_reclaim.WorkerLost"
    assert "3 times" in row.traceback
    assert row.task_result.errors[0].exception_class_path.endswith("WorkerLost")
    assert f"{row.pk} (openipt.core.tests.worker_tasks.note_run)" in caplog.text
    assert "given up after 3 attempts" in caplog.text


@pytest.mark.django_db
def test_the_log_names_the_task_but_never_its_arguments(tmp_path, caplog):
    row = _left_running(tmp_path, minutes_ago=11)
    with caplog.at_level(logging.WARNING, logger="openipt.core.task_reclaim"):
        task_reclaim.reclaim_stalled()
    assert f"Task {row.pk} (openipt.core.tests.worker_tasks.note_run)" in caplog.text
    assert "lost-worker-0" in caplog.text
    assert "attempt 2 of 3" in caplog.text
    assert str(tmp_path) not in caplog.text


@pytest.mark.django_db
def test_the_periodic_task_keeps_what_it_reclaimed_in_its_result(tmp_path):
    stalled = _left_running(tmp_path, minutes_ago=11)
    lost = _left_running(tmp_path, minutes_ago=11, workers=3)
    assert reclaim_stalled_tasks.call() == {
        "requeued": [str(stalled.pk)],
        "failed": [str(lost.pk)],
    }


def test_the_worker_reconnects_after_a_database_error_instead_of_stopping():
    """The library's worker loop raises on a dropped connection; ours pauses and goes on."""
    calls: list[str] = []

    def run(self: object) -> None:
        calls.append("run")
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")

    with (
        mock.patch("django_tasks_db.management.commands.db_worker.Worker.run", run),
        mock.patch.object(task_worker, "close_connections") as closed,
        mock.patch.object(task_worker.time, "sleep") as slept,
    ):
        call_command("task_worker", "--no-reload", "--no-startup-delay", stdout=io.StringIO())

    assert calls == ["run", "run"]
    closed.assert_called_once_with()
    slept.assert_called_once_with(1.0)


def test_pauses_grow_and_stop_growing():
    assert [task_worker.pause_before_retry(n) for n in (1, 2, 3, 6, 7, 20)] == [
        1.0, 2.0, 4.0, 30.0, 30.0, 30.0,
    ]  # fmt: skip
