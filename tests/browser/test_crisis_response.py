"""Dana on a 375 px phone answers PHQ-9 item 9 "Several days": the next page leads with
her practice's crisis numbers as links that dial and her safety plan, and her clinician's
alert exists (issue 10; docs/measures.md §7)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.utils import timezone

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import PHONE_VIEWPORT

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Set OPENIPT_SCREENSHOTS to a folder to keep a picture of the page for review.
SCREENSHOTS = os.environ.get("OPENIPT_SCREENSHOTS", "")


def _setup(transactional_db):
    from openipt.accounts.models import CrisisLine
    from openipt.accounts.practice_settings import (
        CrisisSettings,
        practice_crisis_settings_update,
    )
    from openipt.measures import services as measures
    from openipt.measures.models import Instrument
    from openipt.portal.tests.matrix import dana_user
    from openipt.testing.personas import PASSWORD, make_personas
    from openipt.treatment.tests import factories

    personas = make_personas()
    user = dana_user(personas)
    practice_crisis_settings_update(
        actor=personas.adam, practice=personas.practice, version=personas.practice.version,
        settings=CrisisSettings(
            crisis_lines=[CrisisLine("Samaritans", "116 123", "24 hours, every day"),
                          CrisisLine("Riverside crisis team", "020 7946 0000", "Weekdays 9 to 5")],
            emergency_number="999", response_time="within one working day (Monday to Friday)",
        ),
    )  # fmt: skip
    course = factories.make_course(personas.alice, personas.dana)
    administration = measures.administration_assign(
        actor=personas.alice, client=personas.dana, due_on=timezone.localdate(), course=course,
        instrument=Instrument.objects.get(code="PHQ-9", practice__isnull=True),
    )  # fmt: skip
    measures.safety_plan_save(
        actor=personas.alice, client=personas.dana,
        data=measures.SafetyPlanData(warning_signs="Not sleeping"),
    )  # fmt: skip
    return user, PASSWORD, administration


def test_item9_on_a_phone_leads_to_the_crisis_numbers_and_the_plan(
    new_page, live_server, transactional_db
):
    from openipt.measures.models import RiskAlert

    user, password, administration = _setup(transactional_db)
    page = new_page(viewport=PHONE_VIEWPORT)
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(user.email)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/portal/$"))
    page.goto(f"/portal/questionnaires/{administration.uuid}/")
    assert page.get_by_text("Over the last 2 weeks").count() >= 1
    for number in range(1, 11):
        assert page.get_by_text(f"Question {number} of 10").count() == 1
        choice = page.locator("label.choice")
        (choice.nth(1) if number == 9 else choice.first).click()  # item 9: "Several days"
        page.get_by_role("button", name=re.compile("Save and")).click()
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url(re.compile(rf"/portal/questionnaires/{administration.uuid}/$"))

    assert RiskAlert.objects.filter(administration=administration).count() == 1
    assert page.get_by_role("heading", name="Thank you for telling us").count() == 1
    for tel in ("tel:999", "tel:116123", "tel:02079460000"):
        assert page.locator(f'main a[href="{tel}"]').count() >= 1
    assert page.get_by_role("link", name="Open my safety plan").count() == 1
    help_box = page.locator(".crisis-first").bounding_box()
    sent_box = page.locator("#sent-heading").bounding_box()
    assert help_box is not None
    assert sent_box is not None
    assert help_box["y"] < sent_box["y"]  # help comes first on the screen
    assert_no_serious_axe_violations(page)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"the page scrolls sideways ({width}px)"
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "crisis-375.png"), full_page=True)
    page.get_by_role("link", name="Open my safety plan").click()
    page.wait_for_url(re.compile(r"/portal/safety-plan/$"))
    assert page.locator('main a[href="tel:116123"]').count() >= 1
