"""A long course's pages read a bounded amount (issue 16 part 4): the guidance's inputs in a
few columns give the same protocol state as the records they come from, the overview lists
the latest sessions and charts the latest scores, each measure still judged against its
first score."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine

from openipt.accounts.models import Membership
from openipt.care import guidance, selectors
from openipt.measures import progress
from openipt.measures import selectors as measure_selectors
from openipt.measures.models import Administration, Instrument
from openipt.testing.personas import count_queries
from openipt.treatment.models import Course, Session

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
PAD = " " * (guidance.TEXT_HEAD + 10)  # more white space than the head that is read


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _course(personas, planned: int, fmt: str = "ipt") -> Course:
    alice = personas.alice
    return Course.objects.create(
        client=personas.dana,
        format=fmt,
        planned_sessions=planned,
        start_date=(NOW - dt.timedelta(days=7 * planned)).date(),
        status=Course.Status.ACTIVE,
        clinician=Membership.objects.get(user=alice),
        created_by=alice,
        updated_by=alice,
    )


def _session(personas, course: Course, number: int, **data) -> Session:
    data.setdefault("starts_at", NOW - dt.timedelta(days=7 * (course.planned_sessions - number)))
    data.setdefault("attendance", Session.Attendance.ATTENDED)
    return Session.objects.create(
        course=course, number=number, created_by=personas.alice, updated_by=personas.alice, **data
    )


def _score(course: Course, code: str, total, *, session=None, at=None) -> Administration:
    return Administration.objects.create(
        client=course.client,
        course=course,
        session=session,
        instrument=Instrument.objects.get(code=code, practice__isnull=True),
        mode=Administration.Mode.CLINICIAN_ENTERED,
        status=Administration.Status.COMPLETED,
        total=total,
        band="moderate",
        completed_at=at or session.starts_at,
    )


def test_the_light_read_gives_the_protocol_the_same_state(personas):
    course = _course(personas, 12)
    alice = personas.alice
    signed = {"signed_at": NOW - dt.timedelta(days=50), "signed_by": alice}
    _session(personas, course, 1, mood=5, events_since_last="Saw Sam", tasks_set="Call", **signed)
    _session(personas, course, 2, mood=5, events_since_last="  \n ", tasks_set=PAD + "Walk")
    _session(personas, course, 3, mood=4, events_since_last=PAD + "A quarrel", tasks_set=PAD)
    _session(personas, course, 4, mood=None, events_since_last="Nothing", attendees=["parent"])
    _session(personas, course, 5, attendees=["client", "parent"], techniques_used=["role_play"])
    _session(personas, course, 6, phase_override="middle", phase_override_reason="Ready", mood=3)
    _session(personas, course, 7, risk_check=Session.Risk.CONCERNS, attendees=["client"])
    _session(personas, course, 8, attendance=Session.Attendance.NO_SHOW, starts_at=NOW)
    first = _score(course, "PHQ-9", 19, session=Session.objects.get(course=course, number=1))
    _score(course, "PHQ-9", Decimal("12.9"), at=first.completed_at + dt.timedelta(days=3))
    _score(course, "GAD-7", 9, session=Session.objects.get(course=course, number=2))

    records = selectors.with_course_records(course)
    light = selectors.with_course_records(course, sessions=False)
    with count_queries() as queries:
        sessions = guidance.course_sessions(course)
    assert len(queries) == 2  # the columns, and the two notes that open with white space
    measures = guidance.depression_results(course)
    assert measures == measure_selectors.course_measure_results(records)
    assert guidance.course_state(light, sessions=sessions, measures=measures) == (
        guidance.course_state(records)
    )
    assert sessions.parent_sessions == (4, 5)
    assert [r.opening_review for r in sessions.records][:4] == [True, False, True, False]
    assert [r.tasks_set for r in sessions.records][:3] == [1, 1, 0]
    assert sessions.held == tuple(
        Session.objects.filter(course=course).values_list("number", "attendance", "starts_at")
    )


def test_a_draft_for_today_is_found_beyond_the_sessions_listed(personas):
    course = _course(personas, 30)
    signed = {"signed_at": NOW - dt.timedelta(days=1), "signed_by": personas.alice}
    for number in range(1, 31):
        today = number == 3  # a note misdated or moved: the list shows sessions 7 to 30
        _session(personas, course, number, **({"starts_at": NOW} if today else signed))
    overview = selectors.course_overview(personas.alice, course)
    assert [s.number for s, _phase in overview.sessions] == list(range(7, 31))
    assert overview.ending.today_session is not None
    assert overview.ending.today_session.number == 3
    assert (overview.sessions_total, overview.latest) == (30, 30)


def test_a_draft_for_today_among_the_sessions_listed(personas):
    course = _course(personas, 12)
    for number in range(1, 4):
        _session(personas, course, number, starts_at=NOW - dt.timedelta(days=7 * (3 - number)))
    overview = selectors.course_overview(personas.alice, course)
    assert overview.ending.today_session is not None
    assert overview.ending.today_session.number == 3


def _threshold_y(svg: str) -> str:
    found = re.search(r'<line x1="36" y1="([\d.]+)"[^>]*stroke-dasharray="6 4"', svg)
    assert found is not None
    return found.group(1)


def test_the_chart_of_a_long_course_shows_the_latest_sessions(personas):
    course = _course(personas, 80)
    sessions = {n: _session(personas, course, n) for n in range(1, 81)}
    _score(course, "GAD-7", 12, session=sessions[5])  # nothing since: not on the short chart
    for number, total in ((1, 20), (40, 15), (70, 19), (75, 18)):
        _score(course, "PHQ-9", total, session=sessions[number])
    _score(course, "PHQ-9", 17, at=sessions[71].starts_at + dt.timedelta(days=2))  # between

    full = progress.course_progress(course)
    with count_queries() as queries:
        short = progress.course_progress(course, latest_sessions=20)
    assert len(queries) == 3  # sessions, the window's scores and their instruments

    assert [p.code for p in full.instruments] == ["PHQ-9", "GAD-7"]
    assert [p.code for p in short.instruments] == ["PHQ-9"]
    whole, latest = full.instruments[0], short.instruments[0]
    assert [r.session for r in latest.rows] == [70, 71, 75]
    assert latest.summary.baseline == whole.summary.baseline == 20
    assert latest.summary.latest == whole.summary.latest == 18
    assert latest.off_track == whole.off_track
    # The reliable-change line is measured from the first score, not the first shown.
    assert _threshold_y(latest.chart) == _threshold_y(whole.chart)
    assert "3 scores from session 70 to 75" in latest.chart
    assert ">60</text>" in latest.chart
    assert ">59</text>" not in latest.chart

    marks = progress._phase_marks(course, 60, 80)
    assert marks
    assert marks == [m for m in progress._phase_marks(course) if m.session > 60]


def test_a_long_plan_with_few_sessions_yet_charts_from_the_start(personas):
    course = _course(personas, 200, fmt="ipt_m")
    first = _session(personas, course, 1, starts_at=NOW - dt.timedelta(days=14))
    for days in (3, 1):  # two scores before session 1
        _score(course, "PHQ-9", 14, at=first.starts_at - dt.timedelta(days=days))
    short = progress.course_progress(course, latest_sessions=52)
    assert [r.session for r in short.instruments[0].rows] == [0, 0]
    assert "2 scores from session 0 to 0" in short.instruments[0].chart
    assert ">50</text>" in short.instruments[0].chart  # the axis: the first 52 sessions
    assert ">60</text>" not in short.instruments[0].chart


def test_session_at_a_moment():
    at = progress._SessionAt([(2, NOW), (1, NOW - dt.timedelta(days=7))])
    assert at(None) == 0
    assert at(NOW - dt.timedelta(days=8)) == 0
    assert at(NOW - dt.timedelta(days=1)) == 1
    assert at(NOW) == 2
