"""Practice-supplied questionnaires: an EPDS-shaped file (placeholder wording only) imports
and scores; malformed files are refused whole, with every problem listed."""

from __future__ import annotations

import json

import pytest

from openipt.measures.scoring import (
    AnswerError,
    parse_questionnaire,
    parse_questionnaire_json,
    score,
)
from openipt.measures.scoring.parser import (
    ANSWER_FLAG_URL,
    ENTRY_VALUE_URL,
    ITEM_WEIGHT_URL,
    SCORING_URL,
)
from openipt.measures.tests.helpers import builtin_resource, epds, epds_resource, epds_text, values

FORWARD = ("1", "2", "4")
REVERSE = ("3", "5", "6", "7", "8", "9", "10")


def _scoring(resource):
    return next(ext for ext in resource["extension"] if ext["url"] == SCORING_URL)["extension"]


def _items(resource):
    return resource["item"][0]["item"]


def errors_of(resource):
    outcome = parse_questionnaire(resource)
    assert outcome.definition is None
    return outcome.errors


def by_position(positions):
    """Answers chosen by box position (0 = first answer shown), as a client would tick them."""
    definition = epds()
    return {
        item.link_id: item.options[position].code
        for item, position in zip(definition.scored_items, positions, strict=True)
    }


def test_epds_shaped_file_imports_with_its_declared_rules():
    definition = epds()
    assert (definition.code, definition.version, definition.panel_code) == (
        "EPDS",
        "2024-01",
        "71354-5",
    )
    assert (definition.range_min, definition.range_max, len(definition.scored_items)) == (0, 30, 10)
    assert [item.link_id for item in definition.items if item.reverse_keyed] == list(REVERSE)
    assert all("Placeholder" in item.text for item in definition.items)


def test_reverse_keyed_items_score_the_weight_not_the_box_position():
    # Ticking the first box everywhere: forward items score 0, reverse-keyed items score 3.
    result = score(epds(), by_position([0] * 10))
    assert result.total == 3 * len(REVERSE)
    assert result.flags == ("self_harm_item",)  # item 10's first box weighs 3
    assert score(epds(), by_position([3] * 10)).total == 3 * len(FORWARD)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "below_threshold"),
        (9, "below_threshold"),
        (10, "possible_depression"),
        (12, "possible_depression"),
        (13, "probable_depression"),
        (30, "probable_depression"),
    ],
)
def test_epds_shaped_practice_bands(total, band):
    entries = []
    remaining = total
    for _ in range(10):
        entries.append(min(3, remaining))
        remaining -= entries[-1]
    entries = list(reversed(entries))  # low totals keep item 10 at 0 only when possible
    result = score(epds(), values(epds(), entries))
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize(("item10", "flagged"), [(0, False), (1, True), (3, True)])
def test_epds_item10_above_zero_is_critical(item10, flagged):
    result = score(epds(), values(epds(), [0] * 9 + [item10]))
    assert ("self_harm_item" in result.flags) is flagged


def test_epds_any_missing_item_gives_no_total_but_checks_item10():
    result = score(epds(), values(epds(), [1] * 9 + [None]))
    assert (result.valid, result.total) == (False, None)
    flagged = score(epds(), values(epds(), [None] * 9 + [2]))
    assert (flagged.valid, flagged.flags) == (False, ("self_harm_item",))


def test_ordinal_value_and_item_weight_are_both_read():
    definition = epds()
    assert [o.weight for o in definition.item("1").options] == [0, 1, 2, 3]  # ordinalValue
    assert [o.weight for o in definition.item("10").options] == [3, 2, 1, 0]  # itemWeight


def test_the_parser_reads_a_json_string_too():
    assert parse_questionnaire_json(epds_text()).definition == epds()


# Malformed files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("[]", "not a FHIR Questionnaire"),
        ('{"resourceType": "Patient"}', "not a FHIR Questionnaire"),
    ],
)
def test_files_that_are_not_questionnaires_are_refused(content, message):
    outcome = parse_questionnaire_json(content)
    assert outcome.definition is None
    assert not outcome.ok
    assert message in outcome.errors[0]


def test_a_file_with_many_problems_lists_every_one_and_gives_no_definition():
    resource = epds_resource()
    items = _items(resource)
    del items[0]["linkId"]
    items[2]["linkId"] = "2"  # duplicate
    del items[3]["answerOption"][0]["valueCoding"]["extension"]  # answer without a weight
    scoring = _scoring(resource)
    scoring[4]["extension"][0]["valueInteger"] = 11  # band 2 now overlaps band 1? no: gap
    for part in scoring:
        if part["url"] == "critical":
            part["extension"][0]["valueString"] = "11"
        if part["url"] == "missingRule":
            part["valueCode"] = "guess"
    errors = errors_of(resource)
    text = "\n".join(errors)
    assert "item[0].item[0] has no linkId" in text
    assert "linkId '2' is used more than once" in text
    assert "item '4', answer 'q4-a' has no weight" in text
    assert "gap between bands 'below_threshold' and 'possible_depression' (10 to 10)" in text
    assert "critical item 1 refers to an unknown scored item '11'" in text
    assert "unknown missing-item rule 'guess'" in text
    assert "reverseKeyedItem refers to an unknown linkId '3'" in text
    assert len(errors) >= 7


def _set_band(resource, index, low, high):
    bands = [part for part in _scoring(resource) if part["url"] == "band"]
    bands[index]["extension"][0]["valueInteger"] = low
    bands[index]["extension"][1]["valueInteger"] = high


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: _set_band(r, 1, 9, 12),
            "bands 'below_threshold' and 'possible_depression' overlap",
        ),
        (lambda r: _set_band(r, 2, 13, 31), "lies outside the range 0 to 30"),
        (lambda r: _set_band(r, 0, 1, 9), "do not cover the whole range 0 to 30"),
        (lambda r: _set_band(r, 1, 12, 10), "has min 12 above max 10"),
        (lambda r: _set_band(r, 2, 13, 29), "do not cover the whole range"),
    ],
)
def test_bands_must_cover_the_range_without_gaps_or_overlaps(change, message):
    resource = epds_resource()
    change(resource)
    assert any(message in error for error in errors_of(resource))


def test_two_bands_with_the_same_code_are_refused():
    resource = epds_resource()
    bands = [part for part in _scoring(resource) if part["url"] == "band"]
    bands[1]["extension"][2]["valueCode"] = "below_threshold"
    assert "two bands have the same code" in errors_of(resource)


def test_a_reverse_keyed_item_whose_weights_rise_is_refused():
    resource = epds_resource()
    for option, weight in zip(_items(resource)[9]["answerOption"], [0, 1, 2, 3], strict=True):
        option["extension"][0]["valueDecimal"] = weight
    assert any("'10' is reverse-keyed" in error for error in errors_of(resource))


def test_the_declared_range_must_match_the_weights():
    resource = epds_resource()
    for part in _scoring(resource):
        if part["url"] == "rangeMax":
            part["valueInteger"] = 27
    errors = errors_of(resource)
    assert any("range 0 to 27 does not match the answer weights (0 to 30)" in e for e in errors)


def test_an_unknown_instrument_without_the_scoring_extension_gets_one_message():
    resource = epds_resource()
    resource["extension"] = []
    errors = errors_of(resource)
    assert len(errors) == 1
    assert "no scoring rules" in errors[0]
    assert "scoring extension" in errors[0]


def test_header_problems_are_listed():
    resource = epds_resource()
    for key in ("url", "version", "identifier", "name"):
        del resource[key]
    resource["status"] = "published"
    errors = errors_of(resource)
    assert not any("url" in error or "version" in error for error in errors)  # optional
    assert "the instrument code (identifier or name) is missing" in errors
    assert "status must be one of draft, active, retired, unknown" in errors


def test_name_and_any_identifier_stand_in_for_the_code():
    resource = epds_resource()
    resource["identifier"] = [{"system": "urn:other", "value": "PRACTICE-EPDS"}]
    assert parse_questionnaire(resource).definition.code == "PRACTICE-EPDS"
    del resource["identifier"]
    assert parse_questionnaire(resource).definition.code == "EPDSShaped"


def test_item_problems_are_listed():
    resource = epds_resource()
    items = _items(resource)
    items[0]["type"] = "string"
    items[1]["answerOption"] = []
    items[2]["answerOption"][1]["valueCoding"] = {"display": "no code"}
    items[3]["answerOption"][1]["valueCoding"]["code"] = "q4-a"
    items[4]["answerOption"][0]["valueCoding"]["extension"][0]["valueDecimal"] = 1.5
    items[5]["answerOption"][0]["extension"][0]["valueDecimal"] = -1
    items.append("not an object")
    errors = errors_of(resource)
    text = "\n".join(errors)
    assert "item '1' is scored but is not a choice question" in text
    assert "item '2' has no answer options" in text
    assert "item '3' has an answer without a valueCoding code" in text
    assert "item '4' has two answers with the same answer code" in text
    assert "item '5', answer 'q5-a' has no weight" in text
    assert "item '6', answer 'q6-a' has no weight" in text
    assert "item[0].item[10] is not an object" in text


def test_a_questionnaire_with_no_scored_items_is_refused():
    resource = epds_resource()
    resource["item"] = [{"linkId": "note", "type": "display", "text": "Placeholder"}]
    assert "the questionnaire has no scored items" in errors_of(resource)


def test_scoring_parts_with_wrong_types_are_listed():
    resource = epds_resource()
    scoring = _scoring(resource)
    scoring.append({"url": "critical", "extension": []})
    scoring.append({"url": "band", "extension": [{"url": "min", "valueString": "zero"}]})
    scoring.append({"url": "unscoredItem", "valueString": "99"})
    scoring.append({"url": "notice", "extension": [{"url": "atMost", "valueBoolean": True}]})
    scoring.append({"url": "percentMultiplier", "valueDecimal": 2.5})
    errors = errors_of(resource)
    for message in (
        "critical item 2 linkId is missing",
        "critical item 2 threshold must be a whole number",
        "critical item 2 flag is missing",
        "band 4 min must be a whole number",
        "band 4 code is missing",
        "unscoredItem refers to an unknown linkId '99'",
        "notice code is missing",
        "notice atMost must be a whole number",
        "percent must be a whole number",
    ):
        assert message in errors


@pytest.mark.parametrize(("max_missing", "ok"), [(None, False), (0, False), (10, False), (1, True)])
def test_prorating_needs_a_sensible_max_missing(max_missing, ok):
    resource = epds_resource()
    scoring = _scoring(resource)
    for part in scoring:
        if part["url"] == "missingRule":
            part["valueCode"] = "prorate"
    if max_missing is not None:
        scoring.append({"url": "maxMissing", "valueInteger": max_missing})
    outcome = parse_questionnaire(resource)
    assert outcome.ok is ok
    if ok:
        assert (outcome.definition.missing_rule, outcome.definition.max_missing) == ("prorate", 1)


def test_unscored_items_need_no_weights_and_entry_values_must_be_unique():
    resource = builtin_resource("PHQ-9")
    difficulty = resource["item"][-1]
    for option in difficulty["answerOption"]:
        option["extension"] = [{"url": ENTRY_VALUE_URL, "valueInteger": 1}]
    errors = errors_of(resource)
    assert errors == ("item 'difficulty' has two answers with the same entry value",)


def test_an_unscored_item_may_carry_weights_but_they_must_be_valid():
    resource = builtin_resource("PHQ-9")
    difficulty = resource["item"][-1]
    difficulty["answerOption"][0]["extension"].append({"url": ITEM_WEIGHT_URL, "valueDecimal": "x"})
    assert "has no weight" in errors_of(resource)[0]


def test_answer_flags_and_entry_values_are_read():
    item16 = parse_questionnaire(builtin_resource("HAM-D-17")).definition.item("16")
    not_assessed = item16.option_for_entry(3)
    assert (not_assessed.weight, not_assessed.flag) == (0, "item16_not_assessed")
    assert ANSWER_FLAG_URL in json.dumps(builtin_resource("HAM-D-17"))


def test_a_bad_entry_value_is_listed():
    resource = builtin_resource("PHQ-9")
    resource["item"][-1]["answerOption"][0]["extension"][0]["valueInteger"] = "one"
    assert errors_of(resource) == (
        "item 'difficulty', answer 'LA6572-7' entry value must be a whole number",
    )


def test_a_file_without_bands_scores_a_total_without_a_band():
    resource = epds_resource()
    scoring = _scoring(resource)
    scoring[:] = [part for part in scoring if part["url"] != "band"]
    definition = parse_questionnaire(resource).definition
    result = score(definition, values(definition, [1] * 10))
    assert (result.total, result.band) == (10, None)


def test_scoring_refuses_answers_the_definition_does_not_know():
    definition = epds()
    with pytest.raises(AnswerError, match="no item '11'"):
        score(definition, {"11": "x"})
    with pytest.raises(AnswerError, match="'zz' is not one of its answers"):
        score(definition, {"1": "zz"})
    with pytest.raises(AnswerError, match="needs 10 answers"):
        values(definition, [1])
    with pytest.raises(AnswerError, match="item 1: 7 is not one of 0, 1, 2, 3"):
        values(definition, [7] * 10)


@pytest.mark.parametrize("resource", [[], "Questionnaire", {"resourceType": "Patient"}])
def test_the_reader_itself_refuses_what_is_not_a_questionnaire(resource):
    """``parse_questionnaire`` takes a parsed resource (the JSON reader checks structure
    first); given anything but a Questionnaire it says so and gives no definition."""
    from openipt.measures.scoring import parse_questionnaire

    outcome = parse_questionnaire(resource)
    assert outcome.definition is None
    assert outcome.errors == ("the file is not a FHIR Questionnaire resource",)


def test_an_unknown_direction_is_refused():
    resource = epds_resource()
    scoring = _scoring(resource)
    direction = next((part for part in scoring if part["url"] == "direction"), None)
    if direction is None:
        direction = {"url": "direction"}
        scoring.append(direction)
    direction.pop("valueCode", None)
    direction["valueCode"] = "sideways"
    assert "direction must be one of higher_worse, higher_better" in errors_of(resource)
