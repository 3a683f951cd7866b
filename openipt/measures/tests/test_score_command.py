"""``manage.py score``: scores a FHIR QuestionnaireResponse file from the command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from openipt.measures.services import instrument_import
from openipt.measures.tests.helpers import epds_text

pytestmark = pytest.mark.django_db
KEYS = ["instrument", "version", "valid", "total", "band", "flags", "prorated"]


def run(*args):
    out = StringIO()
    call_command("score", *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["PHQ-9", *"111111111"], ("PHQ-9", True, 9, "mild", ["self_harm_item"], False)),
        (["PHQ-9", *"33333330", "-"], ("PHQ-9", True, 23.6, "severe", [], True)),
        (["PHQ-9", *"2222222", "-", "-"], ("PHQ-9", True, 18, "moderately_severe", [], True)),
        (
            ["PHQ-9", "-", "-", "-", *"000002"],
            ("PHQ-9", False, None, None, ["self_harm_item"], False),
        ),
        (["GAD-7", *"333333", "-"], ("GAD-7", True, 21, "severe", [], True)),
        (["GAD-7", *"00001", "-", "-"], ("GAD-7", False, None, None, [], False)),
        (["PHQ-2", "1", "1"], ("PHQ-2", True, 2, "negative", [], False)),
        (["GAD-2", "2", "1"], ("GAD-2", True, 3, "positive", [], False)),
        (["GAD-2", "2", "-"], ("GAD-2", False, None, None, [], False)),
        (["HAM-D-17", *["2"] * 17], ("HAM-D-17", True, 34, "very_severe", ["suicide_item"], False)),
        (
            ["HAM-D-17", *["0"] * 15, "3", "0"],
            ("HAM-D-17", True, 0, "normal", ["item16_not_assessed"], False),
        ),
    ],
)
def test_score_prints_one_json_object(args, expected):
    output = run(*args)
    assert list(output) == KEYS
    assert tuple(output[k] for k in KEYS if k != "version") == expected
    assert output["version"] == "1.0.0"


def test_whole_prorated_totals_print_as_integers():
    output = run("PHQ-9", *"11111111", "-")
    assert output["total"] == 9
    assert isinstance(output["total"], int)


def test_who5_adds_the_percentage():
    output = run("WHO-5", "3", "3", "1", "0", "0")
    assert (output["total"], output["percent"], output["band"]) == (7, 28, "likely_depression")
    assert list(output) == [*KEYS, "percent"]
    assert run("WHO-5", "5", "5", "5", "5", "-")["percent"] is None


def test_the_screen_cutoff_is_an_option():
    assert run("--cutoff", "2", "PHQ-2", "1", "1")["band"] == "positive"


def test_imported_codes_are_scored_from_the_instrument_table(personas):
    instrument_import(
        actor=personas.adam,
        practice=personas.practice,
        file_content=epds_text(),
        licence_confirmed=True,
    )
    output = run("EPDS", *"000000000", "1")
    assert (output["instrument"], output["total"], output["flags"]) == (
        "EPDS",
        1,
        ["self_harm_item"],
    )
    by_practice = run("--practice", str(personas.practice.uuid), "EPDS", *"3333333333")
    assert by_practice["band"] == "probable_depression"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["BDI-II", "1"], "unknown instrument 'BDI-II'"),
        (["PHQ-9", "1", "1"], "PHQ-9 needs 9 answers, one per scored item; got 2"),
        (["PHQ-9", *"1111111111"], "needs 9 answers"),
        (["PHQ-2", "1", "4"], "item 2: 4 is not one of 0, 1, 2, 3"),
        (["WHO-5", "6", "0", "0", "0", "0"], "item 1: 6 is not one of 5, 4, 3, 2, 1, 0"),
        (["HAM-D-17", *["3"] * 17], "item 4: 3 is not one of 0, 1, 2"),
        (["GAD-2", "one", "1"], "answer 1 ('one') is not a whole number or '-'"),
        (["GAD-2", "-1", "1"], "item 1: -1 is not one of"),
        (["--cutoff", "9", "GAD-2", "1", "1"], "cut-off 9 must be"),
    ],
)
def test_bad_input_is_a_clear_error_with_status_2(args, message):
    with pytest.raises(CommandError, match=re.escape(message)) as excinfo:
        call_command("score", *args)
    assert excinfo.value.returncode == 2


def test_a_code_imported_by_two_practices_needs_the_practice(personas):
    from openipt.testing.personas import make_staff

    other_admin = make_staff(personas.other_practice, "ola@hilltop.test", "Ola Admin", admin=True)
    for actor, practice in (
        (personas.adam, personas.practice),
        (other_admin, personas.other_practice),
    ):
        instrument_import(
            actor=actor, practice=practice, file_content=epds_text(), licence_confirmed=True
        )
    with pytest.raises(CommandError, match="several practices") as excinfo:
        call_command("score", "EPDS", *"0000000000")
    assert excinfo.value.returncode == 2
    assert run("--practice", str(personas.other_practice.uuid), "EPDS", *"0000000000")["valid"]


def test_the_real_command_line_exits_2_with_a_message_and_no_traceback(tmp_path):
    # A fresh SQLite database built by ``migrate`` also proves built-ins exist after migrating.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    subprocess.run([sys.executable, manage, "migrate", "measures", "-v0"], env=env, check=True)
    bad = subprocess.run(
        [sys.executable, manage, "score", "PHQ-9", "1", "2"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "PHQ-9 needs 9 answers" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert bad.stdout == ""
