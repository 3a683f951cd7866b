"""The client list and the caseload in Chromium (issue 9 part 7): at 1366 px every column
shows; at 375 px each row becomes a card whose name, next appointment and latest score are
on screen without sideways scrolling. Screenshots go to /tmp/shots for a person to look at."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from openipt.accounts.models import Membership
from openipt.measures import services as measures
from openipt.measures.models import Instrument
from openipt.measures.scoring import answers_from_entries
from openipt.scheduling import services as scheduling
from openipt.testing.personas import make_client
from openipt.treatment.tests.factories import make_course, make_session
from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.test_measures_alerts import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SHOTS = Path(tempfile.gettempdir()) / "shots"
WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 375, "height": 812}


def _course_with_scores(personas, client, totals: list[str], *, next_in_days: int) -> None:
    alice = personas.alice
    course = make_course(alice, client, planned_sessions=12)
    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    now = timezone.now()
    for number, digits in enumerate(totals, start=1):
        at = now - dt.timedelta(days=7 * (len(totals) - number) + 1)
        session = make_session(alice, course, number, starts_at=at)
        answers = answers_from_entries(phq9.parsed, [int(c) for c in digits])
        measures.administration_enter(
            actor=alice, course=course, instrument=phq9, answers=answers, session=session
        )
    scheduling.appointment_book(
        actor=alice,
        client=client,
        clinician=Membership.objects.get(user=alice),
        starts_at=(now + dt.timedelta(days=next_in_days)).replace(minute=0, second=0),
        course=course,
    )


@pytest.fixture
def caseload(personas):
    _course_with_scores(
        personas, personas.dana, ["333332000", "333321000", "222222000"], next_in_days=1
    )
    long = make_client(
        personas.practice, personas.alice, given="Maximiliana", family="Featherstonehaugh-Llewellyn"
    )
    _course_with_scores(personas, long, ["111111000", "111111000"], next_in_days=6)
    other = make_client(personas.practice, personas.alice, given="Ola", family="Nowak")
    _course_with_scores(personas, other, ["222221111"], next_in_days=3)  # item 9: an alert


def _look(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(WIDE)
    page.screenshot(path=str(SHOTS / f"{name}-1366.png"), full_page=True)
    assert_no_serious_axe_violations(page)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SHOTS / f"{name}-375.png"), full_page=True)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways at 375 px ({width}px)"
    for cell in (
        page.locator("td.cell-key").all()
        + page.locator("td[data-label='Next appointment'], td[data-label='Latest score']").all()
    ):
        box = cell.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"], "a key cell runs off the screen"
    assert_no_serious_axe_violations(page)
    page.set_viewport_size(WIDE)


def test_lists_show_the_key_columns_at_1366_and_375(new_page, personas, caseload):
    page = new_page(viewport=WIDE)
    sign_in(page, personas.alice.email)
    page.goto(reverse("clients:list"))
    row = page.get_by_role("row").filter(has_text="Example, Dana")
    assert "None booked" not in row.inner_text()
    assert "down 5 since the start" in row.inner_text()
    assert "Open risk alert" in page.get_by_role("row").filter(has_text="Nowak").inner_text()
    _look(page, "client-list")
    page.goto(reverse("treatment:caseload"))
    first = page.locator("tbody tr").first
    assert "Nowak" in first.inner_text()  # the open alert first
    assert "no change since last time" in page.locator("tbody").inner_text()
    _look(page, "caseload")
