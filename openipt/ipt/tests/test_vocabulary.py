"""The IPT vocabulary: one definition of every enumeration, pinned values, and the Django
choices built from it (openipt/ipt/vocabulary.py)."""

from __future__ import annotations

import subprocess
import sys
from enum import StrEnum
from pathlib import Path

import pytest
from django.db import models
from django.utils.functional import Promise

from openipt.ipt import vocabulary as v
from openipt.treatment import formats, protocol
from openipt.treatment.models import (
    Area,
    Course,
    Format,
    Frequency,
    Phase,
    PhaseTaskStatus,
    ProblemArea,
    Session,
    Technique,
    TerminationRecord,
)

BASE_DIR = Path(__file__).resolve().parents[3]

# The values stored in the database today, written out literally: renaming a member's value
# fails here (and needs a data migration, never just an edit of the vocabulary).
STORED_VALUES: dict[type[StrEnum], list[str]] = {
    v.FormatCode: ["ipt", "ipt_b", "ipt_a", "ipt_g", "ipc", "ipt_m"],
    v.Frequency: ["weekly", "fortnightly", "monthly", "flexible"],
    v.Phase: ["initial", "middle", "termination"],
    v.ProblemArea: ["grief", "role_dispute", "role_transition", "interpersonal_deficits"],
    v.DisputeStage: ["renegotiation", "impasse", "dissolution"],
    v.MourningProgress: ["avoided", "in_progress", "resolving"],
    v.Technique: [
        "communication_analysis",
        "decision_analysis",
        "role_play",
        "clarification",
        "affect",
        "therapeutic_relationship",
    ],
    v.Attendance: ["scheduled", "attended", "cancelled", "late_cancellation", "no_show"],
    v.CourseStatus: ["assessment", "active", "concluded", "ended_early", "entered_in_error"],
    v.TaskStatus: ["done", "not_applicable", "deferred"],
    v.NextStep: ["maintenance", "further_treatment", "referral", "none"],
}

# Each model's choices with the vocabulary it is built from, the vocabulary values the model
# does not offer (with the reason), and the model's own blank choice, if any.
MODEL_CHOICES: list[tuple[type[models.TextChoices], type[StrEnum], set[str], set[str]]] = [
    (Format, v.FormatCode, set(), set()),
    (Frequency, v.Frequency, set(), set()),
    (Phase, v.Phase, set(), set()),
    (Area, v.ProblemArea, set(), set()),
    (ProblemArea.DisputeStage, v.DisputeStage, set(), set()),
    (ProblemArea.Mourning, v.MourningProgress, set(), set()),
    (Technique.Kind, v.Technique, set(), set()),
    # "scheduled" is the protocol's state for a planned session, never stored on a Session.
    (Session.Attendance, v.Attendance, {"scheduled"}, set()),
    (Course.Status, v.CourseStatus, set(), set()),
    (PhaseTaskStatus.Status, v.TaskStatus, set(), set()),
    # "further_treatment" does not fit TerminationRecord.next_step (max_length 12) yet.
    (TerminationRecord.NextStep, v.NextStep, {"further_treatment"}, {""}),
]

CHOICE_IDS = [choices.__qualname__ for choices, *_ in MODEL_CHOICES]


def test_stored_values_are_unchanged():
    assert set(STORED_VALUES) == set(v.LABELS)
    for enum, values in STORED_VALUES.items():
        assert [member.value for member in enum] == values, enum.__name__


def test_every_member_has_a_clinical_and_a_plain_language_label():
    for enum, table in v.LABELS.items():
        assert list(table) == list(enum), enum.__name__
        for member, label in table.items():
            assert isinstance(label, v.Label)
            assert label.clinical.strip(), member
            assert label.lay.strip(), member
            assert v.display(member).strip(), member


def test_every_vocabulary_enumeration_backs_a_model_choice():
    assert {enum for _choices, enum, _missing, _blank in MODEL_CHOICES} == set(v.LABELS)


@pytest.mark.parametrize(("choices", "enum", "missing", "blank"), MODEL_CHOICES, ids=CHOICE_IDS)
def test_model_choices_equal_the_vocabulary(choices, enum, missing, blank):
    assert missing <= set(STORED_VALUES[enum])
    model_values = set(choices.values) - blank
    assert model_values == {member.value for member in enum} - missing
    for member in choices:
        if member.value in blank:
            continue
        word = enum(member.value)
        assert isinstance(member.label, Promise)  # translated when shown, not at import
        assert str(member.label) == v.display(word), member
        assert member == word  # the stored value compares equal to the pure member


def test_display_is_clinical_term_then_plain_words():
    assert v.display(v.ProblemArea.ROLE_DISPUTE) == "Role dispute (Disagreements)"
    assert v.display(v.ProblemArea.ROLE_TRANSITION) == "Role transition (Life changes)"
    assert v.display(v.ProblemArea.INTERPERSONAL_DEFICITS) == (
        "Interpersonal deficits / sensitivity (Loneliness and isolation)"
    )
    assert v.display(v.Phase.INITIAL) == "Initial phase (Getting started)"
    assert v.display(v.DisputeStage.IMPASSE) == "Impasse (Stuck)"
    assert v.display(v.Technique.ROLE_PLAY) == "Role play (Practising what to say)"
    # The same word twice is said once; format names are shown by their clinical name.
    assert v.display(v.ProblemArea.GRIEF) == "Grief"
    assert v.display(v.Attendance.NO_SHOW) == "Did not attend"
    assert v.display(v.FormatCode.IPT_B) == "Brief IPT"
    assert not v.shows_lay(v.FormatCode.IPT_B)
    assert v.shows_lay(v.ProblemArea.ROLE_DISPUTE)


def test_drifted_labels_are_gone():
    labels = {str(label) for choices, *_ in MODEL_CHOICES for label in choices.labels}
    assert "Grief (Grief)" not in labels
    assert "Interpersonal counselling (IPC)" not in labels
    assert v.PROBLEM_AREA_LABELS[v.ProblemArea.GRIEF].clinical == "Grief"
    assert formats.FORMATS[v.FormatCode.IPC].label.clinical == "Interpersonal Counselling (IPC)"


def test_label_of_refuses_what_is_not_vocabulary():
    with pytest.raises(KeyError):
        v.label_of(protocol.Severity.DUE)


def test_formats_and_protocol_reexport_the_vocabulary():
    assert formats.Phase is v.Phase
    assert formats.FormatCode is v.FormatCode
    assert formats.ProblemArea is v.ProblemArea
    assert formats.DisputeStage is v.DisputeStage
    assert formats.Label is v.Label
    assert formats.PHASE_LABELS is v.PHASE_LABELS
    assert formats.PROBLEM_AREA_LABELS is v.PROBLEM_AREA_LABELS
    assert formats.DISPUTE_STAGE_LABELS is v.DISPUTE_STAGE_LABELS
    assert formats.WEEKLY == "weekly"
    assert formats.MONTHLY == "monthly"
    for code, fmt in formats.FORMATS.items():
        assert fmt.label is v.FORMAT_LABELS[code]
    assert protocol.Attendance is v.Attendance
    assert protocol.CourseStatus is v.CourseStatus
    assert protocol.NextStep is v.NextStep
    assert protocol.MarkStatus is v.TaskStatus


def _modules_after_import(module: str) -> list[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "", "PYTHONPATH": str(BASE_DIR)},
    )
    return result.stdout.split()


def _django(modules: list[str]) -> list[str]:
    return [m for m in modules if m == "django" or m.startswith("django.")]


def test_vocabulary_imports_neither_django_nor_any_app():
    modules = _modules_after_import("openipt.ipt.vocabulary")
    assert _django(modules) == []
    apps = [m for m in modules if m.startswith("openipt.")]
    assert apps == ["openipt.ipt", "openipt.ipt.vocabulary"]


@pytest.mark.parametrize("module", ["openipt.treatment.formats", "openipt.treatment.protocol"])
def test_protocol_and_formats_stay_pure(module):
    assert _django(_modules_after_import(module)) == []
