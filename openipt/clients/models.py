from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Membership, Practice
from openipt.clients.validators import (
    reject_angle_brackets,
    validate_birth_date,
    validate_not_future,
)
from openipt.core.models import BaseModel

NO_MARKUP = [reject_angle_brackets]


class Client(BaseModel):
    """A person receiving care from a practice. Never deleted; see ``status``."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ARCHIVED = "archived", _("Archived")
        ENTERED_IN_ERROR = "entered_in_error", _("Entered in error")

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="clients")
    legal_given_name = models.CharField(_("legal given name"), max_length=100, validators=NO_MARKUP)
    legal_family_name = models.CharField(
        _("legal family name"), max_length=100, validators=NO_MARKUP
    )
    preferred_name = models.CharField(
        _("preferred name"), max_length=100, validators=NO_MARKUP, blank=True
    )
    pronouns = models.CharField(_("pronouns"), max_length=40, validators=NO_MARKUP, blank=True)
    date_of_birth = models.DateField(_("date of birth"), validators=[validate_birth_date])
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, validators=NO_MARKUP, blank=True)
    address = models.TextField(_("address"), max_length=500, validators=NO_MARKUP, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=40, validators=NO_MARKUP, blank=True
    )
    emergency_contact_name = models.CharField(
        _("emergency contact name"), max_length=150, validators=NO_MARKUP, blank=True
    )
    emergency_contact_relationship = models.CharField(
        _("emergency contact relationship"), max_length=80, validators=NO_MARKUP, blank=True
    )
    emergency_contact_phone = models.CharField(
        _("emergency contact phone"), max_length=40, validators=NO_MARKUP, blank=True
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(_("reason"), max_length=500, blank=True)
    # Lower-cased "given family preferred" for search without per-row functions.
    search_name = models.CharField(max_length=320, editable=False, default="")
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["practice", "status", "legal_family_name", "legal_given_name"]),
            models.Index(fields=["practice", "date_of_birth"]),
            models.Index(fields=["practice", "search_name"]),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        given = self.preferred_name or self.legal_given_name
        return f"{given} {self.legal_family_name}".strip()


class ClientIdentifier(BaseModel):
    class System(models.TextChoices):
        PRACTICE = "practice", _("Practice record number")
        NATIONAL = "national", _("National health number")
        INSURANCE = "insurance", _("Insurance member number")
        OTHER = "other", _("Other")

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="identifiers")
    system = models.CharField(max_length=20, choices=System.choices)
    value = models.CharField(_("identifier"), max_length=64, validators=NO_MARKUP)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "system", "value"],
                name="clients_clientidentifier_unique_in_practice",
            )
        ]
        indexes = [models.Index(fields=["practice", "value"])]


class CareTeamMember(BaseModel):
    class Role(models.TextChoices):
        PRIMARY = "primary", _("Primary clinician")
        OTHER = "other", _("Care team member")

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="care_team")
    member = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="care_teams")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.OTHER)
    is_active = models.BooleanField(default=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "member"], name="clients_careteammember_unique_member"
            ),
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(role="primary", is_active=True),
                name="clients_careteammember_one_primary",
            ),
        ]
        indexes = [models.Index(fields=["member", "is_active"])]


class ConsentRecord(BaseModel):
    class Kind(models.TextChoices):
        TREATMENT = "treatment", _("Consent to treatment")
        PORTAL = "portal", _("Consent to use the client portal")
        CONTACT = "contact", _("Consent to be contacted")

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TREATMENT)
    consented_on = models.DateField(_("date of consent"), validators=[validate_not_future])
    text_version = models.CharField(_("consent text version"), max_length=40, validators=NO_MARKUP)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )


# --- The client's side: consultation requests, portal accounts, diary, messages ----------


class ConsultationRequest(BaseModel):
    """Someone asked the practice for a confidential consultation (public form)."""

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
    reason = models.TextField(_("reason"), max_length=500, validators=NO_MARKUP, blank=True)
    consent_to_contact = models.BooleanField(_("consent to be contacted"), default=False)
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


class PortalAccess(BaseModel):
    """A client's place in the portal: their account (once accepted) and what is shared."""

    client = models.OneToOneField(Client, on_delete=models.PROTECT, related_name="portal")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="portal_access",
    )
    share_progress = models.BooleanField(_("show the client their progress chart"), default=False)


class PortalInvitation(BaseModel):
    """A single-use, expiring invitation for a client to create their portal account."""

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


class DiaryEntry(BaseModel):
    """The client's mood (0-10) and what happened with whom, written in the portal."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="diary_entries")
    entry_date = models.DateField(_("day"), validators=[validate_not_future])
    mood = models.PositiveSmallIntegerField(_("mood (0 = very low, 10 = very good)"))
    with_whom = models.CharField(_("with whom"), max_length=200, blank=True)
    what_happened = models.TextField(_("what happened"), max_length=2000, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-entry_date", "-created_at"]
        indexes = [models.Index(fields=["client", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(mood__gte=0, mood__lte=10), name="clients_diaryentry_mood_range"
            ),
        ]


class Message(BaseModel):
    """A secure message in the conversation between a client and their care team."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_client = models.BooleanField(default=False)
    body = models.TextField(_("message"), max_length=5000)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["client", "created_at"])]


class MessageAttachment(BaseModel):
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to="messages/%Y/%m/", max_length=200)
    original_name = models.CharField(max_length=120)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
