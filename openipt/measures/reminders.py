"""Questionnaire reminders: the measures app's kind of ``scheduling.Reminder``.

Planned when a questionnaire is assigned to the client with a due date, cancelled when it is
completed or expires, sent by the same worker loop as appointment reminders (see
``openipt.scheduling.reminders`` for how each is sent once). The message says only that a
questionnaire is waiting, with the portal link: never which questionnaire.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.measures.models import Administration
from openipt.scheduling.models import Reminder
from openipt.scheduling.reminders import Message, channels_for, register_message_builder
from openipt.scheduling.times import to_utc, zone_for

QUESTIONNAIRE_HOUR = dt.time(9, 0)  # lead times count back from 09:00 on the due day


def questionnaire_lead_hours() -> list[int]:
    hours = settings.OPENIPT_QUESTIONNAIRE_REMINDER_LEAD_HOURS
    return sorted({int(h) for h in hours if int(h) > 0})


def questionnaire_key(administration: Administration, lead: int, channel: str) -> str:
    due = administration.due_on.isoformat() if administration.due_on else "-"
    return f"questionnaire:{administration.uuid}:{due}:{lead}h:{channel}"


def _questionnaire_open(administration: Administration) -> bool:
    return (
        administration.mode == Administration.Mode.CLIENT_COMPLETED
        and administration.status in (Administration.Status.ASSIGNED, Administration.Status.DUE)
        and administration.due_on is not None
    )


def plan_for_administration(
    administration: Administration, *, now: dt.datetime | None = None
) -> int:
    """Plan the reminder rows of a questionnaire the client is to complete by its due date
    (idempotent, like appointments). Reminder times already past are not planned."""
    if not _questionnaire_open(administration) or administration.due_on is None:
        return 0
    now = now or timezone.now()
    client = administration.client
    anchor = to_utc(administration.due_on, QUESTIONNAIRE_HOUR, zone_for(client.practice))
    rows = [
        Reminder(
            key=questionnaire_key(administration, lead, channel),
            kind=Reminder.Kind.QUESTIONNAIRE,
            target_id=administration.pk,
            practice_id=client.practice_id,
            client_id=client.pk,
            channel=channel,
            lead_hours=lead,
            due_at=anchor - dt.timedelta(hours=lead),
        )
        for lead in questionnaire_lead_hours()
        for channel in channels_for(client.email, client.phone)
        if anchor - dt.timedelta(hours=lead) > now
    ]
    Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def cancel_for_administration(administration: Administration) -> int:
    """Unsent reminders of this questionnaire will not go out (completed or expired)."""
    return Reminder.objects.filter(
        kind=Reminder.Kind.QUESTIONNAIRE,
        target_id=administration.pk,
        sent_at__isnull=True,
        cancelled_at__isnull=True,
    ).update(cancelled_at=timezone.now())


def questionnaire_message(reminder: Reminder, now: dt.datetime) -> Message | None:
    """A questionnaire is waiting (no instrument name, no answers); ``None`` when it no
    longer is (completed, expired, or its due date changed since planning)."""
    administration = (
        Administration.objects.select_related("client__practice")
        .filter(pk=reminder.target_id)
        .first()
    )
    if administration is None or not _questionnaire_open(administration):
        return None
    if questionnaire_key(administration, reminder.lead_hours, reminder.channel) != reminder.key:
        return None
    practice = administration.client.practice.name
    link = settings.OPENIPT_BASE_URL.rstrip("/") + reverse("portal:questionnaires")
    return Message(
        subject=_("A reminder from %(practice)s") % {"practice": practice},
        body=_(
            "Hello,\n\nYou have a questionnaire to fill in before your next appointment. "
            "You can do it here after signing in:\n\n%(link)s\n\nThis message was sent "
            "automatically; replies are not read."
        )
        % {"link": link},
        short_text=_(
            "%(practice)s: you have a questionnaire to fill in before your next appointment: "
            "%(link)s"
        )
        % {"practice": practice, "link": link},
        email=administration.client.email,
        phone=administration.client.phone,
    )


register_message_builder(Reminder.Kind.QUESTIONNAIRE, questionnaire_message)
