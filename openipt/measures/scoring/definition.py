"""The parsed, immutable form of an instrument: what the scoring engine needs, nothing more."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

DIRECTIONS = ("higher_worse", "higher_better")
MISSING_RULES = ("none", "prorate")


@dataclass(frozen=True)
class AnswerOption:
    """One answer. ``weight`` is what it scores; ``entry`` is the number typed to choose it."""

    code: str
    display: str
    weight: int | None
    entry: int | None
    system: str = ""
    flag: str = ""


@dataclass(frozen=True)
class Condition:
    """One FHIR ``enableWhen`` test on another item's answer. ``answer`` is the answer code
    (or the value's text: ``true``, ``3``) compared with ``=``/``!=``, or, for ``exists``,
    ``true``/``false``. Numeric comparisons (``>``, ``<``, ...) compare the values as numbers."""

    question: str
    operator: str
    answer: str

    def holds(self, answers: Mapping[str, str | None]) -> bool:
        given = answers.get(self.question)
        if self.operator == "exists":
            return (given is not None) == (self.answer == "true")
        if given is None:
            return False
        if self.operator == "=":
            return given == self.answer
        if self.operator == "!=":
            return given != self.answer
        try:
            left, right = float(given), float(self.answer)
        except ValueError:
            return False
        return {
            ">": left > right,
            "<": left < right,
            ">=": left >= right,
            "<=": left <= right,
        }.get(self.operator, False)


@dataclass(frozen=True)
class Item:
    """One question. ``preamble`` holds the owner's display text printed just before it
    (a section stem between questions); ``notes`` the display text printed with it (FHIR
    display items nested in the question, such as HAM-D-17's item 16 B anchors)."""

    link_id: str
    text: str
    options: tuple[AnswerOption, ...]
    scored: bool = True
    reverse_keyed: bool = False
    code: str = ""
    preamble: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # FHIR ``enableWhen``: the question is asked only when these hold (``enable_behavior``
    # ``all`` or ``any``); an item without conditions is always asked.
    enable_when: tuple[Condition, ...] = ()
    enable_behavior: str = "all"

    def enabled(self, answers: Mapping[str, str | None]) -> bool:
        """Whether the question is asked, given the answers so far (linkId -> answer code)."""
        if not self.enable_when:
            return True
        held = [condition.holds(answers) for condition in self.enable_when]
        return any(held) if self.enable_behavior == "any" else all(held)

    def option_for_code(self, code: str) -> AnswerOption | None:
        return next((option for option in self.options if option.code == code), None)

    def option_for_entry(self, entry: int) -> AnswerOption | None:
        return next((option for option in self.options if option.entry == entry), None)

    @property
    def entries(self) -> tuple[int, ...]:
        return tuple(option.entry for option in self.options if option.entry is not None)

    @property
    def min_weight(self) -> int:
        return min(option.weight for option in self.options if option.weight is not None)

    @property
    def max_weight(self) -> int:
        return max(option.weight for option in self.options if option.weight is not None)


@dataclass(frozen=True)
class Band:
    min: int
    max: int
    code: str
    label: str

    def contains(self, value: int) -> bool:
        return self.min <= value <= self.max


@dataclass(frozen=True)
class CriticalItem:
    """Raise ``flag`` when the item's scored value is at least ``threshold``."""

    link_id: str
    threshold: int
    flag: str


@dataclass(frozen=True)
class NoticeRule:
    """Add ``code`` (not a risk flag) when any answered scored item is at most ``at_most``."""

    code: str
    at_most: int


@dataclass(frozen=True)
class InstrumentDefinition:
    code: str
    url: str
    version: str
    title: str
    items: tuple[Item, ...]
    range_min: int
    range_max: int
    direction: str
    bands: tuple[Band, ...]
    critical_items: tuple[CriticalItem, ...] = ()
    missing_rule: str = "none"
    max_missing: int = 0
    percent_multiplier: int | None = None
    notices: tuple[NoticeRule, ...] = ()
    panel_code: str = ""
    total_code: str = ""
    copyright: str = ""
    citation: str = ""
    band_convention: str = ""
    # Shown as the owner publishes the form (docs/measures.md §1): the display items before
    # the first question (instructions and time frame), any after the last one, and who
    # fills it in (SDC ``performerType``: FHIR resource types such as Patient, Practitioner).
    instructions: tuple[str, ...] = ()
    closing: tuple[str, ...] = ()
    performer_types: tuple[str, ...] = ()
    # A published instrument recognised by its LOINC panel code: ``same_as`` is the built-in
    # instrument whose rules score it (its range, bands, critical items, change rules) and
    # ``rules_version`` that built-in's version; the items' wording and language stay the
    # publisher's. Both are empty for the built-ins and for instruments with their own rules.
    same_as: str = ""
    rules_version: str = ""
    # The language of the wording (the file's ``language``, as a base code: ``es``).
    language: str = "en"
    # Items kept from the file but never asked or scored: read-only and calculated ones
    # (a published total-score item with its ``calculatedExpression``).
    calculated: tuple[Item, ...] = ()

    @property
    def identity(self) -> str:
        """The instrument this definition counts as (PHQ-9 for a licensed translation)."""
        return self.same_as or self.code

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.scored)

    @property
    def clinician_rated(self) -> bool:
        """Filled in by a clinician, never by the client alone: the instrument names its
        performers and the patient is not one of them (HAM-D-17)."""
        return bool(self.performer_types) and "Patient" not in self.performer_types

    @property
    def notice(self) -> str:
        """The copyright or source notice to print wherever the items appear."""
        return self.copyright or self.citation

    def item(self, link_id: str) -> Item | None:
        return next((item for item in self.items if item.link_id == link_id), None)

    def enabled_answers(self, answers: Mapping[str, str | None]) -> dict[str, str | None]:
        """The answers with those to questions not asked (``enableWhen`` false) left out."""
        found = {item.link_id: item for item in self.items}
        return {
            link_id: code
            for link_id, code in answers.items()
            if link_id not in found or found[link_id].enabled(answers)
        }


def with_cutoff(definition: InstrumentDefinition, cutoff: int) -> InstrumentDefinition:
    """A screening instrument (two bands) re-split at ``cutoff``: positive when total >= cutoff.

    PHQ-2 and GAD-2 declare a default cut-off of 3; a practice may choose another.
    """
    if len(definition.bands) != 2:
        raise ValueError(f"{definition.code} is not a two-band screening instrument")
    if not definition.range_min < cutoff <= definition.range_max:
        raise ValueError(
            f"cut-off {cutoff} must be above {definition.range_min} "
            f"and at most {definition.range_max}"
        )
    low, high = definition.bands
    bands = (replace(low, max=cutoff - 1), replace(high, min=cutoff))
    return replace(definition, bands=bands)


def with_critical_threshold(
    definition: InstrumentDefinition, link_id: str, threshold: int
) -> InstrumentDefinition:
    """The same definition with one critical item's threshold changed (a practice setting)."""
    item = definition.item(link_id)
    is_critical = any(critical.link_id == link_id for critical in definition.critical_items)
    if item is None or not is_critical:
        raise ValueError(f"{link_id!r} is not a critical item of {definition.code}")
    if not item.min_weight < threshold <= item.max_weight:
        raise ValueError(
            f"threshold {threshold} must be above {item.min_weight} and at most {item.max_weight}"
        )
    critical_items = tuple(
        replace(critical, threshold=threshold) if critical.link_id == link_id else critical
        for critical in definition.critical_items
    )
    return replace(definition, critical_items=critical_items)
