"""One or more tests per docs/ipt.md §9 rule: a state that breaks it, and one that keeps it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from openipt.treatment.formats import DisputeStage, FormatCode, Phase, ProblemArea, get_format
from openipt.treatment.protocol import (
    Attendance,
    ContractVersion,
    CourseState,
    CourseStatus,
    Formulation,
    Guidance,
    Inventory,
    MarkStatus,
    MeasureResult,
    NextStep,
    ProblemAreaRecord,
    SessionRecord,
    Severity,
    Termination,
    Timeline,
    _Course,
    _rule_16_group,
    evaluate,
    mark,
)

START = date(2025, 1, 6)


def day(session: int) -> date:
    return START + timedelta(weeks=session)


def held_sessions(code: str, held: int, **overrides: object) -> tuple[SessionRecord, ...]:
    first = 0 if code == "ipt_g" else 1
    return tuple(
        SessionRecord(
            number=i,
            on=day(i),
            attendance=Attendance.ATTENDED,
            opening_review=True,
            signed=True,
            **overrides,  # type: ignore[arg-type]  # any SessionRecord field, by test
        )
        for i in range(first, held + 1)
    )


def good_state(code: str = "ipt", n: int = 12, held: int = 0) -> CourseState:
    """A course kept by the book up to session ``held``: only genuinely due items remain."""
    fmt = get_format(code)
    measured = range(0 if code == "ipt_g" else 1, min(held + 1, n) + 1)
    return CourseState(
        format=FormatCode(code),
        planned_sessions=n,
        contracts=(ContractVersion(n, fmt.frequency, (ProblemArea.GRIEF,), START, True),),
        sessions=held_sessions(code, held),
        inventory=Inventory(people=5, in_circle=5),
        timeline=Timeline(events=3, onset_marked=True),
        problem_areas=(
            ProblemAreaRecord(ProblemArea.GRIEF, focus=True, primary=True, evidence=True),
        ),
        formulation=Formulation(True, START, True, START),
        measures=tuple(MeasureResult("PHQ-9", max(0, 20 - 2 * s), day(s), s) for s in measured),
        termination=Termination(
            raised_at_session=min(held, n - fmt.term_lead)
            if held >= n - fmt.term_due_from
            else None,
            gains_reviewed=True,
            warning_signs=True,
            relapse_plan=True,
            final_measure=True,
            next_step=NextStep.MAINTENANCE,
        ),
        medication_decision_recorded=True,
        parent_sessions=(1, n) if code == "ipt_a" else (),
        marks=(
            mark(CourseState(FormatCode(code), n), "init.diagnosis_psychoed", MarkStatus.DONE).marks
        ),
    )


def run(state: CourseState, today: date | None = None) -> Guidance:
    last = max((s.on for s in state.sessions if s.on), default=START)
    return evaluate(state, today=today or last + timedelta(days=1))


def found(
    state: CourseState, code: str, today: date | None = None
) -> list[tuple[Severity, int | None]]:
    return [(i.severity, i.session) for i in run(state, today).items if i.code == code]


def codes(state: CourseState) -> set[str]:
    return {i.code for i in run(state).items}


# --- A course kept by the book is quiet -----------------------------------------------------


@pytest.mark.parametrize("code", [c.value for c in FormatCode])
@pytest.mark.parametrize("held", [0, 2, 5])
def test_course_kept_by_the_book_has_nothing_to_flag(code, held):
    assert run(good_state(code, get_format(code).default_sessions, held)).items == ()


def test_concluded_course_with_a_full_record_is_quiet():
    state = replace(good_state("ipt", 12, 12), status=CourseStatus.CONCLUDED)
    assert run(state).items == ()


# --- Rule 1: initial phase at most initial_max sessions -------------------------------------


@pytest.mark.parametrize(("code", "limit"), [("ipt", 3), ("ipt_b", 2), ("ipt_a", 4), ("ipc", 1)])
def test_rule_1_override_beyond_initial_max_warns(code, limit):
    sessions = held_sessions(code, limit + 1)
    late = replace(sessions[-1], phase_override=Phase.INITIAL, override_reason="Crisis week")
    state = replace(good_state(code, 12, limit + 1), sessions=(*sessions[:-1], late))
    assert found(state, "phase.initial_max") == [(Severity.WARNING, limit + 1)]
    assert f"at most {limit} sessions" in run(state).warnings[0].reason
    within = replace(sessions[limit - 1], phase_override=Phase.INITIAL, override_reason="x")
    kept = replace(good_state(code, 12, limit), sessions=(*sessions[: limit - 1], within))
    assert found(kept, "phase.initial_max") == []


def test_rule_1_maintenance_has_no_initial_phase():
    session = SessionRecord(1, day(1), Attendance.ATTENDED, Phase.INITIAL, "restart", True)
    state = replace(good_state("ipt_m", 12, 1), sessions=(session,))
    assert found(state, "phase.initial_max") == [(Severity.WARNING, 1)]


def test_rule_1_group_pre_group_session_does_not_count():
    assert found(good_state("ipt_g", 8, 1), "phase.initial_max") == []


def test_phase_override_is_used_and_needs_a_reason():
    sessions = held_sessions("ipt", 9)
    early_end = replace(sessions[-1], phase_override=Phase.TERMINATION)
    state = replace(good_state("ipt", 12, 9), sessions=(*sessions[:-1], early_end))
    guidance = run(state)
    assert guidance.phase is Phase.TERMINATION
    assert found(state, "phase.override_reason") == [(Severity.NOTICE, 9)]
    reasoned = replace(state, sessions=(*sessions[:-1], replace(early_end, override_reason="x")))
    assert found(reasoned, "phase.override_reason") == []


# --- Rule 2: inventory and timeline before the formulation ----------------------------------


def test_rule_2_inventory_due_then_overdue_once_formulation_shared():
    before = replace(good_state("ipt", 12, 1), inventory=Inventory(), formulation=Formulation())
    assert found(before, "init.inventory") == [(Severity.DUE, None)]
    shared = replace(before, formulation=Formulation(True, day(1)))
    assert found(shared, "init.inventory") == [(Severity.OVERDUE, None)]
    assert found(good_state("ipt", 12, 1), "init.inventory") == []


def test_rule_2_timeline_needs_events_and_the_onset():
    no_onset = replace(good_state("ipt", 12, 2), timeline=Timeline(events=4, onset_marked=False))
    assert found(no_onset, "init.mood_event_link") == [(Severity.OVERDUE, None)]
    empty = replace(no_onset, timeline=Timeline(), formulation=Formulation())
    assert found(empty, "init.mood_event_link") == [(Severity.DUE, None)]


def test_rule_2_overdue_once_the_middle_phase_begins():
    state = replace(good_state("ipt", 12, 4), inventory=Inventory(), formulation=Formulation())
    assert found(state, "init.inventory") == [(Severity.OVERDUE, None)]


# --- Rule 3: formulation agreed before the first middle-phase session -----------------------


def test_rule_3_formulation_due_in_the_initial_phase():
    unwritten = replace(good_state("ipt", 12, 2), formulation=Formulation())
    assert found(unwritten, "init.formulation_agreed") == [(Severity.DUE, None)]
    assert "Write the formulation" in run(unwritten).due[0].reason
    unagreed = replace(unwritten, formulation=Formulation(True, day(2)))
    assert "agreement" in next(i for i in run(unagreed).due if i.rule == 3).reason
    no_date = replace(unwritten, formulation=Formulation(True, day(2), agreed=True))
    assert found(no_date, "init.formulation_agreed") == [(Severity.DUE, None)]


@pytest.mark.parametrize(
    ("code", "first_middle"), [("ipt", 4), ("ipt_b", 3), ("ipt_a", 5), ("ipc", 2)]
)
def test_rule_3_overdue_at_the_first_middle_session(code, first_middle):
    state = replace(good_state(code, 12, first_middle), formulation=Formulation(True))
    assert found(state, "init.formulation_agreed") == [(Severity.OVERDUE, first_middle)]
    assert found(good_state(code, 12, first_middle), "init.formulation_agreed") == []


# --- Rule 4: contract by the end of the initial phase --------------------------------------


def test_rule_4_contract_due_then_overdue():
    state = replace(good_state("ipt", 12, 3), contracts=())
    assert found(state, "init.contract") == [(Severity.DUE, None)]
    assert found(replace(state, sessions=held_sessions("ipt", 4)), "init.contract") == [
        (Severity.OVERDUE, None)
    ]


def test_rule_4_contract_needs_frequency_and_focus():
    partial = (ContractVersion(12, "weekly", ()),)
    assert found(replace(good_state(), contracts=partial), "init.contract") == [
        (Severity.DUE, None)
    ]
    partial = (ContractVersion(12, "", (ProblemArea.GRIEF,)),)
    assert found(replace(good_state(), contracts=partial), "init.contract") == [
        (Severity.DUE, None)
    ]


def test_rule_4_applies_to_maintenance_from_its_first_session():
    state = replace(good_state("ipt_m", 12, 1), contracts=())
    assert found(state, "init.contract") == [(Severity.OVERDUE, None)]


# --- Rule 5: one primary, at most two -------------------------------------------------------


def area(a: ProblemArea, **kwargs: object) -> ProblemAreaRecord:
    return ProblemAreaRecord(a, evidence=True, **kwargs)  # type: ignore[arg-type]  # any field


def test_rule_5_at_most_two_focus_areas():
    three = (
        area(ProblemArea.GRIEF, focus=True, primary=True),
        area(ProblemArea.ROLE_TRANSITION, focus=True),
        area(
            ProblemArea.ROLE_DISPUTE,
            focus=True,
            dispute_person_linked=True,
            dispute_stage=DisputeStage.IMPASSE,
        ),
    )
    state = replace(good_state(), problem_areas=three)
    assert found(state, "problem_area.count") == [(Severity.WARNING, None)]
    assert "3 focus areas" in run(state).warnings[0].reason
    assert found(replace(state, problem_areas=three[:2]), "problem_area.count") == []


def test_rule_5_exactly_one_primary():
    two = (
        area(ProblemArea.GRIEF, focus=True, primary=True),
        area(ProblemArea.ROLE_TRANSITION, focus=True, primary=True),
    )
    assert found(replace(good_state(), problem_areas=two), "problem_area.primary") == [
        (Severity.WARNING, None)
    ]
    none = (area(ProblemArea.GRIEF, focus=True),)
    assert found(replace(good_state(), problem_areas=none), "problem_area.primary") == [
        (Severity.WARNING, None)
    ]


def test_candidates_do_not_count_but_need_evidence():
    candidates = (
        area(ProblemArea.GRIEF, focus=True, primary=True),
        area(ProblemArea.ROLE_TRANSITION),
        ProblemAreaRecord(ProblemArea.ROLE_DISPUTE),
    )
    state = replace(good_state(), problem_areas=candidates)
    assert codes(state) & {"problem_area.count", "problem_area.primary"} == set()
    notices = [i for i in run(state).warnings if i.code == "problem_area.evidence"]
    assert [i.reason for i in notices] == ["Note the evidence for Role dispute."]


def test_problem_area_task_due_until_a_primary_is_chosen():
    state = replace(good_state("ipt", 12, 1), problem_areas=())
    assert found(state, "init.problem_area") == [(Severity.DUE, None)]


# --- Rule 6: deficits only with a rationale -------------------------------------------------


def test_rule_6_deficits_need_a_rationale():
    deficits = area(ProblemArea.INTERPERSONAL_DEFICITS, focus=True, primary=True)
    state = replace(good_state(), problem_areas=(deficits,))
    assert found(state, "problem_area.deficits_rationale") == [(Severity.DUE, None)]
    reasoned = replace(deficits, deficits_rationale="No loss, conflict or change applies.")
    assert found(replace(state, problem_areas=(reasoned,)), "problem_area.deficits_rationale") == []
    candidate = replace(deficits, focus=False, primary=False)
    assert (
        found(replace(state, problem_areas=(candidate,)), "problem_area.deficits_rationale") == []
    )


# --- Rule 7: a dispute needs its person and stage -------------------------------------------


def test_rule_7_dispute_needs_person_and_stage():
    dispute = area(ProblemArea.ROLE_DISPUTE, focus=True, primary=True)
    state = replace(good_state(), problem_areas=(dispute,))
    assert codes(state) >= {"problem_area.dispute_person", "problem_area.dispute_stage"}
    complete = replace(
        dispute, dispute_person_linked=True, dispute_stage=DisputeStage.RENEGOTIATION
    )
    assert codes(replace(state, problem_areas=(complete,))).isdisjoint(
        {"problem_area.dispute_person", "problem_area.dispute_stage"}
    )


# --- Rule 8: renegotiation ------------------------------------------------------------------


def test_rule_8_session_beyond_n_without_revision():
    state = good_state("ipt", 12, 12)
    extra = SessionRecord(13, day(13), Attendance.SCHEDULED)
    over = replace(state, sessions=(*state.sessions, extra))
    assert found(over, "contract.renegotiation") == [(Severity.WARNING, 13)]
    assert found(state, "contract.renegotiation") == []


def test_rule_8_n_edited_without_a_new_contract_version():
    state = replace(good_state("ipt", 12, 5), planned_sessions=14)
    assert found(state, "contract.renegotiation") == [(Severity.WARNING, None)]
    renegotiated = replace(
        state,
        contracts=(
            *state.contracts,
            ContractVersion(14, "weekly", (ProblemArea.GRIEF,), day(5), True, "Slow start"),
        ),
    )
    assert found(renegotiated, "contract.renegotiation") == []


def test_rule_8_revision_needs_reason_and_agreement():
    state = replace(good_state("ipt", 14, 5))
    silent = (
        ContractVersion(12, "weekly", (ProblemArea.GRIEF,)),
        ContractVersion(14, "weekly", (ProblemArea.GRIEF,)),
    )
    guidance = run(replace(state, contracts=silent))
    assert [i.reason for i in guidance.warnings if i.rule == 8] == [
        "The change from 12 to 14 sessions needs a reason and the client's agreement."
    ]


def test_rule_8_without_a_contract_uses_the_course_n():
    state = replace(good_state("ipt", 12, 12), contracts=(), status=CourseStatus.CONCLUDED)
    extra = SessionRecord(13, day(13), Attendance.ATTENDED, opening_review=True, signed=True)
    assert found(replace(state, sessions=(*state.sessions, extra)), "contract.renegotiation") == [
        (Severity.WARNING, 13)
    ]


def test_n_outside_the_usual_range_is_a_notice():
    state = good_state("ipt", 20, 1)
    assert found(state, "contract.range") == [(Severity.NOTICE, None)]
    assert "outside this format's usual 12 to 16" in run(state).warnings[-1].reason


# --- Rule 9: raise the ending in time -------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "n", "quiet", "due", "overdue"),
    [("ipt", 12, 6, 7, 10), ("ipt_b", 8, 2, 3, 6), ("ipt_a", 12, 6, 7, 10), ("ipc", 6, 2, 3, 5)],
)
def test_rule_9_raising_the_ending(code, n, quiet, due, overdue):
    deadline = n - get_format(code).term_lead

    def at(held: int) -> CourseState:
        return replace(good_state(code, n, held), termination=Termination())

    assert found(at(quiet), "term.raised") == []
    assert found(at(due), "term.raised") == [(Severity.DUE, deadline)]
    assert found(at(overdue), "term.raised") == [(Severity.OVERDUE, deadline)]
    assert found(good_state(code, n, overdue), "term.raised") == []


def test_rule_9_group_counts_group_sessions():
    state = replace(good_state("ipt_g", 8, 6), termination=Termination())
    assert found(state, "term.raised") == [(Severity.OVERDUE, 6)]


def test_rule_9_raised_too_late_is_a_notice():
    state = replace(good_state("ipt", 12, 11), termination=Termination(raised_at_session=11))
    assert found(state, "term.raised") == [(Severity.NOTICE, 11)]


def test_rule_9_does_not_apply_to_maintenance():
    assert (
        found(replace(good_state("ipt_m", 12, 11), termination=Termination()), "term.raised") == []
    )


# --- Rule 10: baseline measure -------------------------------------------------------------


def test_rule_10_baseline_due_then_overdue():
    assert found(replace(good_state("ipt", 12, 0), measures=()), "init.symptom_review") == [
        (Severity.DUE, 1)
    ]
    assert found(replace(good_state("ipt", 12, 1), measures=()), "init.symptom_review") == [
        (Severity.OVERDUE, 1)
    ]


def test_rule_10_a_dated_measure_before_session_1_is_the_baseline():
    state = replace(good_state("ipt", 12, 1), measures=(MeasureResult("PHQ-9", 18, START),))
    assert found(state, "init.symptom_review") == []
    late = replace(state, measures=(MeasureResult("PHQ-9", 18, day(2)),))
    assert found(late, "init.symptom_review") == [(Severity.OVERDUE, 1)]


def test_rule_10_maintenance_carries_the_acute_baseline_over():
    carried = (MeasureResult("PHQ-9", 4, START - timedelta(days=30)),)
    assert found(replace(good_state("ipt_m", 12, 1), measures=carried), "init.symptom_review") == []


def test_undated_unnumbered_measure_counts_as_baseline():
    state = replace(good_state("ipt", 12, 1), measures=(MeasureResult("PHQ-9", 18),))
    assert found(state, "init.symptom_review") == []


# --- Rule 11: gaps between measures ---------------------------------------------------------


def only_baseline(code: str, n: int, held: int) -> CourseState:
    return replace(good_state(code, n, held), measures=(MeasureResult("PHQ-9", 18, day(1), 1),))


def test_rule_11_every_four_sessions_for_individual_ipt():
    assert found(only_baseline("ipt", 12, 3), "mid.measure") == []
    assert found(only_baseline("ipt", 12, 4), "mid.measure") == [(Severity.DUE, 5)]
    assert found(only_baseline("ipt", 12, 5), "mid.measure") == [(Severity.OVERDUE, 5)]
    remeasured = replace(
        only_baseline("ipt", 12, 6),
        measures=(MeasureResult("PHQ-9", 18, day(1), 1), MeasureResult("PHQ-9", 12, day(5), 5)),
    )
    assert found(remeasured, "mid.measure") == []


def test_rule_11_a_questionnaire_filled_in_before_the_session_counts_for_it():
    state = only_baseline("ipt", 12, 4)
    upcoming = SessionRecord(5, day(5))
    portal = MeasureResult("PHQ-9", 14, day(5) - timedelta(days=1))
    ready = replace(state, sessions=(*state.sessions, upcoming), measures=(*state.measures, portal))
    assert found(ready, "mid.measure") == []


def test_rule_11_every_session_for_ipc_and_maintenance():
    assert found(only_baseline("ipc", 6, 1), "mid.measure") == [(Severity.DUE, 2)]
    assert found(only_baseline("ipc", 6, 2), "mid.measure") == [(Severity.OVERDUE, 2)]
    assert found(only_baseline("ipt_m", 12, 2), "mid.measure") == [(Severity.OVERDUE, 2)]


def test_rule_11_final_session_is_left_to_the_final_measure():
    state = replace(
        only_baseline("ipt", 12, 11),
        measures=(MeasureResult("PHQ-9", 18, day(1), 1), MeasureResult("PHQ-9", 12, day(8), 8)),
    )
    assert found(state, "mid.measure") == []


def test_rule_11_group_needs_a_midpoint_phq9():
    pre_group = (MeasureResult("PHQ-9", 18, day(0), 0),)
    assert found(replace(good_state("ipt_g", 8, 1), measures=pre_group), "mid.measure") == []
    assert found(replace(good_state("ipt_g", 8, 2), measures=pre_group), "mid.measure") == [
        (Severity.DUE, 4)
    ]
    assert found(replace(good_state("ipt_g", 8, 5), measures=pre_group), "mid.measure") == [
        (Severity.OVERDUE, 4)
    ]
    midpoint = (*pre_group, MeasureResult("PHQ-9", 10, day(4), 4))
    assert found(replace(good_state("ipt_g", 8, 6), measures=midpoint), "mid.measure") == []


# --- Rule 12: opening review ----------------------------------------------------------------


def test_rule_12_middle_sessions_need_an_opening_review():
    sessions = held_sessions("ipt", 5)
    bare = tuple(replace(s, opening_review=False) for s in sessions)
    state = replace(good_state("ipt", 12, 5), sessions=bare)
    assert found(state, "mid.opening_review") == [(Severity.WARNING, 4), (Severity.WARNING, 5)]
    assert found(good_state("ipt", 12, 5), "mid.opening_review") == []


# --- Rule 13: termination record ------------------------------------------------------------


def test_rule_13_termination_items_due_in_the_termination_phase():
    state = replace(good_state("ipt", 12, 9), termination=Termination(raised_at_session=9))
    assert {c for c in codes(state) if c.startswith("term.")} == {
        "term.gains_reviewed",
        "term.warning_signs",
        "term.relapse_plan",
        "term.final_measure",
        "term.next_step",
    }
    assert found(state, "term.gains_reviewed") == [(Severity.DUE, None)]
    assert codes(replace(good_state("ipt", 12, 8), termination=Termination(10))).isdisjoint(
        {"term.gains_reviewed", "term.next_step"}
    )


def test_rule_13_overdue_after_the_final_session_and_flagged_when_closed():
    missing = Termination(10, gains_reviewed=True, next_step=NextStep.REFERRAL)
    state = replace(good_state("ipt", 12, 12), termination=missing)
    assert found(state, "term.relapse_plan") == [(Severity.OVERDUE, None)]
    assert found(state, "term.incomplete") == []
    closed = replace(state, status=CourseStatus.CONCLUDED)
    assert found(closed, "term.incomplete") == [(Severity.WARNING, None)]
    assert "2 termination items missing" in next(i.reason for i in run(closed).warnings)


def test_rule_13_final_measure_can_come_from_the_measures():
    state = replace(
        good_state("ipt", 12, 12),
        termination=replace(good_state("ipt", 12, 12).termination, final_measure=False),
    )
    assert found(state, "term.final_measure") == []
    early = replace(state, measures=state.measures[:8], status=CourseStatus.ENDED_EARLY)
    assert found(early, "term.final_measure") == [(Severity.OVERDUE, None)]


def test_rule_13_marked_parts_are_not_counted_as_missing():
    state = replace(
        good_state("ipt", 12, 12),
        termination=Termination(10, next_step=NextStep.NONE, next_step_reason="Well"),
        status=CourseStatus.CONCLUDED,
    )
    for code in (
        "term.gains_reviewed",
        "term.warning_signs",
        "term.relapse_plan",
        "term.final_measure",
    ):
        state = mark(state, code, MarkStatus.NOT_APPLICABLE)
    assert run(state).items == ()


# --- Rule 14: next step ---------------------------------------------------------------------


def test_rule_14_next_step_decision():
    base = good_state("ipt", 12, 10)
    undecided = replace(base, termination=replace(base.termination, next_step=None))
    assert found(undecided, "term.next_step") == [(Severity.DUE, None)]
    bare_none = replace(base, termination=replace(base.termination, next_step=NextStep.NONE))
    assert found(bare_none, "term.next_step") == [(Severity.DUE, None)]
    reasoned = replace(
        bare_none, termination=replace(bare_none.termination, next_step_reason="Remitted")
    )
    assert found(reasoned, "term.next_step") == []
    closed = replace(undecided, status=CourseStatus.ENDED_EARLY)
    assert found(closed, "term.next_step") == [(Severity.OVERDUE, None)]


def test_rule_14_not_for_maintenance():
    state = replace(good_state("ipt_m", 12, 12), termination=Termination())
    assert found(state, "term.next_step") == []


# --- Rule 15: parent involvement (IPT-A) ----------------------------------------------------


def test_rule_15_parent_in_the_initial_phase():
    state = replace(good_state("ipt_a", 12, 2), parent_sessions=())
    assert found(state, "init.parent_session") == [(Severity.DUE, None)]
    assert found(
        replace(good_state("ipt_a", 12, 5), parent_sessions=()), "init.parent_session"
    ) == [(Severity.OVERDUE, None)]
    assert found(replace(state, parent_sessions=(3,)), "init.parent_session") == []
    assert found(replace(state, format=FormatCode.IPT), "init.parent_session") == []


def test_rule_15_parent_in_the_termination_phase():
    state = replace(good_state("ipt_a", 12, 9), parent_sessions=(1,))
    assert found(state, "term.parent_session") == [(Severity.DUE, None)]
    ended = replace(
        good_state("ipt_a", 12, 12), parent_sessions=(1,), status=CourseStatus.CONCLUDED
    )
    assert found(ended, "term.parent_session") == [(Severity.OVERDUE, None)]
    assert found(ended, "init.parent_session") == []
    assert found(replace(ended, parent_sessions=(1, 11)), "term.parent_session") == []


# --- Rule 16: group membership (stub) -------------------------------------------------------


def test_rule_16_is_a_stub_until_groups_exist():
    state = good_state("ipt_g", 8, 3)
    assert list(_rule_16_group(_Course(state, day(4)))) == []
    assert all(i.rule != 16 for i in run(state).items)


# --- Rule 17: improvement by mid-course -----------------------------------------------------


def with_scores(code: str, n: int, held: int, *scores: tuple[int, float, str]) -> CourseState:
    measures = tuple(MeasureResult(instrument, total, day(s), s) for s, total, instrument in scores)
    return replace(good_state(code, n, held), measures=measures)


def test_rule_17_no_improvement_by_mid_course():
    flat = with_scores("ipt", 12, 6, (1, 20, "PHQ-9"), (5, 18, "PHQ-9"), (6, 17, "PHQ-9"))
    assert found(flat, "review.no_improvement") == [(Severity.WARNING, None)]
    assert (
        "PHQ-9 has not clearly improved by mid-course (20, now 17)" in run(flat).warnings[0].reason
    )
    better = with_scores("ipt", 12, 6, (1, 20, "PHQ-9"), (5, 14, "PHQ-9"), (6, 15.5, "PHQ-9"))
    assert found(better, "review.no_improvement") == []


def test_rule_17_waits_for_mid_course_and_a_comparable_measure():
    early = with_scores("ipt", 12, 5, (1, 20, "PHQ-9"), (5, 20, "PHQ-9"))
    assert found(early, "review.no_improvement") == []
    other = with_scores("ipt", 12, 6, (1, 20, "PHQ-9"), (5, 22, "HAM-D"), (6, 21, "HAM-D"))
    assert found(other, "review.no_improvement") == []
    zero = with_scores("ipt", 12, 6, (1, 0, "PHQ-9"), (5, 3, "PHQ-9"))
    assert found(zero, "review.no_improvement") == []
    fractional = with_scores("ipc", 6, 3, (1, 20.5, "PHQ-9"), (2, 20, "PHQ-9"), (3, 19.5, "PHQ-9"))
    assert "(20.5, now 19.5)" in next(i.reason for i in run(fractional).warnings if i.rule == 17)


# --- Safety: the session's risk check --------------------------------------------------------


def with_risk(held: int, concerns_at: tuple[int, ...], asked_at: tuple[int, ...]) -> CourseState:
    state = good_state("ipt", 12, held)
    sessions = tuple(
        replace(
            s,
            risk_checked=s.number in asked_at or s.number in concerns_at,
            risk_concerns=s.number in concerns_at,
        )
        for s in state.sessions
    )
    return replace(state, sessions=sessions)


def test_concerns_at_the_latest_risk_check_come_first_among_warnings():
    state = with_risk(5, concerns_at=(5,), asked_at=())
    guidance = run(state)
    assert found(state, "risk.concerns") == [(Severity.WARNING, 5)]
    assert guidance.warnings[0].code == "risk.concerns"
    assert "risk check in session 5 noted concerns" in guidance.warnings[0].reason


def test_a_later_check_without_concerns_settles_it():
    assert found(with_risk(5, concerns_at=(3,), asked_at=(5,)), "risk.concerns") == []
    # A session where nobody asked does not settle it.
    assert found(with_risk(5, concerns_at=(3,), asked_at=()), "risk.concerns") == [
        (Severity.WARNING, 3)
    ]
    assert found(with_risk(5, concerns_at=(), asked_at=(2, 3)), "risk.concerns") == []
