"""IPT treatment formats as plain data: their parameters and how they split into phases.

Pure Python, no Django imports (docs/architecture.md, "Where logic lives"). The numbers come from
docs/ipt.md §2 (formats), §7 (measurement) and §9 (rules); each format records whether a parameter
is *Firm* (stated in the IPT literature), *Conv.* (usual practice, configurable per course) or
*Default* (OpenIPT's own choice) in ``Format.basis``.

The enumerations (formats, phases, problem areas, dispute stages) and their labels come from
:mod:`openipt.ipt.vocabulary` and are re-exported here. Labels are our own words. They are
plain strings marked with :func:`gettext_noop`, a local identity function: Django's
``makemessages`` extracts any call named ``gettext_noop``, and the Django layer translates the
string at render time with ``gettext(label)``.

Session numbering used throughout: contracted sessions are numbered 1..N. Number 0 (or any
number below 1) is a session held before the contract starts: the individual pre-group
session of group IPT, or the engagement session that often precedes Brief IPT. Such a session
belongs to the initial phase but never counts towards ``initial_max`` (rule 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The IPT enumerations and their labels live in the vocabulary; they are re-exported here
# under their usual names (``formats.Phase``, ``formats.PROBLEM_AREA_LABELS``, ...).
from openipt.ipt.vocabulary import (
    DISPUTE_STAGE_LABELS,
    FORMAT_LABELS,
    PHASE_LABELS,
    PROBLEM_AREA_LABELS,
    DisputeStage,
    FormatCode,
    Frequency,
    Label,
    Phase,
    ProblemArea,
    gettext_noop,
)

__all__ = [
    "DISPUTE_STAGE_LABELS",
    "FORMATS",
    "FORMAT_LABELS",
    "MONTHLY",
    "PHASE_LABELS",
    "PHASE_ORDER",
    "PROBLEM_AREA_LABELS",
    "VERSION",
    "WEEKLY",
    "Basis",
    "DisputeStage",
    "Format",
    "FormatCode",
    "Label",
    "Phase",
    "ProblemArea",
    "SplitRule",
    "get_format",
    "gettext_noop",
    "phase_for_session",
    "phase_split",
]

VERSION = "1.0"


class Basis(StrEnum):
    """How well founded a parameter is (docs/ipt.md, introduction)."""

    FIRM = "firm"
    CONVENTION = "conv"
    DEFAULT = "default"


class SplitRule(StrEnum):
    """How a format divides N sessions into phases (docs/ipt.md §2)."""

    #: Fixed initial and termination lengths, shrunk only when N is too small for them.
    FIXED = "fixed"
    #: Thirds of N (IPT-A's 1-4 / 5-8 / 9-12 at N=12), each third capped at ``initial_max``.
    THIRDS = "thirds"
    #: No initial or termination phase: every session is middle phase (maintenance IPT).
    ONGOING = "ongoing"


@dataclass(frozen=True)
class Format:
    """Parameters of one IPT format (docs/ipt.md §2, §7 and §9).

    ``initial_max`` is rule 1's limit on contracted sessions in the initial phase.
    ``term_length`` is the usual length of the termination phase. ``term_lead`` is rule 9's
    minimum number of sessions between raising the ending and session N, and the task becomes
    due ``term_due_from`` sessions before N. ``measure_gap`` is rule 11's largest gap, in
    sessions, between depression measures (``None`` for group IPT, which instead takes a
    PHQ-9 at the pre-group session, the midpoint and the end). ``acute`` formats have an ending
    (rules 2, 3, 9, 13 and 14); ``parent_involvement`` turns on rule 15; ``group`` rule 16.
    """

    code: FormatCode
    label: Label
    default_sessions: int
    min_sessions: int
    max_sessions: int
    frequency: str
    split: SplitRule
    initial_max: int
    term_length: int
    term_lead: int
    term_due_from: int
    measure_gap: int | None
    acute: bool
    parent_involvement: bool = False
    group: bool = False
    notes: str = ""
    basis: tuple[tuple[str, Basis], ...] = ()

    def basis_of(self, parameter: str) -> Basis:
        """How well founded ``parameter`` is; OpenIPT's own choice unless stated otherwise."""
        return dict(self.basis).get(parameter, Basis.DEFAULT)

    def allows(self, planned_sessions: int) -> bool:
        """Whether N lies in the format's usual range (outside it is a notice, never a block)."""
        return self.min_sessions <= planned_sessions <= self.max_sessions


WEEKLY = Frequency.WEEKLY
MONTHLY = Frequency.MONTHLY

FORMATS: dict[FormatCode, Format] = {
    FormatCode.IPT: Format(
        code=FormatCode.IPT,
        label=FORMAT_LABELS[FormatCode.IPT],
        default_sessions=12,
        min_sessions=12,
        max_sessions=16,
        frequency=WEEKLY,
        split=SplitRule.FIXED,
        initial_max=3,
        term_length=3,
        term_lead=2,
        term_due_from=4,
        measure_gap=4,
        acute=True,
        notes=gettext_noop("UK teaching uses sessions 1-4 as the initial phase."),
        basis=(
            ("sessions", Basis.CONVENTION),
            ("initial_max", Basis.FIRM),
            ("term_length", Basis.CONVENTION),
            ("term_lead", Basis.FIRM),
            ("measure_gap", Basis.CONVENTION),
        ),
    ),
    FormatCode.IPT_B: Format(
        code=FormatCode.IPT_B,
        label=FORMAT_LABELS[FormatCode.IPT_B],
        default_sessions=8,
        min_sessions=6,
        max_sessions=10,
        frequency=WEEKLY,
        split=SplitRule.FIXED,
        initial_max=2,
        term_length=2,
        term_lead=2,
        term_due_from=4,
        measure_gap=4,
        acute=True,
        notes=gettext_noop(
            "Often follows one engagement session (number it 0). Choose a manageable focus "
            "that builds on the client's strengths."
        ),
        basis=(("sessions", Basis.CONVENTION), ("initial_max", Basis.FIRM)),
    ),
    FormatCode.IPT_A: Format(
        code=FormatCode.IPT_A,
        label=FORMAT_LABELS[FormatCode.IPT_A],
        default_sessions=12,
        min_sessions=12,
        max_sessions=16,
        frequency=WEEKLY,
        split=SplitRule.THIRDS,
        initial_max=4,
        term_length=4,
        term_lead=2,
        term_due_from=4,
        measure_gap=4,
        acute=True,
        parent_involvement=True,
        notes=gettext_noop("A parent takes part early on and at the end (unverified split)."),
        basis=(("sessions", Basis.CONVENTION), ("term_lead", Basis.FIRM)),
    ),
    FormatCode.IPT_G: Format(
        code=FormatCode.IPT_G,
        label=FORMAT_LABELS[FormatCode.IPT_G],
        default_sessions=8,
        min_sessions=8,
        max_sessions=8,
        frequency=WEEKLY,
        split=SplitRule.FIXED,
        initial_max=1,
        term_length=1,
        term_lead=2,
        term_due_from=4,
        measure_gap=None,
        acute=True,
        group=True,
        notes=gettext_noop(
            "One individual pre-group session (number it 0), then eight weekly group sessions "
            "for about 6 to 10 members."
        ),
        basis=(("sessions", Basis.FIRM), ("term_lead", Basis.FIRM)),
    ),
    FormatCode.IPC: Format(
        code=FormatCode.IPC,
        label=FORMAT_LABELS[FormatCode.IPC],
        default_sessions=6,
        min_sessions=3,
        max_sessions=6,
        frequency=WEEKLY,
        split=SplitRule.FIXED,
        initial_max=1,
        term_length=1,
        term_lead=1,
        term_due_from=2,
        measure_gap=1,
        acute=True,
        notes=gettext_noop("The first session is at most 30 minutes; later ones are shorter."),
        basis=(("sessions", Basis.CONVENTION), ("measure_gap", Basis.CONVENTION)),
    ),
    FormatCode.IPT_M: Format(
        code=FormatCode.IPT_M,
        label=FORMAT_LABELS[FormatCode.IPT_M],
        default_sessions=12,
        min_sessions=1,
        max_sessions=36,
        frequency=MONTHLY,
        split=SplitRule.ONGOING,
        initial_max=0,
        term_length=0,
        term_lead=0,
        term_due_from=0,
        measure_gap=1,
        acute=False,
        notes=gettext_noop("Follows an acute course; its baseline measure carries over."),
        basis=(("sessions", Basis.CONVENTION),),
    ),
}


def get_format(code: str) -> Format:
    """The format for ``code``; raises ``ValueError`` for an unknown code."""
    return FORMATS[FormatCode(code)]


def phase_split(fmt: Format, planned_sessions: int) -> tuple[int, int]:
    """Lengths of the initial and termination phases for N contracted sessions (docs/ipt.md §2).

    FIXED keeps the documented lengths and, when N is too small for an initial, a middle and
    a termination phase, shortens the longer of the two (termination first on a tie, so the
    Firm initial limit survives longest). THIRDS rounds N/3 and caps each third at
    ``initial_max``. ONGOING has neither. The initial length never exceeds ``initial_max``
    (rule 1). N below 1 is treated as 1.
    """
    n = max(1, planned_sessions)
    if fmt.split is SplitRule.ONGOING:
        return 0, 0
    if fmt.split is SplitRule.THIRDS:
        third = max(1, (2 * n + 3) // 6)  # N/3 rounded half up
        return min(third, fmt.initial_max), min(third, fmt.term_length)
    initial, termination = fmt.initial_max, fmt.term_length
    while initial + termination + 1 > n and initial + termination > 2:
        if termination >= initial:
            termination -= 1
        else:
            initial -= 1
    return initial, termination


def phase_for_session(fmt: Format, session_number: int, planned_sessions: int) -> Phase:
    """The protocol phase of session ``session_number`` in a course of N sessions.

    docs/ipt.md §2: ``ipt`` 1-3 / 4..N-3 / last 3; ``ipt_b`` 1-2 / 3..N-2 / last 2; ``ipt_a``
    1-4 / 5-8 / 9-12 scaled to N; ``ipt_g`` pre-group (0) and group session 1 / 2..N-1 / N;
    ``ipc`` 1 / 2..N-1 / N; ``ipt_m`` always middle. Sessions beyond N (an overrun that rule 8
    flags) stay in the termination phase. Never exceeds ``initial_max`` (rule 1) and never
    goes back to an earlier phase as the session number grows.
    """
    if fmt.split is SplitRule.ONGOING:
        return Phase.MIDDLE
    n = max(1, planned_sessions)
    initial, termination = phase_split(fmt, n)
    if session_number <= initial:
        return Phase.INITIAL
    if session_number > n - termination:
        return Phase.TERMINATION
    return Phase.MIDDLE


PHASE_ORDER: dict[Phase, int] = {Phase.INITIAL: 0, Phase.MIDDLE: 1, Phase.TERMINATION: 2}
