"""Risk alerts end to end in Chromium: Alice types a PHQ-9 with item 9 = 1 in session, sees the
risk alert at once and acknowledges it; a second alert left open reaches her supervisor
Bob only after the configured delay (the clock is moved with time-machine, never waited)."""

from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import DESKTOP_VIEWPORT, PHONE_VIEWPORT
from tests.browser.totp import current_totp_code

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ESCALATION_MINUTES = 30
SHOTS = Path(tempfile.gettempdir()) / "shots"  # /tmp/shots on Linux
ITEM_9 = "Thoughts that you would be better off dead or of hurting yourself in some way"
UUID = r"[0-9a-f-]{36}"


def checked(page, path_pattern: str):  # type: ignore[no-untyped-def]
    """On the expected page, and no serious or critical axe-core violation on it."""
    assert re.search(path_pattern, page.url), f"expected {path_pattern}, at {page.url}"
    assert_no_serious_axe_violations(page)
    return page


def sign_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    """The real sign-in: password, then the authenticator code (personas share one secret)."""
    from openipt.testing.personas import PASSWORD, TOTP_SECRET

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.get_by_label(re.compile("code", re.I)).first.fill(current_totp_code(TOTP_SECRET))
    page.get_by_role("button", name=re.compile("Sign in|Verify|Continue", re.I)).click()
    page.wait_for_url(re.compile(r"/$"))


def open_entry_page(page, course_uuid: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/courses/{course_uuid}/measures/new/?instrument=PHQ-9")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Patient Health")


def type_phq9(page, typed: str) -> None:  # type: ignore[no-untyped-def]
    """Type the answers into the quick-entry box (focused on arrival) and press Enter."""
    assert page.evaluate("document.activeElement.name") == "quick"  # typing can start at once
    box = page.get_by_label("Quick entry")
    box.press_sequentially(typed)
    item_9 = page.get_by_role("group", name=ITEM_9)
    assert item_9.get_by_role("radio", name=re.compile(r"^1 ")).is_checked()  # kept in step
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/alerts/{UUID}/$"))


def open_alert_badge(page):  # type: ignore[no-untyped-def]
    return page.get_by_role("navigation").get_by_role("link", name=re.compile("Alerts"))


def take_screenshots(page) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "measure-entry-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE_VIEWPORT)
    page.screenshot(path=str(SHOTS / "measure-entry-375.png"), full_page=True)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"the entry page scrolls sideways ({width}px)"
    page.set_viewport_size(DESKTOP_VIEWPORT)


def run_periodic_tasks() -> str:
    out = io.StringIO()
    call_command("periodic", "--now", stdout=out)
    return out.getvalue()


def test_risk_alert_is_shown_acknowledged_and_escalated_after_the_delay(
    new_page, live_server, transactional_db, settings
):
    from openipt.audit.models import AuditEvent
    from openipt.measures.models import RiskAlert
    from openipt.testing.personas import make_personas
    from openipt.treatment.tests import factories

    settings.OPENIPT_ALERT_ESCALATION_MINUTES = ESCALATION_MINUTES
    personas = make_personas()
    course = factories.make_course(personas.alice, personas.dana, planned_sessions=12)
    factories.make_session(personas.alice, course, 1)

    # Alice types a PHQ-9 in session 1: item 9 answered "several days" (1).
    alice = new_page()
    sign_in(alice, personas.alice.email)
    open_entry_page(alice, str(course.uuid))
    checked(alice, r"/measures/new/")
    assert (
        alice.get_by_label("Session").locator("option:checked").inner_text().startswith("Session 1")
    )
    take_screenshots(alice)
    mail.outbox.clear()
    type_phq9(alice, "210110001")

    # The alert shows at once: its page, the warning, the answer, the count in the menu.
    checked(alice, rf"/alerts/{UUID}/$")
    assert alice.get_by_text("A risk alert was raised").is_visible()
    assert alice.get_by_role("heading", name="Open").is_visible()
    assert alice.get_by_text("Several days", exact=True).is_visible()
    assert re.search(r"\b1\b", open_alert_badge(alice).inner_text())
    assert [m.to for m in mail.outbox] == [[personas.alice.email]]
    assert "Dana" not in mail.outbox[0].subject + mail.outbox[0].body  # no clinical detail

    # Acknowledging records what was done and closes it.
    alice.get_by_label("Risk assessment done").check()
    alice.get_by_label("Safety plan reviewed").check()
    alice.get_by_label("Note", exact=True).fill(
        "Asked about item 9; no plan or intent; follow up next week."
    )
    alice.get_by_role("button", name="Record and acknowledge").click()
    alice.wait_for_url(re.compile(r"/alerts/$"))
    checked(alice, r"/alerts/$")
    assert alice.get_by_text("Alert acknowledged").is_visible()
    assert alice.get_by_role("cell", name="Acknowledged").is_visible()
    assert "1" not in open_alert_badge(alice).inner_text()
    alice.get_by_role("row", name=re.compile("Dana")).get_by_role("link").click()
    alice.wait_for_url(re.compile(rf"/alerts/{UUID}/$"))
    record = alice.locator("dl.details").inner_text()
    assert "Risk assessment done; Safety plan reviewed" in record
    assert "no plan or intent" in record
    assert alice.get_by_role("button", name="Record and acknowledge").count() == 0
    first = RiskAlert.objects.get()
    assert first.actions == ["risk_assessment", "safety_plan"]
    assert first.acknowledged_by == personas.alice

    # A second PHQ-9 with item 9 = 1, and this alert is left unacknowledged.
    open_entry_page(alice, str(course.uuid))
    type_phq9(alice, "000000001")
    second = RiskAlert.objects.get(status=RiskAlert.Status.OPEN)
    assert alice.get_by_role("heading", name="Open").is_visible()

    # Bob, in his own browser, sees nothing of it before the delay has passed.
    bob = new_page()
    sign_in(bob, personas.bob.email)
    bob.goto("/alerts/")
    assert bob.get_by_text("No alerts.").is_visible()
    assert bob.goto(f"/alerts/{second.uuid}/").status == 404  # type: ignore[union-attr]
    mail.outbox.clear()
    with time_machine.travel(second.raised_at + dt.timedelta(minutes=ESCALATION_MINUTES - 1)):
        assert "escalate_overdue_alerts: 0" in run_periodic_tasks()
    bob.goto("/alerts/")
    assert bob.get_by_text("No alerts.").is_visible()
    assert mail.outbox == []

    # Past the delay the background task escalates it (only the open one) to Bob.
    with time_machine.travel(second.raised_at + dt.timedelta(minutes=ESCALATION_MINUTES + 1)):
        assert "escalate_overdue_alerts: 1" in run_periodic_tasks()
        assert "escalate_overdue_alerts: 0" in run_periodic_tasks()  # once only
    assert [m.to for m in mail.outbox] == [[personas.bob.email]]
    assert "Dana" not in mail.outbox[0].subject + mail.outbox[0].body
    bob.goto("/alerts/")
    checked(bob, r"/alerts/$")
    row = bob.get_by_role("row", name=re.compile("Dana"))
    assert row.count() == 1
    assert row.get_by_text("Escalated", exact=True).is_visible()
    assert row.get_by_text("Alice Clinician").is_visible()
    assert re.search(r"\b1\b", open_alert_badge(bob).inner_text())
    row.get_by_role("link").click()
    bob.wait_for_url(re.compile(rf"/alerts/{second.uuid}/$"))
    checked(bob, rf"/alerts/{second.uuid}/$")
    assert bob.get_by_text("Escalated to supervision").is_visible()
    steps = AuditEvent.objects.filter(object_type="measures.riskalert", action="update")
    assert sorted(steps.values_list("detail", flat=True)) == [
        "acknowledged: risk_assessment,safety_plan",
        "escalated to 1 supervisor(s)",
    ]
