"""Change statistics over a course: pure functions, no Django (docs/measures.md §5 and §6).

Rules follow the instrument's direction: for WHO-5 improvement means a rise. "First" is the
first valid total of the course and "latest" the most recent; prorated totals are valid.
Thresholds are compared with totals rounded half-up to whole numbers, like the bands.
Jacobson-Truax needs sourced norms (SD, reliability, population means), so none ship here:
the caller passes them, and without them that part of the summary is empty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from openipt.measures.scoring.engine import half_up
from openipt.treatment.protocol import not_improving, review_session

VERSION = "1.0.0"
HEURISTIC_VERSION = "2.0.0"

Number = int | float | Decimal


@dataclass(frozen=True)
class ChangeRule:
    """The change thresholds of one instrument. ``case_at`` is the caseness cut-off (a case
    at or beyond it); ``remission_below`` the total under which a score is a remission."""

    code: str
    direction: str = "higher_worse"
    reliable_change: float | None = None
    case_at: int | None = None
    response_fraction: float | None = None
    remission_below: int | None = None
    source: str = ""


# NHS Talking Therapies thresholds (PHQ-9 6 points, caseness 10; GAD-7 4 points, caseness 8);
# PHQ-9 response >= 50 % and remission < 5 (NCQA/HEDIS); HAM-D-17 remission <= 7 and response
# >= 50 % (Frank 1991); WHO-5 10 percentage points = 2.5 raw points.
RULES: dict[str, ChangeRule] = {
    "PHQ-9": ChangeRule("PHQ-9", reliable_change=6, case_at=10, response_fraction=0.5,
                        remission_below=5, source="NHS Talking Therapies; NCQA/HEDIS"),
    "GAD-7": ChangeRule("GAD-7", reliable_change=4, case_at=8, source="NHS Talking Therapies"),
    "HAM-D-17": ChangeRule("HAM-D-17", response_fraction=0.5, remission_below=8,
                           source="Frank et al. 1991"),
    "WHO-5": ChangeRule("WHO-5", direction="higher_better", reliable_change=2.5,
                        source="WHO-5: 10 percentage points"),
}  # fmt: skip


def rule_for(code: str, direction: str = "higher_worse", *, same_as: str = "") -> ChangeRule:
    """The shipped rule for ``code``, or for ``same_as`` (the built-in a published copy such
    as a licensed translation counts as), or a rule with no thresholds (change only)."""
    return RULES.get(code) or RULES.get(same_as) or ChangeRule(code, direction=direction)


@dataclass(frozen=True)
class JacobsonTruax:
    """Sourced norms for one instrument. ``sd1``: pre-treatment SD; ``reliability``: r.
    The functional (0) and clinical (1) population means and SDs give cut-off c."""

    sd1: float
    reliability: float
    m0: float | None = None
    sd0: float | None = None
    m1: float | None = None


@dataclass(frozen=True)
class JTResult:
    rci: float
    threshold_points: int
    reliable: bool
    cutoff: float | None
    category: str  # recovered | improved | deteriorated | no_reliable_change


def s_diff(sd1: float, reliability: float) -> float:
    se = sd1 * math.sqrt(1 - reliability)
    return math.sqrt(2 * se**2)


def reliable_change_index(first: Number, last: Number, *, sd1: float, reliability: float) -> float:
    return (float(last) - float(first)) / s_diff(sd1, reliability)


def jt_threshold_points(sd1: float, reliability: float) -> int:
    """The smallest whole-point change that is reliable on an integer scale."""
    return math.ceil(1.96 * s_diff(sd1, reliability))


def jt_cutoff(norms: JacobsonTruax) -> float | None:
    if norms.m0 is None or norms.sd0 is None or norms.m1 is None:
        return None
    return (norms.sd0 * norms.m1 + norms.sd1 * norms.m0) / (norms.sd0 + norms.sd1)


def jacobson_truax(
    first: Number, last: Number, norms: JacobsonTruax, *, direction: str = "higher_worse"
) -> JTResult:
    rci = reliable_change_index(first, last, sd1=norms.sd1, reliability=norms.reliability)
    reliable = abs(rci) > 1.96
    better = rci < 0 if direction == "higher_worse" else rci > 0
    cutoff = jt_cutoff(norms)
    category = "no_reliable_change"
    if reliable and not better:
        category = "deteriorated"
    elif reliable:
        crossed = cutoff is not None and _functional_side(float(last), cutoff, direction)
        category = "recovered" if crossed else "improved"
    return JTResult(
        rci=rci,
        threshold_points=jt_threshold_points(norms.sd1, norms.reliability),
        reliable=reliable,
        cutoff=cutoff,
        category=category,
    )


def _functional_side(value: float, cutoff: float, direction: str) -> bool:
    """Is ``value`` on the healthy side of cut-off c?"""
    return value < cutoff if direction == "higher_worse" else value > cutoff


@dataclass(frozen=True)
class ChangeSummary:
    instrument: str
    count: int
    baseline: Decimal | None
    latest: Decimal | None
    change: Decimal | None
    improvement: Decimal | None  # change in the direction of getting better
    reliable_improvement: bool | None
    reliable_deterioration: bool | None
    case_at_start: bool | None
    recovered: bool | None
    reliable_recovery: bool | None
    response: bool | None
    remission: bool | None
    jacobson_truax: JTResult | None = None
    version: str = VERSION


def _dec(value: Number) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def is_case(rule: ChangeRule, value: Decimal) -> bool | None:
    if rule.case_at is None:
        return None
    rounded = half_up(value)
    return rounded >= rule.case_at if rule.direction == "higher_worse" else rounded <= rule.case_at


def _reliable(rule: ChangeRule, improvement: Decimal) -> tuple[bool | None, bool | None]:
    if rule.reliable_change is None:
        return None, None
    threshold = Decimal(str(rule.reliable_change))
    return improvement >= threshold, -improvement >= threshold


def _response(rule: ChangeRule, baseline: Decimal, improvement: Decimal) -> bool | None:
    if rule.response_fraction is None or baseline == 0:
        return None
    return improvement >= baseline * Decimal(str(rule.response_fraction))


def summarise(
    rule: ChangeRule, totals: Sequence[Number], *, norms: JacobsonTruax | None = None
) -> ChangeSummary:
    """Baseline, latest and change of one instrument's valid totals, oldest first. Every
    judgement compares the totals rounded half-up, as bands and caseness do, so a prorated
    12.86 counts as 13 here too; baseline, latest and change are those whole numbers."""
    values = [Decimal(half_up(_dec(t))) for t in totals]
    if len(values) < 2:
        only = values[0] if values else None
        case = is_case(rule, only) if only is not None else None
        return ChangeSummary(rule.code, len(values), only, only, None, None,
                             None, None, case, None, None, None, None)  # fmt: skip
    first, last = values[0], values[-1]
    change = last - first
    improvement = -change if rule.direction == "higher_worse" else change
    improved, deteriorated = _reliable(rule, improvement)
    case = is_case(rule, first)
    recovered = None if case is None else bool(case and not is_case(rule, last))
    both = recovered is not None and improved is not None
    remission = None if rule.remission_below is None else half_up(last) < rule.remission_below
    jt = jacobson_truax(first, last, norms, direction=rule.direction) if norms else None
    return ChangeSummary(
        instrument=rule.code,
        count=len(values),
        baseline=first,
        latest=last,
        change=change,
        improvement=improvement,
        reliable_improvement=improved,
        reliable_deterioration=deteriorated,
        case_at_start=case,
        recovered=recovered,
        reliable_recovery=bool(recovered and improved) if both else None,
        response=_response(rule, first, improvement),
        remission=remission,
        jacobson_truax=jt,
    )


@dataclass(frozen=True)
class TalkingTherapiesOutcome:
    """NHS Talking Therapies paired outcome over PHQ-9 and GAD-7 (docs/measures.md §5)."""

    eligible: bool
    case: bool = False
    reliable_improvement: bool = False
    reliable_deterioration: bool = False
    recovery: bool = False
    reliable_recovery: bool = False


def talking_therapies(phq9: ChangeSummary, gad7: ChangeSummary) -> TalkingTherapiesOutcome:
    """Needs paired first and last scores on both; the "no reliable deterioration on the
    other measure" clauses follow docs/measures.md (marked there as still to verify)."""
    if phq9.count < 2 or gad7.count < 2:
        return TalkingTherapiesOutcome(eligible=False)
    improved = (phq9.reliable_improvement or gad7.reliable_improvement) and not (
        phq9.reliable_deterioration or gad7.reliable_deterioration
    )
    worse = (phq9.reliable_deterioration or gad7.reliable_deterioration) and not (
        phq9.reliable_improvement or gad7.reliable_improvement
    )
    case = bool(phq9.case_at_start or gad7.case_at_start)
    recovery = case and not (
        is_case(RULES["PHQ-9"], _dec(phq9.latest or 0))
        or is_case(RULES["GAD-7"], _dec(gad7.latest or 0))
    )
    return TalkingTherapiesOutcome(
        eligible=True,
        case=case,
        reliable_improvement=bool(improved),
        reliable_deterioration=bool(worse),
        recovery=recovery,
        reliable_recovery=recovery and bool(improved),
    )


@dataclass(frozen=True)
class OffTrack:
    flagged: bool
    rules: tuple[str, ...]  # "R1" reliable deterioration, "R2" not improving by mid-course
    review_session: int
    version: str = HEURISTIC_VERSION


def off_track(
    rule: ChangeRule,
    totals: Sequence[Number],
    *,
    sessions_held: int,
    planned_sessions: int,
) -> OffTrack:
    """The "not on track" signal — a prompt for review, not a validated prediction
    (docs/measures.md §6). R1: the latest total is a reliable deterioration from the first.
    R2: the protocol's own "not improving" rule (``protocol.not_improving``, docs/ipt.md §9
    rule 17) on this instrument — the same review session and the same threshold as the
    course guidance, so the badge and the guidance never disagree. R2 applies to measures
    where a higher total means more symptoms."""
    summary = summarise(rule, totals)
    raised: list[str] = []
    if summary.reliable_deterioration:
        raised.append("R1")
    if (
        rule.direction == "higher_worse"
        and summary.baseline is not None
        and summary.latest is not None
        and summary.count >= 2
        and not_improving(
            summary.baseline,
            summary.latest,
            sessions_held=sessions_held,
            planned_sessions=planned_sessions,
        )
    ):
        raised.append("R2")
    return OffTrack(bool(raised), tuple(raised), review_session(planned_sessions))
