"""Reminders: planned as rows in advance, sent by the background worker exactly once each.

How "once" is kept (docs/adr/0009-reminders-and-calendar-feeds.md):

1. Planning creates one ``Reminder`` row per (appointment, start time, lead time, channel)
   under a unique ``key``; planning again (a retry, a second worker, a sweep) adds nothing.
2. The sender *claims* one due row in a short transaction: on PostgreSQL it locks the row
   with ``SELECT ... FOR UPDATE SKIP LOCKED`` so parallel workers take different rows; on
   SQLite the transaction is IMMEDIATE (settings) and so holds the write lock. The claim
   is a conditional UPDATE that sets ``claimed_at`` and a fresh ``claim_token``.
3. It sends, then marks the row sent (only if its own token still holds the claim), with
   the audit event, in one transaction.
4. A claim older than ``CLAIM_TIMEOUT`` without ``sent_at`` means the worker died between
   claim and send: the row becomes claimable again. A failed send is retried
   the same way, after the timeout; after ``MAX_ATTEMPTS`` the row is left alone
   (``last_error`` says why).

This is at-least-once with a window of one SMTP round trip: a crash *after* the provider
accepted the message and *before* step 3 commits sends it again. We chose that over
at-most-once (mark sent before sending), where the same crash loses the reminder: a
duplicate reminder is a nuisance; a missed appointment costs the client a session.

Reminders never carry clinical content: practice name, date and time only. Questionnaire
reminders (``openipt.measures.reminders``: planned when a questionnaire is assigned with a due
date, cancelled when it is completed or expires) say only that a questionnaire is waiting,
with the portal link: never which questionnaire.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.core import languages, leases
from openipt.scheduling import sms
from openipt.scheduling.models import Appointment, Reminder
from openipt.scheduling.times import describe, zone_for

logger = logging.getLogger("openipt.scheduling.reminders")

CLAIM_TIMEOUT = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5
# How far ahead the sweep makes sure every appointment has its reminder rows.
PLAN_AHEAD = dt.timedelta(days=8)


@dataclasses.dataclass(frozen=True)
class Message:
    """What one reminder says, and to whom. Never clinical content."""

    subject: str
    body: str
    short_text: str
    email: str
    phone: str


# Planning -------------------------------------------------------------------------------


def lead_hours() -> list[int]:
    return sorted({int(h) for h in settings.OPENIPT_REMINDER_LEAD_HOURS if int(h) > 0})


def channels_for(email: str, phone: str) -> list[str]:
    wanted = set(settings.OPENIPT_REMINDER_CHANNELS)
    chosen: list[str] = []
    if Reminder.Channel.EMAIL in wanted and email:
        chosen.append(Reminder.Channel.EMAIL)
    if Reminder.Channel.SMS in wanted and phone:
        chosen.append(Reminder.Channel.SMS)
    return chosen


def appointment_key(appointment: Appointment, lead: int, channel: str) -> str:
    start = appointment.starts_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"appointment:{appointment.uuid}:{start}:{lead}h:{channel}"


def plan_for_appointment(appointment: Appointment, *, now: dt.datetime | None = None) -> int:
    """Make sure the reminder rows of a booked appointment exist; returns rows planned."""
    if not appointment.is_booked:
        return 0
    now = now or timezone.now()
    client = appointment.client
    rows = [
        Reminder(
            key=appointment_key(appointment, lead, channel),
            kind=Reminder.Kind.APPOINTMENT,
            target_id=appointment.pk,
            practice_id=appointment.practice_id,
            client_id=appointment.client_id,
            channel=channel,
            lead_hours=lead,
            due_at=appointment.starts_at - dt.timedelta(hours=lead),
        )
        for lead in lead_hours()
        for channel in channels_for(client.email, client.phone)
        if appointment.starts_at - dt.timedelta(hours=lead) > now
    ]
    Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def cancel_for_appointment(appointment: Appointment) -> int:
    """Unsent reminders of this appointment will not go out (moved or no longer booked)."""
    return Reminder.objects.filter(
        kind=Reminder.Kind.APPOINTMENT,
        target_id=appointment.pk,
        sent_at__isnull=True,
        cancelled_at__isnull=True,
    ).update(cancelled_at=timezone.now())


def plan_upcoming(*, now: dt.datetime | None = None, only_unplanned: bool = False) -> int:
    """Plan rows for the booked appointments of the coming days. Idempotent: existing rows
    are left as they are. The worker plans everything when it starts (so changed lead
    times apply) and, on each run, the appointments that have no reminder row yet."""
    now = now or timezone.now()
    upcoming = Appointment.objects.filter(
        status=Appointment.Status.BOOKED, starts_at__gt=now, starts_at__lte=now + PLAN_AHEAD
    ).select_related("client")
    if only_unplanned:
        planned = Reminder.objects.filter(kind=Reminder.Kind.APPOINTMENT, target_id=OuterRef("pk"))
        upcoming = upcoming.exclude(Exists(planned))
    return sum(plan_for_appointment(a, now=now) for a in upcoming.iterator())


# Messages -------------------------------------------------------------------------------


def appointment_message(reminder: Reminder, now: dt.datetime) -> Message | None:
    """The reminder text for a still-booked, still-future appointment; else ``None``."""
    appointment = (
        Appointment.objects.select_related("practice", "client")
        .filter(pk=reminder.target_id)
        .first()
    )
    if appointment is None or not appointment.is_booked or appointment.starts_at <= now:
        return None
    if appointment_key(appointment, reminder.lead_hours, reminder.channel) != reminder.key:
        return None  # the appointment has moved since this reminder was planned
    practice = appointment.practice.name
    when = describe(appointment.starts_at, zone_for(appointment.practice))
    zone = zone_for(appointment.practice).key
    return Message(
        subject=_("Appointment reminder from %(practice)s") % {"practice": practice},
        body=_(
            "Hello,\n\nThis is a reminder of your appointment with %(practice)s on %(when)s "
            "(%(zone)s time).\n\nIf you cannot come, please let the practice know as soon as "
            "you can.\n\nThis message was sent automatically; replies are not read."
        )
        % {"practice": practice, "when": when, "zone": zone},
        short_text=_("Reminder: appointment with %(practice)s on %(when)s.")
        % {"practice": practice, "when": when},
        email=appointment.client.email,
        phone=appointment.client.phone,
    )


# Each kind registers the function that builds its message: appointments here, questionnaires
# from the measures app (``openipt.measures.reminders``), which sits above this one.
MessageBuilder = Callable[[Reminder, dt.datetime], Message | None]
MESSAGE_BUILDERS: dict[str, MessageBuilder] = {Reminder.Kind.APPOINTMENT: appointment_message}


def register_message_builder(kind: str, builder: MessageBuilder) -> None:
    MESSAGE_BUILDERS[kind] = builder


# Sending --------------------------------------------------------------------------------


def _claimable(now: dt.datetime) -> Q:
    return Q(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT),
        sent_at__isnull=True,
        cancelled_at__isnull=True,
        due_at__lte=now,
        attempts__lt=MAX_ATTEMPTS,
    )


@transaction.atomic
def claim_next(*, now: dt.datetime | None = None) -> Reminder | None:
    """Claim one due reminder for this worker (committed when this returns)."""
    now = now or timezone.now()
    return leases.claim_one(Reminder, _claimable(now), now=now)


def _deliver(reminder: Reminder, message: Message) -> None:
    if reminder.channel == Reminder.Channel.EMAIL:
        send_mail(message.subject, message.body, None, [message.email], fail_silently=False)
    else:
        sms.get_backend().send(message.phone, message.short_text)


@transaction.atomic
def _mark_sent(reminder: Reminder) -> bool:
    marked = Reminder.objects.filter(
        pk=reminder.pk, claim_token=reminder.claim_token, sent_at__isnull=True
    ).update(sent_at=timezone.now())
    if marked:
        audit.record(
            actor=None, action=AuditEvent.Action.EXPORT, object_type="scheduling.reminder",
            object_id=str(reminder.uuid), practice_id=reminder.practice_id,
            detail=f"{reminder.kind} reminder sent by {reminder.channel}",
        )  # fmt: skip
    return bool(marked)


def _cancel(reminder: Reminder) -> None:
    Reminder.objects.filter(pk=reminder.pk, claim_token=reminder.claim_token).update(
        cancelled_at=timezone.now()
    )


def _record_failure(reminder: Reminder, error: str) -> None:
    """Keep the claim: the row is retried once the claim times out (a simple back-off)."""
    Reminder.objects.filter(pk=reminder.pk, claim_token=reminder.claim_token).update(
        last_error=error[:200]
    )


def send_one(reminder: Reminder, *, now: dt.datetime) -> bool:
    """Send a claimed reminder. True when it went out."""
    # Written in the client's language, whatever the worker's (docs/translation.md).
    language = (
        Client.objects.filter(pk=reminder.client_id).values_list("language", flat=True).first()
    )
    with languages.speaking(language):
        message = MESSAGE_BUILDERS[reminder.kind](reminder, now)
    if message is None:
        _cancel(reminder)
        return False
    try:
        _deliver(reminder, message)
    except Exception as exc:  # any provider failure: retried after the claim times out
        logger.warning("Reminder %s not sent: %s", reminder.uuid, type(exc).__name__)
        _record_failure(reminder, type(exc).__name__)
        return False
    return _mark_sent(reminder)


def send_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Plan what is missing, then send every due reminder. Returns how many went out.

    Safe to run from several workers at once and to re-run after a crash.
    """
    now = now or timezone.now()
    plan_upcoming(now=now, only_unplanned=True)
    sent = 0
    for _attempt in range(limit):
        reminder = claim_next(now=now)
        if reminder is None:
            break
        sent += send_one(reminder, now=now)
    return sent
