"""Reading FHIR R4 Questionnaires (built-in or practice-supplied) into instrument definitions.

The parser never stops at the first problem: it returns every problem it finds, so a
practice can fix a file in one go. A file with any problem gives no definition at all.

Scoring rules that FHIR core cannot express live in one OpenIPT extension on the
Questionnaire (``SCORING_URL``) with these parts (all ``valueX`` unless noted):

- ``rangeMin`` / ``rangeMax`` (integer): the total's range; must match the answer weights.
- ``direction`` (code): ``higher_worse`` or ``higher_better``.
- ``band`` (complex: ``min``, ``max``, ``code``, ``label``), repeated: contiguous, no overlap,
  covering the range exactly.
- ``critical`` (complex: ``linkId``, ``threshold``, ``flag``), repeated: raise ``flag`` when
  the item's scored value is at least ``threshold``, whatever the total.
- ``missingRule`` (code): ``none`` (any missing item: no total) or ``prorate`` with
  ``maxMissing`` (integer).
- ``unscoredItem`` / ``reverseKeyedItem`` (string linkId), repeated.
- ``percentMultiplier`` (integer), ``notice`` (complex: ``code``, ``atMost``),
  ``totalCode`` (Coding), ``citation`` and ``bandConvention`` (string).

Display items are kept, not scored: those before the first question are the
instructions, one nested in a question is that question's note, one between questions
is printed before the next, and any after the last are the closing text. The SDC
``performerType`` extension names who fills the form in (``PERFORMER_TYPE_URL``).

Answer weights come from ``itemWeight`` (SDC 4) or the older ``ordinalValue``, on the
answerOption or its valueCoding. An answer may carry ``ENTRY_VALUE_URL`` (the number typed to
choose it, when that differs from its weight) and ``ANSWER_FLAG_URL`` (a flag it raises).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace
from typing import Any

from openipt.measures.scoring.definition import (
    DIRECTIONS,
    MISSING_RULES,
    AnswerOption,
    Band,
    CriticalItem,
    InstrumentDefinition,
    Item,
    NoticeRule,
)

VERSION = "1.1.0"  # 1.1.0: display items and performerType are kept (no scoring change)

ITEM_WEIGHT_URL = "http://hl7.org/fhir/StructureDefinition/itemWeight"
ORDINAL_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
SCORING_URL = "https://openipt.org/fhir/StructureDefinition/scoring"
ENTRY_VALUE_URL = "https://openipt.org/fhir/StructureDefinition/entry-value"
ANSWER_FLAG_URL = "https://openipt.org/fhir/StructureDefinition/answer-flag"
PERFORMER_TYPE_URL = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-performerType"
)
PERFORMER_TYPES = ("Patient", "Practitioner", "PractitionerRole", "RelatedPerson")
INSTRUMENT_CODE_SYSTEM = "https://openipt.org/fhir/NamingSystem/instrument-code"
STATUSES = ("draft", "active", "retired", "unknown")
QUESTION_TYPES = ("choice", "coding")
_WEIGHT_URLS = (ITEM_WEIGHT_URL, ORDINAL_VALUE_URL)


@dataclass(frozen=True)
class ParseOutcome:
    """Either a definition (no errors) or every problem found (no definition)."""

    definition: InstrumentDefinition | None
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.definition is not None


def parse_questionnaire_json(content: str | bytes) -> ParseOutcome:
    try:
        resource = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        return ParseOutcome(None, (f"the file is not valid JSON ({exc})",))
    except RecursionError:  # "[[[[..." thousands deep: no questionnaire is shaped like that
        return ParseOutcome(None, ("the file is nested too deeply to be a questionnaire",))
    return parse_questionnaire(resource)


def parse_questionnaire(resource: object) -> ParseOutcome:
    if not isinstance(resource, dict) or resource.get("resourceType") != "Questionnaire":
        return ParseOutcome(None, ("the file is not a FHIR Questionnaire resource",))
    reader = _Reader(resource)
    definition = reader.read()
    if reader.errors:
        return ParseOutcome(None, tuple(reader.errors))
    return ParseOutcome(definition, ())


def _is_whole(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _extensions(element: Any, url: str) -> list[dict[str, Any]]:
    if not isinstance(element, dict) or not isinstance(element.get("extension"), list):
        return []
    return [ext for ext in element["extension"] if isinstance(ext, dict) and ext.get("url") == url]


def _value(ext: dict[str, Any]) -> Any:
    return next((v for k, v in ext.items() if k.startswith("value")), None)


def _part(ext: dict[str, Any], name: str) -> Any:
    found = _extensions(ext, name)
    return _value(found[0]) if found else None


class _Reader:
    def __init__(self, resource: dict[str, Any]) -> None:
        self.resource = resource
        self.errors: list[str] = []
        scoring = _extensions(resource, SCORING_URL)
        self.scoring: dict[str, Any] = scoring[0] if scoring else {}
        self.pending: list[str] = []  # display text waiting for the next question
        self.instructions: tuple[str, ...] = ()
        if not scoring:
            self.errors.append(f"the scoring extension ({SCORING_URL}) is missing")

    def parts(self, name: str) -> list[dict[str, Any]]:
        return _extensions(self.scoring, name)

    def whole(self, value: Any, where: str) -> int:
        if not _is_whole(value):
            self.errors.append(f"{where} must be a whole number")
            return 0
        return int(value)

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.errors.append(f"{where} is missing")
            return ""
        return value

    def read(self) -> InstrumentDefinition:
        header = self.read_header()
        items = self.read_items()
        scored = [item for item in items if item.scored]
        if not scored:
            self.errors.append("the questionnaire has no scored items")
        range_min = self.whole(_value((self.parts("rangeMin") or [{}])[0]), "rangeMin")
        range_max = self.whole(_value((self.parts("rangeMax") or [{}])[0]), "rangeMax")
        self.check_range(scored, range_min, range_max)
        missing_rule, max_missing = self.read_missing_rule(len(scored))
        multiplier = _part(self.scoring, "percentMultiplier")
        total_code = _part(self.scoring, "totalCode")
        return InstrumentDefinition(
            items=tuple(items),
            range_min=range_min,
            range_max=range_max,
            direction=self.read_direction(),
            bands=self.read_bands(range_min, range_max),
            critical_items=self.read_critical(items),
            missing_rule=missing_rule,
            max_missing=max_missing,
            percent_multiplier=None if multiplier is None else self.whole(multiplier, "percent"),
            notices=self.read_notices(),
            total_code=str(total_code.get("code", "")) if isinstance(total_code, dict) else "",
            citation=str(_part(self.scoring, "citation") or ""),
            band_convention=str(_part(self.scoring, "bandConvention") or ""),
            instructions=self.instructions,
            closing=tuple(self.pending),
            performer_types=self.read_performer_types(),
            **header,
        )

    def read_performer_types(self) -> tuple[str, ...]:
        """Who may fill the form in (SDC ``performerType``, a FHIR resource type each)."""
        found = [_value(ext) for ext in _extensions(self.resource, PERFORMER_TYPE_URL)]
        for value in found:
            if value not in PERFORMER_TYPES:
                self.errors.append(f"performerType must be one of {', '.join(PERFORMER_TYPES)}")
        return tuple(str(value) for value in found if value in PERFORMER_TYPES)

    def read_header(self) -> dict[str, str]:
        res = self.resource
        identifiers = [i for i in res.get("identifier") or [] if isinstance(i, dict)]
        ours = [i for i in identifiers if i.get("system") == INSTRUMENT_CODE_SYSTEM]
        code = (ours or identifiers or [{}])[0].get("value") or res.get("name")
        if res.get("status") not in STATUSES:
            self.errors.append(f"status must be one of {', '.join(STATUSES)}")
        codes = [c for c in res.get("code") or [] if isinstance(c, dict)]
        return {
            "code": self.text(code, "the instrument code (identifier or name)"),
            "url": self.text(res.get("url"), "the canonical url"),
            "version": self.text(res.get("version"), "the version"),
            "title": str(res.get("title") or code or ""),
            "panel_code": str(codes[0].get("code", "")) if codes else "",
            "copyright": str(res.get("copyright") or ""),
        }

    def read_items(self) -> list[Item]:
        unscored = {_value(ext) for ext in self.parts("unscoredItem")}
        reverse = {_value(ext) for ext in self.parts("reverseKeyedItem")}
        raw = list(self.walk(self.resource.get("item"), "item", in_question=False))
        seen: set[str] = set()
        items: list[Item] = []
        for where, element, in_question in raw:
            link_id = element.get("linkId")
            if not isinstance(link_id, str) or not link_id:
                self.errors.append(f"{where} has no linkId")
                continue
            if link_id in seen:
                self.errors.append(f"linkId {link_id!r} is used more than once")
                continue
            seen.add(link_id)
            if element.get("type") == "display":
                self.place_display(items, str(element.get("text") or ""), in_question)
            elif element.get("type") != "group":
                item = self.read_item(element, link_id, link_id not in unscored)
                if items:
                    item = replace(item, preamble=tuple(self.pending))
                else:
                    self.instructions = tuple(self.pending)
                self.pending = []
                items.append(item)
        for name, ids in (("unscoredItem", unscored), ("reverseKeyedItem", reverse)):
            for link_id in sorted(map(str, ids - seen)):
                self.errors.append(f"{name} refers to an unknown linkId {link_id!r}")
        return [_reverse(item) if item.link_id in reverse else item for item in items]

    def place_display(self, items: list[Item], text: str, in_question: bool) -> None:
        """Display items are kept where the owner printed them (docs/measures.md §1):
        nested in a question, as that question's notes; otherwise before the next question
        (those before the first question are the instructions; after the last, closing)."""
        if not text.strip():
            return
        if in_question and items:
            items[-1] = replace(items[-1], notes=(*items[-1].notes, text))
        else:
            self.pending.append(text)

    def walk(
        self, elements: Any, where: str, *, in_question: bool
    ) -> list[tuple[str, dict[str, Any], bool]]:
        """Every element, depth first, with whether it sits inside a question (not a group)."""
        found: list[tuple[str, dict[str, Any], bool]] = []
        for index, element in enumerate(elements if isinstance(elements, list) else []):
            here = f"{where}[{index}]"
            if not isinstance(element, dict):
                self.errors.append(f"{here} is not an object")
                continue
            found.append((here, element, in_question))
            nested = element.get("type") not in ("group", "display")
            found.extend(self.walk(element.get("item"), f"{here}.item", in_question=nested))
        return found

    def read_item(self, element: dict[str, Any], link_id: str, scored: bool) -> Item:
        where = f"item {link_id!r}"
        if scored and element.get("type") not in QUESTION_TYPES:
            self.errors.append(f"{where} is scored but is not a choice question")
        raw_options = element.get("answerOption")
        raw_options = raw_options if isinstance(raw_options, list) else []
        if scored and not raw_options:
            self.errors.append(f"{where} has no answer options")
        options = [self.read_option(o, where, scored) for o in raw_options]
        for label, values in (
            ("answer code", [o.code for o in options]),
            ("entry value", [o.entry for o in options if o.entry is not None]),
        ):
            if len(values) != len(set(values)):
                self.errors.append(f"{where} has two answers with the same {label}")
        codes = [c for c in element.get("code") or [] if isinstance(c, dict)]
        return Item(
            link_id=link_id,
            text=str(element.get("text") or ""),
            options=tuple(options),
            scored=scored,
            code=str(codes[0].get("code", "")) if codes else "",
        )

    def read_option(self, option: Any, where: str, scored: bool) -> AnswerOption:
        coding = option.get("valueCoding") if isinstance(option, dict) else None
        if not isinstance(coding, dict) or not coding.get("code"):
            self.errors.append(f"{where} has an answer without a valueCoding code")
            return AnswerOption(code="", display="", weight=None, entry=None)
        code = str(coding["code"])
        weights = [
            _value(ext)
            for url in _WEIGHT_URLS
            for element in (option, coding)
            for ext in _extensions(element, url)
        ]
        weight = None
        if weights and _is_whole(weights[0]) and weights[0] >= 0:
            weight = int(weights[0])
        elif weights or scored:
            self.errors.append(
                f"{where}, answer {code!r} has no weight (itemWeight or ordinalValue, "
                "a whole number of 0 or more)"
            )
        entries = _extensions(option, ENTRY_VALUE_URL)
        entry = weight
        if entries:
            entry = self.whole(_value(entries[0]), f"{where}, answer {code!r} entry value")
        flags = _extensions(option, ANSWER_FLAG_URL)
        return AnswerOption(
            code=code,
            display=str(coding.get("display") or ""),
            weight=weight,
            entry=entry,
            system=str(coding.get("system") or ""),
            flag=str(_value(flags[0]) or "") if flags else "",
        )

    def check_range(self, scored: list[Item], range_min: int, range_max: int) -> None:
        weighted = [i for i in scored if any(o.weight is not None for o in i.options)]
        if len(weighted) != len(scored) or not scored:
            return
        low = sum(item.min_weight for item in scored)
        high = sum(item.max_weight for item in scored)
        if (low, high) != (range_min, range_max):
            self.errors.append(
                f"the range {range_min} to {range_max} does not match the answer weights "
                f"({low} to {high})"
            )
        for item in scored:
            if item.reverse_keyed and not _falls(item):
                self.errors.append(
                    f"item {item.link_id!r} is reverse-keyed but its answer weights do not "
                    "fall from the first answer to the last"
                )

    def read_direction(self) -> str:
        direction = _part(self.scoring, "direction")
        if direction not in DIRECTIONS:
            self.errors.append(f"direction must be one of {', '.join(DIRECTIONS)}")
            return DIRECTIONS[0]
        return str(direction)

    def read_missing_rule(self, scored_count: int) -> tuple[str, int]:
        rule = _part(self.scoring, "missingRule") or "none"
        if rule not in MISSING_RULES:
            self.errors.append(
                f"unknown missing-item rule {rule!r} (use one of {', '.join(MISSING_RULES)})"
            )
            return "none", 0
        if rule == "none":
            return "none", 0
        most = self.whole(_part(self.scoring, "maxMissing"), "maxMissing")
        if not 1 <= most < scored_count:
            self.errors.append(
                "maxMissing must be at least 1 and less than the number of scored items"
            )
        return "prorate", most

    def read_bands(self, range_min: int, range_max: int) -> tuple[Band, ...]:
        bands = []
        for index, ext in enumerate(self.parts("band")):
            where = f"band {index + 1}"
            low = self.whole(_part(ext, "min"), f"{where} min")
            high = self.whole(_part(ext, "max"), f"{where} max")
            code = self.text(_part(ext, "code"), f"{where} code")
            if low > high:
                self.errors.append(f"{where} ({code}) has min {low} above max {high}")
            if low < range_min or high > range_max:
                self.errors.append(
                    f"{where} ({code}) {low} to {high} lies outside the range "
                    f"{range_min} to {range_max}"
                )
            bands.append(Band(low, high, code, str(_part(ext, "label") or code)))
        bands.sort(key=lambda band: (band.min, band.max))
        self.check_band_cover(bands, range_min, range_max)
        return tuple(bands)

    def check_band_cover(self, bands: list[Band], range_min: int, range_max: int) -> None:
        if not bands:
            return
        if len({band.code for band in bands}) != len(bands):
            self.errors.append("two bands have the same code")
        if bands[0].min > range_min or bands[-1].max < range_max:
            self.errors.append(f"the bands do not cover the whole range {range_min} to {range_max}")
        for before, after in itertools.pairwise(bands):
            if after.min <= before.max:
                self.errors.append(f"bands {before.code!r} and {after.code!r} overlap")
            elif after.min > before.max + 1:
                self.errors.append(
                    f"there is a gap between bands {before.code!r} and {after.code!r} "
                    f"({before.max + 1} to {after.min - 1})"
                )

    def read_critical(self, items: list[Item]) -> tuple[CriticalItem, ...]:
        scored = {item.link_id for item in items if item.scored}
        found = []
        for index, ext in enumerate(self.parts("critical")):
            where = f"critical item {index + 1}"
            link_id = self.text(_part(ext, "linkId"), f"{where} linkId")
            if link_id and link_id not in scored:
                self.errors.append(f"{where} refers to an unknown scored item {link_id!r}")
            threshold = self.whole(_part(ext, "threshold"), f"{where} threshold")
            flag = self.text(_part(ext, "flag"), f"{where} flag")
            found.append(CriticalItem(link_id, threshold, flag))
        return tuple(found)

    def read_notices(self) -> tuple[NoticeRule, ...]:
        return tuple(
            NoticeRule(
                code=self.text(_part(ext, "code"), "notice code"),
                at_most=self.whole(_part(ext, "atMost"), "notice atMost"),
            )
            for ext in self.parts("notice")
        )


def _reverse(item: Item) -> Item:
    return replace(item, reverse_keyed=True)


def _falls(item: Item) -> bool:
    weights = [option.weight for option in item.options if option.weight is not None]
    return all(a > b for a, b in itertools.pairwise(weights))
