from __future__ import annotations

from django.apps import AppConfig


class FhirConfig(AppConfig):
    """OpenIPT's records as FHIR R4 resources: the mappers, search, bundles, the writes that
    arrive as FHIR (docs/fhir-api.md) and bulk export with its job rows (docs/fhir-bulk.md).
    No views (those are in api)."""

    name = "openipt.fhir"
    label = "fhir"
    default_auto_field = "django.db.models.BigAutoField"
