from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The client's side: the public consultation form and the portal. Owns no models."""

    name = "openipt.portal"
    label = "portal"
    default_auto_field = "django.db.models.BigAutoField"
