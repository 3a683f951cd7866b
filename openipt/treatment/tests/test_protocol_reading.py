"""Reading the guidance (docs/ipt.md §9, "Reading the guidance"): folded repeats, rules in
plain words, the one worklist, what concluding needs, and the page's next action."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from openipt.treatment.formats import FormatCode, Phase
from openipt.treatment.protocol import (
    CONCLUSION_REQUIRED,
    RULE_SUMMARIES,
    Action,
    Attendance,
    CourseStatus,
    GuidanceItem,
    MarkStatus,
    NextAction,
    NextStep,
    SessionRecord,
    Severity,
    TaskMark,
    Termination,
    conclusion_missing,
    fold,
    next_action,
    rule_summary,
    worklist,
)
from openipt.treatment.tests.test_protocol_rules import day, good_state, run

# --- Folding ---------------------------------------------------------------------------------


def _review(session: int) -> GuidanceItem:
    return GuidanceItem(
        "mid.opening_review",
        12,
        Severity.WARNING,
        "The note for session %(session)s has no opening review.",
        (("session", session),),
        session,
    )


def test_three_missing_opening_reviews_fold_into_one_line_with_the_sessions():
    other = GuidanceItem("contract.range", None, Severity.NOTICE, "N is unusual.")
    folded = fold([_review(4), other, _review(5), _review(7)])
    assert [i.code for i in folded] == ["mid.opening_review", "contract.range"]
    line = folded[0]
    assert line.reason == "3 session notes have no opening review: sessions 4, 5, 7."
    assert line.rule == 12
    assert line.severity is Severity.WARNING
    assert line.session == 4


def test_a_single_item_stays_as_it_is():
    assert fold([_review(4)]) == (_review(4),)


def test_items_without_a_session_or_of_other_codes_are_never_folded():
    twice = GuidanceItem("contract.renegotiation", 8, Severity.WARNING, "A.")
    again = replace(twice, message="B.")
    per_session = replace(twice, code="term.raised", session=3)
    items = (twice, again, per_session, replace(per_session, session=4))
    assert fold(items) == items


def test_folding_keeps_the_other_parameters_of_the_first_item():
    items = [
        GuidanceItem(
            "phase.initial_max",
            1,
            Severity.WARNING,
            "x",
            (("max", 3), ("session", n)),
            n,
        )
        for n in (4, 5)
    ]
    (line,) = fold(items)
    assert line.reason == (
        "Sessions 4, 5 are in the first phase, but this format's first phase lasts at most 3 "
        "sessions."
    )


def test_folded_course_guidance_reads_as_one_line():
    state = good_state("ipt", 12, 7)
    sessions = tuple(
        replace(s, opening_review=False) if s.number in (4, 5, 7) else s for s in state.sessions
    )
    todo = worklist(replace(state, sessions=sessions), run(replace(state, sessions=sessions))).todo
    reviews = [i for i in todo if i.code == "mid.opening_review"]
    assert len(reviews) == 1
    assert "sessions 4, 5, 7" in reviews[0].reason


# --- Rules in plain words --------------------------------------------------------------------


def test_every_rule_has_a_plain_summary_without_its_number():
    assert set(RULE_SUMMARIES) == set(range(1, 18))
    assert rule_summary(12).startswith("Each working session opens")
    assert all("rule" not in text for text in RULE_SUMMARIES.values())


def test_no_rule_no_summary():
    assert rule_summary(None) == ""
    assert rule_summary(99) == ""


# --- The worklist ----------------------------------------------------------------------------


def test_each_phase_task_is_listed_once():
    state = replace(good_state("ipt", 12, 0), measures=())
    guidance = run(state)
    work = worklist(state, guidance)
    flagged = [i.code for i in work.todo]
    settled = [spec.code for spec, _mark in work.settled]
    assert "init.symptom_review" in flagged  # the baseline is due at session 1
    assert "init.symptom_review" not in settled
    assert not set(flagged) & set(settled)
    assert work.each_session == ()  # the first phase has no per-session tasks
    assert {spec.code: m for spec, m in work.settled}["init.diagnosis_psychoed"] is (
        MarkStatus.DONE
    )
    assert {spec.code: m for spec, m in work.settled}["init.inventory"] is None


def test_the_working_phase_lists_its_per_session_tasks_apart():
    state = good_state("ipt", 12, 5)
    guidance = run(state)
    assert guidance.phase is Phase.MIDDLE
    work = worklist(state, guidance)
    assert [s.code for s in work.each_session] == [
        "mid.opening_review",
        "mid.measure",
        "mid.strategy",
        "mid.techniques",
        "mid.task_review",
        "mid.task_set",
    ]
    assert work.settled == ()


def test_a_mark_for_one_session_only_is_not_shown_as_the_tasks_mark():
    state = good_state("ipt", 12, 0)
    state = replace(
        state, marks=(TaskMark("init.inventory", MarkStatus.NOT_APPLICABLE, session=1),)
    )
    settled = {s.code: m for s, m in worklist(state, run(state)).settled}
    assert settled["init.inventory"] is None


# --- What concluding needs -------------------------------------------------------------------

COMPLETE = Termination(
    gains_reviewed=True,
    warning_signs=True,
    relapse_plan=True,
    next_step=NextStep.MAINTENANCE,
)


def test_a_complete_ending_can_be_concluded_without_the_final_measure():
    assert conclusion_missing(FormatCode.IPT, COMPLETE) == ()


def test_an_empty_ending_misses_every_required_item():
    assert conclusion_missing(FormatCode.IPT, Termination()) == CONCLUSION_REQUIRED


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"gains_reviewed": False}, ("term.gains_reviewed",)),
        ({"warning_signs": False}, ("term.warning_signs",)),
        ({"relapse_plan": False}, ("term.relapse_plan",)),
        ({"next_step": None}, ("term.next_step",)),
        ({"next_step": NextStep.NONE}, ("term.next_step",)),  # "none" needs its reason
        ({"next_step": NextStep.NONE, "next_step_reason": "Well again"}, ()),
    ],
)
def test_each_required_item_is_checked(change, missing):
    assert conclusion_missing(FormatCode.IPT_B, replace(COMPLETE, **change)) == missing


def test_maintenance_ipt_has_no_ending_items():
    assert conclusion_missing(FormatCode.IPT_M, Termination()) == ()


# --- The next action -------------------------------------------------------------------------


def test_a_new_course_records_session_one():
    state = good_state("ipt", 12, 0)
    assert next_action(state, today=day(1)) == Action(NextAction.RECORD_SESSION, 1)


def test_a_new_maintenance_course_starts_from_its_contract():
    """Maintenance IPT has no first phase: its contract (how many, how often, the focus)
    comes before its first session, so that is the first action and the first item."""
    state = replace(good_state("ipt_m", 12, 0), contracts=())
    assert next_action(state, today=day(1)) == Action(NextAction.RECORD_CONTRACT)
    item = next(i for i in run(state, day(1)).items if i.code == "init.contract")
    assert "maintenance contract" in item.reason
    with_contract = good_state("ipt_m", 12, 0)
    assert with_contract.contracts
    assert next_action(with_contract, today=day(1)) == Action(NextAction.RECORD_SESSION, 1)
    # An acute course records session 1 first, as before.
    acute = replace(good_state("ipt", 12, 0), contracts=())
    assert next_action(acute, today=day(1)) == Action(NextAction.RECORD_SESSION, 1)


def test_after_session_five_the_action_is_session_six():
    state = good_state("ipt", 12, 5)
    assert next_action(state, today=day(6)) == Action(NextAction.RECORD_SESSION, 6)


def test_a_draft_dated_today_asks_for_its_note():
    state = good_state("ipt", 12, 5)
    sessions = (*state.sessions[:-1], replace(state.sessions[-1], signed=False))
    action = next_action(replace(state, sessions=sessions), today=day(5))
    assert action == Action(NextAction.WRITE_TODAYS_NOTE, 5)


def test_a_signed_note_today_moves_on_to_the_next_session():
    state = good_state("ipt", 12, 5)
    assert next_action(state, today=day(5), appointment_today=True) == Action(
        NextAction.RECORD_SESSION, 6
    )


def test_an_appointment_today_without_a_session_asks_for_todays_note():
    state = good_state("ipt", 12, 5)
    action = next_action(state, today=day(6), appointment_today=True)
    assert action == Action(NextAction.WRITE_TODAYS_NOTE, 6)


def test_a_missed_session_still_takes_a_number():
    state = good_state("ipt", 12, 3)
    missed = SessionRecord(4, day(4), Attendance.NO_SHOW)
    state = replace(state, sessions=(*state.sessions, missed))
    assert next_action(state, today=day(5)) == Action(NextAction.RECORD_SESSION, 5)


def test_after_the_last_session_the_ending_is_recorded_then_concluded():
    state = good_state("ipt", 12, 12)
    later = day(12) + timedelta(days=1)
    assert next_action(state, today=later) == Action(NextAction.CONCLUDE)
    empty = replace(state, termination=Termination())
    assert next_action(empty, today=later) == Action(NextAction.RECORD_ENDING)


def test_a_maintenance_course_concludes_when_its_sessions_are_done():
    state = good_state("ipt_m", 3, 3)
    assert next_action(state, today=day(4)) == Action(NextAction.CONCLUDE)


@pytest.mark.parametrize(
    "status", [CourseStatus.CONCLUDED, CourseStatus.ENDED_EARLY, CourseStatus.ENTERED_IN_ERROR]
)
def test_a_closed_course_offers_no_session(status):
    state = replace(good_state("ipt", 12, 6), status=status)
    assert next_action(state, today=day(7)) == Action(NextAction.NONE)
