"""docs/quality.md P1: the caseload and the course overview cost the same number of queries
whatever their size."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from openipt.testing.personas import count_queries, make_client
from openipt.treatment import services
from openipt.treatment.models import Course, InventoryPerson, Session
from openipt.treatment.tests.factories import (
    START,
    make_course,
    make_person,
    make_session,
    session_at,
)


def _fill(alice, course, n):
    for i in range(1, n + 1):
        make_session(alice, course, i, mood=5, events_since_last="Saw friends")
        make_person(alice, course, f"Person {i}", 1 + i % 3)
        services.timeline_event_create(
            actor=alice,
            course=course,
            data=services.TimelineEventData(
                date=START - dt.timedelta(days=30 * i),
                kind="other",
                description=f"E{i}",
                mood=i % 10,
            ),
        )
        goal = services.goal_create(
            actor=alice, course=course, data=services.GoalData(text=f"Goal {i}")
        )
        services.goal_rate(actor=alice, goal=goal, rating=i % 10, rated_on=START)


def _queries(client, url):
    with count_queries() as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_overview_query_count_is_independent_of_size(alice_client, personas):
    small = make_course(personas.alice, personas.dana)
    _fill(personas.alice, small, 1)
    big = make_course(personas.alice, personas.dana)
    _fill(personas.alice, big, 10)
    services.problem_area_create(
        actor=personas.alice,
        course=big,
        area="grief",
        data=services.ProblemAreaData(is_primary=True),
    )
    services.problem_area_create(
        actor=personas.alice,
        course=small,
        area="grief",
        data=services.ProblemAreaData(is_primary=True),
    )
    url = lambda c: reverse("treatment:course-detail", args=[c.uuid])  # noqa: E731
    _queries(alice_client, url(small))  # warm per-session caches
    assert _queries(alice_client, url(small)) == _queries(alice_client, url(big))


def test_caseload_query_count_is_the_same_for_1_and_50_courses(alice_client, personas):
    url = reverse("treatment:caseload")
    course = make_course(personas.alice, personas.dana)
    make_session(personas.alice, course, 1)
    _queries(alice_client, url)
    one = _queries(alice_client, url)
    # Rows straight through the ORM: this test is about reading, and 49 audited writes are slow.
    alice = personas.alice
    for i in range(49):
        client = make_client(personas.practice, alice, given=f"C{i}", family="Load")
        other = Course.objects.create(
            client=client,
            format="ipt",
            planned_sessions=12,
            start_date=START,
            clinician=course.clinician,
            created_by=alice,
            updated_by=alice,
        )
        Session.objects.create(
            course=other, number=1, starts_at=session_at(1), created_by=alice, updated_by=alice
        )
        InventoryPerson.objects.create(course=other, name="Sam", created_by=alice, updated_by=alice)
    # Writes past the services keep no summary row: rebuild them, as the bench seed does.
    from openipt.measures.summary import summaries_rebuild

    summaries_rebuild()
    page = alice_client.get(url).content.decode()
    assert page.count("Load</a>") == 49
    assert _queries(alice_client, url) == one
