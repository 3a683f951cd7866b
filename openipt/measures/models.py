from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from openipt.core import languages
from openipt.core.models import BaseModel
from openipt.core.validators import (
    text_limit,
    validate_clinical_date,
    validate_past_clinical_date,
)
from openipt.core.versioning import Versioned
from openipt.measures.scoring import InstrumentDefinition, parse_questionnaire
from openipt.measures.scoring.parser import DEFAULT_LANGUAGE, language_of

# Parsed definitions by (row id, updated_at): a few dozen instruments, read on every entry.
_PARSED: dict[tuple[int, dt.datetime], InstrumentDefinition] = {}


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
    # A practice's copy of a published instrument OpenIPT knows by its LOINC panel code (a
    # licensed Spanish PHQ-9): the built-in whose rules score it and whose place it takes.
    same_as = models.CharField(
        _("same instrument as"), max_length=40, blank=True, default="", db_index=True
    )

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

    @property
    def identity(self) -> str:
        """The measure this row counts as: ``PHQ-9`` for the PHQ-9 and its translations."""
        return self.same_as or self.code

    @property
    def language(self) -> str:
        """The language of its wording, a base code (``en``, ``es``): the FHIR
        Questionnaire's ``language``, English when the file names none."""
        return language_of(self.definition)

    @property
    def language_mark(self) -> str:
        """The language named for a page, for a version not in English ("Spanish"); empty
        for the English originals. Text, so it never relies on colour."""
        return language_name(self.language)

    @cached_property
    def parsed(self) -> InstrumentDefinition:
        """The scoring definition; stored rows were validated before they were saved.

        Parsed once per process and row version: a row's definition only changes with its
        ``updated_at`` (a built-in refreshed at migrate), and an imported version is a new
        row. A row not yet saved is parsed each time."""
        key = (self.pk, self.updated_at)
        found = _PARSED.get(key) if self.pk is not None and self.updated_at else None
        if found is not None:
            return found
        outcome = parse_questionnaire(self.definition)
        if outcome.definition is None:
            raise ValueError(f"stored instrument {self} is invalid: {'; '.join(outcome.errors)}")
        if self.pk is not None and self.updated_at:
            _PARSED[key] = outcome.definition
        return outcome.definition


class Administration(Versioned, BaseModel):
    """One completion (or assignment) of an instrument for a client, with its stored score.

    The raw answers (linkId -> option code) are kept with the typed result and the version of
    the scoring code that produced it, so a score can always be explained and recomputed.
    """

    class Mode(models.TextChoices):
        CLINICIAN_ENTERED = "clinician_entered", _("Entered by the clinician")
        CLIENT_COMPLETED = "client_completed", _("Completed by the client")

    class Status(models.TextChoices):
        ASSIGNED = "assigned", _("Assigned")
        DUE = "due", _("Due")
        COMPLETED = "completed", _("Completed")
        EXPIRED = "expired", _("Expired")

    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="administrations"
    )
    course = models.ForeignKey(
        "treatment.Course",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="administrations",
    )
    session = models.ForeignKey(
        "treatment.Session",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="administrations",
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(_("how"), max_length=20, choices=Mode.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    due_on = models.DateField(
        _("due on"), null=True, blank=True, validators=[validate_clinical_date]
    )
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    total = models.DecimalField(_("total"), max_digits=6, decimal_places=1, null=True, blank=True)
    band = models.CharField(_("band"), max_length=40, blank=True)
    flags = models.JSONField(_("flags"), default=list, blank=True)
    notices = models.JSONField(_("notices"), default=list, blank=True)
    prorated = models.BooleanField(_("prorated"), default=False)
    scoring_version = models.CharField(_("scoring version"), max_length=20, blank=True)
    completed_at = models.DateTimeField(
        _("completed at"), null=True, blank=True, validators=[validate_past_clinical_date]
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # ``version`` (``Versioned``) counts saved changes; a draft of answers does not change it.
    # Answers saved one at a time in the portal, kept until the client submits (then cleared).
    draft_answers = models.JSONField(_("answers so far"), default=dict, blank=True)
    draft_saved_at = models.DateTimeField(_("answers last saved at"), null=True, blank=True)

    class Meta:
        ordering = ("completed_at", "created_at")
        indexes = [
            models.Index(fields=["course", "status"]),
            models.Index(fields=["status", "due_on"]),
            # The inbox's new questionnaires (every staff page's badge): only those clients
            # completed, by client and time.
            models.Index(
                fields=["client", "completed_at"],
                condition=Q(mode="client_completed", status="completed"),
                name="measures_adm_client_done_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="completed", completed_at__isnull=False)
                | (~Q(status="completed") & Q(completed_at__isnull=True)),
                name="measures_administration_completed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(total__isnull=True) | Q(status="completed"),
                name="measures_administration_total_only_when_completed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.status}"

    @property
    def is_valid(self) -> bool:
        return self.total is not None

    @property
    def total_display(self) -> str:
        """The total as people write it: "12", or "12.9" when prorated."""
        return "" if self.total is None else display_number(self.total)

    @property
    def is_due(self) -> bool:
        return self.status == self.Status.DUE


def language_name(code: str) -> str:
    """A questionnaire language as a page names it: empty for English (the originals), the
    language's name when OpenIPT speaks it ("Spanish", "Español" on a Spanish page), else
    its code ("FR")."""
    if not code or code == DEFAULT_LANGUAGE:
        return ""
    return languages.name(code) if code in languages.codes() else code.upper()


def display_number(value: Decimal) -> str:
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value)


class RiskAlert(BaseModel):
    """A critical answer that needs the responsible clinician's attention and a recorded
    response. It is a prompt for clinical assessment, never a diagnosis (docs/measures.md §7)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")

    class Action(models.TextChoices):
        RISK_ASSESSMENT = "risk_assessment", _("Risk assessment done")
        SAFETY_PLAN = "safety_plan", _("Safety plan reviewed")
        EMERGENCY = "emergency", _("Emergency response")
        OTHER = "other", _("Other (describe in the note)")

    administration = models.OneToOneField(
        Administration, on_delete=models.PROTECT, related_name="risk_alert"
    )
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey(
        "treatment.Course", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    clinician = models.ForeignKey(
        "accounts.Membership",
        on_delete=models.PROTECT,
        related_name="risk_alerts",
        verbose_name=_("responsible clinician"),
    )
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    flags = models.JSONField(_("flags"), default=list)
    status = models.CharField(
        _("status"), max_length=15, choices=Status.choices, default=Status.OPEN
    )
    raised_at = models.DateTimeField(_("raised at"))
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalated_to = models.ManyToManyField(
        "accounts.Membership", blank=True, related_name="escalated_alerts"
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actions = models.JSONField(_("what was done"), default=list, blank=True)
    note = models.TextField(_("note"), blank=True, max_length=2000, validators=text_limit(2000))

    class Meta:
        ordering = ("-raised_at",)
        indexes = [
            models.Index(fields=["clinician", "status"]),
            models.Index(fields=["status", "escalated_at", "raised_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", acknowledged_at__isnull=True)
                | Q(status="acknowledged", acknowledged_at__isnull=False),
                name="measures_riskalert_acknowledged_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"alert {self.uuid}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class SafetyPlan(BaseModel):
    """One saved version of a client's safety plan; every save adds a version, none change."""

    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="safety_plans"
    )
    number = models.PositiveIntegerField(_("version"))
    warning_signs = models.TextField(
        _("warning signs"), blank=True, max_length=4000, validators=text_limit(4000)
    )
    coping_strategies = models.TextField(
        _("things I can do on my own to cope"),
        blank=True,
        max_length=4000,
        validators=text_limit(4000),
    )
    distractions = models.TextField(
        _("people and places that help take my mind off things"),
        blank=True,
        max_length=4000,
        validators=text_limit(4000),
    )
    people_to_ask = models.TextField(
        _("people I can ask for help"), blank=True, max_length=4000, validators=text_limit(4000)
    )
    professionals = models.TextField(
        _("professionals and crisis lines"),
        blank=True,
        max_length=4000,
        validators=text_limit(4000),
    )
    safer_environment = models.TextField(
        _("making my surroundings safer"), blank=True, max_length=4000, validators=text_limit(4000)
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    FIELDS = (
        "warning_signs",
        "coping_strategies",
        "distractions",
        "people_to_ask",
        "professionals",
        "safer_environment",
    )

    class Meta:
        ordering = ("-number",)
        constraints = [
            models.UniqueConstraint(
                fields=("client", "number"), name="measures_safetyplan_client_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"safety plan v{self.number}"
