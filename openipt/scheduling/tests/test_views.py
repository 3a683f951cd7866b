from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.scheduling.models import Appointment
from openipt.scheduling.tests.conftest import book, utc
from openipt.testing.personas import count_queries


def signed_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def _book_data(**over):
    data = {
        "kind": "consultation", "course": "", "date": "2027-03-02", "time": "10:00",
        "duration_minutes": "50", "note": "", "clinician": "",
    }  # fmt: skip
    return data | over


# Week view ------------------------------------------------------------------------------


def test_week_view_lists_appointments_by_local_day_with_week_links(world, alice_client):
    book(world, utc(2027, 7, 6, 9, 0))  # Tuesday 6 July 2027, 10:00 in London (BST)

    response = alice_client.get(reverse("scheduling:week"), {"week": "2027-W27"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Tuesday 6 July" in page
    assert "10:00</time>\u201310:50" in page
    assert "Dana Example" in page
    assert "?week=2027-W26" in page
    assert "?week=2027-W28" in page
    assert AuditEvent.objects.filter(object_type="scheduling.week").count() == 1


def test_week_view_rejects_a_bad_week_with_a_message_and_shows_this_week(world, alice_client):
    response = alice_client.get(reverse("scheduling:week"), {"week": "2027-W99"})

    assert response.status_code == 200
    assert "That is not a week" in response.content.decode()


def test_week_view_shows_only_my_own_appointments(world, client):
    book(world, utc(2027, 7, 6, 9, 0))

    page = signed_in(world.p.bob).get(reverse("scheduling:week"), {"week": "2027-W27"})

    assert "Dana" not in page.content.decode()


def _week_queries(alice_client):
    with count_queries() as ctx:
        alice_client.get(reverse("scheduling:week"), {"week": "2027-W27"})
    return len(ctx)


def test_week_view_query_count_does_not_grow_with_appointments(world, alice_client):
    book(world, utc(2027, 7, 5, 8, 0))
    one = _week_queries(alice_client)
    for day in range(6, 11):
        for hour in range(8, 11):
            book(world, utc(2027, 7, day, hour, 0))

    many = _week_queries(alice_client)

    assert Appointment.objects.count() == 16
    assert many == one


# Booking --------------------------------------------------------------------------------


def test_booking_form_books_in_practice_local_time(world, alice_client):
    url = reverse("scheduling:book", args=[world.dana.uuid])
    data = _book_data(clinician=str(world.alice_m.uuid), date="2027-07-06")

    response = alice_client.post(url, data)

    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert appointment.starts_at == utc(2027, 7, 6, 9, 0)  # 10:00 BST


def test_booking_a_clash_shows_the_time_next_to_the_field_and_keeps_the_input(world, alice_client):
    book(world, utc(2027, 3, 2, 10, 0))
    url = reverse("scheduling:book", args=[world.dana.uuid])
    data = _book_data(clinician=str(world.alice_m.uuid), time="10:20", note="Room 4")

    response = alice_client.post(url, data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "already has an appointment on Tuesday 2 March 2027, 10:00 to 10:50" in page
    assert 'value="10:20"' in page
    assert 'value="Room 4"' in page
    assert Appointment.objects.count() == 1

    alice_client.post(url, data | {"allow_overlap": "on"})
    assert Appointment.objects.count() == 2


def test_booking_bad_input_gets_clear_messages_and_writes_nothing(world, alice_client):
    url = reverse("scheduling:book", args=[world.dana.uuid])
    data = _book_data(
        clinician=str(world.alice_m.uuid), kind="session", date="31/02/2027", time="25:99"
    )

    response = alice_client.post(url, data)

    page = response.content.decode()
    assert "Enter the date as YYYY-MM-DD" in page
    assert "Enter the time as HH:MM" in page
    assert "Choose the IPT course" in page
    assert 'value="31/02/2027"' in page
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("who", ["bob", "charlie", "adam"])
def test_only_the_care_team_may_book(world, who):
    url = reverse("scheduling:book", args=[world.dana.uuid])
    response = signed_in(getattr(world.p, who)).post(url, _book_data())

    assert response.status_code == 404
    assert not Appointment.objects.exists()


# One appointment ------------------------------------------------------------------------


def test_supervisor_reads_but_cannot_move_or_cancel(world):
    appointment = book(world, utc(2027, 3, 2, 10, 0))
    bob = signed_in(world.p.bob)

    detail = bob.get(reverse("scheduling:appointment", args=[appointment.uuid]))
    move = bob.post(
        reverse("scheduling:reschedule", args=[appointment.uuid]),
        {"date": "2027-03-03", "time": "10:00", "duration_minutes": "50", "version": "1"},
    )
    cancel = bob.post(
        reverse("scheduling:outcome", args=[appointment.uuid]),
        {"status": "cancelled", "version": "1"},
    )

    assert (detail.status_code, move.status_code, cancel.status_code) == (200, 404, 404)
    assert "Move" not in detail.content.decode()
    appointment.refresh_from_db()
    assert (appointment.status, appointment.version) == ("booked", 1)


def test_reschedule_form_moves_the_appointment(world, alice_client):
    appointment = book(world, utc(2027, 3, 2, 10, 0))
    url = reverse("scheduling:reschedule", args=[appointment.uuid])

    assert 'value="2027-03-02"' in alice_client.get(url).content.decode()
    alice_client.post(
        url, {"date": "2027-07-06", "time": "10:00", "duration_minutes": "50", "version": "1"}
    )

    appointment.refresh_from_db()
    assert appointment.starts_at == utc(2027, 7, 6, 9, 0)


def test_outcome_form_cancels_and_a_stale_form_is_refused(world, alice_client):
    appointment = book(world, utc(2027, 3, 2, 10, 0))
    url = reverse("scheduling:outcome", args=[appointment.uuid])

    unexplained = alice_client.post(url, {"status": "late_cancellation", "version": "1"})
    assert "Say briefly why" in unexplained.content.decode()
    alice_client.post(
        url, {"status": "late_cancellation", "cancellation_reason": "ill", "version": "1"}
    )
    stale = alice_client.post(url, {"status": "no_show", "version": "1"})

    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancellation_reason) == ("late_cancellation", "ill")
    assert "Someone else saved this record" in stale.content.decode()


def test_outcome_form_without_a_choice_asks_for_one(world, alice_client):
    appointment = book(world, utc(2027, 3, 2, 10, 0))

    response = alice_client.post(
        reverse("scheduling:outcome", args=[appointment.uuid]), {"version": "1"}
    )

    assert "Choose what happened." in response.content.decode()


def test_client_appointments_page_lists_them_and_is_audited(world, alice_client):
    book(world, utc(2027, 3, 2, 10, 0))

    response = alice_client.get(reverse("scheduling:client-appointments", args=[world.dana.uuid]))

    assert "Tue 2 Mar 2027, 10:00" in response.content.decode()
    assert AuditEvent.objects.filter(
        action="read", client_id=world.dana.pk, detail="appointments"
    ).exists()


# Series ---------------------------------------------------------------------------------


def test_series_form_books_the_contract_and_explains_bad_skip_dates(world, alice_client):
    url = reverse("scheduling:series", args=[world.course.uuid])
    data = {"weekday": "1", "local_time": "10:00", "first_date": "2027-10-11",
            "skip_dates": "2027-10-19, 19/10/2027", "duration_minutes": "50"}  # fmt: skip

    bad = alice_client.post(url, data)
    assert "“19/10/2027” is not a date" in bad.content.decode()
    assert "2027-10-19, 19/10/2027" in bad.content.decode()
    assert not Appointment.objects.exists()

    alice_client.post(url, data | {"skip_dates": "2027-10-19"})
    assert Appointment.objects.filter(course=world.course).count() == 4


def test_series_form_for_a_course_without_contract_says_so(personas, alice_client):
    from openipt.treatment import services as treatment

    course = treatment.course_create(
        actor=personas.alice, client=personas.dana, clinician=personas.membership(personas.alice),
        data=treatment.CourseData(format="ipt", start_date=dt.date(2026, 1, 5)),
    )  # fmt: skip
    url = reverse("scheduling:series", args=[course.uuid])
    data = {"weekday": "1", "local_time": "10:00", "first_date": "2027-10-11",
            "duration_minutes": "50"}  # fmt: skip

    response = alice_client.post(url, data)

    assert "Record the treatment contract first" in response.content.decode()


def test_series_form_points_out_skip_dates_on_another_weekday(world, alice_client):
    url = reverse("scheduling:series", args=[world.course.uuid])
    data = {"weekday": "1", "local_time": "10:00", "first_date": "2027-10-11",
            "skip_dates": "2027-10-20", "duration_minutes": "50"}  # fmt: skip

    response = alice_client.post(url, data)

    assert "2027-10-20 not on the chosen weekday" in response.content.decode()
    assert not Appointment.objects.exists()
