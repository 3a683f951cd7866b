from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.management import call_command

from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.scheduling import reminders, services
from openipt.scheduling.models import Reminder
from openipt.scheduling.sms import LocmemSmsBackend
from openipt.scheduling.tests.conftest import book, utc

START = utc(2027, 3, 2, 10, 0)  # Tuesday 2 March 2027, 10:00 in London (GMT)
DUE = START - dt.timedelta(hours=24)


@pytest.fixture
def booked(world):
    return book(world, START, note="CANARY-NOTE bring the GP letter")


def test_booking_plans_one_reminder_per_lead_time_and_channel(world, settings):
    settings.OPENIPT_REMINDER_LEAD_HOURS = [24, 2]

    appointment = book(world, START)

    rows = Reminder.objects.filter(target_id=appointment.pk).order_by("due_at")
    assert [(r.channel, r.due_at) for r in rows] == [
        ("email", START - dt.timedelta(hours=24)),
        ("email", START - dt.timedelta(hours=2)),
    ]


def test_nothing_is_sent_before_it_is_due(booked):
    assert reminders.send_due(now=DUE - dt.timedelta(minutes=1)) == 0
    assert mail.outbox == []


def test_the_email_says_when_and_where_and_nothing_clinical(booked, world):
    reminders.send_due(now=DUE)

    [email] = mail.outbox
    assert email.to == ["dana@example.test"]
    assert "Riverside Practice" in email.subject
    assert "Tuesday 2 March 2027, 10:00" in email.body
    text = email.subject + email.body
    for secret in ("CANARY-NOTE", "Dana", "Example", "Individual", "Alice", "ession"):
        assert secret not in text


def test_running_the_sender_twice_sends_one_email(booked):
    first = reminders.send_due(now=DUE)
    second = reminders.send_due(now=DUE + dt.timedelta(minutes=30))

    assert (first, second, len(mail.outbox)) == (1, 0, 1)
    reminder = Reminder.objects.get()
    assert reminder.sent_at is not None
    assert AuditEvent.objects.filter(object_id=str(reminder.uuid), action="export").count() == 1


def test_a_crash_between_claim_and_send_still_sends_exactly_one(booked):
    claimed = reminders.claim_next(now=DUE)  # the worker dies here, before sending
    assert claimed is not None

    soon_after = reminders.send_due(now=DUE + dt.timedelta(minutes=1))  # restarted worker
    later = reminders.send_due(now=DUE + reminders.CLAIM_TIMEOUT + dt.timedelta(seconds=1))
    again = reminders.send_due(now=DUE + 2 * reminders.CLAIM_TIMEOUT + dt.timedelta(minutes=1))

    assert (soon_after, later, again) == (0, 1, 0)
    assert len(mail.outbox) == 1


def test_a_stale_claim_cannot_mark_a_reminder_sent_twice(booked):
    crashed = reminders.claim_next(now=DUE)
    reminders.send_due(now=DUE + reminders.CLAIM_TIMEOUT + dt.timedelta(seconds=1))

    # The first worker wakes up after all and tries to finish: it no longer holds the claim.
    assert reminders._mark_sent(crashed) is False
    assert AuditEvent.objects.filter(action="export").count() == 1


def test_a_failed_send_is_retried_later_and_then_sent_once(booked, monkeypatch):
    calls = {"n": 0}
    real = reminders._deliver

    def flaky(reminder, message):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("SMTP down")
        real(reminder, message)

    monkeypatch.setattr(reminders, "_deliver", flaky)
    assert reminders.send_due(now=DUE) == 0
    assert Reminder.objects.get().last_error == "ConnectionError"

    assert reminders.send_due(now=DUE + reminders.CLAIM_TIMEOUT + dt.timedelta(seconds=1)) == 1
    assert len(mail.outbox) == 1


def test_a_cancelled_appointment_gets_no_reminder(booked, world):
    services.appointment_cancel(actor=world.p.alice, appointment=booked, version=1)

    assert reminders.send_due(now=DUE) == 0
    assert mail.outbox == []


def test_a_moved_appointment_is_reminded_at_its_new_time_only(booked, world):
    new_start = START + dt.timedelta(days=7)
    services.appointment_reschedule(
        actor=world.p.alice, appointment=booked, version=1, starts_at=new_start,
        duration_minutes=50,
    )  # fmt: skip

    assert reminders.send_due(now=DUE) == 0
    assert reminders.send_due(now=new_start - dt.timedelta(hours=24)) == 1
    assert "Tuesday 9 March 2027, 10:00" in mail.outbox[0].body


def test_planning_again_adds_nothing(booked):
    assert reminders.plan_upcoming(now=DUE - dt.timedelta(days=1)) == 1  # tried, already there
    assert Reminder.objects.count() == 1


def test_sms_goes_through_the_configured_backend(world, settings):
    settings.OPENIPT_REMINDER_CHANNELS = ["sms"]
    settings.OPENIPT_SMS_BACKEND = "openipt.scheduling.sms.LocmemSmsBackend"
    LocmemSmsBackend.outbox.clear()
    Client.objects.filter(pk=world.dana.pk).update(phone="+44 7700 900123")
    world.dana.refresh_from_db()
    book(world, START, note="CANARY-NOTE")

    reminders.send_due(now=DUE)
    reminders.send_due(now=DUE + dt.timedelta(hours=1))

    [(to, text)] = LocmemSmsBackend.outbox
    assert to == "+44 7700 900123"
    assert "Riverside Practice" in text
    assert "CANARY" not in text
    assert mail.outbox == []


def test_a_client_without_an_email_address_gets_no_email_reminder(world):
    Client.objects.filter(pk=world.dana.pk).update(email="")
    world.dana.refresh_from_db()

    book(world, START)

    assert not Reminder.objects.exists()


def test_the_worker_command_sends_due_reminders(booked, time_machine):
    time_machine.move_to(DUE + dt.timedelta(minutes=5), tick=False)

    call_command("periodic", "--now", stdout=io.StringIO())
    call_command("periodic", "--now", stdout=io.StringIO())

    assert len(mail.outbox) == 1


def test_the_background_task_sends_due_reminders(booked, time_machine, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    from openipt.scheduling.tasks import send_due_reminders

    time_machine.move_to(DUE + dt.timedelta(minutes=5), tick=False)
    result = send_due_reminders.enqueue()

    assert result.return_value == 1
    assert len(mail.outbox) == 1
