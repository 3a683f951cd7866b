"""The clinician's calendar: the time grid (pure), the home page and the week page."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.scheduling import services as scheduling
from openipt.scheduling.models import Appointment
from openipt.testing.personas import count_queries
from openipt.treatment.tests.factories import make_course, make_session
from openipt.workspace.calendar import build_grid

LONDON = ZoneInfo("Europe/London")
# Tuesday 10 March 2026, 09:00 in London (GMT): the week runs from Monday 9 March.
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
WEEK = [dt.date(2026, 3, 9) + dt.timedelta(days=i) for i in range(7)]


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=LONDON)


def appointment(start: dt.datetime, minutes: int = 50, **fields) -> Appointment:
    made = Appointment(
        starts_at=start, ends_at=start + dt.timedelta(minutes=minutes), kind="session", **fields
    )
    made.pk = int(start.timestamp())
    return made


def grid(*appointments: Appointment, focus: dt.date = WEEK[1], can_start=lambda a: False):
    return build_grid(
        list(appointments), days=WEEK, focus=focus, zone=LONDON, now=NOW,
        note_can_start=can_start,
    )  # fmt: skip


def cells(built, day: dt.date):
    return {cell.time: cell for row in built.rows for cell in row.cells if cell.day == day}


# --- the grid ------------------------------------------------------------------------------


def test_an_empty_week_runs_over_practice_hours_in_half_hours():
    built = grid()
    assert built.rows[0].time == dt.time(8, 0)
    assert built.rows[-1].time == dt.time(19, 30)
    assert len(built.rows) == 24
    assert all(len(row.cells) == 7 for row in built.rows)
    assert built.today == dt.date(2026, 3, 10)


def test_an_appointment_spans_the_half_hours_it_covers():
    built = grid(appointment(at(10, 10, 0)))
    tuesday = cells(built, WEEK[1])
    assert tuesday[dt.time(10, 0)].rowspan == 2  # 10:00-10:50
    assert dt.time(10, 30) not in tuesday  # covered by the rowspan
    assert tuesday[dt.time(11, 0)].entries == []
    assert built.count == 1
    assert built.day_counts[WEEK[1]] == 1
    # Every row still has seven columns once rowspans are counted.
    assert sum(c.rowspan for row in built.rows for c in row.cells if c.day == WEEK[1]) == 24


def test_overlapping_appointments_share_one_cell():
    built = grid(appointment(at(10, 10, 0)), appointment(at(10, 10, 30), 60))
    cell = cells(built, WEEK[1])[dt.time(10, 0)]
    assert len(cell.entries) == 2
    assert cell.rowspan == 3  # 10:00 to 11:30


def test_the_grid_widens_to_fit_early_and_late_appointments():
    built = grid(appointment(at(11, 7, 15)), appointment(at(12, 20, 30), 60))
    assert built.rows[0].time == dt.time(7, 0)
    assert built.rows[-1].time == dt.time(21, 0)
    assert cells(built, WEEK[2])[dt.time(7, 0)].rowspan == 3  # 07:15-08:05 touches 08:00-08:30


def test_only_empty_half_hours_still_to_come_can_be_booked():
    built = grid()
    tuesday = cells(built, WEEK[1])
    assert not tuesday[dt.time(8, 30)].bookable  # before 09:00 today
    assert tuesday[dt.time(9, 30)].bookable
    assert not cells(built, WEEK[0])[dt.time(15, 0)].bookable  # yesterday
    assert cells(built, WEEK[6])[dt.time(8, 0)].bookable


def test_cancelled_appointments_free_their_time_and_notes_are_offered():
    built = grid(
        appointment(at(10, 10), status=Appointment.Status.CANCELLED),
        appointment(at(10, 14), session_id=7, course_id=3),
        appointment(at(10, 16)),
        can_start=lambda a: a.starts_at.hour == 16,
    )
    tuesday = cells(built, WEEK[1])
    assert tuesday[dt.time(10, 0)].entries == []
    assert tuesday[dt.time(14, 0)].entries[0].note == "open"
    assert tuesday[dt.time(16, 0)].entries[0].note == "start"
    assert built.count == 2


def test_focus_and_today_are_marked_on_each_cell():
    built = grid(focus=WEEK[3])
    focus_days = {cell.day for row in built.rows for cell in row.cells if cell.is_focus}
    today_days = {cell.day for row in built.rows for cell in row.cells if cell.is_today}
    assert focus_days == {WEEK[3]}
    assert today_days == {WEEK[1]}


# --- the pages -------------------------------------------------------------------------


def book(personas, start: dt.datetime, **fields) -> Appointment:
    return scheduling.appointment_book(
        actor=personas.alice, client=personas.dana, clinician=personas.membership(personas.alice),
        starts_at=start, **fields,
    )  # fmt: skip


@pytest.fixture
def today():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.usefixtures("today")
@pytest.mark.django_db
def test_the_clinician_home_is_the_week_grid_with_today_marked(personas, alice_client):
    course = make_course(personas.alice, personas.dana)
    book(personas, at(10, 10), kind="session", course=course)
    before = AuditEvent.objects.filter(action="read").count()
    response = alice_client.get(reverse("core:home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<table class="cal">' in html
    assert 'aria-current="date"' in html
    assert "Today" in html
    assert "Tuesday 10 March" in html
    assert "10:00</time>\u201310:50" in html
    assert "Dana Example" in html
    assert "Waiting for you" in html
    # One read for the page: the week's appointments and the due items together.
    reads = AuditEvent.objects.filter(action="read")
    assert reads.count() - before == 1
    assert reads.order_by("-id").first().object_type == "core.home"


@pytest.mark.usefixtures("today")
@pytest.mark.django_db
def test_a_due_session_offers_one_click_to_write_its_note(personas, alice_client):
    course = make_course(personas.alice, personas.dana)
    due = book(personas, at(10, 10), kind="session", course=course)
    later = book(personas, at(12, 10), kind="session", course=course)
    html = alice_client.get(reverse("core:home")).content.decode()
    note_url = reverse("scheduling:appointment-note", args=[due.uuid])
    assert f'action="{note_url}"' in html
    assert reverse("scheduling:appointment-note", args=[later.uuid]) not in html  # Thursday
    response = alice_client.post(note_url)
    assert response.status_code == 302
    due.refresh_from_db()
    assert due.session is not None
    html = alice_client.get(reverse("core:home")).content.decode()
    session_url = reverse("treatment:session-detail", args=[course.uuid, due.session.uuid])
    assert f'href="{session_url}"' in html
    assert "Open the note" in html
    assert "Not signed" in html


@pytest.mark.usefixtures("today")
@pytest.mark.django_db
def test_free_half_hours_link_to_booking_that_time(personas, alice_client):
    html = alice_client.get(reverse("scheduling:week")).content.decode()
    book_url = reverse("scheduling:book-slot")
    assert f'href="{book_url}?date=2026-03-10&amp;time=09:30"' in html
    assert f'href="{book_url}?date=2026-03-10&amp;time=08:30"' not in html  # already past
    assert "Book Tuesday 10 March, 09:30" in html


@pytest.mark.usefixtures("today")
@pytest.mark.django_db
def test_days_and_weeks_are_plain_links_and_htmx_gets_only_the_calendar(personas, alice_client):
    book(personas, at(17, 10))
    html = alice_client.get(reverse("core:home")).content.decode()
    assert 'href="/?date=2026-03-11"' in html  # next day
    assert 'href="/?week=2026-W12"' in html  # next week
    assert 'hx-get="/?week=2026-W12"' in html
    page = alice_client.get(reverse("core:home"), {"week": "2026-W12"})
    assert "Dana Example" in page.content.decode()
    assert "Monday 16 March 2026" in page.content.decode()  # the week's Monday in focus
    partial = alice_client.get(reverse("core:home"), {"date": "2026-03-17"}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert body.lstrip().startswith('<section id="calendar"')
    assert "<html" not in body
    assert "Dana Example" in body
    assert AuditEvent.objects.filter(object_type="core.home").count() == 2


@pytest.mark.usefixtures("today")
@pytest.mark.django_db
def test_a_bad_date_gets_a_message_and_today(personas, alice_client):
    html = alice_client.get(reverse("core:home"), {"date": "2026-02-31"}).content.decode()
    assert "That is not a date. Showing today instead." in html
    assert "Today: Tuesday 10 March 2026" in html


@pytest.mark.usefixtures("today")
@pytest.mark.django_db
def test_the_due_list_names_unsigned_notes(personas, alice_client):
    course = make_course(personas.alice, personas.dana)
    session = make_session(personas.alice, course, 1, starts_at=NOW - dt.timedelta(days=1))
    html = alice_client.get(reverse("core:home")).content.decode()
    assert reverse("treatment:session-detail", args=[course.uuid, session.uuid]) in html
    assert re.search(r"Notes to sign <span class=\"badge badge--warn\">1</span>", html)


@pytest.mark.usefixtures("today")
@pytest.mark.django_db
def test_an_administrator_without_clients_keeps_the_dashboard(personas, client):
    client.force_login(personas.adam)
    html = client.get(reverse("core:home")).content.decode()
    assert '<table class="cal">' not in html
    assert "Your practice" in html


@pytest.mark.usefixtures("today")
@pytest.mark.django_db
def test_calendar_query_counts_do_not_grow_with_appointments(personas, alice_client):
    course = make_course(personas.alice, personas.dana)
    first = book(personas, at(9, 10), kind="session", course=course)
    scheduling.appointment_note_open(actor=personas.alice, appointment=first)
    for page in ("core:home", "scheduling:week"):
        alice_client.get(reverse(page))
    with count_queries() as home_few:
        alice_client.get(reverse("core:home"))
    with count_queries() as week_few:
        alice_client.get(reverse("scheduling:week"))
    for day in (9, 11, 12, 13):
        for hour in (9, 11, 13, 15):
            made = book(personas, at(day, hour), kind="session", course=course)
            if day == 9:
                scheduling.appointment_note_open(actor=personas.alice, appointment=made)
    with count_queries() as home_many:
        alice_client.get(reverse("core:home"))
    with count_queries() as week_many:
        alice_client.get(reverse("scheduling:week"))
    assert len(home_many) <= len(home_few)
    assert len(week_many) <= len(week_few)
