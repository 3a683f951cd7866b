"""The §3 task lists, clinician marks, course status and caseload ordering."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from openipt.treatment.formats import FormatCode, Phase
from openipt.treatment.protocol import (
    TASKS,
    VERSION,
    Attendance,
    CourseState,
    CourseStatus,
    Formulation,
    GuidanceItem,
    Inventory,
    MarkStatus,
    SessionRecord,
    Severity,
    TaskMark,
    evaluate,
    mark,
    next_steps,
    phase_tasks,
)
from openipt.treatment.tests.test_protocol_rules import START, day, found, good_state, run


def codes_of(fmt: str, phase: Phase) -> list[str]:
    return [spec.code for spec in phase_tasks(FormatCode(fmt), phase)]


INITIAL = [
    "init.symptom_review",
    "init.diagnosis_psychoed",
    "init.medication_considered",
    "init.inventory",
    "init.mood_event_link",
    "init.problem_area",
    "init.formulation_agreed",
    "init.contract",
]
MIDDLE = [
    "mid.opening_review",
    "mid.measure",
    "mid.strategy",
    "mid.techniques",
    "mid.task_review",
    "mid.task_set",
]
TERMINATION = [
    "term.raised",
    "term.gains_reviewed",
    "term.warning_signs",
    "term.relapse_plan",
    "term.final_measure",
    "term.next_step",
]


@pytest.mark.parametrize("fmt", ["ipt", "ipt_b", "ipc"])
def test_individual_task_lists_follow_section_3(fmt):
    assert codes_of(fmt, Phase.INITIAL) == INITIAL
    assert codes_of(fmt, Phase.MIDDLE) == MIDDLE
    assert codes_of(fmt, Phase.TERMINATION) == TERMINATION


def test_adolescent_lists_add_parent_sessions():
    assert codes_of("ipt_a", Phase.INITIAL) == [*INITIAL, "init.parent_session"]
    assert codes_of("ipt_a", Phase.MIDDLE) == MIDDLE
    assert codes_of("ipt_a", Phase.TERMINATION) == [*TERMINATION, "term.parent_session"]


def test_group_middle_phase_reviews_every_member():
    assert codes_of("ipt_g", Phase.MIDDLE) == [*MIDDLE, "mid.member_review"]


def test_maintenance_has_only_a_contract_and_the_middle_phase():
    assert codes_of("ipt_m", Phase.INITIAL) == ["init.contract"]
    assert codes_of("ipt_m", Phase.MIDDLE) == MIDDLE
    assert codes_of("ipt_m", Phase.TERMINATION) == []


def test_every_task_has_a_label_and_a_valid_rule():
    assert len({t.code for t in TASKS}) == len(TASKS)
    assert all(t.label and (t.rule is None or 1 <= t.rule <= 17) for t in TASKS)
    assert all(t.every_session == (t.phase is Phase.MIDDLE) for t in TASKS)


# --- Initial tasks without a rule -----------------------------------------------------------


def test_plain_initial_tasks_are_due_until_marked():
    state = replace(good_state("ipt", 12, 1), marks=(), medication_decision_recorded=False)
    assert found(state, "init.diagnosis_psychoed") == [(Severity.DUE, None)]
    assert found(state, "init.medication_considered") == [(Severity.DUE, None)]
    late = replace(state, sessions=good_state("ipt", 12, 4).sessions)
    assert found(late, "init.diagnosis_psychoed") == [(Severity.OVERDUE, None)]


# --- Clinician marks ------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(MarkStatus))
def test_marked_items_are_not_repeated(status):
    state = replace(good_state("ipt", 12, 2), inventory=Inventory())
    assert found(state, "init.inventory")
    assert found(mark(state, "init.inventory", status), "init.inventory") == []


def test_a_mark_for_one_session_leaves_the_others():
    sessions = tuple(replace(s, opening_review=False) for s in good_state("ipt", 12, 6).sessions)
    state = replace(good_state("ipt", 12, 6), sessions=sessions)
    marked = mark(state, "mid.opening_review", MarkStatus.NOT_APPLICABLE, session=5)
    assert [s for _, s in found(marked, "mid.opening_review")] == [4, 6]


def test_a_deferral_lapses_at_its_session():
    state = replace(good_state("ipt", 12, 1), formulation=Formulation())
    deferred = replace(
        state,
        marks=(
            *state.marks,
            TaskMark("init.formulation_agreed", MarkStatus.DEFERRED, until_session=3),
        ),
    )
    assert found(deferred, "init.formulation_agreed") == []
    two_later = replace(deferred, sessions=good_state("ipt", 12, 2).sessions)
    assert found(two_later, "init.formulation_agreed") == [(Severity.DUE, None)]


# --- Status, attendance and dates -----------------------------------------------------------


def test_entered_in_error_gets_no_guidance():
    state = replace(
        good_state("ipt", 12, 5), status=CourseStatus.ENTERED_IN_ERROR, inventory=Inventory()
    )
    guidance = run(state)
    assert guidance.items == ()
    assert guidance.version == VERSION


def test_assessment_status_gets_the_initial_tasks():
    state = CourseState(FormatCode.IPT, 12, status=CourseStatus.ASSESSMENT)
    due = {i.code for i in evaluate(state, today=START).due}
    assert {
        "init.symptom_review",
        "init.inventory",
        "init.formulation_agreed",
        "init.contract",
    } <= due


def test_closed_course_is_not_asked_for_initial_tasks():
    state = replace(
        good_state("ipt", 12, 12),
        status=CourseStatus.CONCLUDED,
        inventory=Inventory(),
        contracts=(),
    )
    assert found(state, "init.inventory") == []
    assert found(state, "init.contract") == []


def test_only_attended_past_sessions_count_as_held():
    sessions = (
        *good_state("ipt", 12, 3).sessions,
        SessionRecord(4, day(4), Attendance.NO_SHOW),
        SessionRecord(5, day(5), Attendance.ATTENDED),
    )
    state = replace(good_state("ipt", 12, 3), sessions=sessions)
    guidance = evaluate(state, today=day(4))
    assert (guidance.sessions_held, guidance.next_session) == (3, 4)
    assert (guidance.phase, guidance.next_phase) == (Phase.INITIAL, Phase.MIDDLE)
    assert evaluate(state, today=day(5)).sessions_held == 5


def test_unsigned_notes_get_a_notice_after_a_week():
    sessions = tuple(replace(s, signed=False) for s in good_state("ipt", 12, 2).sessions)
    state = replace(good_state("ipt", 12, 2), sessions=sessions)
    assert found(state, "session.unsigned", day(1) + timedelta(days=8)) == [(Severity.NOTICE, 1)]
    assert found(state, "session.unsigned", day(1) + timedelta(days=7)) == []
    reason = [i.reason for i in run(state, day(3) + timedelta(days=7)).warnings]
    assert reason == [
        "The note for session 1 is not signed yet.",
        "The note for session 2 is not signed yet.",
    ]


# --- Output ---------------------------------------------------------------------------------


def test_due_and_warnings_are_split_by_severity():
    state = replace(good_state("ipt", 12, 5), inventory=Inventory(), planned_sessions=20)
    guidance = run(state)
    assert {i.severity for i in guidance.due} <= {Severity.DUE, Severity.OVERDUE}
    assert {i.severity for i in guidance.warnings} <= {Severity.WARNING, Severity.NOTICE}
    assert guidance.items == guidance.due + guidance.warnings


def test_next_steps_puts_overdue_first_then_rule_order():
    items = (
        GuidanceItem("contract.range", None, Severity.NOTICE, "n"),
        GuidanceItem("init.contract", 4, Severity.DUE, "c"),
        GuidanceItem("problem_area.count", 5, Severity.WARNING, "w"),
        GuidanceItem("init.diagnosis_psychoed", None, Severity.DUE, "p"),
        GuidanceItem("term.raised", 9, Severity.OVERDUE, "t", (("session", 10),), 10),
        GuidanceItem("init.inventory", 2, Severity.DUE, "i"),
    )
    guidance = replace(run(good_state()), due=items, warnings=())
    assert [i.code for i in next_steps(guidance, 10)] == [
        "term.raised",
        "init.inventory",
        "init.contract",
        "problem_area.count",
        "init.diagnosis_psychoed",
        "contract.range",
    ]
    assert [i.code for i in next_steps(guidance, 2)] == ["term.raised", "init.inventory"]
    assert next_steps(guidance, -1) == ()
    assert items[4].reason == "t"
