"""The session note as the one workspace, in Chromium: from today's appointment Alice opens
the note ("Write the note"), types the PHQ-9 with the keyboard (10 digits: the nine scored
answers and the difficulty question), writes the note and the client's task, and presses
"Save and sign". The clicks and page loads are counted as she makes them (issue 9: at most
6 clicks and 3 page loads besides typing, counting the appointment page), and the signed
note shows the score and the task. Screenshots at 1366 and 375 px go to /tmp/shots."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

import pytest

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.totp import current_totp_code

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SHOTS = Path(tempfile.gettempdir()) / "shots"
WIDE = {"width": 1366, "height": 900}
UUID = r"[0-9a-f-]{36}"
TASK = "Ask Sam for ten minutes to talk about the weekend."


def sign_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    from openipt.testing.personas import PASSWORD, TOTP_SECRET

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.get_by_label(re.compile("code", re.I)).first.fill(current_totp_code(TOTP_SECRET))
    page.get_by_role("button", name=re.compile("Sign in|Verify|Continue", re.I)).click()
    page.wait_for_url(re.compile(r"/$"))


def todays_appointment(personas):  # type: ignore[no-untyped-def]
    """Dana's IPT course (started two weeks ago) and a session appointment that began ten
    minutes ago: the note may be written now."""
    from django.utils import timezone

    from openipt.scheduling import services as scheduling
    from openipt.treatment.tests import factories

    course = factories.make_course(
        personas.alice, personas.dana, start_date=timezone.localdate() - dt.timedelta(days=14)
    )
    started = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=10)
    return scheduling.appointment_book(
        actor=personas.alice, client=personas.dana, clinician=personas.membership(personas.alice),
        starts_at=started, kind="session", course=course,
    )  # fmt: skip


class Counter:
    """Clicks and page loads as the user makes them (main-frame navigations)."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.clicks = 0
        self.loads: list[str] = []
        page.on(
            "framenavigated",
            lambda frame: self.loads.append(frame.url) if frame == page.main_frame else None,
        )

    def click(self, locator) -> None:  # type: ignore[no-untyped-def]
        self.clicks += 1
        locator.click()


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(WIDE)
    page.screenshot(path=str(SHOTS / f"{name}-1366.png"), full_page=True)
    page.set_viewport_size(PHONE_VIEWPORT)
    page.screenshot(path=str(SHOTS / f"{name}-375.png"), full_page=True)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"{name} scrolls sideways at 375 px ({width}px)"
    page.set_viewport_size(WIDE)


def test_a_session_with_a_phq9_is_recorded_and_signed_from_the_appointment(
    new_page, live_server, transactional_db
):
    from openipt.measures.models import Administration
    from openipt.testing.personas import make_personas
    from openipt.treatment.models import BetweenSessionTask, Session

    personas = make_personas()
    appointment = todays_appointment(personas)
    alice = new_page(viewport=WIDE)
    sign_in(alice, personas.alice.email)
    alice.goto(f"/schedule/appointments/{appointment.uuid}/")
    count = Counter(alice)  # from here on: the appointment page is load 1

    count.click(alice.get_by_role("button", name="Write the note"))
    alice.wait_for_url(re.compile(rf"/sessions/{UUID}/edit/$"))
    assert_no_serious_axe_violations(alice)
    # The cursor is already in the PHQ-9 box: 9 scored answers, then the difficulty (1).
    assert alice.evaluate("document.activeElement.name") == "m-phq-9-quick"
    alice.keyboard.type("2121110011")
    item_9 = alice.get_by_role("group", name=re.compile("^9\\. Thoughts that you would"))
    assert item_9.get_by_role("radio", name=re.compile(r"^1 ")).is_checked()
    difficulty = alice.get_by_role("group", name=re.compile("If you checked off any problems"))
    assert difficulty.get_by_role("radio", name=re.compile(r"^1 ")).is_checked()
    alice.keyboard.press("Enter")  # moves on to the date; the note is not sent half-written
    assert alice.evaluate("document.activeElement.name") == "m-phq-9-completed_on"
    assert len(count.loads) == 1  # the note itself; Enter sent nothing

    count.click(alice.get_by_label("Focus of the session"))
    alice.keyboard.type("The argument with Sam about his working weekends.")
    count.click(alice.get_by_label("Something to try before next time"))
    alice.keyboard.type(TASK)
    risk = alice.get_by_role("combobox", name="Risk check")
    count.click(risk)
    risk.select_option("concerns")
    count.click(alice.get_by_label("Risk notes"))
    alice.keyboard.type("Passive thoughts some days; no plan. Safety plan reviewed together.")
    shoot(alice, "session-note-filled")
    count.click(alice.get_by_role("button", name="Save and sign"))
    alice.wait_for_url(re.compile(rf"/sessions/{UUID}/$"))

    assert count.clicks <= 6, count.clicks
    assert len(count.loads) + 1 <= 3, count.loads  # + the appointment page itself
    # The signed note: the score with its critical item in words, and the task.
    assert alice.get_by_text("Session saved and signed.").is_visible()
    record = alice.get_by_role("region", name="Session record")
    assert record.get_by_text("Signed", exact=True).is_visible()
    assert record.get_by_text(TASK).is_visible()
    scores = record.get_by_role("table")
    assert scores.get_by_role("cell", name="PHQ-9", exact=True).is_visible()
    assert scores.get_by_role("cell", name="9", exact=True).is_visible()
    assert scores.get_by_role("cell", name="Mild", exact=True).is_visible()
    assert record.get_by_text("Critical item").is_visible()
    assert_no_serious_axe_violations(alice)
    shoot(alice, "session-note-signed")

    session = Session.objects.get()
    assert session.is_signed
    row = Administration.objects.get()
    assert (row.session_id, row.total, row.completed_at) == (session.pk, 9, session.starts_at)
    assert row.answers["difficulty"] is not None
    assert hasattr(row, "risk_alert")  # item 9 above 0: the alert, as on the entry page
    assert BetweenSessionTask.objects.get().text == TASK
