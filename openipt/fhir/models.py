"""A FHIR bulk export (docs/fhir-bulk.md): who asked for what, and the files it produced.

The row is made at the kick-off and the files by a background task; the row remembers
enough to rebuild the reader the export reads with (its user and the token's confinement)
and to answer the status request with a manifest. Files live in the ``exports`` storage
and are deleted, with the row marked expired, after ``OPENIPT_EXPORT_RETENTION_HOURS``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Practice
from openipt.core.models import BaseModel


class ExportJob(BaseModel):
    """One ``$export`` request and its outcome. ``output`` lists the files written, each
    ``{"type", "name", "count"}`` (``name`` is the file's name in the exports storage)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    class Level(models.TextChoices):
        SYSTEM = "system", _("Every client you may see")
        PATIENT = "patient", _("Every patient you may see")
        GROUP = "group", _("A clinician's caseload")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="fhir_exports"
    )
    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    token_id = models.BigIntegerField(
        _("access token"), null=True, blank=True, help_text=_("The token that asked for it.")
    )
    patient_id = models.BigIntegerField(
        _("confined to client"),
        null=True,
        blank=True,
        help_text=_("The client the token was confined to, if any (a Client's key)."),
    )
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    group = models.UUIDField(_("clinician (group)"), null=True, blank=True)
    types = models.JSONField(_("resource types"), default=list)
    since = models.DateTimeField(_("changed since"), null=True, blank=True)
    output_format = models.CharField(_("output format"), max_length=40)
    request_url = models.TextField(_("request"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.CharField(_("progress"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    transaction_time = models.DateTimeField(_("transaction time"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    output = models.JSONField(_("files"), default=list)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"FHIR export {self.uuid} ({self.status})"
