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
    flag = c.off_track(PHQ9, [10, 16], current_session=2)
    assert flag.flagged
    assert flag.rules == ("R1",)
    assert flag.version == c.HEURISTIC_VERSION


def test_r2_no_reliable_improvement_by_session_six_for_a_case():
    assert c.off_track(PHQ9, [16, 12], current_session=5).rules == ()
    flag = c.off_track(PHQ9, [16, 12], current_session=6)
    assert flag.rules == ("R2",)
    assert flag.min_improvement == 6
    assert flag.review_session == 6
    assert not c.off_track(PHQ9, [16, 10], current_session=6).flagged
    assert not c.off_track(PHQ9, [8, 7], current_session=8).flagged  # not a case at the start


def test_off_track_parameters_are_configurable():
    params = c.OffTrackParams(review_session=4, min_improvement=3)
    assert c.off_track(PHQ9, [16, 14], current_session=4, params=params).rules == ("R2",)
    assert not c.off_track(PHQ9, [16, 13], current_session=4, params=params).flagged


def test_off_track_needs_a_threshold_and_two_scores():
    assert not c.off_track(HAMD, [20, 20], current_session=9).flagged  # no shipped threshold
    assert not c.off_track(PHQ9, [20], current_session=9).flagged


@given(st.lists(st.integers(0, 27), min_size=2, max_size=12))
def test_improvement_and_deterioration_never_both(totals):
    s = c.summarise(PHQ9, totals)
    assert not (s.reliable_improvement and s.reliable_deterioration)
    assert s.change == totals[-1] - totals[0]
