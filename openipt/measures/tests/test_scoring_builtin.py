"""Scoring of every built-in instrument, derived from the published rules (docs/measures.md §2)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from openipt.measures.scoring import score, with_critical_threshold, with_cutoff
from openipt.measures.tests.helpers import builtin, spread, values

PHQ9_MAX = [3] * 9
HAMD_MAX = [4, 4, 4, 2, 2, 2, 4, 4, 4, 4, 4, 2, 2, 2, 4, 2, 2]


def total_of(code, total, maxima, **changes):
    """Score a complete form that sums to ``total``, with item 9/3 etc. kept at 0 if possible."""
    definition = builtin(code)
    # fill from the right so critical items early in the form stay 0 for low totals
    entries = list(reversed(spread(total, list(reversed(maxima)))))
    for index, value in changes.items():
        entries[int(index)] = value
    return score(definition, values(definition, entries))


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_bands_at_every_boundary(total, band):
    result = total_of("PHQ-9", total, PHQ9_MAX)
    assert (result.valid, result.total, result.band, result.prorated) == (True, total, band, False)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_bands_at_every_boundary(total, band):
    result = total_of("GAD-7", total, [3] * 7)
    assert (result.valid, result.total, result.band) == (True, total, band)


@pytest.mark.parametrize("code", ["PHQ-2", "GAD-2"])
@pytest.mark.parametrize(
    ("entries", "band"),
    [
        ([0, 0], "negative"),
        ([1, 1], "negative"),
        ([2, 0], "negative"),
        ([2, 1], "positive"),
        ([0, 3], "positive"),
        ([3, 3], "positive"),
    ],
)
def test_two_item_screens_are_positive_from_three(code, entries, band):
    definition = builtin(code)
    result = score(definition, values(definition, entries))
    assert (result.total, result.band, result.flags) == (sum(entries), band, ())


@pytest.mark.parametrize("code", ["PHQ-2", "GAD-2"])
def test_two_item_screens_need_both_answers(code):
    definition = builtin(code)
    result = score(definition, values(definition, [3, None]))
    assert (result.valid, result.total, result.band, result.prorated) == (False, None, None, False)


@pytest.mark.parametrize(("cutoff", "total", "band"), [(2, 1, "negative"), (2, 2, "positive")])
def test_screen_cutoff_is_configurable(cutoff, total, band):
    definition = with_cutoff(builtin("PHQ-2"), cutoff)
    assert score(definition, values(definition, [total, 0])).band == band


@pytest.mark.parametrize("cutoff", [0, 7])
def test_screen_cutoff_outside_the_range_is_refused(cutoff):
    with pytest.raises(ValueError, match="cut-off"):
        with_cutoff(builtin("GAD-2"), cutoff)


def test_cutoff_needs_a_two_band_instrument():
    with pytest.raises(ValueError, match="not a two-band"):
        with_cutoff(builtin("PHQ-9"), 10)


@pytest.mark.parametrize(
    ("total", "band", "percent"),
    [
        (0, "likely_depression", 0),
        (7, "likely_depression", 28),
        (8, "poor", 32),
        (12, "poor", 48),
        (13, "adequate", 52),
        (25, "adequate", 100),
    ],
)
def test_who5_bands_and_percentage(total, band, percent):
    definition = builtin("WHO-5")
    result = score(definition, values(definition, spread(total, [5] * 5)))
    assert (result.total, result.band, result.percent) == (total, band, percent)


def test_who5_low_item_suggests_follow_up_without_a_risk_flag():
    definition = builtin("WHO-5")
    result = score(definition, values(definition, [5, 5, 5, 5, 1]))
    assert (result.band, result.notices, result.flags) == ("adequate", ("follow_up_suggested",), ())
    high = score(definition, values(definition, [2, 2, 2, 2, 2]))
    assert high.notices == ()


def test_who5_any_missing_item_gives_no_total():
    definition = builtin("WHO-5")
    result = score(definition, values(definition, [5, 5, 5, 5, None]))
    assert (result.valid, result.total, result.percent, result.band) == (False, None, None, None)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "normal"),
        (7, "normal"),
        (8, "mild"),
        (13, "mild"),
        (14, "moderate"),
        (18, "moderate"),
        (19, "severe"),
        (22, "severe"),
        (23, "very_severe"),
        (52, "very_severe"),
    ],
)
def test_hamd17_bands_at_every_boundary(total, band):
    result = total_of("HAM-D-17", total, HAMD_MAX)
    assert (result.total, result.band) == (total, band)


def test_hamd17_item_ranges_follow_the_original_scale():
    definition = builtin("HAM-D-17")
    assert [item.max_weight for item in definition.scored_items] == HAMD_MAX
    assert (definition.range_min, definition.range_max) == (0, 52)


def test_hamd17_item16_not_assessed_counts_zero_and_is_flagged():
    definition = builtin("HAM-D-17")
    entries = [1] * 17
    entries[15] = 3
    result = score(definition, values(definition, entries))
    assert (result.total, result.flags) == (16, ("item16_not_assessed",))


def test_hamd17_needs_all_items():
    definition = builtin("HAM-D-17")
    result = score(definition, values(definition, [None] + [1] * 16))
    assert (result.valid, result.total) == (False, None)


@pytest.mark.parametrize(("item3", "flagged"), [(0, False), (1, False), (2, True), (4, True)])
def test_hamd17_suicide_item_is_critical_from_two(item3, flagged):
    result = total_of("HAM-D-17", 0, HAMD_MAX, **{"2": item3})
    assert ("suicide_item" in result.flags) is flagged


def test_hamd17_critical_threshold_is_configurable():
    definition = with_critical_threshold(builtin("HAM-D-17"), "3", 1)
    entries = [0] * 17
    entries[2] = 1
    assert score(definition, values(definition, entries)).flags == ("suicide_item",)


@pytest.mark.parametrize(("link_id", "threshold"), [("1", 1), ("3", 0), ("3", 5), ("99", 1)])
def test_critical_threshold_must_fit_a_critical_item(link_id, threshold):
    with pytest.raises(ValueError, match=r"critical item|threshold"):
        with_critical_threshold(builtin("HAM-D-17"), link_id, threshold)


# PHQ-9: critical item, prorating and invalid forms ------------------------------------------


@pytest.mark.parametrize(
    ("item9", "flags"), [(0, ()), (1, ("self_harm_item",)), (3, ("self_harm_item",))]
)
def test_phq9_item9_above_zero_is_critical_whatever_the_total(item9, flags):
    definition = builtin("PHQ-9")
    result = score(definition, values(definition, [0] * 8 + [item9]))
    assert result.flags == flags
    assert result.band == "minimal"


def test_phq9_critical_item_is_checked_even_without_a_total():
    definition = builtin("PHQ-9")
    result = score(definition, values(definition, [None, None, None, 0, 0, 0, 0, 0, 2]))
    assert (result.valid, result.total, result.flags) == (False, None, ("self_harm_item",))


@pytest.mark.parametrize(
    ("entries", "total", "band"),
    [
        ([1, 1, 1, 1, 1, 1, 1, 1, None], Decimal(9), "mild"),  # mean 1 x 9
        ([2, 2, 2, 1, 1, 1, 1, 1, None], Decimal("12.4"), "moderate"),  # 11/8 x 9 = 12.375
        ([3, 3, 3, 3, 3, 3, 1, None, None], Decimal("24.4"), "severe"),  # 19/7 x 9 = 24.43
        ([1, 1, 1, 1, 0, 0, 0, None, None], Decimal("5.1"), "mild"),  # 4/7 x 9 = 5.14
        ([2, 1, 1, 0, 0, 0, 0, None, None], Decimal("5.1"), "mild"),
        ([1, 1, 1, 0, 0, 0, 0, 0, None], Decimal("3.4"), "minimal"),  # 3/8 x 9 = 3.375
        ([2, 2, 0, 0, 0, 0, 0, 0, None], Decimal("4.5"), "mild"),  # 4.5 rounds half UP to 5
        ([3, 3, 3, 3, 0, 0, 0, None, None], Decimal("15.4"), "moderately_severe"),
    ],
)
def test_phq9_prorates_one_or_two_missing_items(entries, total, band):
    definition = builtin("PHQ-9")
    result = score(definition, values(definition, entries))
    assert (result.valid, result.total, result.band, result.prorated) == (True, total, band, True)


def test_phq9_half_totals_round_up_not_to_even():
    # 4 answered 1s and 4 answered 0s, one missing: mean 0.5 x 9 = 4.5 -> band of 5 (mild);
    # Python's round(4.5) would give 4 (minimal).
    definition = builtin("PHQ-9")
    result = score(definition, values(definition, [1, 1, 1, 1, 0, 0, 0, 0, None]))
    assert (result.total, result.band) == (Decimal("4.5"), "mild")


def test_phq9_three_missing_items_give_no_total():
    definition = builtin("PHQ-9")
    result = score(definition, values(definition, [3, 3, 3, 3, 3, 3, None, None, None]))
    assert (result.valid, result.total, result.band, result.prorated) == (False, None, None, False)
    assert result.missing == ("7", "8", "9")


def test_phq9_difficulty_question_is_stored_but_never_scored():
    definition = builtin("PHQ-9")
    answers = values(definition, [1] * 9) | {"difficulty": "LA6574-3"}
    result = score(definition, answers)
    assert (result.total, result.band) == (9, "mild")
    assert [item.link_id for item in definition.items][-1] == "difficulty"
    assert not definition.item("difficulty").scored


@pytest.mark.parametrize(
    ("entries", "valid", "total"),
    [([3, 3, 3, 3, 3, 3, None], True, Decimal(21)), ([3, 3, 3, 3, 3, None, None], False, None)],
)
def test_gad7_prorates_exactly_one_missing_item(entries, valid, total):
    definition = builtin("GAD-7")
    result = score(definition, values(definition, entries))
    assert (result.valid, result.total, result.prorated) == (valid, total, valid)


def test_every_result_names_the_scoring_version():
    definition = builtin("GAD-7")
    result = score(definition, values(definition, [0] * 7))
    assert result.version == "1.0.0"
    assert result.scoring_version
