"""The outbox itself: queued with the record, claimed under a lease, retried, parked."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from openipt.core import outbox
from openipt.core.models import OutboxEmail

BROKEN = "openipt.core.tests.test_outbox.RefusingBackend"


class RefusingBackend:
    """A mail backend whose server always refuses."""

    def __init__(self, **kwargs: object) -> None:
        pass

    def __enter__(self) -> RefusingBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send_messages(self, messages: object) -> int:
        raise ConnectionRefusedError("mail server down")


def _queue(**overrides: object) -> OutboxEmail:
    fields: dict[str, object] = {
        "kind": "test", "subject": "Hello", "body": "A message waits.",
        "recipients": ["a@example.test"],
    }  # fmt: skip
    fields.update(overrides)
    row = outbox.queue_email(**fields)  # type: ignore[arg-type]
    assert row is not None
    return row


@pytest.mark.django_db
def test_nothing_is_queued_for_nobody_and_addresses_are_deduplicated():
    assert outbox.queue_email(kind="t", subject="s", body="b", recipients=["", " "]) is None
    row = _queue(recipients=["b@example.test", "a@example.test", "b@example.test "])
    assert row.recipients == ["a@example.test", "b@example.test"]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_queues_and_sends_nothing():
    def save_then_fail() -> None:
        with transaction.atomic():
            _queue()
            raise RuntimeError("the record could not be saved")

    with pytest.raises(RuntimeError):
        save_then_fail()
    assert not OutboxEmail.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_committed_email_is_sent_once_with_a_stable_message_id(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):  # tests run tasks at once
        row = _queue()
    assert [m.to for m in mail.outbox] == [["a@example.test"]]
    assert mail.outbox[0].extra_headers["Message-ID"] == outbox.message_id(row)
    assert outbox.deliver_due() == 0
    row.refresh_from_db()
    assert row.state == "sent"


def test_backoff_doubles_from_a_minute_up_to_an_hour():
    delays = [outbox.retry_delay(n) for n in range(1, 10)]
    assert delays[:3] == [dt.timedelta(minutes=m) for m in (1, 2, 4)]
    assert max(delays) == dt.timedelta(hours=1)


@pytest.mark.django_db
@override_settings(EMAIL_BACKEND=BROKEN)
def test_after_the_last_attempt_the_email_is_parked_and_can_be_sent_again():
    row = _queue()
    now = timezone.now()
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        with time_machine.travel(now + dt.timedelta(days=attempt)):
            assert outbox.deliver_due() == 0
        row.refresh_from_db()
        assert row.attempts == attempt
    assert row.state == "undeliverable"
    assert "mail server down" in row.last_error
    with time_machine.travel(now + dt.timedelta(days=30)):
        assert outbox.deliver_due() == 0  # parked rows are not tried again by themselves
    row.refresh_from_db()
    assert row.attempts == outbox.MAX_ATTEMPTS

    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        outbox.send_again(row)
        assert outbox.deliver_due() == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("sent", 1)


@pytest.mark.django_db
def test_a_row_claimed_by_a_worker_that_died_is_claimed_again_after_the_lease():
    row = _queue()
    first = outbox.claim_next()
    assert first is not None
    assert outbox.claim_next() is None  # leased to the first worker
    with time_machine.travel(timezone.now() + outbox.CLAIM_LEASE + dt.timedelta(seconds=1)):
        second = outbox.claim_next()
        assert second is not None
        assert second.pk == row.pk
        assert second.attempts == 2
        assert outbox.deliver(second)
    # The first worker wakes up: its claim is gone, so it sends nothing.
    assert not outbox.deliver(first)
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert (row.state, row.claim_token) == ("sent", second.claim_token)
