"""Reminders for questionnaires due: planned on assignment, sent once, never naming the
questionnaire, and cancelled when it is completed or expires."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.measures import reminders as questionnaire_reminders
from openipt.measures import services as measures
from openipt.measures.models import Administration, Instrument
from openipt.scheduling import reminders
from openipt.scheduling.models import Reminder
from openipt.scheduling.tests.conftest import utc

DUE_ON = dt.date(2027, 3, 2)  # a Tuesday; London is on GMT then
SEND_AT = utc(2027, 3, 1, 9, 0)  # 24 hours before 09:00 on the due day


def assign(world, due_on: dt.date = DUE_ON) -> Administration:
    return measures.administration_assign(
        actor=world.p.alice, client=world.dana, due_on=due_on, course=world.course,
        instrument=Instrument.objects.get(code="PHQ-9", practice__isnull=True),
    )  # fmt: skip


def answers(administration: Administration) -> dict[str, str]:
    return {i.link_id: i.options[0].code for i in administration.instrument.parsed.items}


@pytest.fixture
def assigned(world):
    return assign(world)


def test_assigning_with_a_due_date_plans_a_reminder_per_lead_time(world, settings):
    settings.OPENIPT_QUESTIONNAIRE_REMINDER_LEAD_HOURS = [48, 24]

    administration = assign(world)

    rows = Reminder.objects.filter(kind="questionnaire", target_id=administration.pk)
    assert sorted(r.due_at for r in rows) == [SEND_AT - dt.timedelta(hours=24), SEND_AT]


def test_the_email_says_a_questionnaire_is_waiting_and_nothing_more(assigned):
    assert reminders.send_due(now=SEND_AT - dt.timedelta(minutes=1)) == 0

    assert reminders.send_due(now=SEND_AT) == 1

    [email] = mail.outbox
    assert email.to == ["dana@example.test"]
    assert "questionnaire to fill in before your next appointment" in email.body
    assert reverse("portal:questionnaires") in email.body
    text = email.subject + email.body
    for secret in ("PHQ", "Patient Health", "Dana", "Alice", "depress", "ession"):
        assert secret not in text


def test_sent_once_across_a_second_run_and_a_worker_restart(assigned):
    crashed = reminders.claim_next(now=SEND_AT)  # this worker dies before sending
    assert crashed is not None

    soon = reminders.send_due(now=SEND_AT + dt.timedelta(minutes=1))  # restarted worker
    later = reminders.send_due(now=SEND_AT + reminders.CLAIM_TIMEOUT + dt.timedelta(seconds=1))
    again = reminders.send_due(now=SEND_AT + 2 * reminders.CLAIM_TIMEOUT + dt.timedelta(hours=1))
    # Planning twice adds nothing.
    assign_again = questionnaire_reminders.plan_for_administration(assigned)

    assert (soon, later, again) == (0, 1, 0)
    assert len(mail.outbox) == 1
    reminder = Reminder.objects.get(kind="questionnaire")
    assert assign_again == 1
    assert Reminder.objects.filter(kind="questionnaire").count() == 1
    assert AuditEvent.objects.filter(object_id=str(reminder.uuid), action="export").count() == 1


def test_completing_the_questionnaire_cancels_its_reminder(world, assigned):
    measures.administration_complete(
        actor=world.p.alice, administration=assigned, answers=answers(assigned)
    )

    assert reminders.send_due(now=SEND_AT) == 0
    assert mail.outbox == []
    assert Reminder.objects.get(kind="questionnaire").cancelled_at is not None


def test_an_expired_questionnaire_is_not_reminded(world, assigned, settings):
    settings.OPENIPT_ASSIGNMENT_EXPIRY_DAYS = 7
    measures.administrations_refresh_status(today=DUE_ON + dt.timedelta(days=8))

    assert Administration.objects.get(pk=assigned.pk).status == "expired"
    assert Reminder.objects.get(kind="questionnaire").cancelled_at is not None
    assert reminders.send_due(now=SEND_AT) == 0


def test_a_questionnaire_completed_behind_the_planner_s_back_is_not_reminded(assigned):
    Administration.objects.filter(pk=assigned.pk).update(status="expired")  # no cancel ran

    assert reminders.send_due(now=SEND_AT) == 0
    assert mail.outbox == []
    assert Reminder.objects.get(kind="questionnaire").cancelled_at is not None


def test_no_reminder_for_a_due_day_already_past_or_without_email(world):
    past = assign(world, due_on=dt.date(2026, 1, 1))
    world.dana.email = ""
    world.dana.save(update_fields=["email"])
    no_email = assign(world)

    assert not Reminder.objects.filter(target_id__in=[past.pk, no_email.pk]).exists()
