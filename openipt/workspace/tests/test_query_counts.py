"""Query counts that do not grow with the data (issue 16 part 6, docs/quality.md P1): a
course's pages (the overview with its chart, a session, the scores page) at 12 and at 1,000
sessions, and the client list, a name search and the home page at 1 and at 50 clients."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from openipt.accounts.models import Membership
from openipt.clients.tests.helpers import bulk_clients
from openipt.measures.models import Administration, Instrument
from openipt.scheduling.models import Appointment
from openipt.testing.personas import count_queries
from openipt.treatment.models import Course, Session

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _course(personas, sessions: int, *, client=None) -> Course:
    """A maintenance course of ``sessions`` weekly sessions up to last week, all held and
    signed but the latest, with a PHQ-9 at every other session: made in bulk, for speed."""
    alice = personas.alice
    start = NOW - dt.timedelta(days=7 * sessions)
    course = Course.objects.create(
        client=client or personas.dana,
        format="ipt_m",
        planned_sessions=sessions,
        start_date=start.date(),
        status=Course.Status.ACTIVE,
        clinician=Membership.objects.get(user=alice),
        created_by=alice,
        updated_by=alice,
    )
    made = Session.objects.bulk_create(
        Session(
            course=course,
            number=n,
            starts_at=start + dt.timedelta(days=7 * (n - 1)),
            attendance=Session.Attendance.ATTENDED,
            attendees=["client"],
            mood=6,
            events_since_last="Saw a friend.",
            tasks_set="Call Sam.",
            risk_check=Session.Risk.NO_CONCERNS,
            signed_at=None if n == sessions else start + dt.timedelta(days=7 * (n - 1), hours=2),
            signed_by=None if n == sessions else alice,
            created_by=alice,
            updated_by=alice,
        )
        for n in range(1, sessions + 1)
    )
    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    Administration.objects.bulk_create(
        Administration(
            client=course.client,
            course=course,
            session=session,
            instrument=phq9,
            mode=Administration.Mode.CLINICIAN_ENTERED,
            status=Administration.Status.COMPLETED,
            total=18 - session.number % 7,
            band="moderate",
            completed_at=session.starts_at,
        )
        for session in made
        if session.number % 2
    )
    return course


def _same_count(client, short: str, long: str) -> tuple[str, str]:
    """Both pages answer, each at the same number of queries (each fetched once before, to
    warm the session and the caches)."""
    pages = []
    counts = []
    for path in (short, long):
        assert client.get(path).status_code == 200
        with count_queries() as queries:
            response = client.get(path)
        assert response.status_code == 200
        pages.append(response.text)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 40  # a page, not a report
    return pages[0], pages[1]


@pytest.fixture
def courses(personas):
    return _course(personas, 12), _course(personas, 1000)


def test_course_overview_at_12_and_1000_sessions(alice_client, courses):
    short, long = courses
    page_12, page_1000 = _same_count(
        alice_client,
        reverse("treatment:course-detail", args=[short.uuid]),
        reverse("treatment:course-detail", args=[long.uuid]),
    )
    assert "Showing the latest" not in page_12
    assert "Showing the latest 24 of 1000 sessions." in page_1000
    assert "6 scores from session 1 to 11" in page_12
    # The chart and its table: the latest 52 sessions, against the course's first score.
    assert "26 scores from session 949 to 999" in page_1000
    assert "<td>947</td>" not in page_1000
    assert "<td>949</td>" in page_1000


def test_all_sessions_of_a_long_course_at_the_same_count(alice_client, courses):
    short, long = courses
    _page, page_all = _same_count(
        alice_client,
        reverse("treatment:course-detail", args=[short.uuid]) + "?sessions=all",
        reverse("treatment:course-detail", args=[long.uuid]) + "?sessions=all",
    )
    assert page_all.count('href="/courses/') > 1000
    assert "Showing the latest" not in page_all


def test_session_page_at_12_and_1000_sessions(alice_client, courses):
    short, long = courses
    latest = [Session.objects.get(course=c, number=c.planned_sessions) for c in courses]
    page_12, page_1000 = _same_count(
        alice_client,
        reverse("treatment:session-detail", args=[short.uuid, latest[0].uuid]),
        reverse("treatment:session-detail", args=[long.uuid, latest[1].uuid]),
    )
    assert "Session 12" in page_12
    assert "Session 1000" in page_1000


def test_scores_page_at_12_and_1000_sessions(alice_client, courses):
    short, long = courses
    _page_12, page_1000 = _same_count(
        alice_client,
        reverse("measures:course-measures", args=[short.uuid]),
        reverse("measures:course-measures", args=[long.uuid]),
    )
    assert "500 scores from session 1 to 999" in page_1000  # this page charts them all


def test_marking_a_task_in_place_at_12_and_1000_sessions(alice_client, courses):
    counts = []
    for course in courses:
        with count_queries() as queries:
            response = alice_client.post(
                reverse("treatment:task-mark", args=[course.uuid]),
                {"task_code": "mid.techniques", "status": "done"},
                HTTP_HX_REQUEST="true",
            )
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<div id="course-guidance">')
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# --- lists at 1 and at 50 clients -----------------------------------------------------------


def _clients(personas, count: int, family: str) -> None:
    """``count`` clients of Alice, each with an open course of two sessions and a session
    booked for this afternoon (on her calendar, the clinician's home page)."""
    member = Membership.objects.get(user=personas.alice)
    for client in bulk_clients(personas.alice, count, family=family):
        course = _course(personas, 2, client=client)
        Appointment.objects.create(
            practice_id=client.practice_id,
            client=client,
            clinician=member,
            course=course,
            starts_at=NOW + dt.timedelta(hours=5),
            ends_at=NOW + dt.timedelta(hours=5, minutes=50),
            status=Appointment.Status.BOOKED,
            created_by=personas.alice,
            updated_by=personas.alice,
        )


@pytest.mark.parametrize(
    ("name", "query"), [("clients:list", ""), ("clients:list", "?q=many"), ("core:home", "")]
)
def test_lists_at_1_and_50_clients(alice_client, personas, settings, name, query):
    settings.OPENIPT_CLIENTS_PER_PAGE = 50
    path = reverse(name) + query
    _clients(personas, 1, "Many")
    alice_client.get(path)
    with count_queries() as one:
        page = alice_client.get(path).text
    assert "Client0" in page
    assert "Client1" not in page
    _clients(personas, 49, "Manymore")
    with count_queries() as fifty:
        page = alice_client.get(path).text
    assert "Client48" in page  # the rows of the second batch are on the page too
    assert len(one) == len(fifty)
