"""Issue 9 part 6: the course overview built around the next action. One list (the due
items merged with the phase's tasks, repeats folded), plain words instead of rule numbers,
the primary action at the top, one phase vocabulary, and a flat query count."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from openipt.scheduling import services as scheduling
from openipt.testing.personas import count_queries
from openipt.treatment import services
from openipt.treatment.tests.factories import make_course, make_session, session_at


@pytest.fixture
def course(personas):
    return make_course(personas.alice, personas.dana, planned_sessions=12)


def _overview(client, course) -> str:
    response = client.get(reverse("treatment:course-detail", args=[course.uuid]))
    assert response.status_code == 200
    return str(response.content.decode())


def _contract(alice, course, n=12):
    services.contract_record(
        actor=alice,
        course=course,
        data=services.ContractData(
            planned_sessions=n,
            frequency="weekly",
            agreed_on=course.start_date,
            focus_areas=("grief",),
        ),
    )


def _visible_text(page: str) -> str:
    """The page without the contents of <details> elements (what shows before a click)."""
    return re.sub(r"<details.*?</details>", "", page, flags=re.S)


def test_the_primary_action_comes_first_and_names_the_session(alice_client, personas, course):
    for n in (1, 2, 3):
        make_session(personas.alice, course, n, mood=5, events_since_last="Saw Sam")
    page = _overview(alice_client, course)
    action = page.index("Record session 4")
    assert action < page.index("What is due next") < page.index('id="sessions-heading"')
    assert page.index("Record session 4") < page.index("Edit course details")
    assert "Start an IPT course" not in page


def test_repeated_missing_opening_reviews_are_one_line(alice_client, personas, course):
    _contract(personas.alice, course)
    for n in range(1, 9):
        review = {} if n in (4, 5, 7) else {"mood": 5, "events_since_last": "Saw Sam"}
        make_session(personas.alice, course, n, **review)
    page = _overview(alice_client, course)
    assert "3 session notes have no opening review: sessions 4, 5, 7." in page
    assert "The note for session 4 has no opening review." not in page
    assert page.count("no opening review") == 1


def test_rule_numbers_only_inside_the_details(alice_client, course):
    page = _overview(alice_client, course)
    assert "protocol rule" not in _visible_text(page)
    assert "A baseline depression score is taken at or before the first session." in page
    assert "Tasks of this phase" not in page  # no second list of the same tasks


def test_one_phase_vocabulary_in_header_and_cards(alice_client, personas, course):
    page = _overview(alice_client, course)
    assert "Session 0 of 12 · Getting started" in page
    assert "Assessment" not in _visible_text(page)
    for n in range(1, 5):
        make_session(personas.alice, course, n, mood=5, events_since_last="Saw Sam")
    page = _overview(alice_client, course)
    assert "Session 4 of 12 · Working on it" in page
    assert "Middle phase (Working on it)" not in page
    inventory = alice_client.get(reverse("treatment:inventory", args=[course.uuid]))
    assert "Working on it" in inventory.content.decode()


def test_the_contracts_unbooked_sessions_link_to_booking(alice_client, personas, course):
    series = reverse("scheduling:series", args=[course.uuid])
    assert f'href="{series}"' not in _overview(alice_client, course)  # no contract yet
    _contract(personas.alice, course)
    assert f'href="{series}"' in _overview(alice_client, course)


def test_todays_appointment_asks_for_the_note(alice_client, personas, course):
    soon = timezone.now() + dt.timedelta(minutes=5)
    if timezone.localdate(soon) != timezone.localdate():
        pytest.skip("too close to midnight for an appointment later today")
    scheduling.appointment_book(
        actor=personas.alice,
        client=personas.dana,
        clinician=personas.membership(personas.alice),
        starts_at=soon,
        course=course,
    )
    page = _overview(alice_client, course)
    assert "Write the note for today's session" in page
    assert "Record session 1" not in page


def test_todays_draft_note_is_the_action(alice_client, personas, course):
    now = timezone.now()
    session = make_session(personas.alice, course, 1, starts_at=now)
    page = _overview(alice_client, course)
    edit = reverse("treatment:session-update", args=[course.uuid, session.uuid])
    assert f'href="{edit}"' in page
    assert "Write the note for today's session" in page


def test_after_the_last_session_the_ending_is_the_action(alice_client, personas, course):
    course.planned_sessions = 2
    course.save()
    for n in (1, 2):
        make_session(personas.alice, course, n, starts_at=session_at(n))
    page = _overview(alice_client, course)
    assert "Record the ending" in page
    assert "Record session 3" not in page


def test_a_bob_read_only_overview_offers_no_action(client, personas, course):
    client.force_login(personas.bob)
    page = _overview(client, course)
    assert "Record session 1" not in page
    assert "What is due next" in page


def test_start_page_points_to_the_open_course(alice_client, personas, course):
    page = alice_client.get(reverse("treatment:course-create", args=[personas.dana.uuid]))
    text = page.content.decode()
    assert "already has an open course" in text
    assert reverse("treatment:course-detail", args=[course.uuid]) in text
    assert "Start another course" in text


def _fill(alice, course, numbers):
    for i in numbers:
        make_session(alice, course, i, mood=5 if i % 2 else None, events_since_last="Saw Sam")


def test_overview_queries_do_not_grow_with_sessions(
    alice_client, personas, django_assert_max_num_queries
):
    """What the page costs at 3 sessions is the ceiling at 15 (warm caches both times)."""
    course = make_course(personas.alice, personas.dana, planned_sessions=16)
    _contract(personas.alice, course, 16)
    _fill(personas.alice, course, range(1, 4))
    _overview(alice_client, course)
    with count_queries() as at_3:
        _overview(alice_client, course)
    ceiling = len(at_3)  # now: the query log is cleared by the next request
    assert ceiling <= 40  # a page, not a report: keep it small
    _fill(personas.alice, course, range(4, 16))
    _overview(alice_client, course)
    with django_assert_max_num_queries(ceiling):
        page = _overview(alice_client, course)
    assert "Session 15 of 16" in page
