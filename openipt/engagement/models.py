"""The client's side of care: consultation requests, portal accounts and invitations, the
diary, and secure messages with their attachments.

These tables were created by the clients app and keep their names (``clients_*``): moving the
models here changed no schema (see docs/adr/0013-layers.md). Each model's ``audit_label`` keeps
the name its audit events have always carried.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Membership, Practice
from openipt.clients.models import NO_MARKUP, Client
from openipt.clients.validators import validate_not_future
from openipt.core.models import BaseModel
from openipt.core.validators import text_limit


class ConsultationRequest(BaseModel):
    """Someone asked the practice for a confidential consultation (public form)."""

    audit_label = "clients.consultationrequest"

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        BOOKED = "booked", _("Consultation booked")
        CLOSED = "closed", _("Closed")

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("your name"), max_length=100, validators=NO_MARKUP)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=40, validators=NO_MARKUP, blank=True)
    contact_times = models.CharField(
        _("when we may contact you"), max_length=200, validators=NO_MARKUP, blank=True
    )
    preferred_times = models.CharField(
        _("preferred times for a consultation"),
        max_length=200,
        validators=NO_MARKUP,
        blank=True,
    )
    reason = models.TextField(
        _("reason"), max_length=500, validators=[*NO_MARKUP, *text_limit(500)], blank=True
    )
    consent_to_contact = models.BooleanField(_("consent to be contacted"), default=False)
    # The language the form was filled in: the reply, and the client record made from the
    # request, use it (docs/translation.md).
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_reason = models.CharField(
        _("reason for closing"), max_length=500, validators=NO_MARKUP, blank=True
    )
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "clients_consultationrequest"
        indexes = [models.Index(fields=["practice", "status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(email="") | ~Q(phone=""),
                name="clients_consultationrequest_has_contact",
            ),
            models.CheckConstraint(
                condition=Q(consent_to_contact=True),
                name="clients_consultationrequest_consented",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class PortalAccess(BaseModel):
    """A client's place in the portal: their account (once accepted) and what is shared."""

    audit_label = "clients.portalaccess"

    client = models.OneToOneField(Client, on_delete=models.PROTECT, related_name="portal")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="portal_access",
    )
    share_progress = models.BooleanField(_("show the client their progress chart"), default=False)

    class Meta:
        db_table = "clients_portalaccess"


class PortalInvitation(BaseModel):
    """A single-use, expiring invitation for a client to create their portal account."""

    audit_label = "clients.portalinvitation"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    @property
    def is_usable(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )

    class Meta:
        db_table = "clients_portalinvitation"


class DiaryEntry(BaseModel):
    """The client's mood (0-10) and what happened with whom, written in the portal."""

    audit_label = "clients.diaryentry"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="diary_entries")
    entry_date = models.DateField(_("day"), validators=[validate_not_future])
    mood = models.PositiveSmallIntegerField(_("mood (0 = very low, 10 = very good)"))
    with_whom = models.CharField(_("with whom"), max_length=200, blank=True)
    what_happened = models.TextField(
        _("what happened"), max_length=2000, blank=True, validators=text_limit(2000)
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        db_table = "clients_diaryentry"
        ordering = ["-entry_date", "-created_at"]
        indexes = [models.Index(fields=["client", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(mood__gte=0, mood__lte=10), name="clients_diaryentry_mood_range"
            ),
        ]


class Message(BaseModel):
    """A secure message in the conversation between a client and their care team."""

    audit_label = "clients.message"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_client = models.BooleanField(default=False)
    body = models.TextField(_("message"), max_length=5000, validators=text_limit(5000))
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "clients_message"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["client", "created_at"])]


class MessageAttachment(BaseModel):
    audit_label = "clients.messageattachment"
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to="messages/%Y/%m/", max_length=200)
    original_name = models.CharField(max_length=120)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()

    class Meta:
        db_table = "clients_messageattachment"


class InboxRead(BaseModel):
    """One staff member has read one item of their inbox: a diary entry, a between-session
    task report or a questionnaire the client completed (openipt/engagement/inbox.py).

    Per person, not per care team: a co-therapist's reading leaves it new for the others.
    ``read_at`` is compared with the item's own time, so a task the client reports on again
    after it was read comes back as new. Messages keep their own ``Message.read_at``, which
    the conversation page sets when the care team opens it.
    """

    class Kind(models.TextChoices):
        DIARY = "diary", _("Diary entry")
        TASK = "task", _("Task report")
        QUESTIONNAIRE = "questionnaire", _("Questionnaire completed")

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    target_id = models.PositiveBigIntegerField()
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "kind", "target_id"],
                name="engagement_inboxread_one_per_item",
            ),
        ]
