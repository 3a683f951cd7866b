"""A mail server that refuses, answers 451 or says nothing never fails or holds a saved
write; the email arrives once the server is back (openipt/core/outbox.py, ADR 5).

These tests use the production task backend (the database: the worker sends) and the real
SMTP backend against a controllable sink, not Django's in-memory outbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from openipt.core import outbox
from openipt.core.models import OutboxEmail
from openipt.engagement.models import Message
from openipt.testing.smtp_sink import SmtpSink

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=server.port,
        EMAIL_USE_TLS=False,
        EMAIL_TIMEOUT=1,
        TASKS=DATABASE_TASKS,
    ):
        yield server
    server.stop()


def _write(dana_client, capture, body: str = "Can we move Thursday?"):
    with capture(execute=True):
        return dana_client.post(reverse("portal:messages"), {"body": body})


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["refuse", "silent"])
def test_a_message_is_saved_and_answered_normally_whatever_the_mail_server_does(
    dana_client, django_capture_on_commit_callbacks, sink, mode
):
    OutboxEmail.objects.all().delete()  # Dana's invitation, queued when she was invited
    sink.mode = mode

    response = _write(dana_client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert Message.objects.count() == 1
    assert sink.connections == 0  # the request never talked to the mail server
    queued = OutboxEmail.objects.get()
    assert (queued.kind, queued.recipients, queued.state) == (
        "message_notification", ["alice@riverside.test"], "waiting",
    )  # fmt: skip


@pytest.mark.django_db
def test_the_email_arrives_once_after_the_server_recovers(
    dana_client, django_capture_on_commit_callbacks, sink
):
    OutboxEmail.objects.all().delete()
    sink.mode = "refuse"
    _write(dana_client, django_capture_on_commit_callbacks)

    assert outbox.deliver_due() == 0  # 451: kept for later
    queued = OutboxEmail.objects.get()
    assert "451" in queued.last_error
    assert queued.attempts == 1
    assert queued.due_at > timezone.now()
    assert outbox.deliver_due() == 0  # not due yet: no hammering of a sick server

    sink.mode = "silent"
    with time_machine.travel(queued.due_at + dt.timedelta(seconds=1)):
        assert outbox.deliver_due() == 0  # times out after EMAIL_TIMEOUT, retried later
    queued.refresh_from_db()
    assert (queued.attempts, queued.state) == (2, "waiting")

    sink.mode = "accept"
    with time_machine.travel(queued.due_at + dt.timedelta(seconds=1)):
        assert outbox.deliver_due() == 1
        assert outbox.deliver_due() == 0
    assert [r.recipients for r in sink.received] == [["alice@riverside.test"]]
    assert "Can we move Thursday" not in sink.received[0].data  # only that a message waits
    assert outbox.message_id(queued) in sink.received[0].data
    queued.refresh_from_db()
    assert queued.state == "sent"
    assert queued.last_error == ""
