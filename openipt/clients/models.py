from __future__ import annotations

from django.conf import settings
from django.core.validators import MinLengthValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Membership, Practice
from openipt.clients.validators import (
    reject_angle_brackets,
    validate_birth_date,
    validate_not_future,
)
from openipt.core.models import BaseModel
from openipt.core.validators import text_limit
from openipt.core.versioning import Versioned

NO_MARKUP = [reject_angle_brackets]


class Client(BaseModel, Versioned):
    """A person receiving care from a practice. Never deleted; see ``status``.

    Edits are versioned (``openipt.core.versioning``): a stale edit is refused, never merged.
    """

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
    address = models.TextField(
        _("address"), max_length=500, validators=[*NO_MARKUP, *text_limit(500)], blank=True
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=40, validators=NO_MARKUP, blank=True
    )
    # The language OpenIPT speaks to the client in: the portal, invitations, reminders,
    # e-mails, texts and PDFs (docs/translation.md). ``preferred_language`` stays free text
    # for any language they speak, for an interpreter.
    language = models.CharField(
        _("language for the portal and messages"),
        max_length=8,
        choices=settings.LANGUAGES,
        default="en",
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

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_archived(self) -> bool:
        return self.status == self.Status.ARCHIVED


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
    # Set when someone who may not see the client already holding this value entered it:
    # the record is kept and flagged for an administrator to merge, rather than telling
    # them that a known person is in therapy here (ADR 14).
    duplicate_of = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("possible duplicate of"),
    )

    class Meta:
        constraints = [
            # One record per identifier, except copies flagged for an administrator to merge.
            models.UniqueConstraint(
                fields=["practice", "system", "value"],
                condition=Q(duplicate_of__isnull=True),
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

    @property
    def is_primary(self) -> bool:
        return self.role == self.Role.PRIMARY


class ConsentRecord(BaseModel):
    class Kind(models.TextChoices):
        TREATMENT = "treatment", _("Consent to treatment")
        PORTAL = "portal", _("Consent to use the client portal")
        CONTACT = "contact", _("Consent to be contacted")
        # Letters (docs/user/letters.md): sending or printing one needs its recipient's kind.
        SHARE_REFERRER = "share_referrer", _("Consent to send letters to the referrer or GP")
        SHARE_SUMMARY = "share_summary", _("Consent to be given a written progress summary")
        RECORDING = "recording", _("Consent to audio recording of sessions")

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TREATMENT)
    consented_on = models.DateField(_("date of consent"), validators=[validate_not_future])
    text_version = models.CharField(_("consent text version"), max_length=40, validators=NO_MARKUP)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # A consent can be withdrawn; the record stays, with when.
    revoked_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class EmergencyAccess(BaseModel):
    """Break-glass: a staff member outside the care team reads a client's record for a
    limited time after stating why (docs/adr/0016-emergency-access.md). Read only; the
    policy grants it while ``expires_at`` is in the future. An administrator reviews every
    one afterwards."""

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="emergency_accesses")
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="emergency_accesses"
    )
    reason = models.CharField(
        _("reason"),
        max_length=500,
        validators=[MinLengthValidator(10), reject_angle_brackets],
    )
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(
        _("review note"), max_length=500, blank=True, validators=NO_MARKUP
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("started_at")),
                name="clients_emergencyaccess_expires_after_start",
            ),
            models.CheckConstraint(
                condition=Q(reviewed_at__isnull=True) | Q(reviewed_by__isnull=False),
                name="clients_emergencyaccess_reviewed_by_someone",
            ),
        ]
        indexes = [
            models.Index(fields=["membership", "client", "expires_at"]),
            models.Index(fields=["practice", "reviewed_at"]),
        ]

    @property
    def is_reviewed(self) -> bool:
        return self.reviewed_at is not None
