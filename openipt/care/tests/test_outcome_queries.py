"""The dashboard runs the same number of queries for 5 courses as for 50 (aggregates in the
database, scores fetched once as plain rows)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from openipt.care import outcomes
from openipt.care.tests.outcome_fixture import ENDED, PERIOD, membership, score
from openipt.testing.personas import make_client, query_count
from openipt.treatment.models import Course
from openipt.treatment.tests.factories import make_course, make_session

pytestmark = pytest.mark.django_db


def add_courses(personas, count, start):
    alice = personas.alice
    for i in range(start, start + count):
        client = make_client(personas.practice, alice, given=f"Q{i}", family="Count")
        course = make_course(alice, client, format="ipt" if i % 2 else "ipt_b")
        make_session(alice, course, 1)
        make_session(alice, course, 2, attendance="no_show" if i % 3 == 0 else "attended")
        score(alice, course, "PHQ-9", 12 + i % 8, 1, course.start_date)
        score(alice, course, "PHQ-9", i % 10, 2, course.start_date)
        if i % 2:
            score(alice, course, "GAD-7", 10, 1, course.start_date)
            score(alice, course, "GAD-7", 3, 2, course.start_date)
    Course.objects.filter(client__legal_family_name="Count").update(
        status=Course.Status.CONCLUDED, ended_on=ENDED
    )


def dashboard_queries(personas, group_by):
    member = membership(personas.bob)
    clinicians = outcomes.outcome_clinicians(member)
    filters = outcomes.OutcomeFilters(PERIOD[0], PERIOD[1], group_by=group_by)
    board = None

    def build():
        nonlocal board
        board = outcomes.practice_outcomes(member, filters, clinicians=clinicians)

    count = query_count(build)
    return count, board


@pytest.mark.parametrize("group_by", outcomes.GROUPINGS)
def test_query_count_is_the_same_for_5_and_50_courses(personas, group_by):
    add_courses(personas, 5, 0)
    few, board = dashboard_queries(personas, group_by)
    assert board.measures[0].paired == 5
    add_courses(personas, 45, 5)
    many, board = dashboard_queries(personas, group_by)
    assert board.measures[0].paired == 50
    assert many == few
    assert few <= 7


def test_page_query_count_is_the_same_for_5_and_50_courses(client, personas):
    client.force_login(personas.adam)
    url = reverse("outcomes:dashboard") + f"?date_from={PERIOD[0]}&date_to={PERIOD[1]}"
    add_courses(personas, 5, 0)
    few = query_count(lambda: client.get(url))
    add_courses(personas, 45, 5)
    many = query_count(lambda: client.get(url))
    assert many == few
