from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The FHIR API under /fhir/ and its SMART authorisation (OAuth 2 under /oauth/):
    the HTTP side of openipt/fhir (docs/fhir-api.md, ADR 22), and the SMART apps and the
    launch context beside django-oauth-toolkit's tables (docs/smart.md, ADR 23)."""

    name = "openipt.api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"
