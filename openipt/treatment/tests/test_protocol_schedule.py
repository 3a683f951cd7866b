"""The measurement schedule a practice may choose (PHQ-9 and GAD-7 at least every fourth
session): a state that breaks it and one that keeps it, as for the §9 rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from openipt.treatment.protocol import (
    CourseState,
    CourseStatus,
    MeasureResult,
    SessionRecord,
    Severity,
    evaluate,
)
from openipt.treatment.tests.test_protocol_rules import day, found, good_state


def scheduled(held: int, gad7_at: tuple[int, ...], every: int | None = 4) -> CourseState:
    """A course kept by the book (a PHQ-9 every session) with GAD-7s at ``gad7_at``."""
    return replace(
        good_state("ipt", 12, held),
        measure_every=every,
        anxiety_measures=tuple(MeasureResult("GAD-7", 9, day(s), s) for s in gad7_at),
    )


def test_without_a_schedule_gad7_is_never_asked_for():
    assert found(scheduled(6, (), every=None), "schedule.GAD-7") == []


def test_due_once_three_sessions_have_passed_since_the_last_one():
    assert found(scheduled(3, (1,)), "schedule.GAD-7") == []
    assert found(scheduled(4, (1,)), "schedule.GAD-7") == [(Severity.DUE, 5)]
    assert found(scheduled(5, (1,)), "schedule.GAD-7") == [(Severity.OVERDUE, 5)]
    assert found(scheduled(8, (1, 5)), "schedule.GAD-7") == [(Severity.DUE, 9)]


def test_a_course_with_none_yet_counts_from_its_start():
    assert found(scheduled(2, ()), "schedule.GAD-7") == []
    assert found(scheduled(3, ()), "schedule.GAD-7") == [(Severity.DUE, 4)]
    assert found(scheduled(4, ()), "schedule.GAD-7") == [(Severity.OVERDUE, 4)]


def test_phq9_kept_every_session_is_quiet_and_a_gap_is_flagged():
    assert found(scheduled(8, (1, 5)), "schedule.PHQ-9") == []
    state = scheduled(8, (1, 5))
    sparse = replace(state, measures=(MeasureResult("PHQ-9", 18, day(1), 1),))
    assert found(sparse, "schedule.PHQ-9") == [(Severity.OVERDUE, 5)]


def test_a_questionnaire_filled_in_before_the_session_counts_for_it():
    state = scheduled(4, (1,))
    early = MeasureResult("GAD-7", 7, day(5) - timedelta(days=1))
    upcoming = SessionRecord(5, day(5))
    ready = replace(
        state,
        sessions=(*state.sessions, upcoming),
        anxiety_measures=(*state.anxiety_measures, early),
    )
    assert found(ready, "schedule.GAD-7") == []


def test_a_closed_course_is_not_asked_for_more_measures():
    closed = replace(scheduled(10, (1,)), status=CourseStatus.CONCLUDED)
    assert found(closed, "schedule.GAD-7") == []


def test_the_reason_names_the_instrument():
    state = scheduled(5, (1,))
    (item,) = [i for i in evaluate(state, today=day(5) + timedelta(days=1)).items
               if i.code == "schedule.GAD-7"]  # fmt: skip
    assert item.reason == (
        "No GAD-7 since session 1; the measurement schedule asked for one by session 5."
    )
