"""The booking pages of issue 9 part 3: repeats on the booking form, a free slot of the
calendar, the contract's sessions, move / cancel the rest, "write the note", the client's
list, and cancelled appointments kept out of everything the client (or a calendar) sees."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from icalendar import Calendar

from openipt.audit.models import AuditEvent
from openipt.portal.tests.matrix import dana_user
from openipt.scheduling import services
from openipt.scheduling.models import Appointment
from openipt.scheduling.tests.conftest import World, book, make_course, utc
from openipt.treatment import services as treatment
from openipt.treatment.models import Session

LONDON = ZoneInfo("Europe/London")
NOW = utc(2027, 10, 1, 8, 0)  # Friday 1 October 2027, 09:00 in London


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


def signed_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def _form_values(page: str) -> dict[str, str]:
    """What a browser would post for the form as shown: inputs, checked radios, selects."""
    values: dict[str, str] = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or (kind and kind[1] in {"radio", "checkbox"} and "checked" not in tag):
            continue
        values[name[1]] = unescape(value[1]) if value else ""
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body)
        values[name] = chosen[1] if chosen else ""
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        values[name] = unescape(body.strip())
    return values


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))


# The booking form -----------------------------------------------------------------------


def test_booking_form_defaults_to_a_session_of_the_open_course(world, alice_client):
    page = alice_client.get(reverse("scheduling:book", args=[world.dana.uuid])).content.decode()

    values = _form_values(page)
    assert values["kind"] == "session"
    assert values["course"] == str(world.course.uuid)
    assert values["clinician"] == str(world.alice_m.uuid)
    assert values["repeat"] == "0"


def test_booking_form_without_an_open_course_defaults_to_a_consultation(personas, alice_client):
    page = alice_client.get(reverse("scheduling:book", args=[personas.dana.uuid]))

    values = _form_values(page.content.decode())
    assert (values["kind"], values["course"]) == ("consultation", "")


def test_booking_form_takes_the_slot_from_the_link(world, alice_client):
    url = reverse("scheduling:book", args=[world.dana.uuid])

    page = alice_client.get(url, {"date": "2027-10-19", "time": "14:30"}).content.decode()

    assert 'value="2027-10-19"' in page
    assert 'value="14:30"' in page


@pytest.mark.parametrize(
    "query", [{"date": "2027-13-45", "time": "25:99"}, {"date": "x" * 500}, {"time": "noon"}]
)
def test_booking_form_ignores_a_bad_slot_with_a_message(world, alice_client, query):
    response = alice_client.get(reverse("scheduling:book", args=[world.dana.uuid]), query)

    assert response.status_code == 200
    assert "could not be read" in response.content.decode()


def _repeat_post(world, **over):
    data = {
        "kind": "session", "course": str(world.course.uuid),
        "clinician": str(world.alice_m.uuid), "date": "2027-10-19", "time": "10:00",
        "repeat": "7", "count": "3", "until": "", "duration_minutes": "50", "note": "",
    }  # fmt: skip
    return data | over


def test_booking_form_books_a_weekly_repeat(now, world, alice_client):
    response = alice_client.post(
        reverse("scheduling:book", args=[world.dana.uuid]), _repeat_post(world)
    )

    assert response.status_code == 302
    starts = sorted(Appointment.objects.values_list("starts_at", flat=True))
    assert starts == [utc(2027, 10, 19, 9, 0), utc(2027, 10, 26, 9, 0), utc(2027, 11, 2, 10, 0)]


def test_booking_form_repeat_clash_names_each_date_next_to_the_time(now, world, alice_client):
    book(world, utc(2027, 10, 26, 9, 15), course=None, kind="consultation")
    book(world, utc(2027, 11, 2, 10, 0), course=None, kind="consultation")
    url = reverse("scheduling:book", args=[world.dana.uuid])

    page = alice_client.post(url, _repeat_post(world)).content.decode()

    error = re.search(r'id="id_time_error">(.*?)</ul>', page, re.S)
    assert error is not None
    assert "Tuesday 26 October 2027, 10:15" in error[1]
    assert "Tuesday 2 November 2027, 10:00" in error[1]
    assert Appointment.objects.count() == 2  # all or nothing
    assert 'value="3"' in page  # what was typed stays


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"count": ""}, "Say how many appointments"),
        ({"count": "60"}, "at most 52"),
        ({"count": "", "until": "2027-10-01"}, "before the first one"),
        ({"count": "", "until": "2029-01-01"}, "more than 52"),
    ],
)
def test_booking_form_repeat_errors_are_next_to_the_field(world, alice_client, over, message):
    url = reverse("scheduling:book", args=[world.dana.uuid])

    page = alice_client.post(url, _repeat_post(world, **over)).content.decode()

    assert message in page
    assert not Appointment.objects.exists()


# A free slot of the calendar ------------------------------------------------------------


def test_book_slot_lists_my_clients_in_a_course_first_and_books_in_one_post(
    now, world, alice_client
):
    url = reverse("scheduling:book-slot")
    page = alice_client.get(url, {"date": "2027-10-19", "time": "11:00"}).content.decode()
    assert "Dana Example" in page
    assert page.index("In an IPT course") < page.index("Dana Example")
    assert AuditEvent.objects.filter(object_type="scheduling.bookable_clients").count() == 1

    values = _form_values(page) | {"client": str(world.dana.uuid)}
    response = alice_client.post(url, values)

    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert (appointment.kind, appointment.course_id, appointment.clinician_id) == (
        "session", world.course.pk, world.alice_m.pk,
    )  # fmt: skip
    assert appointment.starts_at == utc(2027, 10, 19, 10, 0)


def test_book_slot_without_a_course_books_a_consultation(now, personas, alice_client):
    page = alice_client.get(reverse("scheduling:book-slot"), {"date": "2027-10-19"})
    values = _form_values(page.content.decode())
    values |= {"client": str(personas.dana.uuid), "time": "09:00"}

    alice_client.post(reverse("scheduling:book-slot"), values)

    assert Appointment.objects.get().kind == "consultation"


def test_book_slot_offers_only_clients_i_may_write(world):
    bob = signed_in(world.p.bob)  # Alice's supervisor: reads Dana, never books her

    page = bob.get(reverse("scheduling:book-slot")).content.decode()
    refused = bob.post(
        reverse("scheduling:book-slot"),
        {"client": str(world.dana.uuid), "date": "2027-10-19", "time": "09:00",
         "duration_minutes": "50"},
    )  # fmt: skip

    assert "Dana" not in page
    assert "Select a valid choice" in refused.content.decode()
    assert not Appointment.objects.exists()


# The contract's sessions ----------------------------------------------------------------


def test_contract_page_links_to_booking_its_sessions(world, alice_client):
    page = alice_client.get(reverse("treatment:contract", args=[world.course.uuid]))

    assert reverse("scheduling:series", args=[world.course.uuid]) in page.content.decode()


def test_twelve_weekly_sessions_take_two_clicks_from_the_contract(now, personas, alice_client):
    """Course/contract page -> "Book the contract's sessions" (click 1) -> "Book 12
    sessions" (click 2): the defaults need no typing."""
    world = World(personas, make_course(personas, sessions=12))
    contract = alice_client.get(reverse("treatment:contract", args=[world.course.uuid]))
    link = re.search(r'href="([^"]*/series/)"', contract.content.decode())
    assert link is not None

    page = alice_client.get(link[1]).content.decode()  # click 1
    assert "Contract 12 · held 0 · booked 0 · to book 12" in _text(page)
    assert "Book 12 sessions" in page
    response = alice_client.post(link[1], _form_values(page))  # click 2

    assert response.status_code == 302
    rows = list(Appointment.objects.filter(course=world.course).order_by("starts_at"))
    assert len(rows) == 12
    assert {r.starts_at.astimezone(LONDON).time() for r in rows} == {dt.time(10, 0)}
    assert rows[0].starts_at.astimezone(LONDON).date() == dt.date(2027, 10, 2)


def test_series_page_states_the_arithmetic_and_books_the_remainder(now, personas, alice_client):
    world = World(personas, make_course(personas, sessions=12))
    for number, day in ((1, 7), (2, 14)):
        treatment.session_create(
            actor=personas.alice, course=world.course,
            data=treatment.SessionData(number=number, starts_at=utc(2027, 9, day, 13, 0)),
        )  # fmt: skip
    book(world, utc(2027, 9, 28, 13, 0))
    url = reverse("scheduling:series", args=[world.course.uuid])

    page = alice_client.get(url).content.decode()

    assert "Contract 12 · held 2 · booked 1 · to book 9" in _text(page)
    values = _form_values(page)
    assert (values["weekday"], values["local_time"], values["first_date"]) == (
        "1", "14:00", "2027-10-05",
    )  # fmt: skip
    alice_client.post(url, values)
    assert Appointment.objects.filter(course=world.course, status="booked").count() == 10
    done = alice_client.get(url).content.decode()
    assert "Nothing more to book" in done


def test_series_count_above_the_remainder_is_refused_next_to_the_field(now, world, alice_client):
    url = reverse("scheduling:series", args=[world.course.uuid])
    values = _form_values(alice_client.get(url).content.decode()) | {"count": "5"}

    page = alice_client.post(url, values).content.decode()

    assert "Only 4 sessions of the contract are left to book" in page
    assert not Appointment.objects.exists()


# Move / cancel one or the rest ----------------------------------------------------------


@pytest.fixture
def weekly(world, now):
    return services.appointments_book_repeating(
        actor=world.p.alice, client=world.dana, clinician=world.alice_m,
        first_date=dt.date(2027, 10, 19), local_time=dt.time(10, 0),
        repeat=services.Repeat(interval_days=7, count=4), course=world.course,
    )  # fmt: skip


def test_move_page_offers_only_this_one_or_the_rest_and_moves_the_rest(
    now, world, weekly, alice_client
):
    url = reverse("scheduling:reschedule", args=[weekly[1].uuid])
    page = alice_client.get(url).content.decode()
    assert "Only this one" in page
    assert "This and all later ones in the series" in page

    alice_client.post(url, _form_values(page) | {"time": "15:00", "scope": "following"})

    local = [a.starts_at.astimezone(LONDON) for a in Appointment.objects.order_by("starts_at")]
    assert [t.time() for t in local] == [dt.time(10), dt.time(15), dt.time(15), dt.time(15)]


def test_move_page_for_one_occurrence_leaves_the_others(now, world, weekly, alice_client):
    url = reverse("scheduling:reschedule", args=[weekly[1].uuid])
    values = _form_values(alice_client.get(url).content.decode())

    alice_client.post(url, values | {"time": "15:00"})

    local = [a.starts_at.astimezone(LONDON) for a in Appointment.objects.order_by("starts_at")]
    assert [t.time() for t in local] == [dt.time(10), dt.time(15), dt.time(10), dt.time(10)]


def test_a_single_appointment_is_moved_without_a_series_choice(now, world, alice_client):
    appointment = book(world, utc(2027, 10, 19, 9, 0))

    page = alice_client.get(reverse("scheduling:reschedule", args=[appointment.uuid]))

    assert "Only this one" not in page.content.decode()


def test_cancel_page_asks_for_a_reason_and_cancels_the_rest(now, world, weekly, alice_client):
    url = reverse("scheduling:cancel", args=[weekly[2].uuid])
    values = _form_values(alice_client.get(url).content.decode())

    missing = alice_client.post(url, values | {"scope": "following"})
    assert "Say briefly why" in missing.content.decode()
    assert not Appointment.objects.exclude(status="booked").exists()

    alice_client.post(
        url, values | {"scope": "following", "cancellation_reason": "Practice closed"}
    )

    statuses = list(Appointment.objects.order_by("starts_at").values_list("status", flat=True))
    assert statuses == ["booked", "booked", "cancelled", "cancelled"]
    detail = alice_client.get(reverse("scheduling:appointment", args=[weekly[3].uuid]))
    assert "Practice closed" in detail.content.decode()


def test_cancel_one_of_a_series(now, world, weekly, alice_client):
    url = reverse("scheduling:cancel", args=[weekly[0].uuid])
    values = _form_values(alice_client.get(url).content.decode())

    alice_client.post(url, values | {"cancellation_reason": "Client unwell", "late": "on"})

    statuses = list(Appointment.objects.order_by("starts_at").values_list("status", flat=True))
    assert statuses == ["late_cancellation", "booked", "booked", "booked"]


# "Write the note" -----------------------------------------------------------------------


def test_write_the_note_twice_makes_one_session_and_then_opens_it(now, world, alice_client):
    appointment = book(world, NOW - dt.timedelta(minutes=5))
    detail = reverse("scheduling:appointment", args=[appointment.uuid])
    assert "Write the note" in alice_client.get(detail).content.decode()
    url = reverse("scheduling:appointment-note", args=[appointment.uuid])

    first = alice_client.post(url)
    second = alice_client.post(url)

    session = Session.objects.get()
    assert first["Location"] == reverse(
        "treatment:session-update", args=[world.course.uuid, session.uuid]
    )
    assert second["Location"] == reverse(
        "treatment:session-detail", args=[world.course.uuid, session.uuid]
    )
    assert "Open the note (session 1)" in alice_client.get(detail).content.decode()


def test_write_the_note_is_refused_kindly_for_next_week(now, world, alice_client):
    appointment = book(world, NOW + dt.timedelta(days=7))
    detail = reverse("scheduling:appointment", args=[appointment.uuid])
    assert "Write the note" not in alice_client.get(detail).content.decode()

    response = alice_client.post(
        reverse("scheduling:appointment-note", args=[appointment.uuid]), follow=True
    )

    assert "on the day of the session" in response.content.decode()
    assert not Session.objects.exists()


@pytest.mark.parametrize("who", ["bob", "charlie", "adam"])
def test_only_the_care_team_writes_the_note(world, now, who):
    appointment = book(world, NOW)

    response = signed_in(getattr(world.p, who)).post(
        reverse("scheduling:appointment-note", args=[appointment.uuid])
    )

    assert response.status_code == 404
    assert not Session.objects.exists()


# The client's appointments ---------------------------------------------------------------


def test_client_appointments_upcoming_soonest_first_then_past_latest_first(
    now, world, alice_client
):
    for day in (20, 5, 12):
        book(world, utc(2027, 10, day, 9, 0))
    for day in (1, 15):
        book(world, utc(2027, 9, day, 9, 0))

    page = alice_client.get(
        reverse("scheduling:client-appointments", args=[world.dana.uuid])
    ).content.decode()

    upcoming, past = page.split('id="past-heading"')
    order = re.findall(r"(\w{3} \d+ \w{3} 2027), 10:00", upcoming)
    assert order == ["Tue 5 Oct 2027", "Tue 12 Oct 2027", "Wed 20 Oct 2027"]
    assert re.findall(r"(\w{3} \d+ \w{3} 2027), 10:00", past) == [
        "Wed 15 Sep 2027", "Wed 1 Sep 2027",
    ]  # fmt: skip


def test_client_appointments_query_count_is_flat(
    now, world, alice_client, django_assert_max_num_queries
):
    url = reverse("scheduling:client-appointments", args=[world.dana.uuid])
    book(world, utc(2027, 10, 5, 9, 0))
    book(world, utc(2027, 9, 5, 9, 0))
    from openipt.testing.personas import count_queries

    with count_queries() as few:
        alice_client.get(url)
    for day in range(1, 26):
        book(world, utc(2027, 11, day, 9, 0))
        book(world, utc(2027, 8, day, 9, 0))

    with django_assert_max_num_queries(len(few)):
        alice_client.get(url)


# Cancelled appointments stay out of what the client and calendars see --------------------


@pytest.fixture
def one_kept_one_cancelled(world, now):
    kept = book(world, utc(2027, 10, 5, 9, 0))
    dropped = book(world, utc(2027, 10, 12, 9, 0))
    services.appointment_cancel(
        actor=world.p.alice, appointment=dropped, version=1, reason="client away"
    )
    return kept, dropped


def _dates(text: str) -> set[str]:
    return {d for d in ("5 October", "12 October") if d in text}


def test_portal_home_and_record_leave_out_cancelled(world, one_kept_one_cancelled):
    dana = signed_in(dana_user(world.p))

    home = dana.get(reverse("portal:home")).content.decode()
    record = dana.get(reverse("portal:record")).content.decode()

    assert _dates(home) == {"5 October"}
    assert _dates(record) == {"5 October"}


def test_record_pdf_leaves_out_cancelled(world, one_kept_one_cancelled, monkeypatch):
    import weasyprint

    rendered: list[str] = []

    class FakeHTML:
        def __init__(self, *, string: str, **kwargs: object) -> None:
            rendered.append(string)

        def write_pdf(self) -> bytes:
            return b"%PDF-1.7 test"

    monkeypatch.setattr(weasyprint, "HTML", FakeHTML)

    response = signed_in(dana_user(world.p)).get(reverse("portal:record-pdf"))

    assert response.status_code == 200
    assert _dates(rendered[0]) == {"5 October"}


def _event_starts(body: bytes) -> list[dt.datetime]:
    return sorted(e.decoded("dtstart") for e in Calendar.from_ical(body).walk("VEVENT"))


def test_client_ics_leaves_out_cancelled(world, one_kept_one_cancelled, alice_client):
    kept, _dropped = one_kept_one_cancelled

    body = alice_client.get(reverse("scheduling:client-ics", args=[world.dana.uuid])).content

    assert _event_starts(body) == [kept.starts_at]


def test_clinician_feed_leaves_out_cancelled(world, one_kept_one_cancelled, client):
    kept, _dropped = one_kept_one_cancelled
    _feed, token = services.calendar_feed_create(actor=world.p.alice, membership=world.alice_m)

    body = client.get(reverse("scheduling:feed", args=[token])).content

    assert _event_starts(body) == [kept.starts_at]


def test_ending_cancellations_leave_the_portal(world, now):
    for day in (5, 12, 19):
        book(world, utc(2027, 10, day, 9, 0))
    dana = signed_in(dana_user(world.p))
    assert "19 October" in dana.get(reverse("portal:home")).content.decode()

    services.appointments_cancel_future(
        actor=world.p.alice, course=world.course, reason="Course concluded"
    )

    assert not _dates(dana.get(reverse("portal:home")).content.decode())
    assert "19 October" not in dana.get(reverse("portal:record")).content.decode()
