"""A completed questionnaire updates the course's summary row (docs/adr/0025-course-summary.md)
by appending its total when it is the course's newest, without reading the course's other
scores; anything else recomputes the scores part. Either way the row equals a fresh
computation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openipt.measures import services
from openipt.measures.models import Instrument
from openipt.measures.scoring import answers_from_entries
from openipt.measures.summary import differences, fresh_summary
from openipt.treatment.models import CourseSummary
from openipt.treatment.tests.factories import make_course

pytestmark = pytest.mark.django_db


def _enter(personas, course, code: str, digits: str, *, on: dt.date | None = None):
    instrument = Instrument.objects.get(code=code, practice__isnull=True)
    answers = answers_from_entries(instrument.parsed, [int(c) for c in digits])
    return services.administration_enter(
        actor=personas.alice, course=course, instrument=instrument, answers=answers,
        completed_on=on,
    )  # fmt: skip


def _matches(course) -> list[str]:
    return differences(CourseSummary.objects.get(course=course), fresh_summary(course.pk))


def _summary_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "treatment_coursesummary" in q["sql"]]


def test_the_newest_score_is_appended_without_reading_the_others(personas):
    course = make_course(personas.alice, personas.dana)
    today = timezone.localdate()
    for days in (30, 20, 10):
        _enter(personas, course, "PHQ-9", "222222000", on=today - dt.timedelta(days=days))
    with CaptureQueriesContext(connection) as queries:
        _enter(personas, course, "PHQ-9", "111111000")
    assert not [q for q in queries if 'FROM "measures_administration"' in q["sql"]]
    assert len(_summary_queries(queries)) == 2  # the row read (locked) and written
    assert _matches(course) == []
    stored = CourseSummary.objects.get(course=course).measures
    assert [entry[1] for entry in stored["depression"]] == [12.0, 12.0, 12.0, 6.0]


def test_an_earlier_score_recomputes_the_list_in_order(personas):
    course = make_course(personas.alice, personas.dana)
    today = timezone.localdate()
    _enter(personas, course, "PHQ-9", "333333000", on=today)
    _enter(personas, course, "PHQ-9", "111111000", on=today - dt.timedelta(days=14))
    assert _matches(course) == []
    stored = CourseSummary.objects.get(course=course).measures
    assert [entry[1] for entry in stored["depression"]] == [6.0, 18.0]


def test_anxiety_scores_go_to_their_own_list_and_other_measures_change_nothing(personas):
    course = make_course(personas.alice, personas.dana)
    _enter(personas, course, "GAD-7", "1111111")
    assert _matches(course) == []
    assert len(CourseSummary.objects.get(course=course).measures["anxiety"]) == 1
    with CaptureQueriesContext(connection) as queries:
        _enter(personas, course, "WHO-5", "33333")
    assert _summary_queries(queries) == []
    assert _matches(course) == []


def test_a_course_without_a_row_gets_one(personas):
    course = make_course(personas.alice, personas.dana)
    CourseSummary.objects.filter(course=course).delete()
    _enter(personas, course, "PHQ-9", "111111000")
    assert _matches(course) == []


def test_entries_in_one_session_share_its_time_and_are_appended_in_order(personas):
    """Two PHQ-9s entered in the same session take the session's time: the second is the
    newer (created later) and is appended after the first."""
    from openipt.treatment.tests.factories import make_session

    course = make_course(personas.alice, personas.dana)
    session = make_session(personas.alice, course, 1)
    instrument = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    for digits in ("333333000", "111111000"):
        services.administration_enter(
            actor=personas.alice, course=course, instrument=instrument, session=session,
            answers=answers_from_entries(instrument.parsed, [int(c) for c in digits]),
        )  # fmt: skip
    assert _matches(course) == []
    stored = CourseSummary.objects.get(course=course).measures["depression"]
    assert [entry[1] for entry in stored] == [18.0, 6.0]
    assert stored[0][2] == stored[1][2]


def test_a_stored_score_without_a_time_is_recomputed(personas):
    course = make_course(personas.alice, personas.dana)
    _enter(personas, course, "PHQ-9", "333333000")
    row = CourseSummary.objects.get(course=course)
    row.measures["depression"][0][2] = None
    row.save(update_fields=["measures"])
    _enter(personas, course, "PHQ-9", "111111000")
    assert _matches(course) == []
