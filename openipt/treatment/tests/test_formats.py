"""IPT formats and phase splits (docs/ipt.md §2, §9 rule 1, §10)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openipt.treatment.formats import (
    DISPUTE_STAGE_LABELS,
    FORMATS,
    PHASE_LABELS,
    PHASE_ORDER,
    PROBLEM_AREA_LABELS,
    VERSION,
    Basis,
    DisputeStage,
    FormatCode,
    Phase,
    ProblemArea,
    get_format,
    phase_for_session,
    phase_split,
)


def phases(code: str, n: int) -> str:
    """Phase letters for sessions 1..N, e.g. 'iiimmmmmmttt'."""
    fmt = get_format(code)
    return "".join(phase_for_session(fmt, s, n).value[0] for s in range(1, n + 1))


@pytest.mark.parametrize(
    ("code", "n", "expected"),
    [
        # Individual IPT: 1-3 (Firm), 4..N-3, last 3.
        ("ipt", 8, "iiimmttt"),
        ("ipt", 12, "iiimmmmmmttt"),
        ("ipt", 16, "iiimmmmmmmmmmttt"),
        ("ipt", 1, "i"),
        ("ipt", 2, "it"),
        ("ipt", 3, "imt"),
        ("ipt", 6, "iiimtt"),
        # Brief IPT: 1-2 (Firm), 3..N-2, last 2.
        ("ipt_b", 8, "iimmmmtt"),
        ("ipt_b", 12, "iimmmmmmmmtt"),
        ("ipt_b", 16, "iimmmmmmmmmmmmtt"),
        ("ipt_b", 4, "iimt"),
        # IPT-A: 1-4 / 5-8 / 9-12, scaled to N, never more than 4 initial sessions.
        ("ipt_a", 8, "iiimmttt"),
        ("ipt_a", 12, "iiiimmmmtttt"),
        ("ipt_a", 16, "iiiimmmmmmmmtttt"),
        ("ipt_a", 2, "it"),
        # Group IPT: group session 1 (after the pre-group session) / 2..N-1 / N.
        ("ipt_g", 8, "immmmmmt"),
        ("ipt_g", 12, "immmmmmmmmmt"),
        ("ipt_g", 16, "immmmmmmmmmmmmmt"),
        # IPC: 1 / 2..N-1 / N.
        ("ipc", 8, "immmmmmt"),
        ("ipc", 12, "immmmmmmmmmt"),
        ("ipc", 16, "immmmmmmmmmmmmmt"),
        ("ipc", 3, "imt"),
        ("ipc", 1, "i"),
        # Maintenance: always middle.
        ("ipt_m", 8, "m" * 8),
        ("ipt_m", 12, "m" * 12),
        ("ipt_m", 16, "m" * 16),
    ],
)
def test_phase_tables(code, n, expected):
    assert phases(code, n) == expected


@pytest.mark.parametrize("code", ["ipt_g", "ipt_b"])
def test_pre_contract_session_zero_is_initial(code):
    # Group IPT's pre-group session and Brief IPT's engagement session are numbered 0.
    assert phase_for_session(get_format(code), 0, 8) is Phase.INITIAL


def test_sessions_beyond_n_stay_in_termination():
    assert phase_for_session(get_format("ipt"), 14, 12) is Phase.TERMINATION
    assert phase_for_session(get_format("ipt_m"), 40, 12) is Phase.MIDDLE


def test_nonpositive_n_is_treated_as_one():
    assert phase_for_session(get_format("ipt"), 1, 0) is Phase.INITIAL
    assert phase_split(get_format("ipt"), -3) == (1, 1)


@pytest.mark.parametrize(
    ("code", "initial_max", "term_lead", "measure_gap", "acute"),
    [
        ("ipt", 3, 2, 4, True),
        ("ipt_b", 2, 2, 4, True),
        ("ipt_a", 4, 2, 4, True),
        ("ipt_g", 1, 2, None, True),
        ("ipc", 1, 1, 1, True),
        ("ipt_m", 0, 0, 1, False),
    ],
)
def test_rule_parameters_match_ipt_md(code, initial_max, term_lead, measure_gap, acute):
    fmt = get_format(code)
    assert (fmt.initial_max, fmt.term_lead, fmt.measure_gap, fmt.acute) == (
        initial_max,
        term_lead,
        measure_gap,
        acute,
    )
    assert fmt.allows(fmt.default_sessions)


def test_only_ipt_a_involves_parents_and_only_ipt_g_is_a_group():
    assert [f.code for f in FORMATS.values() if f.parent_involvement] == [FormatCode.IPT_A]
    assert [f.code for f in FORMATS.values() if f.group] == [FormatCode.IPT_G]
    assert get_format("ipt_m").frequency == "monthly"


def test_basis_and_range():
    ipt = get_format("ipt")
    assert ipt.basis_of("initial_max") is Basis.FIRM
    assert ipt.basis_of("sessions") is Basis.CONVENTION
    assert ipt.basis_of("anything else") is Basis.DEFAULT
    assert ipt.allows(12)
    assert ipt.allows(16)
    assert not ipt.allows(20)
    assert not ipt.allows(8)


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="ipt_x"):
        get_format("ipt_x")


def test_labels_have_clinical_and_plain_language_words():
    assert PHASE_LABELS[Phase.INITIAL].lay == "Getting started"
    assert PHASE_LABELS[Phase.MIDDLE].lay == "Working on it"
    assert PHASE_LABELS[Phase.TERMINATION].lay == "Finishing well"
    assert PROBLEM_AREA_LABELS[ProblemArea.ROLE_DISPUTE].lay == "Disagreements"
    assert PROBLEM_AREA_LABELS[ProblemArea.INTERPERSONAL_DEFICITS].lay == "Loneliness and isolation"
    assert [DISPUTE_STAGE_LABELS[s].lay for s in DisputeStage] == [
        "Still talking",
        "Stuck",
        "Ending",
    ]
    for labels in (PHASE_LABELS, PROBLEM_AREA_LABELS, DISPUTE_STAGE_LABELS):
        assert all(label.clinical and label.lay for label in labels.values())
    assert all(f.label.clinical and f.label.lay for f in FORMATS.values())
    assert VERSION


formats_st = st.sampled_from(list(FORMATS.values()))


@given(fmt=formats_st, n=st.integers(-2, 60))
def test_phases_never_go_back(fmt, n):
    order = [PHASE_ORDER[phase_for_session(fmt, s, n)] for s in range(-2, n + 4)]
    assert order == sorted(order)


@given(fmt=formats_st, n=st.integers(-2, 60))
def test_initial_phase_never_exceeds_initial_max(fmt, n):
    initial = [s for s in range(1, n + 4) if phase_for_session(fmt, s, n) is Phase.INITIAL]
    assert len(initial) <= fmt.initial_max


@given(fmt=formats_st, n=st.integers(1, 60))
def test_every_acute_course_starts_initial_and_ends_in_termination(fmt, n):
    if fmt.acute:
        assert phase_for_session(fmt, 1, n) is Phase.INITIAL
        if n >= 2:
            assert phase_for_session(fmt, n, n) is Phase.TERMINATION
        if n >= 3:
            assert Phase.MIDDLE in {phase_for_session(fmt, s, n) for s in range(1, n + 1)}


def test_maintenance_split_has_no_initial_or_termination_phase():
    assert phase_split(get_format("ipt_m"), 12) == (0, 0)
