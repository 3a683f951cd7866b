"""Slice 4: change statistics and the off-track heuristic (pure; docs/measures.md §5, §6)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openipt.measures.scoring import change as c

PHQ9, GAD7, HAMD, WHO5 = (c.RULES[k] for k in ("PHQ-9", "GAD-7", "HAM-D-17", "WHO-5"))


@pytest.mark.parametrize(
    ("totals", "improved", "worse"),
    [
        ([18, 12], True, False),  # fell by exactly 6
        ([18, 13], False, False),  # fell by 5
        ([8, 14], False, True),  # rose by 6
        ([8, 13], False, False),
        ([Decimal("18.4"), 12], True, False),
    ],
)
def test_phq9_reliable_change_at_six_points(totals, improved, worse):
    summary = c.summarise(PHQ9, totals)
    assert (summary.reliable_improvement, summary.reliable_deterioration) == (improved, worse)


def test_gad7_threshold_is_four_points():
    assert c.summarise(GAD7, [12, 8]).reliable_improvement is True
    assert c.summarise(GAD7, [12, 9]).reliable_improvement is False


def test_baseline_latest_change_use_first_and_last():
    s = c.summarise(PHQ9, [20, 15, 9, 8])
    assert (s.baseline, s.latest, s.change, s.improvement, s.count) == (20, 8, -12, 12, 4)
    assert s.version == c.VERSION


@pytest.mark.parametrize(
    ("totals", "case", "recovered", "reliable_recovery"),
    [
        ([10, 9], True, True, False),  # case at 10, below caseness at 9, but only 1 point
        ([16, 9], True, True, True),
        ([16, 10], True, False, False),
        ([9, 2], False, False, False),  # not a case at the start: no recovery to count
    ],
)
def test_caseness_recovery_and_reliable_recovery(totals, case, recovered, reliable_recovery):
    s = c.summarise(PHQ9, totals)
    assert (s.case_at_start, s.recovered, s.reliable_recovery) == (
        case,
        recovered,
        reliable_recovery,
    )


@pytest.mark.parametrize(
    ("totals", "response", "remission"),
    [
        ([20, 10], True, False),
        ([20, 11], False, False),
        ([8, 4], True, True),
        ([8, 5], False, False),
    ],
)
def test_phq9_response_is_half_and_remission_below_five(totals, response, remission):
    s = c.summarise(PHQ9, totals)
    assert (s.response, s.remission) == (response, remission)


def test_response_is_undefined_from_a_zero_baseline():
    assert c.summarise(PHQ9, [0, 0]).response is None


def test_hamd_remission_at_seven_and_no_shipped_reliable_threshold():
    s = c.summarise(HAMD, [20, 7])
    assert (s.remission, s.response, s.reliable_improvement, s.case_at_start) == (
        True, True, None, None,
    )  # fmt: skip
    assert s.recovered is None
    assert s.reliable_recovery is None
    assert c.summarise(HAMD, [20, 8]).remission is False


def test_who5_improvement_is_a_rise():
    s = c.summarise(WHO5, [8, 11])
    assert s.improvement == 3
    assert s.reliable_improvement is True
    assert c.summarise(WHO5, [11, 8]).reliable_deterioration is True
    assert s.response is None
    assert s.remission is None


def test_a_higher_better_rule_with_a_case_cut_off():
    rule = c.ChangeRule("X", direction="higher_better", reliable_change=3, case_at=10)
    s = c.summarise(rule, [8, 14])
    assert (s.case_at_start, s.recovered, s.reliable_recovery) == (True, True, True)


def test_fewer_than_two_scores_give_no_change():
    one = c.summarise(PHQ9, [12])
    assert (one.baseline, one.latest, one.change, one.case_at_start) == (12, 12, None, True)
    none = c.summarise(PHQ9, [])
    assert (none.count, none.baseline, none.case_at_start) == (0, None, None)


def test_an_unknown_instrument_gets_change_only():
    rule = c.rule_for("EPDS", "higher_worse")
    s = c.summarise(rule, [14, 6])
    assert s.change == -8
    assert s.reliable_improvement is None
    assert s.response is None
    assert c.rule_for("PHQ-9") is PHQ9


# --- Jacobson-Truax ---------------------------------------------------------------------------


def test_jacobson_truax_formulae():
    sd1, r = 5.0, 0.84
    se = sd1 * math.sqrt(1 - r)
    assert c.s_diff(sd1, r) == pytest.approx(math.sqrt(2) * se)
    assert c.jt_threshold_points(sd1, r) == math.ceil(1.96 * math.sqrt(2) * se)  # 6
    assert c.reliable_change_index(18, 10, sd1=sd1, reliability=r) == pytest.approx(
        -8 / c.s_diff(sd1, r)
    )
    norms = c.JacobsonTruax(sd1=5, reliability=0.84, m0=4, sd0=4, m1=15)
    assert c.jt_cutoff(norms) == pytest.approx((4 * 15 + 5 * 4) / 9)
    assert c.jt_cutoff(c.JacobsonTruax(sd1=5, reliability=0.84)) is None


@pytest.mark.parametrize(
    ("first", "last", "norms", "category"),
    [
        (18, 6, c.JacobsonTruax(5, 0.84, m0=4, sd0=4, m1=15), "recovered"),
        (18, 10, c.JacobsonTruax(5, 0.84, m0=4, sd0=4, m1=15), "improved"),  # above c = 8.9
        (18, 6, c.JacobsonTruax(5, 0.84), "improved"),  # no norms for c
        (10, 18, c.JacobsonTruax(5, 0.84), "deteriorated"),
        (18, 15, c.JacobsonTruax(5, 0.84), "no_reliable_change"),
    ],
)
def test_jacobson_truax_categories(first, last, norms, category):
    result = c.summarise(PHQ9, [first, last], norms=norms).jacobson_truax
    assert result is not None
    assert result.category == category


def test_jacobson_truax_for_a_higher_better_scale():
    norms = c.JacobsonTruax(2, 0.8, m0=18, sd0=3, m1=9)
    assert c.jacobson_truax(8, 17, norms, direction="higher_better").category == "recovered"
    assert c.jacobson_truax(8, 12, norms, direction="higher_better").category == "improved"
    assert c.jacobson_truax(14, 8, norms, direction="higher_better").category == "deteriorated"


# --- NHS Talking Therapies paired outcome --------------------------------------------------


def _tt(phq, gad):
    return c.talking_therapies(c.summarise(PHQ9, phq), c.summarise(GAD7, gad))


def test_talking_therapies_reliable_recovery():
    out = _tt([16, 8], [10, 6])
    assert out.eligible
    assert out.case
    assert out.reliable_improvement
    assert out.recovery
    assert out.reliable_recovery
    assert not out.reliable_deterioration


def test_talking_therapies_improvement_on_one_cancelled_by_deterioration_on_the_other():
    out = _tt([16, 8], [4, 9])
    assert not out.reliable_improvement
    assert not out.reliable_deterioration
    assert not out.recovery  # GAD-7 ends a case


def test_talking_therapies_deterioration_and_not_a_case():
    out = _tt([3, 9], [2, 3])
    assert out.reliable_deterioration
    assert not out.case
    assert not out.recovery


def test_talking_therapies_needs_paired_scores():
    assert _tt([16], [10, 6]) == c.TalkingTherapiesOutcome(eligible=False)
    assert not _tt([16, 8], [10]).eligible


# --- Off-track heuristic ----------------------------------------------------------------------


def test_r1_reliable_deterioration_at_any_session():
    flag = c.off_track(PHQ9, [10, 16], sessions_held=2, planned_sessions=12)
    assert flag.flagged
    assert flag.rules == ("R1",)
    assert flag.version == c.HEURISTIC_VERSION


def test_r2_is_the_protocols_mid_course_review():
    """R2 fires from the middle of the contract (session 6 of 12, 8 of 16) when the total
    has fallen by less than a fifth: the course guidance's rule 17, not a second rule."""
    assert c.off_track(PHQ9, [20, 18], sessions_held=5, planned_sessions=12).rules == ()
    flag = c.off_track(PHQ9, [20, 18], sessions_held=6, planned_sessions=12)
    assert (flag.rules, flag.review_session) == (("R2",), 6)
    assert c.off_track(PHQ9, [20, 18], sessions_held=7, planned_sessions=16).rules == ()
    assert c.off_track(PHQ9, [20, 16], sessions_held=6, planned_sessions=12).rules == ()  # -20 %
    assert c.off_track(PHQ9, [8, 8], sessions_held=8, planned_sessions=12).rules == ("R2",)


def test_a_steady_responder_is_on_track():
    """19 -> 15 -> 14 by session 6 or 7 of 12: five points is short of a reliable change
    (six), but it is the fall the protocol asks for by mid-course, so no signal fires."""
    for held in (6, 7):
        assert not c.off_track(PHQ9, [19, 15, 14], sessions_held=held, planned_sessions=12).flagged


def test_r2_only_for_measures_where_higher_is_worse():
    assert not c.off_track(WHO5, [10, 10], sessions_held=9, planned_sessions=12).flagged
    assert c.off_track(WHO5, [15, 10], sessions_held=2, planned_sessions=12).rules == ("R1",)
    assert not c.off_track(PHQ9, [20], sessions_held=9, planned_sessions=12).flagged


@given(
    first=st.integers(0, 27),
    last=st.decimals(0, 27, places=2),
    held=st.integers(0, 16),
    planned=st.integers(1, 16),
)
def test_r2_and_the_course_guidance_always_agree(first, last, held, planned):
    """Whatever the scores, the badge's R2 and rule 17's warning fire together."""
    from dataclasses import replace

    from openipt.treatment.protocol import CourseState, MeasureResult, evaluate
    from openipt.treatment.tests.test_protocol_rules import day, good_state

    state = replace(
        good_state("ipt", planned, min(held, planned)),
        measures=(
            MeasureResult("PHQ-9", first, day(1), 1),
            MeasureResult("PHQ-9", float(last), day(1), 2),
        ),
    )
    assert isinstance(state, CourseState)
    sessions_held = min(held, planned)
    guidance = evaluate(state, today=day(sessions_held + 1))
    warned = any(item.code == "review.no_improvement" for item in guidance.warnings)
    flagged = (
        "R2"
        in c.off_track(
            PHQ9, [first, last], sessions_held=sessions_held, planned_sessions=planned
        ).rules
    )
    assert warned == flagged


# --- The rounded totals every judgement uses -----------------------------------------------


def test_reliable_change_compares_the_rounded_totals_caseness_uses():
    """A prorated 15.5 is 16 for the bands and caseness, so for reliable change too:
    16 -> 10 is a fall of 6, reliable (the unrounded 5.5 was not)."""
    s = c.summarise(PHQ9, [Decimal("15.5"), 10])
    assert (s.baseline, s.latest, s.change) == (16, 10, -6)
    assert s.reliable_improvement is True
    worse = c.summarise(PHQ9, [Decimal("9.4"), Decimal("14.5")])  # 9 -> 15: +6
    assert worse.reliable_deterioration is True
    assert worse.case_at_start is False


def test_combined_recovery_needs_both_measures_under_their_cut_offs():
    """PHQ-9 14 -> 6 recovers on its own, but GAD-7 12 -> 9 is still a case (>= 8): the
    combined Talking Therapies outcome is not a recovery, although it is a reliable
    improvement."""
    phq, gad = c.summarise(PHQ9, [14, 6]), c.summarise(GAD7, [12, 9])
    assert phq.reliable_recovery is True
    combined = c.talking_therapies(phq, gad)
    assert combined.case
    assert combined.reliable_improvement
    assert not combined.recovery
    assert not combined.reliable_recovery
    both = c.talking_therapies(phq, c.summarise(GAD7, [12, 7]))
    assert both.recovery
    assert both.reliable_recovery
    # Reliably better on one and reliably worse on the other is neither.
    mixed = c.talking_therapies(c.summarise(PHQ9, [16, 8]), c.summarise(GAD7, [4, 9]))
    assert not mixed.reliable_improvement
    assert not mixed.reliable_deterioration
    # A prorated GAD-7 of 7.5 counts as 8: still a case.
    prorated = c.talking_therapies(phq, c.summarise(GAD7, [12, Decimal("7.5")]))
    assert not prorated.recovery


@given(st.lists(st.integers(0, 27), min_size=2, max_size=12))
def test_improvement_and_deterioration_never_both(totals):
    s = c.summarise(PHQ9, totals)
    assert not (s.reliable_improvement and s.reliable_deterioration)
    assert s.change == totals[-1] - totals[0]
