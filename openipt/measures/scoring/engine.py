"""The generic scoring engine: one function from a definition and answers to a result.

Rules (docs/measures.md §2):
- Only the server's definition gives weights; an answer is an option code.
- Critical items and notices are checked on every answered item, even when no total is valid.
- Missing items: ``none`` means any missing scored item gives no total; ``prorate`` allows up
  to ``max_missing`` missing items, replacing each by the mean of the answered ones.
- A prorated total is stored to one decimal (ROUND_HALF_UP); bands apply to the stored total
  rounded half-up to a whole number. Python's ``round()`` (half-to-even) is never used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from openipt.measures.scoring.definition import AnswerOption, InstrumentDefinition

VERSION = "1.0.0"

Total = int | Decimal
_ONE_DECIMAL = Decimal("0.1")


class AnswerError(ValueError):
    """The answers do not fit the definition (unknown item, unknown answer, bad entry)."""


@dataclass(frozen=True)
class ScoreResult:
    instrument: str
    version: str
    valid: bool
    total: Total | None
    band: str | None
    flags: tuple[str, ...]
    prorated: bool
    percent: Total | None = None
    notices: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    scoring_version: str = VERSION


def half_up(value: Total) -> int:
    """Round half away from zero for the non-negative totals we handle (2.5 -> 3)."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def answers_from_entries(
    definition: InstrumentDefinition, entries: Sequence[int | None]
) -> dict[str, str | None]:
    """Map typed numbers (one per scored item, in order; None = missing) to option codes."""
    items = definition.scored_items
    if len(entries) != len(items):
        raise AnswerError(
            f"{definition.code} needs {len(items)} answers, one per scored item; got {len(entries)}"
        )
    answers: dict[str, str | None] = {}
    for item, entry in zip(items, entries, strict=True):
        if entry is None:
            answers[item.link_id] = None
            continue
        option = item.option_for_entry(entry)
        if option is None:
            allowed = ", ".join(str(value) for value in item.entries)
            raise AnswerError(f"item {item.link_id}: {entry} is not one of {allowed}")
        answers[item.link_id] = option.code
    return answers


def _chosen(
    definition: InstrumentDefinition, answers: Mapping[str, str | None]
) -> dict[str, AnswerOption]:
    chosen: dict[str, AnswerOption] = {}
    for link_id, code in answers.items():
        item = definition.item(link_id)
        if item is None:
            raise AnswerError(f"{definition.code} has no item {link_id!r}")
        if code is None:
            continue
        option = item.option_for_code(code)
        if option is None:
            raise AnswerError(f"item {link_id}: {code!r} is not one of its answers")
        chosen[link_id] = option
    return chosen


def _flags(definition: InstrumentDefinition, weights: Mapping[str, int]) -> tuple[str, ...]:
    raised = [
        critical.flag
        for critical in definition.critical_items
        if critical.link_id in weights and weights[critical.link_id] >= critical.threshold
    ]
    return tuple(dict.fromkeys(raised))


def _total(definition: InstrumentDefinition, weights: Mapping[str, int]) -> Total | None:
    count = len(definition.scored_items)
    missing = count - len(weights)
    answered = sum(weights.values())
    if missing == 0:
        return answered
    if definition.missing_rule != "prorate" or missing > definition.max_missing:
        return None
    mean = Decimal(answered) / Decimal(len(weights))
    return (mean * count).quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)


def _band(definition: InstrumentDefinition, total: Total | None) -> str | None:
    if total is None:
        return None
    value = half_up(total)
    return next((band.code for band in definition.bands if band.contains(value)), None)


def score(definition: InstrumentDefinition, answers: Mapping[str, str | None]) -> ScoreResult:
    """Score one completed form. ``answers`` maps linkId to option code (None = missing).
    An answer to a question its ``enableWhen`` leaves out is not counted: the question was
    not asked (a scored one then counts as unanswered, under the missing-answer rule)."""
    chosen = _chosen(definition, definition.enabled_answers(answers))
    scored = definition.scored_items
    # The parser guarantees every answer of a scored item has a weight.
    weights = {
        item.link_id: chosen[item.link_id].weight or 0 for item in scored if item.link_id in chosen
    }
    option_flags = [option.flag for option in chosen.values() if option.flag]
    flags = tuple(dict.fromkeys((*_flags(definition, weights), *option_flags)))
    notices = tuple(
        rule.code
        for rule in definition.notices
        if any(weight <= rule.at_most for weight in weights.values())
    )
    total = _total(definition, weights)
    percent = None
    if total is not None and definition.percent_multiplier is not None:
        percent = total * definition.percent_multiplier
    return ScoreResult(
        instrument=definition.code,
        version=definition.version,
        valid=total is not None,
        total=total,
        band=_band(definition, total),
        flags=flags,
        prorated=total is not None and len(weights) < len(scored),
        percent=percent,
        notices=notices,
        missing=tuple(item.link_id for item in scored if item.link_id not in weights),
    )
