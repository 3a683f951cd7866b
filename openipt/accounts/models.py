from __future__ import annotations

import hashlib
import re
import uuid as uuid_lib
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from openipt.core.models import BaseModel
from openipt.core.validators import text_limit
from openipt.core.versioning import Versioned


def token_hash(token: str) -> str:
    """What is stored of an invitation's secret token: only its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: staff or (from the portal) a client. Login is by email."""

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Django admin site access.")
    date_joined = models.DateTimeField(default=timezone.now)
    # Staff choose the language of their pages; empty follows the browser. A client's
    # portal follows the language on their client record instead (docs/translation.md).
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, blank=True, default=""
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


# --- Crisis contacts (issue 10: safe for a client in crisis) ---------------------------------

PHONE_MAX_LENGTH = 30
_PHONE_SHAPE = re.compile(r"\+?[0-9][0-9 ().\-]*")


def phone_digits(number: str) -> str:
    """The number as a ``tel:`` URI wants it: an optional leading + and the digits only."""
    number = number.strip()
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"+{digits}" if number.startswith("+") else digits


def validate_phone_number(value: str) -> None:
    """A number someone can dial: digits with spaces, dashes, dots or brackets, an optional
    + at the start, and 3 to 15 digits (short lines such as 988 or 116 123 included)."""
    number = value.strip()
    digits = len(phone_digits(number).lstrip("+"))
    if not _PHONE_SHAPE.fullmatch(number) or not 3 <= digits <= 15:
        raise ValidationError(
            _(
                "Enter a phone number someone can dial: digits, with spaces if you like and "
                "a + at the start for an international number, such as 116 123 or "
                "+44 20 7946 0000."
            ),
            code="phone",
        )


@dataclass(frozen=True)
class CrisisLine:
    """One crisis line a practice tells its clients about."""

    name: str
    number: str
    hours: str = ""

    @property
    def tel(self) -> str:
        return f"tel:{phone_digits(self.number)}"


def _crisis_line_problems(lines: Any) -> list[str]:
    if not isinstance(lines, list):
        return [str(_("The crisis lines are not a list."))]
    problems = []
    for index, line in enumerate(lines, start=1):
        keys = {"name", "number", "hours"}
        if not isinstance(line, dict) or not set(line) <= keys or not line.get("name"):
            problems.append(str(_("Crisis line %(n)s needs a name.") % {"n": index}))
            continue
        try:
            validate_phone_number(str(line.get("number") or ""))
        except ValidationError as error:
            problems.extend(f"{line['name']}: {message}" for message in error.messages)
    return problems


class Practice(Versioned, BaseModel):
    name = models.CharField(_("practice name"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    crisis_information = models.TextField(
        _("other crisis information"),
        blank=True,
        max_length=2000,
        validators=text_limit(2000),
        help_text=_("Shown to clients: anything else they should know in an emergency."),
    )
    # Shown to clients on every portal page's "Need help now?", the help and safety-plan
    # pages and after answers that raise a risk alert (docs/measures.md §7).
    crisis_lines = models.JSONField(_("crisis lines"), default=list, blank=True)
    emergency_number = models.CharField(
        _("emergency number"),
        max_length=PHONE_MAX_LENGTH,
        blank=True,
        validators=[validate_phone_number],
    )
    response_time = models.CharField(
        _("when clinicians see answers and messages"), max_length=200, blank=True
    )
    # The key behind the research export's pseudonyms and date shifts, created on the first
    # export and sealed with the field encryption key (docs/adr/0019-research-export.md).
    research_key = models.CharField(max_length=255, blank=True, default="", editable=False)
    # A measurement schedule a practice or training programme may choose: the course guidance
    # then asks for a PHQ-9 and a GAD-7 at least every fourth session (docs/ipt.md §8).
    measure_every_fourth_session = models.BooleanField(
        _("ask for PHQ-9 and GAD-7 at least every fourth session"), default=False
    )
    # Session recordings are deleted this many days after the supervisor's review (or after
    # the upload, while not yet reviewed); docs/adr/0021-session-recordings.md.
    recording_retention_days = models.PositiveSmallIntegerField(
        _("days to keep session recordings after review"),
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        problems = _crisis_line_problems(self.crisis_lines)
        if problems:
            raise ValidationError({"crisis_lines": problems})

    @property
    def crisis_contacts(self) -> tuple[CrisisLine, ...]:
        """The crisis lines as entered, in order (rows that are not well formed are left out:
        they cannot be saved through the service, which validates them)."""
        lines = self.crisis_lines if isinstance(self.crisis_lines, list) else []
        return tuple(
            CrisisLine(str(line["name"]), str(line["number"]), str(line.get("hours") or ""))
            for line in lines
            if isinstance(line, dict) and line.get("name") and line.get("number")
        )

    @property
    def emergency_tel(self) -> str:
        return f"tel:{phone_digits(self.emergency_number)}" if self.emergency_number else ""

    @property
    def has_crisis_contacts(self) -> bool:
        """Whether the practice has told its clients whom to call (a line or an emergency
        number); without either, the portal shows general guidance instead."""
        return bool(self.crisis_contacts or self.emergency_number)


class Membership(BaseModel):
    """A user's place in a practice. Staff hold one or more roles; clients hold none."""

    class Kind(models.TextChoices):
        STAFF = "staff", _("Staff")
        CLIENT = "client", _("Client")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="memberships")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STAFF)
    is_admin = models.BooleanField(_("administrator"), default=False)
    is_supervisor = models.BooleanField(_("supervisor"), default=False)
    is_clinician = models.BooleanField(_("clinician"), default=False)
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user"], name="accounts_membership_one_per_user"),
            models.CheckConstraint(
                condition=Q(kind="staff")
                | Q(is_admin=False, is_supervisor=False, is_clinician=False),
                name="accounts_membership_client_has_no_staff_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.practice}"

    @property
    def is_staff_member(self) -> bool:
        return self.kind == self.Kind.STAFF

    @property
    def role_labels(self) -> list[str]:
        labels = []
        if self.is_admin:
            labels.append(str(_("Administrator")))
        if self.is_supervisor:
            labels.append(str(_("Supervisor")))
        if self.is_clinician:
            labels.append(str(_("Clinician")))
        if self.kind == self.Kind.CLIENT:
            labels.append(str(_("Client")))
        return labels


class Supervision(BaseModel):
    """Supervisor ↔ clinician: the supervisor may read the supervisee's clients, and co-signs
    the supervisee's session notes while the supervisee is in training under them."""

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    supervisor = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="supervisions_given"
    )
    supervisee = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="supervisions_received"
    )
    is_active = models.BooleanField(default=True)
    # In training under this supervisor: the supervisee's signed session notes wait for this
    # supervisor's co-signature before they are final (docs/adr/0018-trainee-co-signature.md).
    is_training = models.BooleanField(_("in training under this supervisor"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["supervisor", "supervisee"], name="accounts_supervision_unique_pair"
            ),
            # One supervisor co-signs a trainee's notes: at most one active training supervision.
            models.UniqueConstraint(
                fields=["supervisee"],
                condition=Q(is_active=True, is_training=True),
                name="accounts_supervision_one_training_supervisor",
            ),
            models.CheckConstraint(
                condition=~Q(supervisor=models.F("supervisee")),
                name="accounts_supervision_not_self",
            ),
        ]


class Invitation(BaseModel):
    """A single-use, expiring invitation to join a practice as staff."""

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="invitations")
    email = models.EmailField()
    full_name = models.CharField(max_length=150, blank=True)
    is_admin = models.BooleanField(default=False)
    is_supervisor = models.BooleanField(default=False)
    is_clinician = models.BooleanField(default=True)
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    @property
    def is_usable(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class RoleGrant(BaseModel):
    """A clinical role, a supervision, the administrator role (given or removed), the
    deactivation of an administrator, or an invitation with any role, waiting for a second
    administrator (docs/adr/0015-separation-of-duties.md).

    Only written when the practice has more than one active administrator; with one, the
    change takes effect at once and the audit log (and the weekly summary) is its record.
    Nothing here takes effect until ``decision`` is ``approved``.
    """

    class Kind(models.TextChoices):
        CLINICIAN = "clinician", _("Clinician role")
        SUPERVISOR = "supervisor", _("Supervisor role")
        SUPERVISION = "supervision", _("Supervision")
        INVITATION = "invitation", _("Invitation with a role")
        ADMIN = "admin", _("Administrator role")
        ADMIN_REMOVAL = "admin_removal", _("Removal of the administrator role")
        DEACTIVATION = "deactivation", _("Deactivation of an administrator")

    class Decision(models.TextChoices):
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The person who gains (or loses) the role, or the supervisee of a supervision.
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="grants"
    )
    supervisor = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    invitation = models.ForeignKey(
        Invitation, on_delete=models.PROTECT, null=True, blank=True, related_name="grants"
    )
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind__in=[
                            "clinician",
                            "supervisor",
                            "admin",
                            "admin_removal",
                            "deactivation",
                        ],
                        membership__isnull=False,
                        supervisor__isnull=True,
                        invitation__isnull=True,
                    )
                    | Q(
                        kind="supervision",
                        membership__isnull=False,
                        supervisor__isnull=False,
                        invitation__isnull=True,
                    )
                    | Q(
                        kind="invitation",
                        membership__isnull=True,
                        supervisor__isnull=True,
                        invitation__isnull=False,
                    )
                ),
                name="accounts_rolegrant_kind_shape",
            ),
            models.CheckConstraint(
                condition=Q(decision="", decided_by__isnull=True, decided_at__isnull=True)
                | (~Q(decision="") & Q(decided_by__isnull=False, decided_at__isnull=False)),
                name="accounts_rolegrant_decided_fully",
            ),
            # The second pair of eyes: whoever asked cannot approve (they may withdraw).
            models.CheckConstraint(
                condition=~Q(decision="approved") | ~Q(decided_by=models.F("requested_by")),
                name="accounts_rolegrant_not_approved_by_requester",
            ),
            models.UniqueConstraint(
                fields=["kind", "membership"],
                condition=Q(
                    decision="",
                    kind__in=["clinician", "supervisor", "admin", "admin_removal", "deactivation"],
                ),
                name="accounts_rolegrant_one_pending_role",
            ),
            models.UniqueConstraint(
                fields=["membership", "supervisor"],
                condition=Q(decision="", kind="supervision"),
                name="accounts_rolegrant_one_pending_supervision",
            ),
            models.UniqueConstraint(
                fields=["invitation"],
                condition=Q(decision=""),
                name="accounts_rolegrant_one_pending_invitation",
            ),
        ]
        indexes = [models.Index(fields=["practice", "decision", "requested_at"])]

    @property
    def is_pending(self) -> bool:
        return self.decision == ""


class StaffChangeSummary(BaseModel):
    """That the weekly summary of staff-access changes for one ISO week went out (or had
    nothing to report): the periodic task runs every minute and sends at most once."""

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    iso_year = models.PositiveSmallIntegerField()
    iso_week = models.PositiveSmallIntegerField()
    changes = models.PositiveIntegerField(default=0)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "iso_year", "iso_week"],
                name="accounts_staffchangesummary_one_per_week",
            ),
            models.CheckConstraint(
                condition=Q(iso_week__gte=1, iso_week__lte=53),
                name="accounts_staffchangesummary_week_range",
            ),
        ]
