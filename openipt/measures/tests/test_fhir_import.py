"""Published FHIR Questionnaires imported as their publishers ship them (docs/fhir-import.md).

The files under ``fhir/`` were written for these tests in each shape publishers use; their
wording is placeholder text, not the owners'. They are read unmodified.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from openipt.measures import selectors, services
from openipt.measures.loader import builtin_files
from openipt.measures.models import Administration, Instrument
from openipt.measures.progress import course_progress
from openipt.measures.scoring import (
    InstrumentDefinition,
    change,
    parse_questionnaire,
    parse_questionnaire_json,
    score,
)
from openipt.measures.scoring.parser import builtin_definitions

FHIR = Path(__file__).parent / "fhir"
PHQ9_FILES = (
    "phq9_item_weight.json",
    "phq9_ordinal_value.json",
    "phq9_contained_value_set.json",
    "phq9_loinc_answer_list.json",
    "phq9_spanish.json",
)
GAD7_FILES = ("gad7_co_value.json",)


def _text(name: str) -> bytes:
    return (FHIR / name).read_bytes()


def _parsed(name: str) -> InstrumentDefinition:
    outcome = parse_questionnaire_json(_text(name))
    assert outcome.definition is not None, outcome.errors
    return outcome.definition


def _answers(definition: InstrumentDefinition, vector: tuple[int | None, ...]) -> dict[str, Any]:
    """Answer codes for one weight per scored item, in order (None: not answered)."""
    answers: dict[str, str | None] = {}
    for item, weight in zip(definition.scored_items, vector, strict=True):
        chosen = [o.code for o in item.options if o.weight == weight]
        answers[item.link_id] = chosen[0] if weight is not None else None
    return answers


# --- The published rules, written out independently of the parser and the built-in files.


def _phq9_band(total: int) -> str:
    for top, band in ((4, "minimal"), (9, "mild"), (14, "moderate"), (19, "moderately_severe")):
        if total <= top:
            return band
    return "severe"


def _gad7_band(total: int) -> str:
    for top, band in ((4, "minimal"), (9, "mild"), (14, "moderate")):
        if total <= top:
            return band
    return "severe"


def _phq9_table() -> list[tuple[int, ...]]:
    """Every single-item vector, every total reached with item 9 at each value, the extremes
    and a fixed random sample: 1,500 or so rows."""
    rows: set[tuple[int, ...]] = {(0,) * 9, (3,) * 9}
    for position, value in itertools.product(range(9), range(4)):
        rows.add(tuple(value if i == position else 0 for i in range(9)))
    for item9 in range(4):
        for total in range(item9, item9 + 25):
            rest, vector = total - item9, []
            for _ in range(8):
                step = min(3, rest)
                vector.append(step)
                rest -= step
            rows.add((*vector, item9))
    sample = random.Random(20240501)
    rows.update(tuple(sample.randrange(4) for _ in range(9)) for _ in range(1400))
    return sorted(rows)


PHQ9_TABLE = _phq9_table()


# --- Every published shape imports unmodified


@pytest.mark.parametrize("name", [*PHQ9_FILES, *GAD7_FILES])
def test_each_published_shape_imports_unmodified(name):
    outcome = parse_questionnaire_json(_text(name))
    assert outcome.errors == ()
    definition = outcome.definition
    assert definition is not None
    assert definition.same_as == ("GAD-7" if name in GAD7_FILES else "PHQ-9")
    assert definition.rules_version == "1.0.0"


@pytest.mark.parametrize("name", PHQ9_FILES)
def test_every_phq9_scores_the_published_table_exactly(name):
    definition = _parsed(name)
    assert len(definition.scored_items) == 9
    assert (definition.range_min, definition.range_max) == (0, 27)
    for vector in PHQ9_TABLE:
        result = score(definition, _answers(definition, vector))
        total = sum(vector)
        assert result.total == total, vector
        assert result.band == _phq9_band(total), vector
        assert ("self_harm_item" in result.flags) == (vector[8] > 0), vector
        assert result.valid
        assert not result.prorated


@pytest.mark.parametrize("name", GAD7_FILES)
def test_the_gad7_scores_every_answer_vector_exactly(name):
    definition = _parsed(name)
    assert len(definition.scored_items) == 7
    for vector in itertools.product(range(4), repeat=7):
        result = score(definition, _answers(definition, vector))
        assert result.total == sum(vector)
        assert result.band == _gad7_band(sum(vector))
        assert result.flags == ()


@pytest.mark.parametrize("name", PHQ9_FILES)
def test_missing_answers_follow_the_built_in_rule(name):
    definition = _parsed(name)
    two_missing = score(definition, _answers(definition, (3, 3, 3, 3, 3, 3, 3, None, None)))
    assert two_missing.prorated
    assert two_missing.total == 27
    three_missing = score(definition, _answers(definition, (1, 1, 1, 1, 1, 1, None, None, None)))
    assert three_missing.total is None
    only_item9 = score(definition, _answers(definition, (None,) * 8 + (2,)))
    assert only_item9.flags == ("self_harm_item",)


def test_the_calculated_total_and_the_difficulty_question_are_kept_but_never_scored():
    definition = _parsed("phq9_item_weight.json")
    assert [item.link_id for item in definition.calculated] == ["phq9-total"]
    assert definition.item("phq9-total") is None  # never asked
    difficulty = definition.item("phq9-difficulty")
    assert difficulty is not None
    assert not difficulty.scored
    assert all(option.weight is None for option in difficulty.options)
    answers = {**_answers(definition, (1,) * 9), "phq9-difficulty": "LA6573-5"}
    assert score(definition, answers).total == 9


def test_enable_when_is_kept_and_decides_whether_a_question_is_asked():
    definition = _parsed("phq9_item_weight.json")
    difficulty = definition.item("phq9-difficulty")
    assert difficulty is not None
    assert difficulty.enable_behavior == "any"
    no_problems = _answers(definition, (0,) * 9)
    one_problem = _answers(definition, (0,) * 8 + (1,))
    assert not difficulty.enabled(no_problems)
    assert difficulty.enabled(one_problem)
    asked = definition.enabled_answers({**no_problems, "phq9-difficulty": "LA6572-7"})
    assert "phq9-difficulty" not in asked


def test_group_text_becomes_the_instructions():
    definition = _parsed("phq9_contained_value_set.json")
    assert definition.instructions == ("In the past fortnight, how often did these trouble you?",)
    assert definition.items[0].options[3].code == "daily"  # the file's own answer codes


def test_the_spanish_phq9_keeps_its_wording_and_is_recognised_by_its_code():
    definition = _parsed("phq9_spanish.json")
    assert definition.same_as == "PHQ-9"
    assert definition.identity == "PHQ-9"
    assert definition.code == "PHQ-9-es"
    assert definition.title.startswith("Cuestionario")
    assert definition.instructions[0].startswith("En las últimas dos semanas")
    assert definition.scored_items[0].options[0].display == "Nunca"
    assert definition.copyright.startswith("Traducción")
    assert [c.link_id for c in definition.critical_items] == ["9"]
    assert definition.bands == builtin_definitions()["44249-1"].bands


def test_url_and_version_are_derived_when_absent_and_stay_the_same_once_stored():
    definition = _parsed("phq9_item_weight.json")
    assert definition.url.startswith("https://")
    assert definition.version.startswith("c-")
    stored = json.loads(json.dumps(json.loads(_text("phq9_item_weight.json")), indent=None))
    again = parse_questionnaire(stored).definition
    assert again is not None
    assert again.version == definition.version
    given = _parsed("gad7_co_value.json")
    assert (given.url, given.version) == (
        "https://forms.example.org/Questionnaire/gad7-test",
        "2.1",
    )


def test_a_urn_canonical_is_kept_in_the_file_and_a_web_address_is_derived():
    resource = json.loads(_text("phq9_spanish.json"))
    resource["url"] = "urn:uuid:5b0c2a5e-8f5e-4c6e-9d7e-1f2a3b4c5d6e"
    definition = parse_questionnaire(resource).definition
    assert definition is not None
    assert definition.url == "https://openipt.org/fhir/Questionnaire/local/PHQ-9-es"


def test_the_built_in_files_pass_the_fhir_structure_check_and_stay_themselves():
    for path in builtin_files():
        outcome = parse_questionnaire_json(path.read_bytes())
        assert outcome.errors == (), path.name
        assert outcome.definition is not None
        # The originals score by their own rules; a translation names the original it is.
        translated = path.stem.endswith("-es")
        assert (outcome.definition.same_as != "") == translated, path.name


# --- Problems: one clear message each


def test_a_structurally_invalid_file_gets_one_message_per_real_problem():
    outcome = parse_questionnaire_json(_text("invalid_structure.json"))
    assert outcome.definition is None
    assert outcome.errors == (
        "item '1', answerOption[2].valueString must be text, not 2",
        "item[4].linkId is missing (FHIR requires it)",
    )


def test_an_unknown_item_type_is_a_structural_problem():
    resource = json.loads(_text("phq9_spanish.json"))
    resource["item"][3]["type"] = "multiple-choice"
    errors = parse_questionnaire_json(json.dumps(resource)).errors
    assert errors == ("item '3' has the type 'multiple-choice', which FHIR does not have",)


def test_an_unknown_instrument_without_scoring_rules_gets_one_message():
    resource = json.loads(_text("phq9_spanish.json"))
    resource["code"] = [{"system": "http://loinc.org", "code": "00000-0"}]
    errors = parse_questionnaire_json(json.dumps(resource)).errors
    assert len(errors) == 1
    assert "no scoring rules" in errors[0]
    assert "00000-0" in errors[0]


def test_answer_weights_that_contradict_the_built_in_rules_are_refused():
    resource = json.loads(_text("phq9_spanish.json"))
    resource["item"][2]["answerOption"][3]["extension"][0]["valueDecimal"] = 5
    errors = parse_questionnaire_json(json.dumps(resource)).errors
    assert errors == ("item '2' has the answer weights 0, 1, 2, 5; the PHQ-9 scores 0, 1, 2, 3",)


def test_a_recognised_file_missing_questions_says_so_once():
    resource = json.loads(_text("phq9_contained_value_set.json"))
    del resource["item"][0]["item"][8]
    errors = parse_questionnaire_json(json.dumps(resource)).errors
    assert len(errors) == 1
    assert "PHQ-9 (LOINC 44249-1), which has 9 scored questions" in errors[0]
    assert "the file has 8" in errors[0]


def test_an_answer_value_set_that_cannot_be_read_is_named():
    resource = json.loads(_text("phq9_loinc_answer_list.json"))
    resource["item"][0]["answerValueSet"] = "http://example.org/ValueSet/elsewhere"
    errors = parse_questionnaire_json(json.dumps(resource)).errors
    assert any("http://example.org/ValueSet/elsewhere" in error for error in errors)


def test_enable_when_must_point_at_an_item_of_the_questionnaire():
    resource = json.loads(_text("phq9_item_weight.json"))
    resource["item"][2]["enableWhen"][0]["question"] = "nowhere"
    errors = parse_questionnaire_json(json.dumps(resource)).errors
    assert errors == (
        "item 'phq9-difficulty' is asked only after item 'nowhere', which is not in the "
        "questionnaire",
    )


# --- Stored: the practice's copy counts as the built-in


def test_change_rules_follow_the_built_in_the_copy_is_the_same_as():
    assert change.rule_for("PHQ-9-es", same_as="PHQ-9") == change.RULES["PHQ-9"]
    assert change.rule_for("GAD-7-local", same_as="GAD-7") == change.RULES["GAD-7"]
    assert change.rule_for("PHQ-9-es").reliable_change is None


@pytest.mark.django_db
def test_an_imported_spanish_phq9_is_the_courses_depression_measure(personas, course):
    instrument = services.instrument_import(
        actor=personas.adam,
        practice=personas.practice,
        file_content=_text("phq9_spanish.json"),
        licence_confirmed=True,
    )
    assert (instrument.code, instrument.same_as) == ("PHQ-9-es", "PHQ-9")
    assert instrument.definition == json.loads(_text("phq9_spanish.json"))  # stored as published
    assert instrument.parsed.same_as == "PHQ-9"
    row = services.administration_enter(
        actor=personas.alice,
        course=course,
        instrument=instrument,
        answers=_answers(instrument.parsed, (2, 2, 2, 2, 2, 1, 1, 1, 0)),
    )
    assert (row.total, row.band) == (13, "moderate")
    row = Administration.objects.select_related("instrument").get(pk=row.pk)
    assert selectors._is_depression_measure(row)
    results = selectors.depression_measures_for_courses([course.pk])[course.pk]
    assert [(r.instrument, r.total) for r in results] == [("PHQ-9", 13.0)]


@pytest.mark.django_db
def test_an_imported_gad7_keeps_the_gad7_change_rules(personas):
    instrument = services.instrument_import(
        actor=personas.adam,
        practice=personas.practice,
        file_content=_text("gad7_co_value.json"),
        licence_confirmed=True,
    )
    definition = instrument.parsed
    rule = change.rule_for(definition.code, definition.direction, same_as=definition.same_as)
    assert rule == change.RULES["GAD-7"]


@pytest.mark.django_db
def test_an_invalid_file_stores_nothing_and_lists_its_problems(personas):
    with pytest.raises(ValidationError) as raised:
        services.instrument_import(
            actor=personas.adam,
            practice=personas.practice,
            file_content=_text("invalid_structure.json"),
            licence_confirmed=True,
        )
    assert len(raised.value.messages) == 2
    assert not Instrument.objects.filter(practice=personas.practice).exists()


@pytest.mark.django_db
def test_the_library_page_imports_a_published_file_and_says_what_it_is_scored_as(client, personas):
    client.force_login(personas.adam)
    upload = SimpleUploadedFile("phq9-es.json", _text("phq9_spanish.json"), "application/json")
    url = reverse("measures:instruments")
    response = client.post(url, {"file": upload, "licence_confirmed": "on"})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "PHQ-9-es" in page
    assert "Scored as the PHQ-9" in page


def test_an_r5_questionnaire_is_read_and_its_own_elements_are_not_problems():
    resource = json.loads(_text("phq9_spanish.json"))
    for item in resource["item"][1:]:
        item["type"] = "coding"
        item["answerConstraint"] = "optionsOnly"
    outcome = parse_questionnaire_json(json.dumps(resource))
    assert outcome.definition is not None
    assert outcome.definition.same_as == "PHQ-9"
    resource["item"][1]["answerOption"][0]["valueString"] = 5
    errors = parse_questionnaire_json(json.dumps(resource)).errors
    assert errors == ("item '1', answerOption[0].valueString must be text, not 5",)


@pytest.mark.django_db
def test_the_spanish_phq9_gets_every_phq9_change_rule_in_the_course(personas, course):
    instrument = services.instrument_import(
        actor=personas.adam,
        practice=personas.practice,
        file_content=_text("phq9_spanish.json"),
        licence_confirmed=True,
    )
    for vector in ((1, 1, 1, 1, 1, 0, 0, 0, 0), (2, 2, 2, 1, 1, 1, 1, 1, 1)):  # 5, then 12
        services.administration_enter(
            actor=personas.alice,
            course=course,
            instrument=instrument,
            answers=_answers(instrument.parsed, vector),
        )
    off_track = selectors.course_off_track(course)
    assert off_track is not None
    assert off_track.rules[0] == "R1"  # a reliable deterioration: six PHQ-9 points
    (progress,) = course_progress(course).instruments
    assert progress.rule == change.RULES["PHQ-9"]
