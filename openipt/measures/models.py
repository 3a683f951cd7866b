from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from openipt.core.models import BaseModel
from openipt.measures.scoring import InstrumentDefinition, parse_questionnaire


class Instrument(BaseModel):
    """One version of a questionnaire: its FHIR Questionnaire JSON is the definition.

    Built-ins (practice null) come from ``openipt/measures/instruments/``; imports belong to
    one practice, which confirmed it holds a licence, and never leave that practice.
    """

    class Source(models.TextChoices):
        BUILT_IN = "built_in", _("Built in")
        IMPORTED = "imported", _("Imported")

    code = models.CharField(_("code"), max_length=40)
    version = models.CharField(_("version"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    url = models.URLField(_("canonical URL"), max_length=255)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    practice = models.ForeignKey(
        "accounts.Practice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="instruments",
    )
    definition = models.JSONField(_("FHIR Questionnaire"))
    licence_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    licence_confirmed_at = models.DateTimeField(_("licence confirmed at"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ("code", "-created_at")
        constraints = [
            models.UniqueConstraint(
                fields=("practice", "code", "version"),
                condition=Q(practice__isnull=False),
                name="measures_instrument_practice_code_version_unique",
            ),
            models.UniqueConstraint(
                fields=("code", "version"),
                condition=Q(practice__isnull=True),
                name="measures_instrument_builtin_code_version_unique",
            ),
            models.CheckConstraint(
                condition=(
                    Q(source="built_in", practice__isnull=True)
                    | Q(
                        source="imported",
                        practice__isnull=False,
                        licence_confirmed_at__isnull=False,
                    )
                ),
                name="measures_instrument_source_matches_practice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.version}"

    @cached_property
    def parsed(self) -> InstrumentDefinition:
        """The scoring definition; stored rows were validated before they were saved."""
        outcome = parse_questionnaire(self.definition)
        if outcome.definition is None:
            raise ValueError(f"stored instrument {self} is invalid: {'; '.join(outcome.errors)}")
        return outcome.definition
