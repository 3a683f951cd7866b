from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from openipt.measures.loader import INSTRUMENTS_DIR
from openipt.measures.scoring import InstrumentDefinition, parse_questionnaire

FIXTURES = Path(__file__).parent / "fixtures"
FILES = {
    "PHQ-9": "phq-9",
    "PHQ-2": "phq-2",
    "GAD-7": "gad-7",
    "GAD-2": "gad-2",
    "WHO-5": "who-5",
    "HAM-D-17": "ham-d-17",
}
# The built-in translations, scored by the English file's rules: code -> (file, English code).
SPANISH = {
    "PHQ-9-es": ("phq-9-es", "PHQ-9"),
    "PHQ-2-es": ("phq-2-es", "PHQ-2"),
    "GAD-7-es": ("gad-7-es", "GAD-7"),
    "GAD-2-es": ("gad-2-es", "GAD-2"),
    "WHO-5-es": ("who-5-es", "WHO-5"),
}
BUILT_IN_CODES = {*FILES, *SPANISH}


@cache
def _resource_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def builtin_resource(code: str) -> dict[str, Any]:
    resource: dict[str, Any] = json.loads(_resource_text(INSTRUMENTS_DIR / f"{FILES[code]}.json"))
    return resource


def epds_text() -> str:
    return _resource_text(FIXTURES / "epds_shaped.json")


def epds_resource() -> dict[str, Any]:
    return copy.deepcopy(json.loads(epds_text()))


@cache
def builtin(code: str) -> InstrumentDefinition:
    outcome = parse_questionnaire(builtin_resource(code))
    assert outcome.definition is not None, outcome.errors
    return outcome.definition


@cache
def epds() -> InstrumentDefinition:
    outcome = parse_questionnaire(epds_resource())
    assert outcome.definition is not None, outcome.errors
    return outcome.definition


def values(definition: InstrumentDefinition, entries: list[int | None]) -> dict[str, str | None]:
    """Answers by typed value, like the keyboard entry and the command line."""
    from openipt.measures.scoring import answers_from_entries

    return answers_from_entries(definition, entries)


def spread(total: int, maxima: list[int]) -> list[int | None]:
    """Item values (each within its maximum) that add up to ``total``, filled from the left."""
    result: list[int | None] = []
    for most in maxima:
        value = min(most, total)
        result.append(value)
        total -= value
    assert total == 0
    return result
