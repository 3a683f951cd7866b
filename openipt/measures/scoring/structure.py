"""FHIR structure of a Questionnaire, checked with the ``fhir.resources`` models (ADR 4).

R4 content is validated with the R4B models (R4B changed nothing in Questionnaire); a file
that R4B refuses but R5 accepts is an R5 Questionnaire and is read the same way. Each
problem is reported once, at the element that is wrong, in plain words (the models do not
check what lies inside an element they refuse, so one mistake gives one message).
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.questionnaire import Questionnaire as R5Questionnaire
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.questionnaire import Questionnaire as R4BQuestionnaire
from pydantic import ValidationError

# Questionnaire.item.type in R4 (``question`` is abstract; R5 adds ``coding``).
ITEM_TYPES = frozenset(
    {
        "group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time",
        "string", "text", "url", "choice", "open-choice", "attachment", "reference",
        "quantity", "coding",
    }
)  # fmt: skip

_AT_ITEM = re.compile(r"(^|\.|, )item\[\d+\]$")  # the path ends at an item
_KINDS = {
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "decimal_type": "must be a number",
    "decimal_parsing": "must be a number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "json_invalid": "must be an object",
    "extra_forbidden": "is not an element FHIR allows here",
    "string_pattern_mismatch": "is not in the form FHIR requires",
}


def structure_problems(resource: dict[str, Any]) -> tuple[str, ...]:
    """Every structural problem of ``resource`` (empty: valid R4, or valid R5)."""
    types = _item_types(resource.get("item"), "item")
    unknown = _contained_types(resource.get("contained"))
    if unknown:  # the models cannot check a resource type they do not have
        return (*unknown, *types)
    as_r4 = _check(R4BQuestionnaire, resource)
    if as_r4 is None:
        return types
    as_r5 = _check(R5Questionnaire, resource)
    if as_r5 is None:
        return types
    # Reported against the release the file is closer to: an R5 file's own elements are not
    # problems, only its real mistakes are.
    return (*(as_r4 if len(as_r4) <= len(as_r5) else as_r5), *types)


def _check(model: Any, resource: dict[str, Any]) -> tuple[str, ...] | None:
    """None when ``model`` accepts the resource, else its problems."""
    try:
        model.model_validate(resource)
    except ValidationError as error:
        return _describe(resource, error)
    except Exception:  # a file the models cannot read is refused, never a crash
        return ("the file could not be read as a FHIR Questionnaire",)
    return None


def _describe(resource: dict[str, Any], error: ValidationError) -> tuple[str, ...]:
    problems = (
        f"{_where(resource, tuple(p for p in d['loc'] if p != 'resourceType'))} {_what(d)}"
        for d in error.errors()
    )
    return tuple(dict.fromkeys(problems))


def _what(detail: Any) -> str:
    kind = str(detail["type"])
    if kind.endswith("missing"):
        return "is missing (FHIR requires it)"
    message = str(detail["msg"])
    if "but got multiple" in message:
        return "holds more than one value; FHIR allows only one of them"
    if "Expect any of field value" in message:
        return "has no value; FHIR requires one"
    if "does not match spec regex" in message:
        return f"is not in the form FHIR requires, not {detail.get('input')!r}"
    text = _KINDS.get(kind)
    if text is None:
        return f"is not valid FHIR ({detail['msg']})"
    if kind == "extra_forbidden":
        return text
    found = detail.get("input")
    shown = repr(found) if isinstance(found, str | int | float | bool) else type(found).__name__
    return f"{text}, not {shown}"


def _where(resource: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """A readable path: ``item '9', answerOption[2].valueString`` (items by their linkId)."""
    text = ""
    node: Any = resource
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text.endswith("'"):
            text += f", {part}"
        else:
            text += f".{part}" if text else str(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        if _AT_ITEM.search(text):
            link_id = node.get("linkId") if isinstance(node, dict) else None
            if isinstance(link_id, str) and link_id:
                text = f"item {link_id!r}"
    return text or "the questionnaire"


def _contained_types(contained: Any) -> tuple[str, ...]:
    problems = []
    for index, resource in enumerate(contained if isinstance(contained, list) else []):
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(kind, str):
            continue  # the models report it
        try:
            get_fhir_model_class(kind)
        except ValueError:
            problems.append(f"contained[{index}] is a {kind!r}, which FHIR does not have")
    return tuple(problems)


def _item_types(items: Any, where: str) -> tuple[str, ...]:
    problems: list[str] = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        name = f"item {item['linkId']!r}" if item.get("linkId") else f"{where}[{index}]"
        if item.get("type") not in ITEM_TYPES:
            problems.append(f"{name} has the type {item.get('type')!r}, which FHIR does not have")
        problems.extend(_item_types(item.get("item"), f"{name}.item"))
    return tuple(problems)
