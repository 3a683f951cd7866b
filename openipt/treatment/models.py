"""The IPT course as structured records (docs/ipt.md).

Design notes:
- Records are never deleted; a course moves to ``entered_in_error``.
- Editable records carry ``version`` for optimistic concurrency (docs/quality.md R2); services
  refuse a save whose version is stale.
- Area-specific problem-area fields and technique fields live in a JSON ``details`` column
  validated against a per-kind field list (``AREA_FIELDS`` / ``TECHNIQUE_FIELDS``); the
  fields the protocol checks (dispute partner and stage, mourning progress) are real
  columns so they can be queried and constrained.
- ``ProcessNote`` is private to its author (docs/quality.md S3): it has no ``__str__`` with
  content, no admin, and is read only through ``openipt.access.treatment.access_process_note``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Membership
from openipt.clients.models import Client
from openipt.core.models import BaseModel
from openipt.core.validators import (
    LONG_NOTE,
    PARAGRAPH,
    text_limit,
    validate_clinical_date,
    validate_life_event_date,
    validate_past_clinical_date,
)
from openipt.core.versioning import Versioned
from openipt.ipt import vocabulary as v

MOOD_VALIDATORS = [MinValueValidator(0), MaxValueValidator(10)]


def _display(member: StrEnum) -> str:
    """``vocabulary.display(member)``, translated into the active language."""
    label = v.label_of(member)
    if not v.shows_lay(member):
        return gettext(label.clinical)
    return gettext(v.DISPLAY_PATTERN) % {
        "clinical": gettext(label.clinical),
        "lay": gettext(label.lay),
    }


_lazy_display = lazy(_display, str)


def _choice(member: StrEnum) -> tuple[str, str]:
    """A ``TextChoices`` member from the IPT vocabulary: its stored value and its display
    label, a lazy string translated when shown.

    The IPT choices below are built only from ``openipt.ipt.vocabulary``, so their values and
    labels cannot drift from the protocol's (openipt/ipt/tests/test_vocabulary.py checks it).
    """
    return member.value, _lazy_display(member)


class Audited(BaseModel):
    """Who created and last changed a record."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        abstract = True


class Format(models.TextChoices):
    IPT = _choice(v.FormatCode.IPT)
    IPT_B = _choice(v.FormatCode.IPT_B)
    IPT_A = _choice(v.FormatCode.IPT_A)
    IPT_G = _choice(v.FormatCode.IPT_G)
    IPC = _choice(v.FormatCode.IPC)
    IPT_M = _choice(v.FormatCode.IPT_M)


class Frequency(models.TextChoices):
    WEEKLY = _choice(v.Frequency.WEEKLY)
    FORTNIGHTLY = _choice(v.Frequency.FORTNIGHTLY)
    MONTHLY = _choice(v.Frequency.MONTHLY)
    FLEXIBLE = _choice(v.Frequency.FLEXIBLE)


class Phase(models.TextChoices):
    INITIAL = _choice(v.Phase.INITIAL)
    MIDDLE = _choice(v.Phase.MIDDLE)
    TERMINATION = _choice(v.Phase.TERMINATION)


class Area(models.TextChoices):
    GRIEF = _choice(v.ProblemArea.GRIEF)
    ROLE_DISPUTE = _choice(v.ProblemArea.ROLE_DISPUTE)
    ROLE_TRANSITION = _choice(v.ProblemArea.ROLE_TRANSITION)
    DEFICITS = _choice(v.ProblemArea.INTERPERSONAL_DEFICITS)


class Course(Audited, Versioned):
    """One episode of IPT for one client."""

    class Status(models.TextChoices):
        ASSESSMENT = _choice(v.CourseStatus.ASSESSMENT)
        ACTIVE = _choice(v.CourseStatus.ACTIVE)
        CONCLUDED = _choice(v.CourseStatus.CONCLUDED)
        ENDED_EARLY = _choice(v.CourseStatus.ENDED_EARLY)
        ENTERED_IN_ERROR = _choice(v.CourseStatus.ENTERED_IN_ERROR)

    class Concern(models.TextChoices):
        DEPRESSION = "depression", _("Depression")
        ANXIETY = "anxiety", _("Anxiety")
        GRIEF = "grief", _("Grief")
        LIFE_TRANSITION = "life_transition", _("Life transition")
        OTHER = "other", _("Other")

    class Medication(models.TextChoices):
        NOT_RECORDED = "not_recorded", _("Not yet discussed")
        NONE = "none", _("No medication (decided)")
        CONSIDERING = "considering", _("Being considered")
        TAKING = "taking", _("Taking medication")
        DECLINED = "declined", _("Declined medication")

    class Participant(models.TextChoices):
        PARTNER = "partner", _("Partner")
        PARENT = "parent", _("Parent or carer")
        OTHER = "other", _("Someone else")

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="courses")
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    planned_sessions = models.PositiveSmallIntegerField(
        _("planned number of sessions"), validators=[MinValueValidator(1), MaxValueValidator(200)]
    )
    frequency = models.CharField(
        _("frequency"), max_length=12, choices=Frequency.choices, default=Frequency.WEEKLY
    )
    start_date = models.DateField(_("start date"), validators=[validate_clinical_date])
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ASSESSMENT
    )
    status_reason = models.CharField(_("reason for status"), max_length=500, blank=True)
    clinician = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        related_name="courses",
        verbose_name=_("responsible clinician"),
    )
    presenting_concerns = models.JSONField(_("presenting concerns"), default=list, blank=True)
    concerns_other = models.CharField(_("other concern"), max_length=200, blank=True)
    medication_status = models.CharField(
        _("medication"), max_length=12, choices=Medication.choices, default=Medication.NOT_RECORDED
    )
    prescriber = models.CharField(_("prescriber"), max_length=200, blank=True)
    participants = models.JSONField(_("who else takes part"), default=list, blank=True)
    participant_names = models.CharField(_("their names"), max_length=300, blank=True)
    # When the course was concluded or ended early (docs/ipt.md §3 "Concluding a course").
    ended_on = models.DateField(
        _("ended on"), null=True, blank=True, validators=[validate_clinical_date]
    )
    # A maintenance course follows the acute course it keeps going: its baseline score,
    # warning signs and relapse plan are read from there (docs/ipt.md §2, ``ipt_m``).
    follows = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        related_name="followed_by",
        null=True,
        blank=True,
        verbose_name=_("follows the course"),
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_sessions__gte=1), name="treatment_course_planned_positive"
            ),
        ]
        indexes = [models.Index(fields=["clinician", "status"])]

    def __str__(self) -> str:
        return f"{self.get_format_display()} · {self.start_date}"

    def clean(self) -> None:
        _check_codes(self.presenting_concerns, self.Concern, "presenting_concerns")
        _check_codes(self.participants, self.Participant, "participants")

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.ASSESSMENT, self.Status.ACTIVE)

    @property
    def is_closed(self) -> bool:
        """Concluded or ended early (not a course entered in error)."""
        return self.status in (self.Status.CONCLUDED, self.Status.ENDED_EARLY)


def _check_codes(value: Any, choices: type[models.TextChoices], field: str) -> None:
    if not isinstance(value, list) or any(v not in choices.values for v in value):
        raise ValidationError({field: _("Choose from the listed options.")})


class CoSign(models.TextChoices):
    """Where a trainee's signed note stands with their supervisor."""

    AWAITING = "awaiting", _("Awaiting co-signature")
    RETURNED = "returned", _("Returned with a comment")
    COSIGNED = "cosigned", _("Co-signed")


# A note needing no co-signature (blank) or co-signed is final.
FINAL_COSIGN_STATUSES = ("", CoSign.COSIGNED.value)


class Session(Audited, Versioned):
    CoSign = CoSign

    class Attendance(models.TextChoices):
        # Not SCHEDULED: that is the protocol's state for a session not yet held.
        ATTENDED = _choice(v.Attendance.ATTENDED)
        CANCELLED = _choice(v.Attendance.CANCELLED)
        LATE_CANCELLATION = _choice(v.Attendance.LATE_CANCELLATION)
        NO_SHOW = _choice(v.Attendance.NO_SHOW)

    class Attendee(models.TextChoices):
        CLIENT = "client", _("Client")
        PARTNER = "partner", _("Partner")
        PARENT = "parent", _("Parent or carer")
        OTHER = "other", _("Someone else")

    class Risk(models.TextChoices):
        NOT_ASKED = "not_asked", _("Not asked this session")
        NO_CONCERNS = "no_concerns", _("Asked: no current concerns")
        CONCERNS = "concerns", _("Asked: concerns noted (see notes)")

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    # 0 is a session before the contract: Brief IPT's engagement or the pre-group session.
    number = models.PositiveSmallIntegerField(_("session number"))
    starts_at = models.DateTimeField(_("date and time"), validators=[validate_clinical_date])
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(480)],
    )
    attendance = models.CharField(
        _("attendance"), max_length=20, choices=Attendance.choices, default=Attendance.ATTENDED
    )
    phase_override = models.CharField(
        _("phase (override)"), max_length=12, choices=Phase.choices, blank=True
    )
    phase_override_reason = models.CharField(
        _("reason for phase override"), max_length=300, blank=True
    )
    attendees = models.JSONField(_("who attended"), default=list, blank=True)
    mood = models.PositiveSmallIntegerField(
        _("mood since last time (0 = worst, 10 = best)"),
        null=True,
        blank=True,
        validators=MOOD_VALIDATORS,
    )
    events_since_last = models.TextField(
        _("interpersonal events since last time"),
        blank=True,
        max_length=LONG_NOTE,
        validators=text_limit(LONG_NOTE),
    )
    mood_event_link = models.TextField(
        _("how the events and the mood are linked"),
        blank=True,
        max_length=LONG_NOTE,
        validators=text_limit(LONG_NOTE),
    )
    focus = models.TextField(
        _("focus of the session"),
        blank=True,
        max_length=LONG_NOTE,
        validators=text_limit(LONG_NOTE),
    )
    problem_area_work = models.TextField(
        _("problem-area work"),
        blank=True,
        max_length=LONG_NOTE,
        validators=text_limit(LONG_NOTE),
    )
    techniques_used = models.JSONField(_("techniques used"), default=list, blank=True)
    tasks_reviewed = models.TextField(
        _("between-session tasks reviewed"),
        blank=True,
        max_length=LONG_NOTE,
        validators=text_limit(LONG_NOTE),
    )
    tasks_set = models.TextField(
        _("between-session tasks set (Something to try this week)"),
        blank=True,
        max_length=LONG_NOTE,
        validators=text_limit(LONG_NOTE),
    )
    risk_check = models.CharField(
        _("risk check"), max_length=12, choices=Risk.choices, default=Risk.NOT_ASKED
    )
    risk_notes = models.TextField(
        _("risk notes"),
        blank=True,
        max_length=LONG_NOTE,
        validators=text_limit(LONG_NOTE),
    )
    progress_note = models.TextField(
        _("progress note"),
        blank=True,
        max_length=LONG_NOTE,
        validators=text_limit(LONG_NOTE),
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # A trainee's signed note waits for their supervisor (docs/adr/0018-trainee-co-signature.md);
    # blank: no co-signature needed, the note is final once signed.
    cosign_status = models.CharField(
        _("co-signature"), max_length=10, choices=CoSign.choices, blank=True, default=""
    )
    cosigned_at = models.DateTimeField(null=True, blank=True)
    cosigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "number"], name="treatment_session_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(mood__isnull=True) | Q(mood__gte=0, mood__lte=10),
                name="treatment_session_mood_range",
            ),
            models.CheckConstraint(
                condition=Q(phase_override="") | ~Q(phase_override_reason=""),
                name="treatment_session_override_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True) | Q(signed_by__isnull=False),
                name="treatment_session_signed_has_signer",
            ),
            models.CheckConstraint(
                condition=Q(cosign_status="") | Q(signed_at__isnull=False),
                name="treatment_session_cosign_after_signing",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        cosign_status="cosigned",
                        cosigned_at__isnull=False,
                        cosigned_by__isnull=False,
                    )
                    | (
                        ~Q(cosign_status="cosigned")
                        & Q(cosigned_at__isnull=True, cosigned_by__isnull=True)
                    )
                ),
                name="treatment_session_cosigned_has_cosigner",
            ),
        ]
        indexes = [
            # The outcome dashboard's sessions in a period and waiting times (bench/README.md
            # "Practice outcome dashboard"): attended sessions of a course, by date.
            models.Index(
                fields=["course", "attendance", "starts_at"],
                name="treatment_session_held_idx",
            ),
            # The home page's unsigned notes (few among many signed ones), by course.
            models.Index(
                fields=["course"],
                condition=Q(signed_at__isnull=True),
                name="treatment_session_unsigned_idx",
            ),
            # The inbox's notes returned to their author.
            models.Index(
                fields=["signed_by"],
                condition=Q(cosign_status="returned"),
                name="treatment_session_returned_idx",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Session %(n)s") % {"n": self.number})

    def clean(self) -> None:
        _check_codes(self.attendees, self.Attendee, "attendees")
        _check_codes(self.techniques_used, Technique.Kind, "techniques_used")
        if self.phase_override and not self.phase_override_reason.strip():
            raise ValidationError(
                {"phase_override_reason": _("Give a reason when you override the phase.")}
            )

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def awaits_cosignature(self) -> bool:
        return self.cosign_status == CoSign.AWAITING

    @property
    def is_returned(self) -> bool:
        return self.cosign_status == CoSign.RETURNED

    @property
    def is_final(self) -> bool:
        """Signed, and co-signed where a co-signature is needed: the note the client may see."""
        return self.is_signed and self.cosign_status in FINAL_COSIGN_STATUSES


def final_sessions_q() -> Q:
    """A filter on ``Session``: the notes that are final (``Session.is_final``)."""
    return Q(signed_at__isnull=False, cosign_status__in=FINAL_COSIGN_STATUSES)


class SessionReturn(BaseModel):
    """A supervisor's comment returning a trainee's note for changes; never edited. The trainee
    answers by appending an amendment, which sends the note back for co-signature."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="returns")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    comment = models.TextField(
        _("comment for the clinician"), max_length=PARAGRAPH, validators=text_limit(PARAGRAPH)
    )

    class Meta:
        ordering = ["created_at", "id"]


class SessionAmendment(BaseModel):
    """Appended to a signed session; never edited."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="amendments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("amendment"), max_length=LONG_NOTE, validators=text_limit(LONG_NOTE))

    class Meta:
        ordering = ["created_at", "id"]


class ProcessNote(Audited, Versioned):
    """A psychotherapy process note: readable by its author only (docs/quality.md S3)."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(
        _("private process note"),
        blank=True,
        max_length=LONG_NOTE,
        validators=text_limit(LONG_NOTE),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "author"], name="treatment_processnote_one_per_author"
            )
        ]

    def __str__(self) -> str:
        return "process note"


class InventoryPerson(Audited, Versioned):
    class Circle(models.IntegerChoices):
        INNER = 1, _("Inner circle (closest)")
        MIDDLE = 2, _("Middle circle")
        OUTER = 3, _("Outer circle")

    class Snapshot(models.TextChoices):
        START = "start", _("At the start")
        END = "end", _("At the end")

    class Knows(models.TextChoices):
        YES = "yes", _("Yes")
        PARTLY = "partly", _("Partly")
        NO = "no", _("No")
        UNKNOWN = "unknown", _("Not known")

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="inventory")
    snapshot = models.CharField(
        _("inventory"), max_length=5, choices=Snapshot.choices, default=Snapshot.START
    )
    name = models.CharField(_("name or alias"), max_length=100)
    relationship = models.CharField(_("relationship"), max_length=100, blank=True)
    circle = models.PositiveSmallIntegerField(
        _("closeness"), choices=Circle.choices, default=Circle.MIDDLE
    )
    contact_frequency = models.CharField(_("how often in contact"), max_length=100, blank=True)
    support = models.TextField(
        _("support given and received"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    conflicts = models.TextField(
        _("conflicts"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    expectations_met = models.TextField(
        _("expectations met"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    expectations_unmet = models.TextField(
        _("expectations not met"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    satisfying = models.TextField(
        _("what is satisfying"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    unsatisfying = models.TextField(
        _("what is unsatisfying"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    wants_to_change = models.TextField(
        _("what the client would like to change"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    knows_about_difficulties = models.CharField(
        _("knows about the client's difficulties"),
        max_length=8,
        choices=Knows.choices,
        default=Knows.UNKNOWN,
    )

    class Meta:
        ordering = ["circle", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(name=""), name="treatment_inventoryperson_name_required"
            ),
            models.CheckConstraint(
                condition=Q(circle__gte=1, circle__lte=3),
                name="treatment_inventoryperson_circle_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.name.strip():
            raise ValidationError({"name": _("Enter a name or an alias for this person.")})


class TimelineEvent(Audited, Versioned):
    class Kind(models.TextChoices):
        DEATH = "death", _("Death")
        DISPUTE = "dispute", _("Dispute")
        TRANSITION = "transition", _("Life change")
        OTHER = "other", _("Other")

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="timeline")
    date = models.DateField(_("date"), validators=[validate_life_event_date])
    kind = models.CharField(_("type of event"), max_length=12, choices=Kind.choices)
    description = models.CharField(_("what happened"), max_length=300)
    people = models.CharField(_("people involved"), max_length=300, blank=True)
    mood = models.PositiveSmallIntegerField(
        _("mood at the time (0 = worst, 10 = best)"),
        null=True,
        blank=True,
        validators=MOOD_VALIDATORS,
    )
    marks_symptom_onset = models.BooleanField(_("symptoms began around here"), default=False)

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(mood__isnull=True) | Q(mood__gte=0, mood__lte=10),
                name="treatment_timelineevent_mood_range",
            ),
        ]


# Structured fields per problem area, stored in ProblemArea.details (free text each).
AREA_FIELDS: dict[str, list[tuple[str, Any]]] = {
    Area.GRIEF: [
        ("who_died", _("Who died")),
        ("date_of_death", _("When")),
        ("relationship", _("The relationship")),
        ("circumstances", _("Circumstances")),
        ("new_interests", _("New interests and relationships")),
    ],
    Area.ROLE_DISPUTE: [
        ("client_expectations", _("What the client expects")),
        ("other_expectations", _("What the other person expects")),
        ("non_reciprocal", _("Expectations that do not match")),
        ("options", _("Options")),
    ],
    Area.ROLE_TRANSITION: [
        ("old_role", _("Old role")),
        ("new_role", _("New role")),
        ("losses", _("What was lost")),
        ("gains", _("What was gained")),
        ("skills_needed", _("Skills needed")),
        ("supports_needed", _("Support needed")),
    ],
    Area.DEFICITS: [
        ("isolation_pattern", _("Pattern of isolation")),
        ("past_relationships", _("Past relationships")),
        ("steps", _("Steps toward connection")),
    ],
}


class ProblemArea(Audited, Versioned):
    class DisputeStage(models.TextChoices):
        RENEGOTIATION = _choice(v.DisputeStage.RENEGOTIATION)
        IMPASSE = _choice(v.DisputeStage.IMPASSE)
        DISSOLUTION = _choice(v.DisputeStage.DISSOLUTION)

    class Mourning(models.TextChoices):
        AVOIDED = _choice(v.MourningProgress.AVOIDED)
        IN_PROGRESS = _choice(v.MourningProgress.IN_PROGRESS)
        RESOLVING = _choice(v.MourningProgress.RESOLVING)

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="problem_areas")
    area = models.CharField(_("problem area"), max_length=30, choices=Area.choices)
    is_candidate = models.BooleanField(_("candidate"), default=True)
    is_primary = models.BooleanField(_("primary focus"), default=False)
    is_secondary = models.BooleanField(_("second focus"), default=False)
    evidence = models.TextField(
        _("evidence for this area"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    deficits_rationale = models.TextField(
        _("why no death, dispute or life change fits"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    other_person = models.ForeignKey(
        InventoryPerson,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("the other person"),
    )
    dispute_stage = models.CharField(
        _("stage of the dispute"), max_length=14, choices=DisputeStage.choices, blank=True
    )
    mourning_progress = models.CharField(
        _("mourning progress"), max_length=12, choices=Mourning.choices, blank=True
    )
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course", "area"], name="treatment_problemarea_unique_area"
            ),
            models.UniqueConstraint(
                fields=["course"],
                condition=Q(is_primary=True),
                name="treatment_problemarea_one_primary",
            ),
            models.CheckConstraint(
                condition=~Q(is_primary=True, is_secondary=True),
                name="treatment_problemarea_primary_or_secondary",
            ),
        ]

    def __str__(self) -> str:
        return self.get_area_display()

    @property
    def is_focus(self) -> bool:
        return self.is_primary or self.is_secondary

    def clean(self) -> None:
        allowed = {key for key, _label in AREA_FIELDS.get(self.area, [])}
        if not isinstance(self.details, dict) or not set(self.details) <= allowed:
            raise ValidationError(_("These details do not belong to this problem area."))
        if any(not isinstance(v, str) or len(v) > 5000 for v in self.details.values()):
            raise ValidationError(_("Each detail must be text of at most 5000 characters."))
        person = self.other_person if self.other_person_id else None
        if person is not None and person.course_id != self.course_id:
            raise ValidationError(
                {"other_person": _("Choose someone from this course's inventory.")}
            )

    def detail_rows(self) -> list[tuple[str, Any, str]]:
        return [(key, label, self.details.get(key, "")) for key, label in AREA_FIELDS[self.area]]


class Formulation(Audited, Versioned):
    class Agreement(models.TextChoices):
        PENDING = "", _("Not yet shared or agreed")
        AGREED = "agreed", _("Agreed by the client")
        AMENDED = "amended", _("Agreed with the client's changes")

    course = models.OneToOneField(Course, on_delete=models.PROTECT, related_name="formulation")
    text = models.TextField(
        _("formulation (Our shared summary)"),
        max_length=LONG_NOTE,
        validators=text_limit(LONG_NOTE),
    )
    shared_on = models.DateField(
        _("shared with the client on"),
        null=True,
        blank=True,
        validators=[validate_past_clinical_date],
    )
    client_agreement = models.CharField(
        _("client's agreement"), max_length=8, choices=Agreement.choices, blank=True
    )
    amendment_text = models.TextField(
        _("the client's changes"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(client_agreement="") | Q(shared_on__isnull=False),
                name="treatment_formulation_agreed_when_shared",
            ),
        ]

    def clean(self) -> None:
        if self.client_agreement and self.shared_on is None:
            raise ValidationError({"shared_on": _("Give the date the formulation was shared.")})
        if self.client_agreement == self.Agreement.AMENDED and not self.amendment_text.strip():
            raise ValidationError({"amendment_text": _("Write down the client's changes.")})

    @property
    def is_agreed(self) -> bool:
        return bool(self.client_agreement)


class ContractVersion(Audited):
    """One version of the treatment contract. A change is a new version, never an edit."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="contracts")
    number = models.PositiveSmallIntegerField(_("version"))
    planned_sessions = models.PositiveSmallIntegerField(
        _("number of sessions"), validators=[MinValueValidator(1), MaxValueValidator(200)]
    )
    frequency = models.CharField(_("frequency"), max_length=12, choices=Frequency.choices)
    focus_areas = models.JSONField(_("focus areas"), default=list, blank=True)
    goals_summary = models.TextField(
        _("goals"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    arrangements = models.TextField(
        _("practical arrangements and the client's role"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    agreed_on = models.DateField(_("agreed on"), validators=[validate_clinical_date])
    client_agreed = models.BooleanField(_("the client agreed"), default=True)
    reason = models.TextField(
        _("reason for the change"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "number"], name="treatment_contractversion_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(number=1) | ~Q(reason=""),
                name="treatment_contractversion_change_has_reason",
            ),
        ]

    @property
    def focus_labels(self) -> list[str]:
        return [str(Area(code).label) for code in self.focus_areas if code in Area.values]

    def clean(self) -> None:
        _check_codes(self.focus_areas, Area, "focus_areas")
        if self.number and self.number > 1 and not self.reason.strip():
            raise ValidationError({"reason": _("Say why the agreement is changing.")})


class Goal(Audited, Versioned):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="goals")
    problem_area = models.ForeignKey(
        ProblemArea,
        on_delete=models.PROTECT,
        related_name="goals",
        null=True,
        blank=True,
        verbose_name=_("problem area"),
    )
    text = models.CharField(_("goal"), max_length=300)

    class Meta:
        ordering = ["created_at", "id"]

    @property
    def latest_rating(self) -> GoalRating | None:
        ratings = list(self.ratings.all())  # uses the prefetch when there is one
        return ratings[-1] if ratings else None

    def clean(self) -> None:
        if not self.text.strip():
            raise ValidationError({"text": _("Describe the goal.")})
        area = self.problem_area if self.problem_area_id else None
        if area is not None and area.course_id != self.course_id:
            raise ValidationError({"problem_area": _("Choose a problem area of this course.")})


class GoalRating(Audited):
    goal = models.ForeignKey(Goal, on_delete=models.PROTECT, related_name="ratings")
    session = models.ForeignKey(
        Session, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    rated_on = models.DateField(_("date"), validators=[validate_past_clinical_date])
    rating = models.PositiveSmallIntegerField(
        _("rating (0 = not at all, 10 = fully achieved)"), validators=MOOD_VALIDATORS
    )

    class Meta:
        ordering = ["rated_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=0, rating__lte=10), name="treatment_goalrating_range"
            ),
        ]


class Technique(Audited, Versioned):
    class Kind(models.TextChoices):
        COMMUNICATION_ANALYSIS = _choice(v.Technique.COMMUNICATION_ANALYSIS)
        DECISION_ANALYSIS = _choice(v.Technique.DECISION_ANALYSIS)
        ROLE_PLAY = _choice(v.Technique.ROLE_PLAY)
        CLARIFICATION = _choice(v.Technique.CLARIFICATION)
        AFFECT = _choice(v.Technique.AFFECT)
        THERAPEUTIC_RELATIONSHIP = _choice(v.Technique.THERAPEUTIC_RELATIONSHIP)

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="technique_records")
    kind = models.CharField(_("technique"), max_length=30, choices=Kind.choices)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def clean(self) -> None:
        allowed = {key for key, _label in TECHNIQUE_FIELDS.get(self.kind, [])}
        if not isinstance(self.details, dict) or not set(self.details) <= allowed:
            raise ValidationError(_("These details do not belong to this technique."))
        if not any(str(v).strip() for v in self.details.values()):
            raise ValidationError(_("Fill in at least one part of the record."))

    def detail_rows(self) -> list[tuple[str, Any, str]]:
        return [(k, label, self.details.get(k, "")) for k, label in TECHNIQUE_FIELDS[self.kind]]


TECHNIQUE_FIELDS: dict[str, list[tuple[str, Any]]] = {
    Technique.Kind.COMMUNICATION_ANALYSIS: [
        ("situation", _("The situation")),
        ("said", _("What was said, and how")),
        ("meant", _("What the client meant")),
        ("understood", _("What the other person understood")),
        ("feelings", _("Feelings")),
        ("alternatives", _("Other ways it could have been said")),
        ("next", _("What to try next")),
    ],
    Technique.Kind.DECISION_ANALYSIS: [
        ("problem", _("The problem")),
        ("option_1", _("Option 1")),
        ("pros_1", _("Option 1: for")),
        ("cons_1", _("Option 1: against")),
        ("option_2", _("Option 2")),
        ("pros_2", _("Option 2: for")),
        ("cons_2", _("Option 2: against")),
        ("option_3", _("Option 3")),
        ("pros_3", _("Option 3: for")),
        ("cons_3", _("Option 3: against")),
        ("choice", _("The choice")),
        ("outcome", _("Outcome")),
    ],
    Technique.Kind.ROLE_PLAY: [
        ("scenario", _("Scenario")),
        ("roles", _("Who played whom")),
        ("observations", _("Observations")),
        ("next", _("Next step")),
    ],
    Technique.Kind.CLARIFICATION: [
        ("clarified", _("What was clarified")),
        ("response", _("The client's response")),
    ],
    Technique.Kind.AFFECT: [
        ("affect", _("Feeling named")),
        ("context", _("Context")),
        ("use", _("How it can be used in the relationship")),
    ],
    Technique.Kind.THERAPEUTIC_RELATIONSHIP: [
        ("pattern", _("Pattern observed")),
        ("discussed", _("Whether and how it was discussed")),
    ],
}


class TerminationRecord(Audited, Versioned):
    class NextStep(models.TextChoices):
        # The blank choice is the form's "not decided"; the protocol reads it as no decision.
        # FURTHER_TREATMENT is not offered yet: it does not fit ``next_step``'s max_length.
        UNDECIDED = "", _("Not decided yet")
        NONE = _choice(v.NextStep.NONE)
        MAINTENANCE = _choice(v.NextStep.MAINTENANCE)
        REFERRAL = _choice(v.NextStep.REFERRAL)

    course = models.OneToOneField(Course, on_delete=models.PROTECT, related_name="termination")
    raised_at_session = models.PositiveSmallIntegerField(
        _("ending first raised at session"), null=True, blank=True
    )
    gains = models.TextField(
        _("gains, credited to the client"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    warning_signs = models.TextField(
        _("early signs to watch for"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    relapse_plan = models.TextField(
        _("what to do if they appear"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    relapse_contacts = models.TextField(
        _("whom to contact"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    next_step = models.CharField(
        _("next step"), max_length=12, choices=NextStep.choices, blank=True
    )
    next_step_reason = models.TextField(
        _("reason for the next step"),
        blank=True,
        max_length=PARAGRAPH,
        validators=text_limit(PARAGRAPH),
    )
    conclusion_summary = models.TextField(
        _("conclusion summary"),
        blank=True,
        max_length=LONG_NOTE,
        validators=text_limit(LONG_NOTE),
    )

    def clean(self) -> None:
        if self.next_step and not self.next_step_reason.strip():
            raise ValidationError({"next_step_reason": _("Give a reason for the next step.")})


class PhaseTaskStatus(Audited):
    """A §3 phase task ticked by the clinician: done, not applicable or deferred."""

    class Status(models.TextChoices):
        DONE = _choice(v.TaskStatus.DONE)
        NOT_APPLICABLE = _choice(v.TaskStatus.NOT_APPLICABLE)
        DEFERRED = _choice(v.TaskStatus.DEFERRED)

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="task_statuses")
    task_code = models.CharField(max_length=40)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course", "task_code"], name="treatment_phasetaskstatus_unique_task"
            )
        ]


class BetweenSessionTask(Audited, Versioned):
    """Something to try before the next session, set in one session and reviewed in a later
    one. The client sees it in the portal and can say how it went (status and a note).

    ``Session.tasks_set`` (free text) predates this model and is kept as it was: old
    sessions still show it, and the portal shows it for sessions that have no tasks here.
    ``updated_by`` is whoever changed it last: the client (done + note) or the clinician.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Not yet")
        DONE = "done", _("Done")
        NOT_DONE = "not_done", _("Not done")

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="between_tasks")
    set_in_session = models.ForeignKey(
        Session, on_delete=models.PROTECT, related_name="tasks_given"
    )
    text = models.CharField(_("something to try this week"), max_length=500)
    status = models.CharField(
        _("how it went"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    client_note = models.TextField(
        _("note from the client"), max_length=1000, blank=True, validators=text_limit(1000)
    )
    client_updated_at = models.DateTimeField(null=True, blank=True)
    reviewed_in_session = models.ForeignKey(
        Session,
        on_delete=models.PROTECT,
        related_name="tasks_reviewed_here",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ("created_at", "id")
        indexes = [
            models.Index(fields=["course", "status"]),
            # The inbox's task reports waiting for review (every staff page's badge).
            models.Index(
                fields=["client_updated_at"],
                condition=Q(client_updated_at__isnull=False, reviewed_in_session__isnull=True),
                name="treatment_task_reported_idx",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Task from session %(n)s") % {"n": self.set_in_session.number})

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def is_not_done(self) -> bool:
        return self.status == self.Status.NOT_DONE


class FidelityRating(Audited, Versioned):
    """One rater's rating of how faithfully IPT was delivered in a session
    (docs/adr/0020-fidelity-ratings.md): the therapist's self-rating or a supervisor's.

    The items come from a versioned scale file (``openipt.treatment.fidelity``); the rating
    keeps the scale's id and version and one answer per item code: a score, or ``None`` for
    "not applicable". Raters never see each other's answers until both have saved; the page
    reads ratings only through ``fidelity.visible_ratings``.
    """

    class Role(models.TextChoices):
        THERAPIST = "therapist", _("Therapist (self-rating)")
        SUPERVISOR = "supervisor", _("Supervisor")

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="fidelity_ratings")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("rated as"), max_length=12, choices=Role.choices)
    scale_code = models.CharField(_("rating scale"), max_length=60)
    scale_version = models.CharField(_("scale version"), max_length=20)
    answers = models.JSONField(_("answers"), default=dict)
    overall = models.PositiveSmallIntegerField(
        _("overall quality"), validators=[MaxValueValidator(10)]
    )
    comments = models.TextField(
        _("comments"), blank=True, max_length=PARAGRAPH, validators=text_limit(PARAGRAPH)
    )

    class Meta:
        ordering = ("created_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "rater"], name="treatment_fidelityrating_one_per_rater"
            ),
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(role="therapist"),
                name="treatment_fidelityrating_one_self_rating",
            ),
        ]

    def __str__(self) -> str:
        return "fidelity rating"


class SupervisionMeeting(Audited, Versioned):
    """A supervisor's note of one supervision meeting (docs/user/supervision.md): when it was,
    who was supervised (several people for group supervision), the cases talked about and
    what was agreed. A draft is edited by its supervisor; once signed it never changes and is
    read by its supervisor and its supervisees only (``policy.can_read_supervision_meeting``);
    a correction is appended as an amendment, or written in a later meeting."""

    supervisor = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="supervision_meetings_held"
    )
    held_on = models.DateField(_("date of the meeting"), validators=[validate_past_clinical_date])
    supervisees = models.ManyToManyField(
        Membership, related_name="supervision_meetings", verbose_name=_("who was supervised")
    )
    cases = models.ManyToManyField(
        Course, blank=True, related_name="supervision_meetings", verbose_name=_("cases discussed")
    )
    agreed = models.TextField(
        _("what was agreed"), blank=True, max_length=LONG_NOTE, validators=text_limit(LONG_NOTE)
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ("-held_on", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_by__isnull=True)
                | Q(signed_at__isnull=False, signed_by__isnull=False),
                name="treatment_supervisionmeeting_signed_together",
            ),
        ]

    def __str__(self) -> str:
        return f"supervision meeting · {self.held_on}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class SupervisionAmendment(BaseModel):
    """Appended by the supervisor to a signed supervision meeting note; never edited."""

    meeting = models.ForeignKey(
        SupervisionMeeting, on_delete=models.PROTECT, related_name="amendments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("amendment"), max_length=PARAGRAPH, validators=text_limit(PARAGRAPH))

    class Meta:
        ordering = ["created_at", "id"]


class SupervisionFollowUp(Audited):
    """Something a supervisee agreed to do after a supervision meeting. Once the meeting is
    signed it shows on the supervisee's home page until they mark it done."""

    meeting = models.ForeignKey(
        SupervisionMeeting, on_delete=models.PROTECT, related_name="follow_ups"
    )
    supervisee = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="supervision_follow_ups"
    )
    text = models.CharField(_("follow-up"), max_length=500)
    due_on = models.DateField(
        _("to do by"), null=True, blank=True, validators=[validate_clinical_date]
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("due_on", "created_at", "id")

    def __str__(self) -> str:
        return "supervision follow-up"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class PortfolioSignOff(BaseModel):
    """A supervisor's sign-off of a concluded course's certification case portfolio
    (``openipt.care.portfolio``): an active supervisor of the course's clinician confirms
    the case summary; one per course, never changed afterwards."""

    course = models.OneToOneField(
        Course, on_delete=models.PROTECT, related_name="portfolio_signoff"
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField()
    comment = models.TextField(
        _("comment"), blank=True, max_length=PARAGRAPH, validators=text_limit(PARAGRAPH)
    )

    def __str__(self) -> str:
        return "portfolio sign-off"


class RecordingConsent(BaseModel):
    """The client's consent to audio recording of the sessions of one course: a consent record
    of kind "recording" tied to the course (docs/adr/0021-session-recordings.md). Withdrawing
    it (``consent.revoked_at``) deletes the course's recordings at once."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="recording_consents")
    consent = models.OneToOneField(
        "clients.ConsentRecord", on_delete=models.PROTECT, related_name="recording_course"
    )

    def __str__(self) -> str:
        return "recording consent"


class Recording(BaseModel):
    """The audio of one session, sealed at rest (docs/adr/0021-session-recordings.md).

    The file in the recordings storage (``stored_name``) holds only ciphertext, sealed with a
    key of its own; ``wrapped_key`` is that key sealed with the field encryption key. Once
    deleted (retention reached or consent withdrawn) the file and key are gone and the row
    stays as the record that there was one, with ``deleted_at`` and why.
    """

    class Deletion(models.TextChoices):
        RETENTION = "retention", _("Retention period reached")
        CONSENT_WITHDRAWN = "consent", _("Consent withdrawn")

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="recordings")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    stored_name = models.CharField(max_length=255)
    wrapped_key = models.TextField(editable=False)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    content_kind = models.CharField(_("audio format"), max_length=20)
    sha256 = models.CharField(max_length=64)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    delete_after = models.DateTimeField(_("to be deleted after"))
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_because = models.CharField(max_length=12, choices=Deletion.choices, blank=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["deleted_at", "delete_after"])]

    def __str__(self) -> str:
        return "session recording"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class RecordingComment(BaseModel):
    """A supervisor's comment at a moment of a recording, optionally about one rating item of
    the fidelity scale (``rating_item_code``)."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at_seconds = models.PositiveIntegerField(_("time in the recording (seconds)"))
    rating_item_code = models.CharField(_("rating item"), max_length=60, blank=True)
    text = models.TextField(_("comment"), max_length=PARAGRAPH, validators=[*text_limit(PARAGRAPH)])

    class Meta:
        ordering = ("at_seconds", "created_at", "id")

    def __str__(self) -> str:
        return "recording comment"

    @property
    def at_label(self) -> str:
        """The moment as the player shows it: minutes:seconds, or hours:minutes:seconds."""
        hours, rest = divmod(self.at_seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class LetterKind(models.TextChoices):
    """The letters a course can produce (docs/user/letters.md)."""

    ASSESSMENT = "assessment", _("Assessment letter to the referrer")
    END_OF_TREATMENT = "end_of_treatment", _("End-of-treatment letter")
    CLIENT_SUMMARY = "client_summary", _("Progress summary for the client")


class LetterTemplate(BaseModel):
    """A practice's own wording for one kind of letter: plain text with named fields in
    braces (``{client_first_name}``), filled in by ``openipt.care.letters``. A practice
    without one uses the default wording written there."""

    practice = models.ForeignKey(
        "accounts.Practice", on_delete=models.PROTECT, related_name="letter_templates"
    )
    kind = models.CharField(_("letter"), max_length=20, choices=LetterKind.choices)
    body = models.TextField(_("wording"), max_length=LONG_NOTE, validators=text_limit(LONG_NOTE))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "kind"], name="treatment_lettertemplate_one_per_kind"
            )
        ]

    def __str__(self) -> str:
        return str(self.get_kind_display())


class Letter(BaseModel):
    """A letter as it was written for sending: the filled-in text is kept as it was, so what
    went out can always be read again, whatever happens to the template or the course."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="letters")
    kind = models.CharField(_("letter"), max_length=20, choices=LetterKind.choices)
    recipient_name = models.CharField(_("recipient's name"), max_length=200)
    recipient_address = models.TextField(
        _("recipient's address"), max_length=500, blank=True, validators=text_limit(500)
    )
    body = models.TextField(_("text of the letter"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return str(self.get_kind_display())


class CourseSummary(BaseModel):
    """One row per course with what the caseload reads instead of the course's records: the
    protocol's inputs, reduced to what ``protocol.CourseState`` takes, and the latest session.

    Derived data, never edited by hand: the services that change an input refresh the row in
    their own transaction (``openipt.treatment.summary`` for the course's records,
    ``openipt.measures.summary`` for its scores), and ``manage.py rebuild_course_summaries``
    rebuilds or checks every row (docs/adr/0025-course-summary.md). Only inputs are kept,
    nothing that depends on today's date or the reader's time zone, so the guidance is
    worked out afresh on every read.
    """

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="summary")
    # The course's own records (``openipt.treatment.summary.course_records``).
    records = models.JSONField(default=dict)
    # Its depression and anxiety scores (``openipt.measures.summary.course_measures``);
    # null until the measures app has computed them for this row.
    measures = models.JSONField(null=True, blank=True)
    sessions_count = models.PositiveIntegerField(default=0)
    latest_session_number = models.PositiveSmallIntegerField(default=0)
    latest_session_at = models.DateTimeField(null=True, blank=True)
    latest_risk_check = models.CharField(max_length=12, blank=True)

    def __str__(self) -> str:
        return f"summary of course {self.course_id}"
