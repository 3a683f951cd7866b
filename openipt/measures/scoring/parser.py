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

Answer weights come from ``itemWeight`` (SDC 4), the older ``ordinalValue`` or the still
older ``iso21090-CO-value``, on the answerOption or its valueCoding (or on the concept of a
contained ValueSet). An answer may carry ``ENTRY_VALUE_URL`` (the number typed to
choose it, when that differs from its weight) and ``ANSWER_FLAG_URL`` (a flag it raises).

Published files (docs/fhir-import.md). Answers may come from ``answerOption`` or from
``answerValueSet``: a contained ValueSet (``#id``) or a LOINC answer list OpenIPT knows
(``ANSWER_LISTS``). Read-only and calculated items (a publisher's total-score item) are kept
in ``definition.calculated`` and never asked or scored; ``enableWhen`` is kept on the item.
A file whose LOINC panel code is a built-in's (``code``, e.g. 44249-1 for the PHQ-9) is
*recognised*: its own items, wording and language are kept, and the built-in's rules score it
(range, bands, critical items, missing-item rule; ``definition.same_as`` names the built-in).
A file may instead name the built-in it translates in ``derivedFrom`` (its canonical URL):
the built-in Spanish files do so, as the GAD-2 and WHO-5 have no LOINC panel. Only the
English files with their own scoring extension are rule sources (``is_rule_source``).
A file for any other instrument must carry the scoring extension. ``url`` and ``version`` are
optional: a missing url is derived from the code and a missing version from the content.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from openipt.measures.scoring.definition import (
    DIRECTIONS,
    MISSING_RULES,
    AnswerOption,
    Band,
    Condition,
    CriticalItem,
    InstrumentDefinition,
    Item,
    NoticeRule,
)

# 1.1.0: display items and performerType are kept (no scoring change).
# 1.2.0: published shapes (answer value sets, calculated items, enableWhen, known LOINC panels).
VERSION = "1.2.0"

ITEM_WEIGHT_URL = "http://hl7.org/fhir/StructureDefinition/itemWeight"
ORDINAL_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
CO_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value"
CALCULATED_URL = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
)
LOINC = "http://loinc.org"
SCORING_URL = "https://openipt.org/fhir/StructureDefinition/scoring"
ENTRY_VALUE_URL = "https://openipt.org/fhir/StructureDefinition/entry-value"
ANSWER_FLAG_URL = "https://openipt.org/fhir/StructureDefinition/answer-flag"
PERFORMER_TYPE_URL = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-performerType"
)
PERFORMER_TYPES = ("Patient", "Practitioner", "PractitionerRole", "RelatedPerson")
INSTRUMENT_CODE_SYSTEM = "https://openipt.org/fhir/NamingSystem/instrument-code"
STATUSES = ("draft", "active", "retired", "unknown")
QUESTION_TYPES = ("choice", "coding", "open-choice")
ENABLE_OPERATORS = ("exists", "=", "!=", ">", "<", ">=", "<=")
_WEIGHT_URLS = (ITEM_WEIGHT_URL, ORDINAL_VALUE_URL, CO_VALUE_URL)
DERIVED_URL_BASE = "https://openipt.org/fhir/Questionnaire/local/"
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "instruments"
DEFAULT_LANGUAGE = "en"

# LOINC answer lists OpenIPT can expand when a file names one in ``answerValueSet``
# (``http://loinc.org/vs/LL358-3``): code, display, weight. LL358-3 is the PHQ-9 and GAD-7
# frequency scale (docs/measures.md §2).
ANSWER_LISTS: dict[str, tuple[tuple[str, str, int], ...]] = {
    "LL358-3": (
        ("LA6568-5", "Not at all", 0),
        ("LA6569-3", "Several days", 1),
        ("LA6570-1", "More than half the days", 2),
        ("LA6571-9", "Nearly every day", 3),
    ),
}


@dataclass(frozen=True)
class ParseOutcome:
    """Either a definition (no errors) or every problem found (no definition)."""

    definition: InstrumentDefinition | None
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.definition is not None


def parse_questionnaire_json(content: str | bytes) -> ParseOutcome:
    """Parse a file as uploaded: JSON, then FHIR structure (``structure``), then our rules.
    A file with structural problems gets only those, not the follow-on problems they cause."""
    try:
        resource = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        return ParseOutcome(None, (f"the file is not valid JSON ({exc})",))
    except RecursionError:  # "[[[[..." thousands deep: no questionnaire is shaped like that
        return ParseOutcome(None, ("the file is nested too deeply to be a questionnaire",))
    if not isinstance(resource, dict) or resource.get("resourceType") != "Questionnaire":
        return ParseOutcome(None, ("the file is not a FHIR Questionnaire resource",))
    # Imported here: loading the FHIR models takes a moment, and only uploads need them.
    from openipt.measures.scoring.structure import structure_problems

    problems = structure_problems(resource)
    if problems:
        return ParseOutcome(None, problems)
    return parse_questionnaire(resource)


def parse_questionnaire(resource: object) -> ParseOutcome:
    if not isinstance(resource, dict) or resource.get("resourceType") != "Questionnaire":
        return ParseOutcome(None, ("the file is not a FHIR Questionnaire resource",))
    reader = _Reader(resource, recognised_builtin(resource))
    definition = reader.read()
    if reader.errors or definition is None:
        return ParseOutcome(None, tuple(reader.errors))
    return ParseOutcome(definition, ())


@cache
def builtin_definitions() -> dict[str, InstrumentDefinition]:
    """The built-in definitions by LOINC panel code; the newest version of each panel.
    Only the rule sources count: the English files with their own scoring extension, never
    a translation (``phq-9-es.json`` is recognised *by* this table, it is not in it)."""
    return _rule_sources(BUILTIN_DIR)[0]


def builtin_by_url() -> dict[str, InstrumentDefinition]:
    """The same rule sources by canonical URL (every one, with or without a LOINC panel)."""
    return _rule_sources(BUILTIN_DIR)[1]


@cache
def _rule_sources(
    directory: Path,
) -> tuple[dict[str, InstrumentDefinition], dict[str, InstrumentDefinition]]:
    by_panel: dict[str, InstrumentDefinition] = {}
    by_url: dict[str, InstrumentDefinition] = {}
    for path in sorted(directory.glob("*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        if not is_rule_source(resource):
            continue
        reader = _Reader(resource, None)
        definition = reader.read()
        if reader.errors or definition is None:
            continue
        for table, key in ((by_panel, definition.panel_code), (by_url, definition.url)):
            current = table.get(key)
            if key and (
                current is None or _version_key(definition.version) > _version_key(current.version)
            ):
                table[key] = definition
    return by_panel, by_url


def is_rule_source(resource: dict[str, Any]) -> bool:
    """A file that carries its own scoring rules in the default language (English): one of
    the originals the translations and published copies are scored by."""
    return bool(_extensions(resource, SCORING_URL)) and language_of(resource) == DEFAULT_LANGUAGE


def language_of(resource: Any) -> str:
    """The file's language as its base code (``es`` for ``es-US``); English when absent."""
    language = resource.get("language") if isinstance(resource, dict) else None
    if not isinstance(language, str) or not language.strip():
        return DEFAULT_LANGUAGE
    return language.strip().lower().replace("_", "-").split("-")[0]


def recognised_builtin(resource: dict[str, Any]) -> InstrumentDefinition | None:
    """The built-in whose LOINC panel code this file carries (in ``code`` or a LOINC
    ``identifier``), else the built-in it names in ``derivedFrom`` (a translation of an
    instrument LOINC has no panel for, such as the WHO-5), unless the file is that
    built-in itself."""
    table = builtin_definitions()
    codes = [c.get("code") for c in _dicts(resource.get("code")) if c.get("system") == LOINC]
    codes += [i.get("value") for i in _dicts(resource.get("identifier")) if _is_loinc(i)]
    builtin = next((table[code] for code in codes if code in table), None)
    if builtin is None:
        urls = builtin_by_url()
        sources = resource.get("derivedFrom")
        derived = [str(u).split("|")[0] for u in sources] if isinstance(sources, list) else []
        builtin = next((urls[url] for url in derived if url in urls), None)
    if builtin is None or _own_code(resource) == builtin.code:
        return None
    return builtin


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _is_loinc(identifier: dict[str, Any]) -> bool:
    return str(identifier.get("system") or "").rstrip("/") == LOINC


def _own_code(resource: dict[str, Any]) -> str:
    identifiers = _dicts(resource.get("identifier"))
    ours = [i for i in identifiers if i.get("system") == INSTRUMENT_CODE_SYSTEM]
    return str(ours[0].get("value") or "") if ours else ""


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _fingerprint(resource: dict[str, Any]) -> str:
    """A version for a file that declares none: the same content always gives the same one."""
    text = json.dumps(resource, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "c-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


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


def _is_calculated(element: dict[str, Any]) -> bool:
    return element.get("readOnly") is True or bool(_extensions(element, CALCULATED_URL))


def _answer_text(condition: dict[str, Any]) -> str:
    """An ``enableWhen`` answer as the text it is compared with (a code for codings)."""
    for key, value in condition.items():
        if not key.startswith("answer"):
            continue
        if isinstance(value, dict):
            return str(value.get("code") or value.get("value") or value.get("reference") or "")
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    return ""


_UNKNOWN_INSTRUMENT = (
    "OpenIPT has no scoring rules for this questionnaire{panel}: add the OpenIPT scoring "
    f"extension ({SCORING_URL}) as the import guide describes"
)


class _Reader:
    def __init__(self, resource: dict[str, Any], builtin: InstrumentDefinition | None) -> None:
        self.resource = resource
        self.builtin = builtin
        self.errors: list[str] = []
        scoring = _extensions(resource, SCORING_URL)
        self.scoring: dict[str, Any] = scoring[0] if scoring and builtin is None else {}
        self.pending: list[str] = []  # display text waiting for the next question
        self.instructions: tuple[str, ...] = ()
        self.calculated: list[Item] = []

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

    def read(self) -> InstrumentDefinition | None:
        if self.builtin is None and not self.scoring:
            panels = [c.get("code") for c in _dicts(self.resource.get("code")) if c.get("code")]
            panel = f" (LOINC panel {panels[0]})" if panels else ""
            self.errors.append(_UNKNOWN_INSTRUMENT.format(panel=panel))
            return None
        header = self.read_header()
        items = self.read_items()
        if self.builtin is not None:
            return self.read_recognised(header, items, self.builtin)
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
            calculated=tuple(self.calculated),
            **header,
        )

    def read_recognised(
        self, header: dict[str, str], items: list[Item], builtin: InstrumentDefinition
    ) -> InstrumentDefinition | None:
        """The file's own items scored by the built-in's rules. Its questions are matched to
        the built-in's scored items by LOINC item code, else in order (the questions with
        answer weights); every matched answer needs the built-in's weights."""
        pairs = self.match_builtin(items, builtin)
        if pairs is None:
            return None
        matched: dict[str, Item] = {}
        for target, item in pairs:
            matched[item.link_id] = self.weigh_like(item, target, builtin.code)
        items = [matched.get(item.link_id, replace(item, scored=False)) for item in items]
        link_of = {target.link_id: item.link_id for target, item in pairs}
        critical = tuple(replace(c, link_id=link_of[c.link_id]) for c in builtin.critical_items)
        performers = self.read_performer_types() or builtin.performer_types
        return replace(
            builtin,
            code=header["code"],
            url=header["url"],
            version=header["version"],
            title=header["title"] or builtin.title,
            panel_code=header["panel_code"],
            copyright=header["copyright"] or builtin.copyright,
            language=header["language"],
            items=tuple(items),
            critical_items=critical,
            instructions=self.instructions,
            closing=tuple(self.pending),
            performer_types=performers,
            calculated=tuple(self.calculated),
            same_as=builtin.code,
            rules_version=builtin.version,
        )

    def match_builtin(
        self, items: list[Item], builtin: InstrumentDefinition
    ) -> list[tuple[Item, Item]] | None:
        targets = builtin.scored_items
        by_code = {item.code: item for item in items if item.code}
        if all(target.code in by_code for target in targets):
            return [(target, by_code[target.code]) for target in targets]
        known = {option.code for target in targets for option in target.options}
        weighted = [
            item
            for item in items
            if item.options and all(o.weight is not None or o.code in known for o in item.options)
        ]
        if len(weighted) != len(targets):
            self.errors.append(
                f"this is the {builtin.code} (LOINC {builtin.panel_code}), which has "
                f"{len(targets)} scored questions, but the file has {len(weighted)} questions "
                "with answer weights and its item codes do not name them"
            )
            return None
        return list(zip(targets, weighted, strict=True))

    def weigh_like(self, item: Item, target: Item, code: str) -> Item:
        """``item`` scored: each answer's weight from the file, else from the built-in answer
        with the same code; the weights must be the built-in item's."""
        where = f"item {item.link_id!r}"
        options = []
        for option in item.options:
            weight = option.weight
            if weight is None:
                same = target.option_for_code(option.code)
                weight = same.weight if same is not None else None
            if weight is None:
                self.errors.append(
                    f"{where}, answer {option.code!r} has no weight (itemWeight, ordinalValue "
                    f"or iso21090-CO-value, or a LOINC answer code of the {code})"
                )
                continue
            entry = weight if option.entry == option.weight else option.entry
            options.append(replace(option, weight=weight, entry=entry))
        mine = sorted(o.weight for o in options if o.weight is not None)
        theirs = sorted(o.weight for o in target.options if o.weight is not None)
        if len(options) == len(item.options) and mine != theirs:
            self.errors.append(
                f"{where} has the answer weights {', '.join(map(str, mine))}; the {code} "
                f"scores {', '.join(map(str, theirs))}"
            )
        return replace(
            item, options=tuple(options), scored=True, reverse_keyed=target.reverse_keyed
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
        identifiers = [i for i in _dicts(res.get("identifier")) if not _is_loinc(i)]
        code: Any = _own_code(res) or None
        if code is None and self.builtin is not None:
            language = str(res.get("language") or "").strip()
            code = f"{self.builtin.code}-{language}" if language else f"{self.builtin.code}-local"
        if code is None:
            code = (identifiers or [{}])[0].get("value") or res.get("name") or res.get("id")
        if res.get("status") not in STATUSES:
            self.errors.append(f"status must be one of {', '.join(STATUSES)}")
        codes = [c for c in _dicts(res.get("code")) if c.get("system") in (LOINC, None)]
        code = self.text(code, "the instrument code (identifier or name)")[:40]
        url = str(res.get("url") or "")
        if not re.fullmatch(r"https?://\S{1,240}", url):  # absent, or a urn: canonical
            url = DERIVED_URL_BASE + re.sub(r"[^A-Za-z0-9.-]+", "-", code)
        version = res.get("version")
        return {
            "code": code,
            "url": url,
            "version": str(version)[:40] if version else _fingerprint(res),
            "title": str(res.get("title") or (code if self.builtin is None else "")),
            "panel_code": str(codes[0].get("code", "")) if codes else "",
            "copyright": str(res.get("copyright") or ""),
            "language": language_of(res),
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
            kind = element.get("type")
            if kind == "display":
                self.place_display(items, str(element.get("text") or ""), in_question)
            elif kind == "group":
                self.place_group_text(items, element)
            elif _is_calculated(element):
                self.calculated.append(self.read_item(element, link_id, scored=False))
            else:
                item = self.read_item(element, link_id, self.is_scored(element, link_id, unscored))
                if items:
                    item = replace(item, preamble=tuple(self.pending))
                else:
                    self.instructions = tuple(self.pending)
                self.pending = []
                items.append(item)
        for name, ids in (("unscoredItem", unscored), ("reverseKeyedItem", reverse)):
            for link_id in sorted(map(str, ids - seen)):
                self.errors.append(f"{name} refers to an unknown linkId {link_id!r}")
        self.check_conditions([*items, *self.calculated], seen)
        return [_reverse(item) if item.link_id in reverse else item for item in items]

    def is_scored(self, element: dict[str, Any], link_id: str, unscored: set[Any]) -> bool:
        """With the scoring extension, every question is scored unless it is listed as
        unscored or none of its answers carries a weight (a publisher's difficulty question).
        A recognised file's questions are scored once matched to the built-in's."""
        if self.builtin is not None or link_id in unscored:
            return False
        options = self.answer_options(element, f"item {link_id!r}", report=False)
        weighted = any(
            _extensions(o, url) or _extensions(o.get("valueCoding"), url)
            for o in options
            if isinstance(o, dict)
            for url in _WEIGHT_URLS
        )
        return weighted or (not options and element.get("type") in QUESTION_TYPES)

    def check_conditions(self, items: list[Item], seen: set[str]) -> None:
        for item in items:
            for condition in item.enable_when:
                if condition.question not in seen:
                    self.errors.append(
                        f"item {item.link_id!r} is asked only after item "
                        f"{condition.question!r}, which is not in the questionnaire"
                    )
                if condition.operator not in ENABLE_OPERATORS:
                    self.errors.append(
                        f"item {item.link_id!r} has an enableWhen operator "
                        f"{condition.operator!r} (use one of {', '.join(ENABLE_OPERATORS)})"
                    )

    def place_group_text(self, items: list[Item], group: dict[str, Any]) -> None:
        """A group's text is printed like a display item (a publisher's instructions are often
        the group's text), unless the group holds display items of its own."""
        children = _dicts(group.get("item"))
        if not any(child.get("type") == "display" for child in children):
            self.place_display(items, str(group.get("text") or ""), in_question=False)

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

    def answer_options(self, element: dict[str, Any], where: str, *, report: bool) -> list[Any]:
        """``answerOption``, or the answers of ``answerValueSet`` in answerOption's shape."""
        if isinstance(element.get("answerOption"), list):
            return list(element["answerOption"])
        ref = element.get("answerValueSet")
        if not isinstance(ref, str) or not ref:
            return []
        if ref.startswith("#"):
            contained = [
                r
                for r in _dicts(self.resource.get("contained"))
                if r.get("resourceType") == "ValueSet" and r.get("id") == ref[1:]
            ]
            options = _value_set_options(contained[0]) if contained else []
            if report and not contained:
                self.errors.append(
                    f"{where} uses the ValueSet {ref!r}, which the file does not contain"
                )
            elif report and not options:
                self.errors.append(f"{where} uses the ValueSet {ref!r}, which lists no answers")
            return options
        list_id = ref.rstrip("/").rsplit("/", 1)[-1]
        if "loinc.org" in ref and list_id in ANSWER_LISTS:
            return [
                {
                    "valueCoding": {"system": LOINC, "code": code, "display": display},
                    "extension": [{"url": ITEM_WEIGHT_URL, "valueDecimal": weight}],
                }
                for code, display, weight in ANSWER_LISTS[list_id]
            ]
        if report:
            self.errors.append(
                f"{where} takes its answers from {ref}, which OpenIPT cannot read: list the "
                "answers in answerOption or contain the ValueSet in the file"
            )
        return []

    def read_item(self, element: dict[str, Any], link_id: str, scored: bool) -> Item:
        where = f"item {link_id!r}"
        if scored and element.get("type") not in QUESTION_TYPES:
            self.errors.append(f"{where} is scored but is not a choice question")
        raw_options = self.answer_options(element, where, report=True)
        if scored and not raw_options and not element.get("answerValueSet"):
            self.errors.append(f"{where} has no answer options")  # (a value set was named)
        read = [self.read_option(o, where, scored) for o in raw_options]
        options = [o for o in read if o is not None]
        for label, values in (
            ("answer code", [o.code for o in options]),
            ("entry value", [o.entry for o in options if o.entry is not None]),
        ):
            if len(values) != len(set(values)):
                self.errors.append(f"{where} has two answers with the same {label}")
        codes = _dicts(element.get("code"))
        conditions = tuple(
            Condition(str(c.get("question") or ""), str(c.get("operator") or ""), _answer_text(c))
            for c in _dicts(element.get("enableWhen"))
        )
        return Item(
            link_id=link_id,
            text=str(element.get("text") or ""),
            options=tuple(options),
            scored=scored,
            code=str(codes[0].get("code", "")) if codes else "",
            enable_when=conditions,
            enable_behavior=str(element.get("enableBehavior") or "all"),
        )

    def read_option(self, option: Any, where: str, scored: bool) -> AnswerOption | None:
        coding = option.get("valueCoding") if isinstance(option, dict) else None
        if coding is None and isinstance(option, dict) and not scored:
            plain = next((v for k, v in option.items() if k.startswith("value")), None)
            if isinstance(plain, str | int) and not isinstance(plain, bool):
                return AnswerOption(code=str(plain), display=str(plain), weight=None, entry=None)
        if not isinstance(coding, dict) or not coding.get("code"):
            self.errors.append(f"{where} has an answer without a valueCoding code")
            return None
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
                f"{where}, answer {code!r} has no weight (itemWeight, ordinalValue or "
                "iso21090-CO-value, a whole number of 0 or more)"
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


def _value_set_options(value_set: dict[str, Any]) -> list[dict[str, Any]]:
    """A contained ValueSet's answers (its expansion, else its listed concepts) in
    answerOption's shape, weight extensions kept."""
    options: list[dict[str, Any]] = []
    for entry in _dicts((value_set.get("expansion") or {}).get("contains")):
        found = {key: entry[key] for key in ("system", "code", "display") if key in entry}
        options.append({"valueCoding": found, "extension": entry.get("extension") or []})
    if options:
        return options
    for include in _dicts((value_set.get("compose") or {}).get("include")):
        for concept in _dicts(include.get("concept")):
            coding = {"system": include.get("system"), "code": concept.get("code")}
            coding["display"] = concept.get("display")
            options.append({"valueCoding": coding, "extension": concept.get("extension") or []})
    return options


def _reverse(item: Item) -> Item:
    return replace(item, reverse_keyed=True)


def _falls(item: Item) -> bool:
    weights = [option.weight for option in item.options if option.weight is not None]
    return all(a > b for a, b in itertools.pairwise(weights))
