"""The less common published shapes and their problems, one rule at a time (pure, no
database): answer value sets, plain answers, enableWhen conditions, recognised files that
name themselves, and the FHIR structure messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from openipt.measures.loader import INSTRUMENTS_DIR
from openipt.measures.scoring import parse_questionnaire, parse_questionnaire_json, score, structure
from openipt.measures.scoring import parser as parser_module
from openipt.measures.scoring.definition import Condition, Item
from openipt.measures.tests.helpers import builtin, epds_resource

FHIR = Path(__file__).parent / "fhir"
SCORING = "https://openipt.org/fhir/StructureDefinition/scoring"


def _fixture(name: str) -> dict[str, Any]:
    resource: dict[str, Any] = json.loads((FHIR / name).read_text(encoding="utf-8"))
    return resource


def _errors(resource: dict[str, Any]) -> tuple[str, ...]:
    return parse_questionnaire(resource).errors


def _minimal(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """An unknown instrument with the scoring extension, range 0 to 1, and ``items``."""
    scoring = {
        "url": SCORING,
        "extension": [
            {"url": "rangeMin", "valueInteger": 0},
            {"url": "rangeMax", "valueInteger": 1},
            {"url": "direction", "valueCode": "higher_worse"},
            *extra.pop("parts", []),
        ],
    }
    yes_no = [
        {
            "valueCoding": {"code": code},
            "extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/itemWeight", "valueDecimal": w}
            ],
        }
        for code, w in (("no", 0), ("yes", 1))
    ]
    scored = {"linkId": "q", "type": "choice", "text": "A question", "answerOption": yes_no}
    return {
        "resourceType": "Questionnaire",
        "status": "active",
        "name": "Minimal",
        "extension": [scoring],
        "item": [scored, *items],
        **extra,
    }


# --- enableWhen conditions


@pytest.mark.parametrize(
    ("operator", "answer", "given", "holds"),
    [
        ("exists", "true", "a", True),
        ("exists", "true", None, False),
        ("exists", "false", None, True),
        ("=", "a", None, False),
        ("=", "a", "a", True),
        ("!=", "a", "b", True),
        ("!=", "a", "a", False),
        (">", "2", "3", True),
        ("<", "2", "3", False),
        (">=", "3", "3", True),
        ("<=", "2", "3", False),
        (">", "2", "many", False),  # not a number
        ("~", "2", "3", False),  # not an operator
    ],
)
def test_conditions(operator, answer, given, holds):
    assert Condition("other", operator, answer).holds({"other": given}) is holds


def test_all_and_any_conditions():
    conditions = (Condition("a", "=", "1"), Condition("b", "=", "1"))
    both = Item("c", "asked?", (), enable_when=conditions)
    either = Item("c", "asked?", (), enable_when=conditions, enable_behavior="any")
    one = {"a": "1", "b": "0"}
    assert not both.enabled(one)
    assert either.enabled(one)
    assert Item("c", "always", ()).enabled({})


def test_enabled_answers_keep_answers_to_unknown_items_for_the_engine_to_refuse():
    definition = parse_questionnaire(_fixture("phq9_item_weight.json")).definition
    assert definition is not None
    assert definition.enabled_answers({"nowhere": "x"}) == {"nowhere": "x"}


@pytest.mark.parametrize(
    ("answer", "compared"),
    [
        ({"answerBoolean": True}, "true"),
        ({"answerBoolean": False}, "false"),
        ({"answerInteger": 2}, "2"),
        ({"answerString": "yes"}, "yes"),
        ({"answerQuantity": {"value": 4}}, "4"),
        ({}, ""),
    ],
)
def test_enable_when_answers_are_compared_as_text(answer, compared):
    extra = {"linkId": "x", "type": "string", "text": "Why?"}
    extra["enableWhen"] = [{"question": "q", "operator": "=", **answer}]
    definition = parse_questionnaire(_minimal([extra])).definition
    assert definition is not None
    item = definition.item("x")
    assert item is not None
    assert item.enable_when == (Condition("q", "=", compared),)


def test_an_enable_when_operator_fhir_does_not_have_is_refused():
    extra = {"linkId": "x", "type": "string", "text": "Why?"}
    extra["enableWhen"] = [{"question": "q", "operator": "is", "answerString": "yes"}]
    assert _errors(_minimal([extra])) == (
        "item 'x' has an enableWhen operator 'is' (use one of exists, =, !=, >, <, >=, <=)",
    )


# --- Answers


def test_plain_answers_are_read_on_questions_that_are_not_scored():
    extra = {
        "linkId": "where",
        "type": "choice",
        "text": "Where?",
        "answerOption": [{"valueString": "home"}, {"valueInteger": 2}],
    }
    definition = parse_questionnaire(_minimal([extra])).definition
    assert definition is not None
    where = definition.item("where")
    assert where is not None
    assert not where.scored
    assert [o.code for o in where.options] == ["home", "2"]


def test_a_plain_answer_that_is_not_text_or_a_number_is_refused():
    extra = {
        "linkId": "where",
        "type": "choice",
        "text": "Where?",
        "answerOption": [{"valueBoolean": True}],
    }
    assert _errors(_minimal([extra])) == ("item 'where' has an answer without a valueCoding code",)


def test_a_contained_value_set_may_list_its_answers_as_an_expansion():
    resource = _fixture("phq9_contained_value_set.json")
    value_set = resource["contained"][0]
    concepts = value_set.pop("compose")["include"][0]["concept"]
    value_set["expansion"] = {
        "timestamp": "2024-05-01",
        "contains": [{"system": "urn:example", **concept} for concept in concepts],
    }
    outcome = parse_questionnaire_json(json.dumps(resource))
    assert outcome.errors == ()
    definition = outcome.definition
    assert definition is not None
    assert [o.weight for o in definition.scored_items[0].options] == [0, 1, 2, 3]


def test_a_missing_or_empty_contained_value_set_is_named():
    resource = _fixture("phq9_contained_value_set.json")
    resource["item"][0]["item"][0]["answerValueSet"] = "#elsewhere"
    errors = _errors(resource)
    assert (
        errors[0]
        == "item 'group-1/q1' uses the ValueSet '#elsewhere', which the file does not contain"
    )
    resource = _fixture("phq9_contained_value_set.json")
    resource["contained"][0]["compose"]["include"][0]["concept"] = []
    errors = _errors(resource)
    assert errors[0] == "item 'group-1/q1' uses the ValueSet '#how-often', which lists no answers"


def test_value_sets_in_a_file_with_the_scoring_extension():
    answers = {
        "resourceType": "ValueSet",
        "id": "yes-no",
        "status": "active",
        "compose": {"include": [{"system": "urn:example", "concept": [{"code": "n"}]}]},
    }
    contained = {"linkId": "c", "type": "choice", "text": "C?", "answerValueSet": "#yes-no"}
    known = {
        "linkId": "k",
        "type": "choice",
        "text": "K?",
        "answerValueSet": "http://loinc.org/vs/LL358-3",
    }
    unknown = {"linkId": "u", "type": "choice", "text": "U?", "answerValueSet": "urn:other"}
    resource = _minimal([contained, unknown], contained=[answers])
    assert _errors(resource) == (
        "item 'u' takes its answers from urn:other, which OpenIPT cannot read: list the "
        "answers in answerOption or contain the ValueSet in the file",
    )
    resource = _minimal([contained, known], contained=[answers])
    resource["extension"][0]["extension"][1]["valueInteger"] = 4
    definition = parse_questionnaire(resource).definition
    assert definition is not None
    assert [i.link_id for i in definition.scored_items] == ["q", "k"]
    contained_item = definition.item("c")
    assert contained_item is not None
    assert not contained_item.scored


def test_a_question_with_no_answers_and_no_choice_is_not_scored():
    extra = {"linkId": "why", "type": "text", "text": "Anything else?"}
    definition = parse_questionnaire(_minimal([extra])).definition
    assert definition is not None
    assert [i.link_id for i in definition.scored_items] == ["q"]


# --- Recognised files


def test_a_recognised_file_without_weights_takes_the_built_in_weights_by_answer_code():
    resource = _fixture("phq9_spanish.json")
    for item in resource["item"][1:]:
        for option in item["answerOption"]:
            del option["extension"]
    definition = parse_questionnaire(resource).definition
    assert definition is not None
    answers = {i.link_id: i.options[2].code for i in definition.scored_items}
    assert score(definition, answers).total == 18
    resource["item"][1]["answerOption"][0]["valueCoding"]["code"] = "nunca"
    assert _errors(resource) == (
        "item '1', answer 'nunca' has no weight (itemWeight, ordinalValue or "
        "iso21090-CO-value, or a LOINC answer code of the PHQ-9)",
    )


def test_a_recognised_file_may_name_itself_with_our_code_system():
    resource = _fixture("phq9_spanish.json")
    resource["identifier"] = [
        {"system": "https://openipt.org/fhir/NamingSystem/instrument-code", "value": "PHQ9-CAT"}
    ]
    definition = parse_questionnaire(resource).definition
    assert definition is not None
    assert (definition.code, definition.same_as) == ("PHQ9-CAT", "PHQ-9")


def test_a_recognised_file_without_a_language_gets_a_local_code_and_the_built_in_title():
    definition = parse_questionnaire(_fixture("phq9_loinc_answer_list.json")).definition
    assert definition is not None
    assert definition.code == "PHQ-9-local"
    assert definition.title == builtin("PHQ-9").title
    assert definition.copyright == builtin("PHQ-9").copyright


def test_the_built_in_table_takes_the_newest_version_of_each_panel(tmp_path, monkeypatch):
    source = json.loads((INSTRUMENTS_DIR / "phq-9.json").read_text(encoding="utf-8"))
    for name, version in (("a.json", "1.1.0"), ("b.json", "0.9.0")):
        (tmp_path / name).write_text(json.dumps({**source, "version": version}), "utf-8")
    shutil.copy(INSTRUMENTS_DIR / "gad-2.json", tmp_path / "c.json")  # no LOINC panel
    monkeypatch.setattr(parser_module, "BUILTIN_DIR", tmp_path)
    parser_module.builtin_definitions.cache_clear()
    try:
        table = parser_module.builtin_definitions()
        assert {code: d.version for code, d in table.items()} == {"44249-1": "1.1.0"}
    finally:
        monkeypatch.undo()
        parser_module.builtin_definitions.cache_clear()


def test_an_epds_without_scoring_rules_names_its_panel():
    resource = epds_resource()
    resource["extension"] = []
    (error,) = _errors(resource)
    assert "(LOINC panel 71354-5)" in error


# --- FHIR structure messages


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["item"].append("x"), "item[2] must be an object, not 'x'"),
        (lambda r: r["item"][0].update(text={"a": 1}), "item '0', text must be text, not dict"),
        (
            lambda r: r["item"][1]["answerOption"][0].update(valueString="x"),
            "item '1', answerOption[0] holds more than one value; FHIR allows only one of them",
        ),
        (lambda r: r.pop("status"), "status is missing (FHIR requires it)"),
        (
            lambda r: r["item"][1].update(item=[{"linkId": "1a", "type": "string", "text": 3}]),
            "item '1a', text must be text, not 3",
        ),
        (
            lambda r: r["item"][1].update(item=[{"linkId": "1a", "type": "tickbox"}]),
            "item '1a' has the type 'tickbox', which FHIR does not have",
        ),
    ],
)
def test_structure_messages(change, message):
    resource = _fixture("phq9_spanish.json")
    resource["item"] = resource["item"][:2]
    change(resource)
    errors = parse_questionnaire_json(json.dumps(resource)).errors
    assert message in errors


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r.update(date="yesterday"),
            "date is not in the form FHIR requires, not 'yesterday'",
        ),
        (
            lambda r: r["item"][1]["answerOption"][0].pop("valueCoding"),
            "item '1', answerOption[0] has no value; FHIR requires one",
        ),
        (
            lambda r: r.update(contained=[{"resourceType": "Nope"}, "x", {"id": "y"}]),
            "contained[0] is a 'Nope', which FHIR does not have",
        ),
        (
            lambda r: r["item"].append(
                {"linkId": "n", "type": "integer", "initial": [{"valueInteger": 10**12}]}
            ),
            "item 'n', initial[0].valueInteger is not valid FHIR (Input should be less than or "
            "equal to 2147483647)",
        ),
    ],
)
def test_more_structure_messages(change, message):
    resource = _fixture("phq9_spanish.json")
    change(resource)
    assert parse_questionnaire_json(json.dumps(resource)).errors == (message,)


def test_a_file_the_models_cannot_read_is_refused_not_a_crash(monkeypatch):
    class Unreadable:
        @staticmethod
        def model_validate(resource: object) -> None:
            raise KeyError("resourceType")

    monkeypatch.setattr(structure, "R4BQuestionnaire", Unreadable)
    monkeypatch.setattr(structure, "R5Questionnaire", Unreadable)
    errors = parse_questionnaire_json((FHIR / "phq9_spanish.json").read_bytes()).errors
    assert errors == ("the file could not be read as a FHIR Questionnaire",)


def test_an_answer_to_a_question_not_asked_is_not_scored():
    """``enableWhen`` in the engine: item 9 asked only when item 1 is above 0. With item 1 at
    0 an answer to item 9 (a stale one, say) neither counts nor raises its flag, and item 9
    is unanswered; with item 1 above 0 it counts as usual."""
    from dataclasses import replace

    definition = parser_module.builtin_definitions()["44249-1"]  # the built-in PHQ-9
    first, ninth = definition.items[0], definition.scored_items[8]
    gated = replace(ninth, enable_when=(Condition(first.link_id, "!=", first.options[0].code),))
    items = tuple(gated if item.link_id == ninth.link_id else item for item in definition.items)
    conditional = replace(definition, items=items)
    answers = {item.link_id: item.options[0].code for item in conditional.scored_items}
    answers[ninth.link_id] = ninth.options[3].code
    not_asked = score(conditional, answers)
    assert not_asked.flags == ()
    assert ninth.link_id in not_asked.missing
    answers[first.link_id] = first.options[1].code
    asked = score(conditional, answers)
    assert asked.flags == ("self_harm_item",)
    assert asked.total == 4
