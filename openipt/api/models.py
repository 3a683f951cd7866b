"""What SMART authorisation keeps beside django-oauth-toolkit's own tables.

An app (an OAuth ``Application``) belongs to one practice and can be disabled by its
administrators; an approval (the short-lived authorisation code) and every access token it
leads to remember the client the app was confined to at launch, if any. Tokens themselves
are stored by django-oauth-toolkit as SHA-256 checksums only (docs/smart.md).

A backend service (SMART Backend Services) is a ``SmartApp`` of kind ``backend``: it keeps
the public keys (a JWKS) it signs its client assertions with, acts with the authority of the
administrator who registered it, and remembers each assertion's ``jti`` until that assertion
expires (``UsedAssertion``), so that none is accepted twice.
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
    may approve it; once disabled it gets no new approvals and its tokens stop working.

    A ``backend`` app is approved by nobody: it authenticates with a JWT signed by one of
    the keys in ``jwks`` and acts with the authority of ``registered_by``, checked again at
    every request."""

    class Kind(models.TextChoices):
        LAUNCH = "launch", _("App (SMART App Launch)")
        BACKEND = "backend", _("Backend service")

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.PROTECT,
        related_name="smart_app",
    )
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="smart_apps")
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.LAUNCH)
    jwks = models.JSONField(
        _("public keys (JWKS)"),
        default=dict,
        blank=True,
        help_text=_("A backend service's public keys, each with a kid; no private parts."),
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

    @property
    def is_backend(self) -> bool:
        return self.kind == self.Kind.BACKEND


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


class UsedAssertion(models.Model):
    """A backend service's client assertion already used, kept until it expires: another
    assertion with the same ``jti`` from the same app is a replay and is refused."""

    app = models.ForeignKey(SmartApp, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "jti"], name="api_usedassertion_once"),
        ]

    def __str__(self) -> str:
        return f"{self.jti} (until {self.expires_at:%Y-%m-%d %H:%M:%S})"


class BackendExport(BaseModel):
    """A bulk export started by a backend service: only that service polls and downloads
    it, and nobody else's token reaches it."""

    job = models.OneToOneField(
        "fhir.ExportJob", on_delete=models.CASCADE, related_name="backend_export"
    )
    app = models.ForeignKey(SmartApp, on_delete=models.PROTECT, related_name="exports")
