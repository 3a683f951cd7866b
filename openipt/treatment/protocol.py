"""IPT protocol guidance: from a course's state, the tasks due and the warnings
(docs/ipt.md §3, §9).

Pure Python, no Django imports, versioned (``VERSION``). The caller maps its models to a
:class:`CourseState` (plain, frozen data) and calls :func:`evaluate`. The result only advises:
nothing here blocks saving or scheduling (docs/ipt.md §9). Every item carries the §3 task code, the
§9 rule number (``None`` for a plain §3 task), a severity and a reason in plain English.

Conventions:

* A session is *held* when its attendance is ``attended`` and it is not dated after ``today``.
  ``k`` is the highest held session number (0 before any); the *next* session is ``k + 1``.
* Session numbers below 1 are pre-contract sessions (group IPT's pre-group session, Brief IPT's
  engagement session): initial phase, never counted by rule 1.
* A clinician's :class:`TaskMark` (done, not applicable, deferred) on a code silences that code,
  for one session or for all; a deferral with ``until_session`` lapses when the next session
  passes it. The same marks dismiss warnings (the caller audits the reason).
* Reasons are ``gettext_noop``-marked templates with ``%(name)s`` placeholders; ``item.reason``
  fills them in English, and the Django layer can translate ``item.message`` then apply
  ``item.params_dict``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from itertools import pairwise

# The IPT enumerations come from the vocabulary; ``Attendance``, ``CourseStatus``,
# ``NextStep`` and ``MarkStatus`` (the vocabulary's ``TaskStatus``) are re-exported here
# under their protocol names.
from openipt.ipt.vocabulary import (
    PROBLEM_AREA_LABELS,
    DisputeStage,
    FormatCode,
    Phase,
    ProblemArea,
    TaskStatus,
    gettext_noop,
)
from openipt.ipt.vocabulary import Attendance as Attendance
from openipt.ipt.vocabulary import CourseStatus as CourseStatus
from openipt.ipt.vocabulary import NextStep as NextStep
from openipt.treatment.formats import Format, get_format, phase_for_session

VERSION = "1.3"

#: Default (docs/ipt.md §9 rule 17): "improvement" means the total fell by at least this fraction.
MIN_IMPROVEMENT_FRACTION = 0.2
#: Default: a held session left unsigned for more than this many days gets a notice.
UNSIGNED_NOTICE_DAYS = 7


#: A clinician's mark on a task or a warning: the vocabulary's ``TaskStatus``.
MarkStatus = TaskStatus


class Severity(StrEnum):
    OVERDUE = "overdue"
    DUE = "due"
    WARNING = "warning"
    NOTICE = "notice"


# --- Input: a course as plain data -----------------------------------------------------------


@dataclass(frozen=True)
class ContractVersion:
    """One version of the treatment contract; later versions are renegotiations (rule 8)."""

    planned_sessions: int
    frequency: str = ""
    focus: tuple[ProblemArea, ...] = ()
    agreed_on: date | None = None
    client_agreed: bool = False
    reason: str = ""


@dataclass(frozen=True)
class SessionRecord:
    number: int
    on: date | None = None
    attendance: Attendance = Attendance.SCHEDULED
    phase_override: Phase | None = None
    override_reason: str = ""
    opening_review: bool = False
    techniques: tuple[str, ...] = ()
    tasks_set: int = 0
    risk_checked: bool = False
    risk_concerns: bool = False  # the risk check was asked and noted concerns
    signed: bool = False


@dataclass(frozen=True)
class Inventory:
    people: int = 0
    in_circle: int = 0


@dataclass(frozen=True)
class Timeline:
    events: int = 0
    onset_marked: bool = False


@dataclass(frozen=True)
class ProblemAreaRecord:
    """A candidate problem area; ``focus`` when chosen as a treatment focus (§4)."""

    area: ProblemArea
    focus: bool = False
    primary: bool = False
    evidence: bool = False
    deficits_rationale: str = ""
    dispute_person_linked: bool = False
    dispute_stage: DisputeStage | None = None


@dataclass(frozen=True)
class Formulation:
    text_present: bool = False
    shared_on: date | None = None
    agreed: bool = False
    agreed_on: date | None = None


@dataclass(frozen=True)
class MeasureResult:
    """One depression measure (PHQ-9, HAM-D, ...): higher totals mean more symptoms."""

    instrument: str
    total: float
    on: date | None = None
    session_number: int | None = None


@dataclass(frozen=True)
class Termination:
    raised_at_session: int | None = None
    gains_reviewed: bool = False
    warning_signs: bool = False
    relapse_plan: bool = False
    final_measure: bool = False
    next_step: NextStep | None = None
    next_step_reason: str = ""


@dataclass(frozen=True)
class TaskMark:
    code: str
    status: MarkStatus
    session: int | None = None
    until_session: int | None = None


@dataclass(frozen=True)
class CourseState:
    """Everything the protocol looks at, as plain data any model can be mapped to."""

    format: FormatCode
    planned_sessions: int
    status: CourseStatus = CourseStatus.ACTIVE
    contracts: tuple[ContractVersion, ...] = ()
    sessions: tuple[SessionRecord, ...] = ()
    inventory: Inventory = field(default_factory=Inventory)
    timeline: Timeline = field(default_factory=Timeline)
    problem_areas: tuple[ProblemAreaRecord, ...] = ()
    formulation: Formulation = field(default_factory=Formulation)
    measures: tuple[MeasureResult, ...] = ()
    termination: Termination = field(default_factory=Termination)
    medication_decision_recorded: bool = False
    parent_sessions: tuple[int, ...] = ()
    marks: tuple[TaskMark, ...] = ()
    #: A measurement schedule a practice or programme chose (``None``: none): each of
    #: ``scheduled_measures`` at most ``measure_every`` sessions apart.
    measure_every: int | None = None
    scheduled_measures: tuple[str, ...] = ("PHQ-9", "GAD-7")
    #: Anxiety measures (GAD-7, ...), read only by the schedule; ``measures`` stays depression.
    anxiety_measures: tuple[MeasureResult, ...] = ()


# --- Output ---------------------------------------------------------------------------------

Param = tuple[str, int | str]


@dataclass(frozen=True)
class GuidanceItem:
    code: str
    rule: int | None
    severity: Severity
    message: str
    params: tuple[Param, ...] = ()
    session: int | None = None

    @property
    def params_dict(self) -> dict[str, int | str]:
        return dict(self.params)

    @property
    def reason(self) -> str:
        return self.message % self.params_dict if self.params else self.message


@dataclass(frozen=True)
class Guidance:
    version: str
    phase: Phase
    sessions_held: int
    next_session: int
    next_phase: Phase
    due: tuple[GuidanceItem, ...] = ()
    warnings: tuple[GuidanceItem, ...] = ()

    @property
    def items(self) -> tuple[GuidanceItem, ...]:
        return self.due + self.warnings


# --- The §3 task list -----------------------------------------------------------------------

ALL_FORMATS = frozenset(FormatCode)
ACUTE_FORMATS = frozenset(code for code in FormatCode if code is not FormatCode.IPT_M)


@dataclass(frozen=True)
class TaskSpec:
    code: str
    phase: Phase
    label: str
    rule: int | None = None
    formats: frozenset[FormatCode] = ACUTE_FORMATS
    every_session: bool = False


_I, _M, _T = Phase.INITIAL, Phase.MIDDLE, Phase.TERMINATION
TASKS: tuple[TaskSpec, ...] = (
    TaskSpec("init.symptom_review", _I, gettext_noop("Review symptoms; baseline measure"), 10),
    TaskSpec("init.diagnosis_psychoed", _I, gettext_noop("Explain the diagnosis and sick role")),
    TaskSpec("init.medication_considered", _I, gettext_noop("Consider medication; record it")),
    TaskSpec("init.inventory", _I, gettext_noop("Map the people in the client's life"), 2),
    TaskSpec("init.mood_event_link", _I, gettext_noop("Link mood changes to life events"), 2),
    TaskSpec("init.problem_area", _I, gettext_noop("Choose the problem area")),
    TaskSpec("init.formulation_agreed", _I, gettext_noop("Share and agree the formulation"), 3),
    TaskSpec(
        "init.contract", _I, gettext_noop("Agree sessions, frequency and focus"), 4, ALL_FORMATS
    ),
    TaskSpec(
        "init.parent_session",
        _I,
        gettext_noop("Involve a parent"),
        15,
        frozenset({FormatCode.IPT_A}),
    ),
    TaskSpec(
        "mid.opening_review",
        _M,
        gettext_noop("Open with mood and events since last time"),
        12,
        ALL_FORMATS,
        every_session=True,
    ),
    TaskSpec("mid.measure", _M, gettext_noop("Depression measure when due"), 11, ALL_FORMATS, True),
    TaskSpec("mid.strategy", _M, gettext_noop("Work on the problem area"), None, ALL_FORMATS, True),
    TaskSpec("mid.techniques", _M, gettext_noop("Record techniques used"), None, ALL_FORMATS, True),
    TaskSpec(
        "mid.task_review", _M, gettext_noop("Review last week's task"), None, ALL_FORMATS, True
    ),
    TaskSpec("mid.task_set", _M, gettext_noop("Suggest something to try"), None, ALL_FORMATS, True),
    TaskSpec(
        "mid.member_review",
        _M,
        gettext_noop("Review each member's week"),
        16,
        frozenset({FormatCode.IPT_G}),
        every_session=True,
    ),
    TaskSpec("term.raised", _T, gettext_noop("Raise the ending in good time"), 9),
    TaskSpec("term.gains_reviewed", _T, gettext_noop("Review progress; credit the client"), 13),
    TaskSpec("term.warning_signs", _T, gettext_noop("List early signs of relapse"), 13),
    TaskSpec("term.relapse_plan", _T, gettext_noop("Plan what to do if they return"), 13),
    TaskSpec("term.final_measure", _T, gettext_noop("Final depression measure"), 13),
    TaskSpec("term.next_step", _T, gettext_noop("Decide the next step"), 14),
    TaskSpec(
        "term.parent_session",
        _T,
        gettext_noop("Review progress with a parent"),
        15,
        frozenset({FormatCode.IPT_A}),
    ),
)
TASK_ORDER: dict[str, int] = {spec.code: index for index, spec in enumerate(TASKS)}


def phase_tasks(fmt: FormatCode, phase: Phase) -> tuple[TaskSpec, ...]:
    """The §3 checklist for one phase of one format (e.g. parent sessions only for IPT-A)."""
    return tuple(spec for spec in TASKS if spec.phase is phase and fmt in spec.formats)


# --- Evaluation -----------------------------------------------------------------------------

_CLOSED = frozenset({CourseStatus.CONCLUDED, CourseStatus.ENDED_EARLY})


def _item(
    code: str,
    rule: int | None,
    severity: Severity,
    message: str,
    session: int | None = None,
    **params: int | str,
) -> GuidanceItem:
    if session is not None:
        params["session"] = session
    return GuidanceItem(code, rule, severity, message, tuple(sorted(params.items())), session)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class _Course:
    """Derived facts about a course that several rules share."""

    def __init__(self, state: CourseState, today: date) -> None:
        self.state = state
        self.fmt: Format = get_format(state.format)
        self.n = max(1, state.planned_sessions)
        self.today = today
        # The first record of each session number (as ``phase_at`` has always read them) and
        # the protocol's phase per number, worked out once: rules ask per session.
        self._by_number: dict[int, SessionRecord] = {}
        for record in state.sessions:
            self._by_number.setdefault(record.number, record)
        self._phases: dict[int, Phase] = {}
        self.held = tuple(
            s
            for s in state.sessions
            if s.attendance is Attendance.ATTENDED and (s.on is None or s.on <= today)
        )
        self.k = max((s.number for s in self.held), default=0)
        self.next = max(self.k, 0) + 1
        self.next_phase = self.phase_at(self.next)
        self.closed = state.status in _CLOSED
        self.final_held = self.k >= self.n
        later = sorted(s.number for s in self.held if s.number >= 1 and self.phase_of(s) != _I)
        self.first_middle: int | None = later[0] if later else None
        self.in_termination = (
            self.closed or self.next_phase is _T or any(self.phase_of(s) is _T for s in self.held)
        )

    def phase_of(self, session: SessionRecord) -> Phase:
        """The clinician's override if there is one, else the protocol's phase (§2)."""
        if session.phase_override is not None:
            return session.phase_override
        return self._protocol_phase(session.number)

    def _protocol_phase(self, number: int) -> Phase:
        phase = self._phases.get(number)
        if phase is None:
            phase = self._phases[number] = phase_for_session(self.fmt, number, self.n)
        return phase

    def phase_at(self, number: int) -> Phase:
        session = self._by_number.get(number)
        if session is not None:
            return self.phase_of(session)
        return self._protocol_phase(number)

    @property
    def phase(self) -> Phase:
        return self.phase_at(self.k) if self.held else self.phase_at(self.next)

    def silenced(self, code: str, session: int | None) -> bool:
        """Whether a clinician's mark covers this item (a deferral lapses at its session)."""
        for mark in self.state.marks:
            if mark.code != code or mark.session not in (None, session):
                continue
            lapsed = mark.status is MarkStatus.DEFERRED and (
                mark.until_session is not None and self.next >= mark.until_session
            )
            if not lapsed:
                return True
        return False

    def measure_session(self, measure: MeasureResult) -> int:
        """The session a measure belongs to: its own number, else the first session on or
        after its date (a questionnaire filled in before a session counts for it)."""
        if measure.session_number is not None:
            return measure.session_number
        if measure.on is None:
            return 0
        dated = [s.number for s in self.state.sessions if s.on is not None and s.on >= measure.on]
        return min(dated, default=self.next)

    def measures(self) -> list[tuple[int, MeasureResult]]:
        pairs = [(self.measure_session(m), m) for m in self.state.measures]
        return sorted(pairs, key=lambda pair: (pair[0], pair[1].on or date.min))

    def baseline(self) -> tuple[int, MeasureResult] | None:
        early = [pair for pair in self.measures() if pair[0] <= 1]
        return early[0] if early else None

    def initial_severity(self) -> Severity:
        return Severity.OVERDUE if self.first_middle is not None else Severity.DUE


def _rule_1_initial_max(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 1: the initial phase lasts at most ``initial_max`` contracted sessions. The
    protocol's own split never breaks it, so this fires on clinician overrides; an override
    without a reason gets a notice."""
    for s in c.state.sessions:
        if s.number >= 1 and s.number > c.fmt.initial_max and c.phase_of(s) is _I:
            yield _item(
                "phase.initial_max",
                1,
                Severity.WARNING,
                gettext_noop(
                    "Session %(session)s is in the initial phase, but this format's initial "
                    "phase lasts at most %(max)s sessions."
                ),
                s.number,
                max=c.fmt.initial_max,
            )
        if s.phase_override is not None and not s.override_reason.strip():
            yield _item(
                "phase.override_reason",
                None,
                Severity.NOTICE,
                gettext_noop("Give a reason for changing the phase of session %(session)s."),
                s.number,
            )


def _rule_2_inventory_timeline(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 2: inventory and mood-event timeline before the formulation (acute formats).
    Overdue once the formulation is shared or the middle phase has begun without them."""
    f = c.state.formulation
    late = f.shared_on is not None or f.agreed or c.first_middle is not None
    severity = Severity.OVERDUE if late else Severity.DUE
    if c.state.inventory.people < 1:
        yield _item(
            "init.inventory",
            2,
            severity,
            gettext_noop("Record the people in the client's life before the formulation."),
        )
    timeline = c.state.timeline
    if timeline.events < 1 or not timeline.onset_marked:
        yield _item(
            "init.mood_event_link",
            2,
            severity,
            gettext_noop(
                "Record a timeline linking mood to life events, with the onset marked, "
                "before the formulation."
            ),
        )


def _rule_3_formulation(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 3: the client agrees the formulation (flag and date) before the first
    middle-phase session; overdue, tied to that session, once it has happened."""
    f = c.state.formulation
    if f.agreed and f.agreed_on is not None:
        return
    if c.first_middle is not None:
        yield _item(
            "init.formulation_agreed",
            3,
            Severity.OVERDUE,
            gettext_noop(
                "Session %(session)s was in the middle phase before the client agreed the "
                "formulation."
            ),
            c.first_middle,
        )
    elif f.text_present:
        yield _item(
            "init.formulation_agreed",
            3,
            Severity.DUE,
            gettext_noop("Share the formulation and record the client's agreement and its date."),
        )
    else:
        yield _item(
            "init.formulation_agreed",
            3,
            Severity.DUE,
            gettext_noop("Write the formulation and agree it with the client."),
        )


def _rule_4_contract(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 4: number, frequency and focus of sessions recorded by the end of the initial
    phase (maintenance IPT has none, so by its first session)."""
    latest = c.state.contracts[-1] if c.state.contracts else None
    if latest and latest.planned_sessions >= 1 and latest.frequency.strip() and latest.focus:
        return
    message = (
        gettext_noop("Record the contract: how many sessions, how often, and the focus.")
        if c.fmt.acute
        else gettext_noop(
            "Agree the maintenance contract with the client: how many sessions, how often "
            "(monthly is usual), and the focus."
        )
    )
    yield _item("init.contract", 4, c.initial_severity(), message)


def _plain_initial_tasks(c: _Course) -> Iterator[GuidanceItem]:
    """§3 initial tasks without a §9 rule, due in the initial phase and overdue after it."""
    severity = c.initial_severity()
    yield _item(
        "init.diagnosis_psychoed",
        None,
        severity,
        gettext_noop("Explain the diagnosis and the sick role."),
    )
    if not c.state.medication_decision_recorded:
        yield _item(
            "init.medication_considered",
            None,
            severity,
            gettext_noop("Consider medication and record the decision."),
        )
    if not any(p.primary for p in c.state.problem_areas):
        yield _item(
            "init.problem_area",
            None,
            severity,
            gettext_noop("Choose the primary problem area."),
        )


def _rule_5_to_7_problem_areas(c: _Course) -> Iterator[GuidanceItem]:
    """Rules 5-7 (§4): exactly one primary and at most two focus areas (5); deficits need a
    recorded reason why no other area applies (6); a dispute needs its person and stage (7).
    Candidate areas should carry their evidence (a notice, §4)."""
    focus = [p for p in c.state.problem_areas if p.focus or p.primary]
    primaries = sum(1 for p in focus if p.primary)
    if len(focus) > 2:
        yield _item(
            "problem_area.count",
            5,
            Severity.WARNING,
            gettext_noop("%(count)s focus areas are chosen; keep to at most two."),
            count=len(focus),
        )
    if focus and primaries != 1:
        yield _item(
            "problem_area.primary",
            5,
            Severity.WARNING,
            gettext_noop("Mark exactly one focus area as primary (now %(count)s)."),
            count=primaries,
        )
    for p in c.state.problem_areas:
        name = PROBLEM_AREA_LABELS[p.area].clinical
        if not p.evidence:
            yield _item(
                "problem_area.evidence",
                None,
                Severity.NOTICE,
                gettext_noop("Note the evidence for %(area)s."),
                area=name,
            )
        if p not in focus:
            continue
        if p.area is ProblemArea.INTERPERSONAL_DEFICITS and not p.deficits_rationale.strip():
            yield _item(
                "problem_area.deficits_rationale",
                6,
                Severity.DUE,
                gettext_noop(
                    "Record why grief, disagreements and life changes do not apply before "
                    "choosing interpersonal deficits."
                ),
            )
        if p.area is ProblemArea.ROLE_DISPUTE and not p.dispute_person_linked:
            yield _item(
                "problem_area.dispute_person",
                7,
                Severity.DUE,
                gettext_noop("Link the dispute to a person in the inventory."),
            )
        if p.area is ProblemArea.ROLE_DISPUTE and p.dispute_stage is None:
            yield _item(
                "problem_area.dispute_stage",
                7,
                Severity.DUE,
                gettext_noop("Record the dispute's stage: still talking, stuck or ending."),
            )


def _rule_8_renegotiation(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 8: a change of N, or sessions beyond it, needs a contract revision with the old
    and new N, a reason and the client's agreement. N outside the format's usual range gets
    a notice (§2)."""
    contracts = c.state.contracts
    limit = contracts[-1].planned_sessions if contracts else c.n
    if contracts and limit != c.state.planned_sessions:
        yield _item(
            "contract.renegotiation",
            8,
            Severity.WARNING,
            gettext_noop(
                "The course plans %(planned)s sessions but the contract says %(contracted)s: "
                "record the renegotiation."
            ),
            planned=c.state.planned_sessions,
            contracted=limit,
        )
    beyond = sorted(s.number for s in c.state.sessions if s.number > limit)
    if beyond:
        yield _item(
            "contract.renegotiation",
            8,
            Severity.WARNING,
            gettext_noop(
                "Session %(session)s goes beyond the %(limit)s contracted sessions: record the "
                "renegotiation."
            ),
            beyond[0],
            limit=limit,
        )
    for old, new in pairwise(contracts):
        if new.planned_sessions != old.planned_sessions and not (
            new.reason.strip() and new.client_agreed
        ):
            yield _item(
                "contract.renegotiation",
                8,
                Severity.WARNING,
                gettext_noop(
                    "The change from %(old)s to %(new)s sessions needs a reason and the "
                    "client's agreement."
                ),
                old=old.planned_sessions,
                new=new.planned_sessions,
            )
    if not c.fmt.allows(c.state.planned_sessions):
        yield _item(
            "contract.range",
            None,
            Severity.NOTICE,
            gettext_noop("%(planned)s sessions is outside this format's usual %(min)s to %(max)s."),
            planned=c.state.planned_sessions,
            min=c.fmt.min_sessions,
            max=c.fmt.max_sessions,
        )


def _rule_9_raise_ending(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 9: the ending is raised at least ``term_lead`` sessions before session N; due
    from ``term_due_from`` sessions before N, overdue once the last chance has passed."""
    deadline = max(1, c.n - c.fmt.term_lead)
    raised = c.state.termination.raised_at_session
    if raised is not None:
        if raised > deadline:
            yield _item(
                "term.raised",
                9,
                Severity.NOTICE,
                gettext_noop(
                    "The ending was raised at session %(session)s, later than session %(deadline)s."
                ),
                raised,
                deadline=deadline,
            )
    elif c.k >= deadline:
        yield _item(
            "term.raised",
            9,
            Severity.OVERDUE,
            gettext_noop("The ending should have been raised by session %(session)s."),
            deadline,
        )
    elif c.next >= max(1, c.n - c.fmt.term_due_from):
        yield _item(
            "term.raised",
            9,
            Severity.DUE,
            gettext_noop("Raise the ending now; do it by session %(session)s."),
            deadline,
        )


def _rule_10_baseline(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 10: a baseline depression measure at or before session 1 (for maintenance IPT,
    the acute course's last measure, entered with its date)."""
    if c.baseline() is not None:
        return
    if c.k >= 1:
        yield _item(
            "init.symptom_review",
            10,
            Severity.OVERDUE,
            gettext_noop("Session 1 took place without a baseline depression measure."),
            1,
        )
    else:
        yield _item(
            "init.symptom_review",
            10,
            Severity.DUE,
            gettext_noop("Take a baseline depression measure at or before session 1."),
            1,
        )


def _rule_11_measure_gap(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 11: depression measures at most ``measure_gap`` sessions apart (docs/ipt.md §7). At the
    last contracted session the final measure (rule 13) takes over. Group IPT instead needs a
    PHQ-9 around its midpoint (a session within one of N/2)."""
    sessions = [number for number, _ in c.measures()]
    if not sessions:
        return  # rule 10 asks for the baseline first
    gap = c.fmt.measure_gap
    if gap is None:
        mid = c.n // 2
        if any(mid - 1 <= number <= mid + 1 for number in sessions):
            return
        if c.k > mid:
            yield _item(
                "mid.measure",
                11,
                Severity.OVERDUE,
                gettext_noop("The midpoint PHQ-9 (around session %(session)s) was missed."),
                mid,
            )
        elif c.next >= mid - 1:
            yield _item(
                "mid.measure",
                11,
                Severity.DUE,
                gettext_noop("A PHQ-9 is due around session %(session)s, the midpoint."),
                mid,
            )
        return
    last = max(sessions)
    if c.k >= 1 and c.k - last >= gap:
        yield _item(
            "mid.measure",
            11,
            Severity.OVERDUE,
            gettext_noop(
                "No depression measure since session %(last)s; one was due by session %(session)s."
            ),
            last + gap,
            last=last,
        )
    elif c.next - last >= gap and not (c.fmt.acute and c.next >= c.n):
        yield _item(
            "mid.measure",
            11,
            Severity.DUE,
            gettext_noop("A depression measure is due at session %(session)s."),
            c.next,
        )


def _measure_schedule(c: _Course) -> Iterator[GuidanceItem]:
    """The practice's measurement schedule (no §9 rule; e.g. PHQ-9 and GAD-7 at least every
    fourth session for certification): an instrument is due at the next session once
    ``measure_every - 1`` sessions have been held since its last score (counted from the
    start of the course while it has none), and overdue once a session that needed it was
    held without it."""
    every = c.state.measure_every
    if every is None or every < 1:
        return
    results = c.state.measures + c.state.anxiety_measures
    for code in c.state.scheduled_measures:
        last = max((c.measure_session(m) for m in results if m.instrument == code), default=0)
        if c.k - last >= every:
            message = (
                gettext_noop(
                    "No %(instrument)s since session %(last)s; the measurement schedule asked "
                    "for one by session %(session)s."
                )
                if last >= 1
                else gettext_noop(
                    "No %(instrument)s yet; the measurement schedule asked for one by session "
                    "%(session)s."
                )
            )
            params: dict[str, int | str] = {"instrument": code}
            if last >= 1:
                params["last"] = last
            yield _item(f"schedule.{code}", None, Severity.OVERDUE, message, last + every, **params)
        elif c.next - last >= every:
            yield _item(
                f"schedule.{code}",
                None,
                Severity.DUE,
                gettext_noop(
                    "A %(instrument)s is due at session %(session)s (measurement schedule: at "
                    "least every %(every)s sessions)."
                ),
                c.next,
                instrument=code,
                every=every,
            )


def _rule_12_opening_review(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 12: every held middle-phase session records its opening review."""
    for s in c.held:
        if c.phase_of(s) is _M and not s.opening_review:
            yield _item(
                "mid.opening_review",
                12,
                Severity.WARNING,
                gettext_noop("The note for session %(session)s has no opening review."),
                s.number,
            )


_TERMINATION_PARTS: tuple[tuple[str, str], ...] = (
    ("term.gains_reviewed", gettext_noop("Review progress and credit the client with the gains.")),
    ("term.warning_signs", gettext_noop("List the early signs of relapse.")),
    ("term.relapse_plan", gettext_noop("Agree what to do if those signs appear.")),
    ("term.final_measure", gettext_noop("Take the final depression measure.")),
)


def _termination_severity(c: _Course) -> Severity | None:
    if c.closed or c.final_held:
        return Severity.OVERDUE
    return Severity.DUE if c.in_termination else None


def _rule_13_termination_record(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 13: gains, warning signs, relapse plan and final measure by the final session;
    a closed course missing any of them is flagged "termination incomplete"."""
    severity = _termination_severity(c)
    if severity is None:
        return
    t = c.state.termination
    final = c.k if c.closed else c.n
    measured = t.final_measure or any(number >= max(final, 1) for number, _ in c.measures())
    done = {
        "term.gains_reviewed": t.gains_reviewed,
        "term.warning_signs": t.warning_signs,
        "term.relapse_plan": t.relapse_plan,
        "term.final_measure": measured,
    }
    missing = [
        (code, message)
        for code, message in _TERMINATION_PARTS
        if not done[code] and not c.silenced(code, None)
    ]
    for code, message in missing:
        yield _item(code, 13, severity, message)
    if missing and c.closed:
        yield _item(
            "term.incomplete",
            13,
            Severity.WARNING,
            gettext_noop("The course was closed with %(count)s termination items missing."),
            count=len(missing),
        )


def _rule_14_next_step(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 14: every acute course ends with a decision: maintenance, further treatment,
    referral, or none with a reason."""
    severity = _termination_severity(c)
    if severity is not None and not _next_step_decided(c.state.termination):
        yield _item(
            "term.next_step",
            14,
            severity,
            gettext_noop(
                "Record the next step: maintenance, further treatment, referral, or none "
                "with a reason."
            ),
        )


def _next_step_decided(t: Termination) -> bool:
    """Rule 14's test: a next step is chosen, and "none" comes with a reason."""
    return t.next_step is not None and (
        t.next_step is not NextStep.NONE or bool(t.next_step_reason.strip())
    )


def _rule_15_parent(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 15 (IPT-A): a parent takes part in the initial and the termination phases."""
    phases = {c.phase_at(number) for number in c.state.parent_sessions}
    if _I not in phases and not c.closed:
        yield _item(
            "init.parent_session",
            15,
            c.initial_severity(),
            gettext_noop("Involve a parent in the initial phase."),
        )
    severity = _termination_severity(c)
    if _T not in phases and severity is not None:
        yield _item(
            "term.parent_session",
            15,
            severity,
            gettext_noop("Meet with a parent to review progress and keep the changes going."),
        )


def _rule_16_group(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 16 (group IPT): each member has a pre-group session before group session 1, and
    the group has 6 to 10 members. A stub until groups are modelled: a course is one client's
    episode, so membership and group size are not in :class:`CourseState` yet."""
    return iter(())


def review_session(planned_sessions: int) -> int:
    """Rule 17's review point: the middle of the contracted sessions, rounded down."""
    return (max(1, planned_sessions) + 1) // 2


def _whole(total: float | Decimal) -> int:
    """A total rounded half-up to a whole number, as bands and caseness round it."""
    return int(Decimal(str(total)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def not_improving(
    baseline: float | Decimal, latest: float | Decimal, *, sessions_held: int, planned_sessions: int
) -> bool:
    """Rule 17's test, the one definition of "not improving" (docs/ipt.md §9 rule 17, and
    the "not on track" badge of docs/measures.md §6): once the review session has been
    held, the latest total (higher = more symptoms) has not fallen by at least
    ``MIN_IMPROVEMENT_FRACTION`` from a baseline above 0. Totals compare rounded."""
    if sessions_held < review_session(planned_sessions):
        return False
    first, last = _whole(baseline), _whole(latest)
    return first > 0 and last > first * (1 - MIN_IMPROVEMENT_FRACTION)


def _rule_17_improvement(c: _Course) -> Iterator[GuidanceItem]:
    """Rule 17 (Default: midpoint of N): by mid-course the total on the baseline instrument
    should have fallen by at least ``MIN_IMPROVEMENT_FRACTION``; if not, prompt a review of
    medication, focus or referral."""
    base = c.baseline()
    if base is None:
        return
    start, baseline = base
    later = [
        m for number, m in c.measures() if number > start and m.instrument == baseline.instrument
    ]
    if not later:
        return
    latest = later[-1]
    if not_improving(baseline.total, latest.total, sessions_held=c.k, planned_sessions=c.n):
        yield _item(
            "review.no_improvement",
            17,
            Severity.WARNING,
            gettext_noop(
                "%(instrument)s has not clearly improved by mid-course (%(baseline)s, now "
                "%(latest)s): review medication, the focus, or a referral."
            ),
            instrument=baseline.instrument,
            baseline=_num(baseline.total),
            latest=_num(latest.total),
        )


def _risk_concerns(c: _Course) -> Iterator[GuidanceItem]:
    """The latest held session's risk check noted concerns (no §9 rule: safety comes before
    the protocol's tasks). It stays until a later session's check, or the clinician's mark
    for that session, settles it."""
    latest = max((s for s in c.held if s.risk_checked), key=lambda s: s.number, default=None)
    if latest is not None and latest.risk_concerns:
        yield _item(
            "risk.concerns",
            None,
            Severity.WARNING,
            gettext_noop(
                "The risk check in session %(session)s noted concerns: go over the safety "
                "plan together and agree when you will next check in."
            ),
            latest.number,
        )


def _unsigned_sessions(c: _Course) -> Iterator[GuidanceItem]:
    """Held sessions left unsigned for more than ``UNSIGNED_NOTICE_DAYS`` (no §9 rule)."""
    for s in c.held:
        if not s.signed and s.on is not None and (c.today - s.on).days > UNSIGNED_NOTICE_DAYS:
            yield _item(
                "session.unsigned",
                None,
                Severity.NOTICE,
                gettext_noop("The note for session %(session)s is not signed yet."),
                s.number,
            )


def _items(c: _Course) -> Iterable[GuidanceItem]:
    acute_open = c.fmt.acute and not c.closed
    yield from _rule_1_initial_max(c)
    if acute_open:
        yield from _rule_2_inventory_timeline(c)
        yield from _rule_3_formulation(c)
        yield from _plain_initial_tasks(c)
    if not c.closed:
        yield from _rule_4_contract(c)
        yield from _rule_10_baseline(c)
        yield from _rule_11_measure_gap(c)
        yield from _measure_schedule(c)
        yield from _rule_17_improvement(c)
    yield from _rule_5_to_7_problem_areas(c)
    yield from _rule_8_renegotiation(c)
    if acute_open:
        yield from _rule_9_raise_ending(c)
    yield from _rule_12_opening_review(c)
    if c.fmt.acute:
        yield from _rule_13_termination_record(c)
        yield from _rule_14_next_step(c)
    if c.fmt.parent_involvement:
        yield from _rule_15_parent(c)
    if c.fmt.group:
        yield from _rule_16_group(c)
    if not c.closed:
        yield from _risk_concerns(c)
    yield from _unsigned_sessions(c)


def sort_key(item: GuidanceItem) -> tuple[int, int, int, int, str]:
    """Overdue first, notices last; then rule order (§3 tasks without a rule after the
    rules, a risk item before them), §3 task order, session and code."""
    rank = {Severity.OVERDUE: 0, Severity.NOTICE: 2}.get(item.severity, 1)
    rule = item.rule if item.rule is not None else (-1 if item.code.startswith("risk.") else 99)
    return rank, rule, TASK_ORDER.get(item.code, len(TASK_ORDER)), item.session or 0, item.code


def evaluate(state: CourseState, *, today: date) -> Guidance:
    """The protocol's advice for a course on ``today``: due tasks and warnings (§3, §9).

    Rules 1-15 and 17 apply as their formats say; rule 16 (group) is a documented stub.
    Items the clinician marked done, not applicable or deferred are left out. A course
    entered in error gets no guidance. Never raises for well-typed input and never blocks.
    """
    c = _Course(state, today)
    items: list[GuidanceItem] = []
    if state.status is not CourseStatus.ENTERED_IN_ERROR:
        items = sorted(
            (item for item in _items(c) if not c.silenced(item.code, item.session)),
            key=sort_key,
        )
    return Guidance(
        version=VERSION,
        phase=c.phase,
        sessions_held=c.k,
        next_session=c.next,
        next_phase=c.next_phase,
        due=tuple(i for i in items if i.severity in (Severity.OVERDUE, Severity.DUE)),
        warnings=tuple(i for i in items if i.severity in (Severity.WARNING, Severity.NOTICE)),
    )


def next_steps(guidance: Guidance, limit: int = 3) -> tuple[GuidanceItem, ...]:
    """The first ``limit`` items for a caseload row: overdue first, then by rule order."""
    return tuple(sorted(guidance.items, key=sort_key)[: max(0, limit)])


def mark(
    state: CourseState, code: str, status: MarkStatus, session: int | None = None
) -> CourseState:
    """A copy of ``state`` with one more clinician mark (handy for callers and tests)."""
    return replace(state, marks=(*state.marks, TaskMark(code, status, session)))


# --- Reading the guidance: folding, rules in plain words, the next action --------------------

#: What each §9 rule asks, in plain words, for a clinician who wants to know why an item is
#: shown (the pages put it in a ``<details>`` element instead of a bare rule number).
RULE_SUMMARIES: dict[int, str] = {
    1: gettext_noop(
        "The first phase lasts at most a few sessions; how many depends on the format."
    ),
    2: gettext_noop(
        "The people in the client's life and a timeline of mood and events come before the "
        "formulation."
    ),
    3: gettext_noop("The client agrees the formulation before the working sessions begin."),
    4: gettext_noop(
        "By the end of the first phase (for maintenance IPT, before its first session) the "
        "agreement records how many sessions, how often, and the focus."
    ),
    5: gettext_noop("One primary problem area, and at most two focus areas."),
    6: gettext_noop(
        "Loneliness and isolation is chosen only with a written reason why no loss, "
        "disagreement or life change fits."
    ),
    7: gettext_noop("A disagreement chosen as the focus names the other person and its stage."),
    8: gettext_noop(
        "A change in the number of sessions is a new version of the agreement, with a reason "
        "and the client's consent."
    ),
    9: gettext_noop("The ending is raised a few sessions before the last one."),
    10: gettext_noop("A baseline depression score is taken at or before the first session."),
    11: gettext_noop(
        "Depression scores are taken regularly; the format sets the longest gap between them."
    ),
    12: gettext_noop(
        "Each working session opens with the mood and the events since last time, and links "
        "the two."
    ),
    13: gettext_noop(
        "The ending records the gains, the early warning signs, a plan for them and a final score."
    ),
    14: gettext_noop("Every course ends with a decided next step."),
    15: gettext_noop("For young people, a parent takes part at the start and at the end."),
    16: gettext_noop("Group courses: a pre-group session for each member, 6 to 10 members."),
    17: gettext_noop(
        "When the depression score has not clearly improved by mid-course, review the plan."
    ),
}


def rule_summary(rule: int | None) -> str:
    """The plain-words summary of a §9 rule ("" for an item without a rule)."""
    return RULE_SUMMARIES.get(rule, "") if rule is not None else ""


#: Items repeated once per session, and the one line that replaces two or more of them.
FOLDED_MESSAGES: dict[str, str] = {
    "mid.opening_review": gettext_noop(
        "%(count)s session notes have no opening review: sessions %(sessions)s."
    ),
    "session.unsigned": gettext_noop(
        "%(count)s session notes are not signed yet: sessions %(sessions)s."
    ),
    "phase.initial_max": gettext_noop(
        "Sessions %(sessions)s are in the first phase, but this format's first phase lasts at "
        "most %(max)s sessions."
    ),
    "phase.override_reason": gettext_noop(
        "Give a reason for changing the phase of sessions %(sessions)s."
    ),
}


def fold(items: Iterable[GuidanceItem]) -> tuple[GuidanceItem, ...]:
    """The same items with each repeated per-session item (same code and severity, one per
    session) folded into one line with a count and the sessions, at the place of the first."""
    items = tuple(items)
    groups: dict[tuple[str, Severity], list[GuidanceItem]] = {}
    for item in items:
        if item.code in FOLDED_MESSAGES and item.session is not None:
            groups.setdefault((item.code, item.severity), []).append(item)
    folded: list[GuidanceItem] = []
    for item in items:
        group = groups.get((item.code, item.severity), [])
        if len(group) < 2 or item not in group:
            folded.append(item)
        elif item is group[0]:
            sessions = ", ".join(str(i.session) for i in group)
            params = {**item.params_dict, "count": len(group), "sessions": sessions}
            params.pop("session", None)
            message = FOLDED_MESSAGES[item.code]
            folded.append(replace(item, message=message, params=tuple(sorted(params.items()))))
    return tuple(folded)


@dataclass(frozen=True)
class Worklist:
    """The course overview's one list (docs/ipt.md §3): what the guidance flags (folded),
    then the phase's checklist tasks that nothing flags, marked or not."""

    todo: tuple[GuidanceItem, ...]
    #: The phase's tasks that belong to every session, worked through in the session note.
    each_session: tuple[TaskSpec, ...]
    #: The phase's other tasks that nothing flags now, with the clinician's mark if any.
    settled: tuple[tuple[TaskSpec, MarkStatus | None], ...]


def worklist(state: CourseState, guidance: Guidance) -> Worklist:
    """Merge the guidance with the current phase's §3 checklist, each task listed once."""
    flagged = {item.code for item in guidance.items}
    marks = {m.code: m.status for m in state.marks if m.session is None}
    specs = phase_tasks(state.format, guidance.phase)
    return Worklist(
        todo=fold(guidance.items),
        each_session=tuple(s for s in specs if s.every_session),
        settled=tuple(
            (s, marks.get(s.code)) for s in specs if not s.every_session and s.code not in flagged
        ),
    )


#: What an acute course must have recorded before it is concluded (docs/ipt.md §3,
#: "Concluding a course"). The final measure is asked for but not required: a client may
#: decline the questionnaire, and rule 13 keeps saying so. Ending early needs only a reason.
CONCLUSION_REQUIRED: tuple[str, ...] = (
    "term.gains_reviewed",
    "term.warning_signs",
    "term.relapse_plan",
    "term.next_step",
)


def conclusion_missing(fmt: FormatCode, termination: Termination) -> tuple[str, ...]:
    """The required ending items (task codes) not yet recorded; none for maintenance IPT,
    which has no ending phase."""
    if not get_format(fmt).acute:
        return ()
    recorded = {
        "term.gains_reviewed": termination.gains_reviewed,
        "term.warning_signs": termination.warning_signs,
        "term.relapse_plan": termination.relapse_plan,
        "term.next_step": _next_step_decided(termination),
    }
    return tuple(code for code in CONCLUSION_REQUIRED if not recorded[code])


class NextAction(StrEnum):
    """The one action the course page offers first."""

    RECORD_SESSION = "record_session"
    RECORD_CONTRACT = "record_contract"  # maintenance IPT starts from its own contract
    WRITE_TODAYS_NOTE = "write_todays_note"
    RECORD_ENDING = "record_ending"
    CONCLUDE = "conclude"
    NONE = "none"  # a closed course, or one entered in error


@dataclass(frozen=True)
class Action:
    kind: NextAction
    session: int | None = None  # the session to record or write the note for


def next_action(state: CourseState, *, today: date, appointment_today: bool = False) -> Action:
    """The primary action for a course on ``today``: finish today's note (a draft dated
    today, or a booked appointment today with no session yet), the ending once the last
    contracted session is held (conclude once its required items are in), else record the
    next session. ``appointment_today`` comes from the caller (scheduling is not pure data)."""
    if state.status in _CLOSED or state.status is CourseStatus.ENTERED_IN_ERROR:
        return Action(NextAction.NONE)
    today_sessions = [s for s in state.sessions if s.on == today]
    draft = next((s for s in today_sessions if not s.signed), None)
    if draft is not None:
        return Action(NextAction.WRITE_TODAYS_NOTE, draft.number)
    if _Course(state, today).final_held:
        if conclusion_missing(state.format, state.termination):
            return Action(NextAction.RECORD_ENDING)
        return Action(NextAction.CONCLUDE)
    number = max(0, max((s.number for s in state.sessions), default=0)) + 1
    if appointment_today and not today_sessions:
        return Action(NextAction.WRITE_TODAYS_NOTE, number)
    if not get_format(state.format).acute and not state.contracts and not state.sessions:
        return Action(NextAction.RECORD_CONTRACT)
    return Action(NextAction.RECORD_SESSION, number)
