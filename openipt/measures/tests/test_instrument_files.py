"""The bundled Questionnaire files: codes, answers and the owners' wording and notices."""

from __future__ import annotations

import pytest

from openipt.measures.loader import builtin_files
from openipt.measures.scoring import parse_questionnaire_json
from openipt.measures.scoring.parser import ITEM_WEIGHT_URL
from openipt.measures.tests.helpers import FILES, SPANISH, builtin, builtin_resource

PFIZER = "No permission required to reproduce, translate, display or distribute."


def test_every_bundled_file_parses_without_problems():
    assert len(builtin_files()) == len(FILES) + len(SPANISH)  # the translations: their own file
    for path in builtin_files():
        outcome = parse_questionnaire_json(path.read_text(encoding="utf-8"))
        assert outcome.errors == (), path.name


@pytest.mark.parametrize("code", sorted(FILES))
def test_files_carry_a_canonical_url_version_and_item_weights(code):
    resource = builtin_resource(code)
    assert resource["url"].startswith("https://openipt.org/fhir/Questionnaire/")
    assert resource["version"] == "1.0.0"
    assert resource["status"] == "active"
    assert ITEM_WEIGHT_URL in str(resource)
    assert builtin(code).code == code


def test_phq9_codes_follow_loinc():
    definition = builtin("PHQ-9")
    assert (definition.panel_code, definition.total_code) == ("44249-1", "44261-6")
    assert [item.code for item in definition.scored_items] == [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
    ]
    assert [(o.code, o.weight) for o in definition.item("1").options] == [
        ("LA6568-5", 0),
        ("LA6569-3", 1),
        ("LA6570-1", 2),
        ("LA6571-9", 3),
    ]


def test_gad7_codes_and_zero_anchor():
    definition = builtin("GAD-7")
    assert (definition.panel_code, definition.total_code) == ("69737-5", "70274-6")
    assert definition.item("6").code == "69689-8"
    assert definition.item("1").options[0].display == "Not at all"


@pytest.mark.parametrize("code", ["PHQ-9", "PHQ-2", "GAD-7", "GAD-2"])
def test_pfizer_instruments_carry_the_owners_notice(code):
    assert PFIZER in builtin(code).copyright


def test_phq9_wording_is_the_owners():
    definition = builtin("PHQ-9")
    assert definition.item("1").text == "Little interest or pleasure in doing things"
    assert definition.item("9").text == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    intro = builtin_resource("PHQ-9")["item"][0]
    assert (intro["type"], intro["text"]) == (
        "display",
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    )


def test_short_forms_reuse_the_first_two_items():
    for short, full in (("PHQ-2", "PHQ-9"), ("GAD-2", "GAD-7")):
        pairs = [(item.text, item.code) for item in builtin(short).scored_items]
        assert pairs == [(item.text, item.code) for item in builtin(full).scored_items[:2]]


def test_who5_answers_run_from_all_of_the_time_to_at_no_time():
    options = builtin("WHO-5").item("1").options
    assert [(o.display, o.weight) for o in options] == [
        ("All of the time", 5),
        ("Most of the time", 4),
        ("More than half of the time", 3),
        ("Less than half of the time", 2),
        ("Some of the time", 1),
        ("At no time", 0),
    ]
    assert builtin("WHO-5").direction == "higher_better"
