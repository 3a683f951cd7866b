"""What SMART authorisation keeps beside django-oauth-toolkit's own tables.

An app (an OAuth ``Application``) belongs to one practice and can be disabled by its
administrators; an approval (the short-lived authorisation code) and every access token it
leads to remember the client the app was confined to at launch, if any. Tokens themselves
are stored by django-oauth-toolkit as SHA-256 checksums only (docs/smart.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings

from openipt.accounts.models import Practice
from openipt.clients.models import Client
from openipt.core.models import BaseModel


class SmartApp(BaseModel):
    """A SMART app registered by a practice administrator. Only members of that practice
    may approve it; once disabled it gets no new approvals and its tokens stop working."""

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.PROTECT,
        related_name="smart_app",
    )
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="smart_apps")
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(disabled_at__isnull=True, disabled_by__isnull=True)
                | models.Q(disabled_at__isnull=False, disabled_by__isnull=False),
                name="api_smartapp_disabled_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return str(self.application.name)

    @property
    def is_enabled(self) -> bool:
        return self.disabled_at is None


class ApprovalContext(BaseModel):
    """The client an approval (authorisation code) is confined to, until it is exchanged."""

    grant = models.OneToOneField(
        oauth2_settings.GRANT_MODEL,
        on_delete=models.CASCADE,
        related_name="smart_context",
    )
    patient = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")


class TokenContext(BaseModel):
    """Every access token issued to a SMART app: its public id (for the Connected apps page)
    and the client it is confined to, if any. It goes when the token is revoked."""

    access_token = models.OneToOneField(
        oauth2_settings.ACCESS_TOKEN_MODEL,
        on_delete=models.CASCADE,
        related_name="smart_context",
    )
    patient = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
