from __future__ import annotations

import uuid as uuid_lib
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from openipt.core.models import BaseModel


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


class Practice(BaseModel):
    name = models.CharField(_("practice name"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    crisis_information = models.TextField(
        _("crisis information"),
        blank=True,
        help_text=_("Shown to clients: whom to call in an emergency."),
    )

    def __str__(self) -> str:
        return self.name


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
    """Supervisor ↔ clinician: the supervisor may read the supervisee's clients."""

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    supervisor = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="supervisions_given"
    )
    supervisee = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="supervisions_received"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["supervisor", "supervisee"], name="accounts_supervision_unique_pair"
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
