"""Booking in Chromium (issue 9 part 3): the contract's remaining sessions from the course
page in at most 4 clicks, counted as the user makes them; then the booking form with a
repeat, a free slot of the calendar, and moving / cancelling the rest of a series. Each page
is screenshotted at 1366 and 375 px (to /tmp/shots) and checked with axe."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.test_session_workspace import UUID, WIDE, Counter, shoot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def a_course_mid_contract(personas):  # type: ignore[no-untyped-def]
    """Twelve weekly sessions agreed; two held (Tuesdays 14:00); one more booked."""
    from django.utils import timezone

    from openipt.scheduling import services as scheduling
    from openipt.scheduling.times import to_utc, zone_for
    from openipt.treatment import services
    from openipt.treatment.tests.factories import make_course

    alice, zone = personas.alice, zone_for(personas.practice)
    today = timezone.localdate()
    tuesday = today - dt.timedelta(days=(today.weekday() - 1) % 7 or 7)  # the last Tuesday
    start = tuesday - dt.timedelta(weeks=2)
    course = make_course(alice, personas.dana, start_date=start, planned_sessions=12)
    services.contract_record(
        actor=alice, course=course,
        data=services.ContractData(planned_sessions=12, frequency="weekly", agreed_on=start),
    )  # fmt: skip
    for n, day in ((1, start), (2, start + dt.timedelta(weeks=1))):
        services.session_create(
            actor=alice, course=course,
            data=services.SessionData(number=n, starts_at=to_utc(day, dt.time(14), zone)),
        )  # fmt: skip
    scheduling.appointment_book(
        actor=alice, client=personas.dana, clinician=personas.membership(alice),
        starts_at=to_utc(tuesday + dt.timedelta(weeks=1), dt.time(14), zone), course=course,
    )  # fmt: skip
    return course


def test_the_contracts_remaining_sessions_are_booked_in_at_most_four_clicks(
    new_page, live_server, transactional_db
):
    from openipt.scheduling.models import Appointment
    from openipt.testing.personas import make_personas

    personas = make_personas()
    course = a_course_mid_contract(personas)
    alice = new_page(viewport=WIDE)
    sign_in(alice, personas.alice.email)
    alice.goto(f"/courses/{course.uuid}/")
    count = Counter(alice)

    count.click(alice.get_by_role("link", name="Book the contract's sessions").first)
    alice.wait_for_url(re.compile(rf"/schedule/courses/{UUID}/series/$"))
    text = re.sub(r"\s+", " ", alice.locator(".series-sum").inner_text())
    assert text == "Contract 12 · held 2 · booked 1 · to book 9"
    assert_no_serious_axe_violations(alice)
    shoot(alice, "booking-series")
    count.click(alice.get_by_role("button", name="Book 9 sessions"))
    alice.wait_for_url(re.compile(rf"/schedule/clients/{UUID}/$"))

    assert count.clicks <= 4, count.clicks
    assert count.clicks == 2
    booked = Appointment.objects.filter(course=course, status="booked")
    assert booked.count() == 10  # the one already booked and the nine new ones
    assert alice.get_by_text("9 appointments booked.").is_visible()
    assert_no_serious_axe_violations(alice)
    shoot(alice, "booking-client-appointments")


def test_booking_pages_look_right_and_pass_axe(new_page, live_server, transactional_db):
    from django.utils import timezone

    from openipt.scheduling.models import Appointment
    from openipt.testing.personas import make_personas

    personas = make_personas()
    a_course_mid_contract(personas)
    alice = new_page(viewport=WIDE)
    sign_in(alice, personas.alice.email)

    march = dt.date(timezone.localdate().year + 1, 3, 1)  # within the two years bookings accept
    tuesday = march + dt.timedelta(days=(1 - march.weekday()) % 7)
    alice.goto(f"/schedule/clients/{personas.dana.uuid}/book/?date={tuesday}&time=09:30")
    assert alice.get_by_label("Date", exact=True).input_value() == tuesday.isoformat()
    alice.get_by_label("Every week").check()
    alice.get_by_label("How many appointments in all").fill("3")
    assert_no_serious_axe_violations(alice)
    shoot(alice, "booking-form")
    alice.get_by_role("button", name="Book", exact=True).click()
    alice.wait_for_url(re.compile(rf"/schedule/clients/{UUID}/$"))
    assert Appointment.objects.filter(series__isnull=False, series__contract=None).count() == 3

    alice.goto("/schedule/book/?date=2031-03-05&time=11:00")
    assert_no_serious_axe_violations(alice)
    shoot(alice, "booking-free-slot")

    repeat = Appointment.objects.filter(series__isnull=False, series__contract=None)
    second = repeat.order_by("starts_at")[1]
    alice.goto(f"/schedule/appointments/{second.uuid}/")
    assert_no_serious_axe_violations(alice)
    shoot(alice, "booking-appointment")
    alice.get_by_role("link", name="Move").click()
    assert alice.get_by_label("This and all later ones in the series").is_visible()
    assert_no_serious_axe_violations(alice)
    shoot(alice, "booking-move")
    alice.goto(f"/schedule/appointments/{second.uuid}/cancel/")
    alice.get_by_role("button", name="Cancel the appointment").click()
    assert alice.get_by_text("Say briefly why the appointment is cancelled.").first.is_visible()
    assert_no_serious_axe_violations(alice)
    shoot(alice, "booking-cancel")
    alice.get_by_label("Reason for cancelling").fill("Practice closed that week")
    alice.get_by_label("This and all later ones in the series").check()
    alice.get_by_role("button", name="Cancel the appointment").click()
    alice.wait_for_url(re.compile(rf"/schedule/appointments/{UUID}/$"))
    statuses = list(repeat.order_by("starts_at").values_list("status", flat=True))
    assert statuses == ["booked", "cancelled", "cancelled"]
