"""Every IPT enumeration, once: its stored values and its labels (docs/ipt.md §2-§6, §10).

Pure Python: this module imports nothing from Django or from any OpenIPT app, so the pure
protocol and format modules can use it and so can the Django models, which build their
``TextChoices`` from it (``openipt/treatment/models.py``).

Values are what the database stores. They never change: renaming one needs a data migration,
and ``openipt/ipt/tests/test_vocabulary.py`` pins them.

Each enumeration has one label table mapping every member to a :class:`Label`, a clinical
term (what clinicians and the IPT literature call it) and a plain-language label (what a
client reads, docs/ipt.md §10). The wording is OpenIPT's own (docs/ipt.md §11). Where everyday words
already say it (``Attended``, ``Weekly``, ``Grief``) the two are the same.

How a label is shown is decided once, here, by :func:`display`: "<clinical> (<plain words>)",
e.g. "Role dispute (Disagreements)", or the clinical term alone when the plain words are the
same (so "Grief", never "Grief (Grief)"). Format names are the proper names of the IPT
adaptations and are shown without their plain words, which are meant for client pages.

Strings are marked with :func:`gettext_noop`, a local identity function: Django's
``makemessages`` extracts any call named ``gettext_noop``, and the Django layer translates
each string at render time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any


def gettext_noop(message: str) -> str:
    """Mark ``message`` for translation without translating it (no Django import here)."""
    return message


@dataclass(frozen=True)
class Label:
    """A clinical term and the plain-language label shown to clients (docs/ipt.md §10)."""

    clinical: str
    lay: str


# --- The enumerations (values are stored: never change them) ---------------------------------


class FormatCode(StrEnum):
    """IPT treatment formats (docs/ipt.md §2)."""

    IPT = "ipt"
    IPT_B = "ipt_b"
    IPT_A = "ipt_a"
    IPT_G = "ipt_g"
    IPC = "ipc"
    IPT_M = "ipt_m"


class Frequency(StrEnum):
    """How often sessions take place (the treatment contract, docs/ipt.md §3)."""

    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"
    FLEXIBLE = "flexible"


class Phase(StrEnum):
    """The three phases of an IPT course (docs/ipt.md §3)."""

    INITIAL = "initial"
    MIDDLE = "middle"
    TERMINATION = "termination"


class ProblemArea(StrEnum):
    """The four interpersonal problem areas (docs/ipt.md §4)."""

    GRIEF = "grief"
    ROLE_DISPUTE = "role_dispute"
    ROLE_TRANSITION = "role_transition"
    INTERPERSONAL_DEFICITS = "interpersonal_deficits"


class DisputeStage(StrEnum):
    """The stage of a role dispute (docs/ipt.md §4)."""

    RENEGOTIATION = "renegotiation"
    IMPASSE = "impasse"
    DISSOLUTION = "dissolution"


class MourningProgress(StrEnum):
    """How far mourning has come in a grief focus (docs/ipt.md §4)."""

    AVOIDED = "avoided"
    IN_PROGRESS = "in_progress"
    RESOLVING = "resolving"


class Technique(StrEnum):
    """IPT techniques, each with a structured record (docs/ipt.md §6)."""

    COMMUNICATION_ANALYSIS = "communication_analysis"
    DECISION_ANALYSIS = "decision_analysis"
    ROLE_PLAY = "role_play"
    CLARIFICATION = "clarification"
    AFFECT = "affect"
    THERAPEUTIC_RELATIONSHIP = "therapeutic_relationship"


class Attendance(StrEnum):
    """Whether a session took place. ``SCHEDULED`` is the protocol's state for a planned
    session not yet held; a recorded session stores one of the others."""

    SCHEDULED = "scheduled"
    ATTENDED = "attended"
    CANCELLED = "cancelled"
    LATE_CANCELLATION = "late_cancellation"
    NO_SHOW = "no_show"


class CourseStatus(StrEnum):
    """Where an IPT course stands; a course is never deleted, only ``ENTERED_IN_ERROR``."""

    ASSESSMENT = "assessment"
    ACTIVE = "active"
    CONCLUDED = "concluded"
    ENDED_EARLY = "ended_early"
    ENTERED_IN_ERROR = "entered_in_error"


class TaskStatus(StrEnum):
    """A clinician's mark on a phase task or a warning (docs/ipt.md §3, §9)."""

    DONE = "done"
    NOT_APPLICABLE = "not_applicable"
    DEFERRED = "deferred"


class NextStep(StrEnum):
    """What follows an acute course (docs/ipt.md §3 ``term.next_step``, §9 rule 14)."""

    MAINTENANCE = "maintenance"
    FURTHER_TREATMENT = "further_treatment"
    REFERRAL = "referral"
    NONE = "none"


# --- Label tables ------------------------------------------------------------------------------

# ``_`` is only a shorter gettext_noop for the tables below (xgettext extracts both names).
_ = gettext_noop

FORMAT_LABELS: Mapping[FormatCode, Label] = MappingProxyType(
    {
        FormatCode.IPT: Label(_("Individual IPT"), _("One-to-one sessions")),
        FormatCode.IPT_B: Label(_("Brief IPT"), _("Short course")),
        FormatCode.IPT_A: Label(_("Adolescent IPT (IPT-A)"), _("Sessions for young people")),
        FormatCode.IPT_G: Label(_("Group IPT"), _("Group sessions")),
        FormatCode.IPC: Label(_("Interpersonal Counselling (IPC)"), _("Counselling sessions")),
        FormatCode.IPT_M: Label(_("Maintenance IPT"), _("Keeping well sessions")),
    }
)

FREQUENCY_LABELS: Mapping[Frequency, Label] = MappingProxyType(
    {
        Frequency.WEEKLY: Label(_("Weekly"), _("Weekly")),
        Frequency.FORTNIGHTLY: Label(_("Every two weeks"), _("Every two weeks")),
        Frequency.MONTHLY: Label(_("Monthly"), _("Monthly")),
        Frequency.FLEXIBLE: Label(_("Flexible"), _("Flexible")),
    }
)

PHASE_LABELS: Mapping[Phase, Label] = MappingProxyType(
    {
        Phase.INITIAL: Label(_("Initial phase"), _("Getting started")),
        Phase.MIDDLE: Label(_("Middle phase"), _("Working on it")),
        Phase.TERMINATION: Label(_("Termination phase"), _("Finishing well")),
    }
)

PROBLEM_AREA_LABELS: Mapping[ProblemArea, Label] = MappingProxyType(
    {
        ProblemArea.GRIEF: Label(_("Grief"), _("Grief")),
        ProblemArea.ROLE_DISPUTE: Label(_("Role dispute"), _("Disagreements")),
        ProblemArea.ROLE_TRANSITION: Label(_("Role transition"), _("Life changes")),
        ProblemArea.INTERPERSONAL_DEFICITS: Label(
            _("Interpersonal deficits / sensitivity"), _("Loneliness and isolation")
        ),
    }
)

DISPUTE_STAGE_LABELS: Mapping[DisputeStage, Label] = MappingProxyType(
    {
        DisputeStage.RENEGOTIATION: Label(_("Renegotiation"), _("Still talking")),
        DisputeStage.IMPASSE: Label(_("Impasse"), _("Stuck")),
        DisputeStage.DISSOLUTION: Label(_("Dissolution"), _("Ending")),
    }
)

MOURNING_PROGRESS_LABELS: Mapping[MourningProgress, Label] = MappingProxyType(
    {
        MourningProgress.AVOIDED: Label(_("Avoided"), _("Avoided")),
        MourningProgress.IN_PROGRESS: Label(_("In progress"), _("In progress")),
        MourningProgress.RESOLVING: Label(_("Resolving"), _("Resolving")),
    }
)

TECHNIQUE_LABELS: Mapping[Technique, Label] = MappingProxyType(
    {
        Technique.COMMUNICATION_ANALYSIS: Label(
            _("Communication analysis"), _("Looking closely at a conversation")
        ),
        Technique.DECISION_ANALYSIS: Label(_("Decision analysis"), _("Weighing your options")),
        Technique.ROLE_PLAY: Label(_("Role play"), _("Practising what to say")),
        Technique.CLARIFICATION: Label(_("Clarification"), _("Making things clear")),
        Technique.AFFECT: Label(_("Encouragement of affect"), _("Naming and using feelings")),
        Technique.THERAPEUTIC_RELATIONSHIP: Label(
            _("Use of the therapeutic relationship"), _("Learning from how we work together")
        ),
    }
)

ATTENDANCE_LABELS: Mapping[Attendance, Label] = MappingProxyType(
    {
        Attendance.SCHEDULED: Label(_("Scheduled"), _("Scheduled")),
        Attendance.ATTENDED: Label(_("Attended"), _("Attended")),
        Attendance.CANCELLED: Label(_("Cancelled"), _("Cancelled")),
        Attendance.LATE_CANCELLATION: Label(_("Late cancellation"), _("Late cancellation")),
        Attendance.NO_SHOW: Label(_("Did not attend"), _("Did not attend")),
    }
)

COURSE_STATUS_LABELS: Mapping[CourseStatus, Label] = MappingProxyType(
    {
        CourseStatus.ASSESSMENT: Label(_("Assessment"), _("Assessment")),
        CourseStatus.ACTIVE: Label(_("Active"), _("Active")),
        CourseStatus.CONCLUDED: Label(_("Concluded"), _("Concluded")),
        CourseStatus.ENDED_EARLY: Label(_("Ended early"), _("Ended early")),
        CourseStatus.ENTERED_IN_ERROR: Label(_("Entered in error"), _("Entered in error")),
    }
)

TASK_STATUS_LABELS: Mapping[TaskStatus, Label] = MappingProxyType(
    {
        TaskStatus.DONE: Label(_("Done"), _("Done")),
        TaskStatus.NOT_APPLICABLE: Label(_("Not applicable"), _("Not applicable")),
        TaskStatus.DEFERRED: Label(_("Deferred"), _("Deferred")),
    }
)

NEXT_STEP_LABELS: Mapping[NextStep, Label] = MappingProxyType(
    {
        NextStep.MAINTENANCE: Label(_("Maintenance sessions"), _("Maintenance sessions")),
        NextStep.FURTHER_TREATMENT: Label(
            _("Other or further treatment"), _("Other or further treatment")
        ),
        NextStep.REFERRAL: Label(_("Referral"), _("Referral")),
        NextStep.NONE: Label(_("No further treatment"), _("No further treatment")),
    }
)

del _

#: Every enumeration with its label table (each table is keyed by that enumeration).
LABELS: Mapping[type[StrEnum], Mapping[Any, Label]] = MappingProxyType(
    {
        FormatCode: FORMAT_LABELS,
        Frequency: FREQUENCY_LABELS,
        Phase: PHASE_LABELS,
        ProblemArea: PROBLEM_AREA_LABELS,
        DisputeStage: DISPUTE_STAGE_LABELS,
        MourningProgress: MOURNING_PROGRESS_LABELS,
        Technique: TECHNIQUE_LABELS,
        Attendance: ATTENDANCE_LABELS,
        CourseStatus: COURSE_STATUS_LABELS,
        TaskStatus: TASK_STATUS_LABELS,
        NextStep: NEXT_STEP_LABELS,
    }
)

#: Enumerations shown by their clinical term alone (format names are proper names).
CLINICAL_ONLY: frozenset[type[StrEnum]] = frozenset({FormatCode})

#: How the clinical term and the plain words are joined for display (translatable).
DISPLAY_PATTERN = gettext_noop("%(clinical)s (%(lay)s)")


def label_of(member: StrEnum) -> Label:
    """The label of any vocabulary member; ``KeyError`` for anything else."""
    return LABELS[type(member)][member]


def shows_lay(member: StrEnum) -> bool:
    """Whether the display label adds the plain words in brackets after the clinical term."""
    label = label_of(member)
    return type(member) not in CLINICAL_ONLY and label.lay != label.clinical


def display(member: StrEnum) -> str:
    """The one display label of ``member`` (in English): see the module docstring."""
    label = label_of(member)
    if not shows_lay(member):
        return label.clinical
    return DISPLAY_PATTERN % {"clinical": label.clinical, "lay": label.lay}
