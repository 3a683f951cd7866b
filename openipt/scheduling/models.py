"""Appointments, weekly series, reminders and calendar feeds.

Design notes:
- Times are stored in UTC (``starts_at``/``ends_at``); a series remembers the wall-clock
  time and the IANA time zone it was planned in, so that 10:00 stays 10:00 local time
  across daylight-saving changes.
- ``ends_at`` is stored (not computed) so the double-booking check is one indexed query.
- An appointment's ``note`` is practical only ("bring the letter from the GP surgery"):
  it is never clinical and never leaves the workspace (not in reminders, not in feeds).
- ``Reminder`` is generic: ``kind`` names what it reminds about and ``target_id`` the
  row; ``key`` is unique, so a reminder can be planned any number of times and exists once.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Membership, Practice
from openipt.clients.models import Client
from openipt.core.models import BaseModel
from openipt.core.validators import validate_booked_time, validate_clinical_date
from openipt.core.versioning import Versioned
from openipt.treatment.models import ContractVersion, Course, Session

DURATION_VALIDATORS = [MinValueValidator(5), MaxValueValidator(480)]


class AppointmentSeries(BaseModel):
    """A weekly (or fortnightly, monthly) run of appointments: the sessions of a contract, or
    a repeat booked on the booking form (then ``contract`` is empty, and ``course`` too for
    appointments outside a course)."""

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    contract = models.ForeignKey(
        ContractVersion, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), validators=[MinValueValidator(0), MaxValueValidator(6)]
    )
    local_time = models.TimeField(_("time"))
    time_zone = models.CharField(_("time zone"), max_length=64)
    first_date = models.DateField(_("first date"), validators=[validate_clinical_date])
    interval_days = models.PositiveSmallIntegerField(default=7)
    count = models.PositiveSmallIntegerField(
        _("number of appointments"), validators=[MinValueValidator(1), MaxValueValidator(200)]
    )
    skip_dates = models.JSONField(_("dates to skip"), default=list, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), default=50, validators=DURATION_VALIDATORS
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6),
                name="scheduling_appointmentseries_weekday_range",
            ),
            models.CheckConstraint(
                condition=Q(count__gte=1), name="scheduling_appointmentseries_count_positive"
            ),
        ]


class Appointment(Versioned, BaseModel):
    class Kind(models.TextChoices):
        CONSULTATION = "consultation", _("Consultation")
        SESSION = "session", _("Session")

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")
        LATE_CANCELLATION = "late_cancellation", _("Late cancellation")
        NO_SHOW = "no_show", _("Did not attend")
        ATTENDED = "attended", _("Attended")

    # Statuses that still occupy the clinician's time (for double-booking checks).
    OCCUPYING = (Status.BOOKED, Status.ATTENDED)

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="appointments")
    clinician = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("clinician"),
    )
    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    session = models.ForeignKey(
        Session, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    series = models.ForeignKey(
        AppointmentSeries,
        on_delete=models.PROTECT,
        related_name="appointments",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices, default=Kind.SESSION)
    starts_at = models.DateTimeField(_("starts at"), validators=[validate_booked_time])
    ends_at = models.DateTimeField(_("ends at"), validators=[validate_booked_time])
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), default=50, validators=DURATION_VALIDATORS
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.BOOKED
    )
    note = models.CharField(
        _("practical note"),
        max_length=200,
        blank=True,
        help_text=_("Practical arrangements only; never clinical content."),
    )
    cancellation_reason = models.CharField(
        _("reason for cancelling"),
        max_length=200,
        blank=True,
        help_text=_("Why the appointment was cancelled, in a few plain words."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="scheduling_appointment_ends_after"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=480),
                name="scheduling_appointment_duration_range",
            ),
            # One appointment per recorded session: "Write the note" never makes a second.
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(session__isnull=False),
                name="scheduling_appointment_one_per_session",
            ),
        ]
        indexes = [
            models.Index(fields=["clinician", "starts_at"]),
            models.Index(fields=["client", "starts_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.starts_at:%Y-%m-%d %H:%M} UTC"

    def set_times(self, starts_at: dt.datetime, duration_minutes: int) -> None:
        self.starts_at = starts_at
        self.duration_minutes = duration_minutes
        self.ends_at = starts_at + dt.timedelta(minutes=duration_minutes)

    @property
    def is_booked(self) -> bool:
        return self.status == self.Status.BOOKED

    @property
    def is_attended(self) -> bool:
        return self.status == self.Status.ATTENDED

    @property
    def is_missed(self) -> bool:
        return self.status in (self.Status.NO_SHOW, self.Status.LATE_CANCELLATION)


class Reminder(BaseModel):
    """One message to send once: planned in advance, claimed, then marked sent.

    Delivery is at-least-once with a narrow window: see
    docs/adr/0009-reminders-and-calendar-feeds.md.
    """

    class Kind(models.TextChoices):
        APPOINTMENT = "appointment", _("Appointment")
        QUESTIONNAIRE = "questionnaire", _("Questionnaire due")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("Text message")

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    target_id = models.PositiveBigIntegerField()
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    lead_hours = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["sent_at", "cancelled_at", "due_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(sent_at__isnull=True) | Q(cancelled_at__isnull=True),
                name="scheduling_reminder_sent_or_cancelled",
            ),
        ]


class CalendarFeed(BaseModel):
    """A private iCalendar URL for one clinician; the token is stored only as a hash."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["membership"],
                condition=Q(revoked_at__isnull=True),
                name="scheduling_calendarfeed_one_active",
            )
        ]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
