"""Properties that must hold for every form, not just the published examples."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from openipt.measures.scoring import half_up, score
from openipt.measures.tests.helpers import FILES, builtin, epds

CODES = sorted(FILES)
ANY_CODE = st.sampled_from(CODES)
FAST = settings(max_examples=60, deadline=None)


@st.composite
def forms(draw, definition_source=ANY_CODE):
    """A form for any built-in or the EPDS-shaped import, with some answers possibly missing."""
    code = draw(definition_source)
    definition = epds() if code == "EPDS" else builtin(code)
    answers = {}
    for item in definition.scored_items:
        option = draw(st.one_of(st.none(), st.sampled_from(item.options)))
        answers[item.link_id] = None if option is None else option.code
    return definition, answers


@FAST
@given(forms(st.sampled_from([*CODES, "EPDS"])))
def test_totals_are_always_within_the_range_and_banded(form):
    definition, answers = form
    result = score(definition, answers)
    if result.valid:
        assert definition.range_min <= result.total <= definition.range_max
        assert result.band in {band.code for band in definition.bands}
    else:
        assert (result.total, result.band, result.prorated) == (None, None, False)


@FAST
@given(forms())
def test_prorating_never_invents_a_total_for_too_many_missing_items(form):
    definition, answers = form
    missing = sum(1 for code in answers.values() if code is None)
    result = score(definition, answers)
    allowed = definition.max_missing if definition.missing_rule == "prorate" else 0
    assert result.valid is (missing <= allowed)
    assert result.prorated is (result.valid and missing > 0)
    if result.prorated:
        assert result.total == result.total.quantize(Decimal("0.1"))


@FAST
@given(forms())
def test_critical_flags_do_not_depend_on_the_total(form):
    definition, answers = form
    result = score(definition, answers)
    for critical in definition.critical_items:
        code = answers.get(critical.link_id)
        option = definition.item(critical.link_id).option_for_code(code) if code else None
        raised = option is not None and option.weight >= critical.threshold
        assert (critical.flag in result.flags) is raised


@FAST
@given(st.lists(st.integers(min_value=0, max_value=3), min_size=10, max_size=10))
def test_reverse_keying_turns_box_positions_into_published_weights(positions):
    definition = epds()
    answers = {
        item.link_id: item.options[position].code
        for item, position in zip(definition.scored_items, positions, strict=True)
    }
    expected = sum(
        3 - position if item.reverse_keyed else position
        for item, position in zip(definition.scored_items, positions, strict=True)
    )
    assert score(definition, answers).total == expected


@FAST
@given(st.integers(min_value=0, max_value=270))
def test_half_up_rounds_halves_away_from_even(tenths):
    value = Decimal(tenths) / 10
    assert half_up(value) == int(value + Decimal("0.5"))
