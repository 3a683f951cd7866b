"""The client's side in Chromium on a 375 px phone: the consultation form, then
Dana's portal pages (questionnaire, diary, goals, messages, safety plan), each checked
with axe-core and for sideways scrolling."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import PHONE_VIEWPORT

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

DANA_EMAIL = "dana@example.test"


def checked(page, path_pattern: str):  # type: ignore[no-untyped-def]
    """On the expected page, no serious axe-core violation, nothing wider than the phone."""
    assert re.search(path_pattern, page.url), f"expected {path_pattern}, at {page.url}"
    assert_no_serious_axe_violations(page)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"{page.url} scrolls sideways ({width}px)"
    return page


def setup_dana(transactional_db):  # type: ignore[no-untyped-def]
    from openipt.measures import services as measures
    from openipt.measures.models import Instrument
    from openipt.portal.tests.matrix import dana_user
    from openipt.testing.personas import PASSWORD, make_personas
    from openipt.treatment import services as treatment
    from openipt.treatment.tests import factories

    personas = make_personas()
    dana_user(personas)
    course = factories.make_course(personas.alice, personas.dana)
    treatment.goal_create(
        actor=personas.alice, course=course, data=treatment.GoalData(text="Call my sister")
    )
    measures.administration_assign(
        actor=personas.alice, client=personas.dana, due_on=timezone.localdate(), course=course,
        instrument=Instrument.objects.get(code="PHQ-9", practice__isnull=True),
    )  # fmt: skip
    measures.safety_plan_save(
        actor=personas.alice,
        client=personas.dana,
        data=measures.SafetyPlanData(warning_signs="Not sleeping"),
    )
    return personas, PASSWORD


def test_consultation_form_on_a_phone(new_page, live_server, transactional_db):
    personas, _password = setup_dana(transactional_db)
    page = new_page(viewport=PHONE_VIEWPORT)
    page.goto(f"/consultation/?practice={personas.practice.uuid}")
    checked(page, r"/consultation/")
    page.get_by_label("Your name").fill("Pat <b>")
    page.get_by_label("Email address").fill("pat@example.test")
    page.get_by_label(re.compile("I agree that the practice may contact me")).check()
    page.get_by_role("button", name="Send my request").click()
    # The same address answers with the error: wait for the new page, not the old one.
    expect(page.get_by_text("Please remove the < and > characters")).to_have_count(1)
    checked(page, r"/consultation/")
    page.get_by_label("Your name").fill("Pat Requester")
    page.get_by_role("button", name="Send my request").click()
    page.wait_for_url(re.compile(r"/consultation/thanks/$"))
    checked(page, r"/thanks/$")


def test_dana_uses_her_portal_on_a_phone(new_page, live_server, transactional_db):
    _personas, password = setup_dana(transactional_db)
    page = new_page(viewport=PHONE_VIEWPORT)
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(DANA_EMAIL)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/portal/$"))
    checked(page, r"/portal/$")

    page.get_by_role("link", name=re.compile("Answer:")).click()
    for number in range(1, 11):
        expect(page.get_by_text(f"Question {number} of 10")).to_have_count(1)
        checked(page, r"/portal/questionnaires/")
        page.locator("label.choice").first.click()
        page.get_by_role("button", name=re.compile("Save and")).click()
    checked(page, r"/portal/questionnaires/")
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url(re.compile(r"/portal/questionnaires/[0-9a-f-]+/$"))  # the thank-you
    checked(page, r"/portal/questionnaires/[0-9a-f-]+/$")

    for mood, who in (("3", "my sister"), ("6", "my partner")):
        page.goto("/portal/diary/new/")
        checked(page, r"/portal/diary/new/$")
        page.locator(f"input[name=mood][value='{mood}']").check()
        page.get_by_label("Who were you with").fill(who)
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(re.compile(r"/portal/diary/$"))
    checked(page, r"/portal/diary/$")
    assert page.get_by_text("my partner").count() == 1

    for path in ("/portal/goals/", "/portal/tasks/", "/portal/messages/",
                 "/portal/safety-plan/", "/portal/help/", "/portal/record/"):  # fmt: skip
        page.goto(path)
        checked(page, re.escape(path) + "$")
        assert page.get_by_role("link", name="Need help now?").count() >= 1
