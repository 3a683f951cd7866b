"""The course overview around the next action, and the ending that closes the loop, in
Chromium (issue 9 parts 5 and 6). Alice's course has twelve sessions held, some notes
without an opening review and three appointments still booked. The overview's first
button is the next action; the repeated warnings are one line. On the ending page she
records the ending, concludes the course, cancels the appointments and starts the
maintenance course in one form; the maintenance course shows what carried over.
Screenshots at 1366 and 375 px go to /tmp/shots; axe finds nothing serious."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

import pytest

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.test_session_workspace import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SHOTS = Path(tempfile.gettempdir()) / "shots"
WIDE = {"width": 1366, "height": 900}
UUID = r"[0-9a-f-]{36}"


def shots(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Desktop and phone screenshots; the phone view must not scroll sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(WIDE)
    page.screenshot(path=str(SHOTS / f"ending-{name}-1366.png"), full_page=True)
    page.set_viewport_size(PHONE_VIEWPORT)
    page.screenshot(path=str(SHOTS / f"ending-{name}-375.png"), full_page=True)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    page.set_viewport_size(WIDE)
    assert width <= PHONE_VIEWPORT["width"], f"the {name} page scrolls sideways ({width}px)"


def a_course_at_its_end(personas):  # type: ignore[no-untyped-def]
    """Twelve weekly sessions held (4, 5 and 7 without an opening review), a contract, and
    three future appointments still booked."""
    from django.utils import timezone

    from openipt.scheduling import services as scheduling
    from openipt.treatment import services
    from openipt.treatment.tests.factories import make_course

    alice = personas.alice
    start = timezone.localdate() - dt.timedelta(weeks=12)
    course = make_course(alice, personas.dana, start_date=start, planned_sessions=12)
    services.contract_record(
        actor=alice, course=course,
        data=services.ContractData(
            planned_sessions=12, frequency="weekly", agreed_on=start, focus_areas=("grief",)
        ),
    )  # fmt: skip
    for n in range(1, 13):
        review = {} if n in (4, 5, 7) else {"mood": 6, "events_since_last": "Saw Sam."}
        services.session_create(
            actor=alice, course=course,
            data=services.SessionData(
                number=n,
                starts_at=timezone.make_aware(
                    dt.datetime.combine(start + dt.timedelta(weeks=n - 1), dt.time(10))
                ),
                **review,
            ),
        )  # fmt: skip
    for days in (3, 10, 17):
        scheduling.appointment_book(
            actor=alice, client=personas.dana, clinician=personas.membership(alice),
            starts_at=timezone.now() + dt.timedelta(days=days), course=course,
        )  # fmt: skip
    return course


def test_the_ending_concludes_cancels_and_starts_maintenance(
    new_page, live_server, transactional_db
):
    from playwright.sync_api import expect

    from openipt.scheduling.models import Appointment
    from openipt.testing.personas import make_personas
    from openipt.treatment.models import Course

    personas = make_personas()
    course = a_course_at_its_end(personas)
    alice = new_page(viewport=WIDE)
    sign_in(alice, "alice@riverside.test")

    # The overview: the next action first, the repeated warnings as one line.
    alice.goto(f"/courses/{course.uuid}/")
    first_button = alice.locator("main .button").first
    expect(first_button).to_have_text("Record the ending")
    expect(
        alice.get_by_text("3 session notes have no opening review: sessions 4, 5, 7.")
    ).to_be_visible()
    rules = alice.get_by_text("protocol rule", exact=False)
    assert rules.count() > 0
    for i in range(rules.count()):  # the rule numbers wait inside "Why"
        expect(rules.nth(i)).to_be_hidden()
    box = first_button.bounding_box()
    assert box is not None
    assert box["y"] < 600, "the next action is below the fold"
    expect(alice.get_by_role("heading", level=2, name=re.compile("Finishing well"))).to_be_visible()
    assert_no_serious_axe_violations(alice)
    shots(alice, "overview-before")

    # The ending: what is missing, then recorded.
    first_button.click()
    alice.wait_for_url(re.compile(r"/termination/$"))
    conclude = alice.get_by_role("region", name="Conclude the course")
    expect(conclude.get_by_text("To conclude the course, first record and save:")).to_be_visible()
    expect(conclude.get_by_text("3 future appointments are still booked")).to_be_visible()
    alice.get_by_label("Gains, credited to the client").fill("Asked Sam for help.")
    alice.get_by_label("Early signs to watch for").fill("Staying in bed at weekends.")
    alice.get_by_label("What to do if they appear").fill("Call Sam; book a GP appointment.")
    alice.get_by_label("Next step", exact=True).select_option(label="Maintenance sessions")
    alice.get_by_label("Reason for the next step").fill("Two earlier episodes.")
    alice.get_by_role("button", name="Save", exact=True).click()
    alice.wait_for_url(re.compile(rf"/courses/{UUID}/$"))
    expect(alice.locator("main .button").first).to_have_text("Conclude the course")
    alice.locator("main .button").first.click()
    alice.wait_for_url(re.compile(r"/termination/#conclude$"))
    assert_no_serious_axe_violations(alice)
    shots(alice, "termination")

    # Conclude, cancel the appointments, start maintenance: one form, one click.
    conclude = alice.get_by_role("region", name="Conclude the course")
    expect(
        conclude.get_by_label("Cancel the course's future appointments listed above")
    ).to_be_checked()
    conclude.get_by_label("Start a maintenance course now", exact=False).check()
    conclude.get_by_role("button", name="Conclude the course").click()
    alice.wait_for_url(re.compile(rf"/courses/{UUID}/$"))
    expect(alice.get_by_text("3 future appointments were cancelled.", exact=False)).to_be_visible()
    expect(
        alice.get_by_role("heading", name="Carried over from the earlier course")
    ).to_be_visible()
    expect(alice.get_by_text("Staying in bed at weekends.")).to_be_visible()
    assert_no_serious_axe_violations(alice)
    shots(alice, "maintenance-overview")

    # The concluded course says so, and never "Next session: 13".
    alice.get_by_role("link", name="Follows the earlier course").click()
    alice.wait_for_url(re.compile(rf"/courses/{course.uuid}/$"))
    expect(
        alice.get_by_role("heading", level=2, name=re.compile("^Course concluded"))
    ).to_be_visible()
    expect(alice.get_by_text("Next session:", exact=False)).to_have_count(0)
    shots(alice, "overview-concluded")

    course.refresh_from_db()
    assert course.status == Course.Status.CONCLUDED
    assert not Appointment.objects.filter(course=course, status="booked").exists()
    assert Course.objects.get(follows=course).format == "ipt_m"
