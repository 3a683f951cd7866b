"""Hypothesis properties of the protocol engine (docs/ipt.md §9: advises, never raises)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from openipt.treatment.formats import DisputeStage, FormatCode, Phase, ProblemArea
from openipt.treatment.protocol import (
    TASKS,
    Attendance,
    ContractVersion,
    CourseState,
    CourseStatus,
    Formulation,
    Inventory,
    MarkStatus,
    MeasureResult,
    NextStep,
    ProblemAreaRecord,
    SessionRecord,
    Severity,
    TaskMark,
    Termination,
    Timeline,
    evaluate,
    mark,
)

START = date(2025, 1, 6)
dates = st.one_of(st.none(), st.integers(-30, 200).map(lambda d: START + timedelta(days=d)))
numbers = st.integers(-1, 20)
text = st.sampled_from(["", " ", "a reason"])
CODES = [t.code for t in TASKS] + ["phase.initial_max", "term.incomplete", "contract.renegotiation"]

sessions = st.builds(
    SessionRecord,
    number=numbers,
    on=dates,
    attendance=st.sampled_from(list(Attendance)),
    phase_override=st.one_of(st.none(), st.sampled_from(list(Phase))),
    override_reason=text,
    opening_review=st.booleans(),
    signed=st.booleans(),
)
states = st.builds(
    CourseState,
    format=st.sampled_from(list(FormatCode)),
    planned_sessions=st.integers(-1, 20),
    status=st.sampled_from(list(CourseStatus)),
    contracts=st.lists(
        st.builds(
            ContractVersion,
            planned_sessions=st.integers(-1, 20),
            frequency=st.sampled_from(["", "weekly"]),
            focus=st.lists(st.sampled_from(list(ProblemArea)), max_size=3).map(tuple),
            agreed_on=dates,
            client_agreed=st.booleans(),
            reason=text,
        ),
        max_size=3,
    ).map(tuple),
    sessions=st.lists(sessions, max_size=14).map(tuple),
    inventory=st.builds(Inventory, people=st.integers(0, 3), in_circle=st.integers(0, 3)),
    timeline=st.builds(Timeline, events=st.integers(0, 3), onset_marked=st.booleans()),
    problem_areas=st.lists(
        st.builds(
            ProblemAreaRecord,
            area=st.sampled_from(list(ProblemArea)),
            focus=st.booleans(),
            primary=st.booleans(),
            evidence=st.booleans(),
            deficits_rationale=text,
            dispute_person_linked=st.booleans(),
            dispute_stage=st.one_of(st.none(), st.sampled_from(list(DisputeStage))),
        ),
        max_size=4,
    ).map(tuple),
    formulation=st.builds(Formulation, st.booleans(), dates, st.booleans(), dates),
    measures=st.lists(
        st.builds(
            MeasureResult,
            instrument=st.sampled_from(["PHQ-9", "HAM-D"]),
            total=st.one_of(st.integers(0, 27), st.floats(0, 52, allow_nan=False)),
            on=dates,
            session_number=st.one_of(st.none(), numbers),
        ),
        max_size=8,
    ).map(tuple),
    termination=st.builds(
        Termination,
        raised_at_session=st.one_of(st.none(), numbers),
        gains_reviewed=st.booleans(),
        warning_signs=st.booleans(),
        relapse_plan=st.booleans(),
        final_measure=st.booleans(),
        next_step=st.one_of(st.none(), st.sampled_from(list(NextStep))),
        next_step_reason=text,
    ),
    medication_decision_recorded=st.booleans(),
    parent_sessions=st.lists(numbers, max_size=3).map(tuple),
    marks=st.lists(
        st.builds(
            TaskMark,
            code=st.sampled_from(CODES),
            status=st.sampled_from(list(MarkStatus)),
            session=st.one_of(st.none(), numbers),
            until_session=st.one_of(st.none(), numbers),
        ),
        max_size=3,
    ).map(tuple),
)
days = st.integers(0, 200).map(lambda d: START + timedelta(days=d))


@settings(max_examples=50, deadline=None)
@given(state=states, today=days)
def test_evaluate_never_raises_and_items_are_well_formed(state, today):
    guidance = evaluate(state, today=today)
    for item in guidance.items:
        assert item.rule is None or 1 <= item.rule <= 17
        assert item.reason
        assert "%(" not in item.reason
    assert all(i.severity in (Severity.DUE, Severity.OVERDUE) for i in guidance.due)
    assert all(i.severity in (Severity.WARNING, Severity.NOTICE) for i in guidance.warnings)


@settings(max_examples=50, deadline=None)
@given(state=states, today=days, status=st.sampled_from(list(MarkStatus)), data=st.data())
def test_marking_an_item_removes_it(state, today, status, data):
    items = evaluate(state, today=today).items
    if not items:
        return
    item = data.draw(st.sampled_from(items))
    after = evaluate(mark(state, item.code, status, item.session), today=today)
    assert (item.code, item.session) not in {(i.code, i.session) for i in after.items}
