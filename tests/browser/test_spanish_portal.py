"""Dana reads Spanish (issue 18): her invitation comes in Spanish, she opens it on a 375 px
phone and uses her portal entirely in Spanish (the crisis page included), answers the
Spanish PHQ-9, and Alice sees that score on the same chart as Dana's earlier English
PHQ-9s, marked with its language. Every page is checked with axe-core, for sideways
scrolling and for English left on it."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import DESKTOP_VIEWPORT, PHONE_VIEWPORT
from tests.browser.test_measures_alerts import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Set OPENIPT_SCREENSHOTS to a folder to keep pictures of the Spanish pages for review.
SCREENSHOTS = os.environ.get("OPENIPT_SCREENSHOTS", "")
# English that must not be left on a Spanish page (navigation, buttons, headings).
ENGLISH = ["Need help now?", "Sign out", "Questionnaires", "Messages", "Save", "Your record"]
PHQ9_MODERATE = {str(n): "LA6570-1" for n in range(1, 10)}  # 18, "moderately severe"


def es(english: str) -> str:
    with translation.override("es"):
        return translation.gettext(english)


def looked_at(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """In Spanish, no serious axe-core violation, nothing wider than the phone."""
    assert page.locator("html").get_attribute("lang") == "es", page.url
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"es-{name}-375.png"), full_page=True)
    assert_no_serious_axe_violations(page)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"{page.url} scrolls sideways ({width}px)"
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('main *, nav *')]
             .filter(e => e.children.length === 0 && e.scrollWidth > e.clientWidth + 1
                          && getComputedStyle(e).overflowX === 'visible' && e.clientWidth > 0)
             .map(e => e.tagName + ': ' + e.textContent.trim().slice(0, 40))"""
    )
    assert overflowing == [], f"{page.url}: text wider than its box: {overflowing}"
    text = page.locator("body").inner_text()
    left = [words for words in ENGLISH if re.search(rf"\b{re.escape(words)}\b", text)]
    assert left == [], f"{page.url} still says {left}"


def _setup():  # type: ignore[no-untyped-def]
    from openipt.clients.models import Client
    from openipt.measures import services as measures
    from openipt.measures.models import Instrument
    from openipt.testing.personas import give_crisis_contacts, make_personas
    from openipt.treatment.tests import factories

    personas = make_personas()
    give_crisis_contacts(personas.practice)
    Client.objects.filter(pk=personas.dana.pk).update(language="es", email="dana@example.test")
    personas.dana.refresh_from_db()
    course = factories.make_course(personas.alice, personas.dana)
    english = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    today = timezone.localdate()
    for weeks_ago in (4, 2):  # two earlier PHQ-9s, in English, entered in session
        measures.administration_enter(
            actor=personas.alice, course=course, instrument=english, answers=PHQ9_MODERATE,
            completed_on=today - dt.timedelta(weeks=weeks_ago),
        )  # fmt: skip
    measures.administration_assign(
        actor=personas.alice, client=personas.dana, due_on=today, course=course,
        instrument=english,
    )  # fmt: skip
    return personas, course


def test_dana_reads_her_invitation_and_her_portal_in_spanish(new_page, transactional_db):
    from openipt.core.models import OutboxEmail
    from openipt.engagement import accounts
    from openipt.measures.models import Administration
    from openipt.testing.personas import PASSWORD

    personas, course = _setup()
    accounts.portal_invite(actor=personas.alice, client=personas.dana, email="dana@example.test")
    invitation = OutboxEmail.objects.get(kind="portal_invitation")
    assert "invited you" not in invitation.body
    link = re.search(r"https?://\S+/portal/welcome/\S+/", invitation.body)
    assert link is not None, invitation.body

    page = new_page(viewport=PHONE_VIEWPORT)
    page.goto(re.sub(r"^https?://[^/]+", "", link.group(0)))
    looked_at(page, "welcome")
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/portal/$"))
    looked_at(page, "home")

    page.get_by_role("link", name=es("Need help now?")).first.click()
    page.wait_for_url(re.compile(r"/portal/help/$"))
    looked_at(page, "crisis")
    assert page.locator('main a[href^="tel:"]').count() >= 1

    page.goto("/portal/questionnaires/")
    looked_at(page, "questionnaires")
    page.locator("main a[href*='/portal/questionnaires/']").first.click()
    expect(page.get_by_text("Durante las últimas 2 semanas").first).to_be_visible()
    for number in range(1, 11):
        progress = es("Question %(number)s of %(total)s") % {"number": number, "total": 10}
        expect(page.get_by_text(progress)).to_have_count(1)
        looked_at(page, f"question-{number}")
        page.locator("label.choice").nth(2 if number < 10 else 1).click()
        page.locator("main button[type=submit]").first.click()
    page.get_by_role("button", name=es("Send my answers")).click()
    page.wait_for_url(re.compile(r"/portal/questionnaires/[0-9a-f-]+/$"))
    looked_at(page, "thanks")

    for path in ("/portal/diary/new/", "/portal/goals/", "/portal/messages/",
                 "/portal/safety-plan/", "/portal/record/", "/portal/language/"):  # fmt: skip
        page.goto(path)
        looked_at(page, path.strip("/").replace("/", "-"))

    answered = Administration.objects.filter(client=personas.dana).order_by("completed_at")
    assert [a.instrument.code for a in answered] == ["PHQ-9", "PHQ-9", "PHQ-9-es"]
    assert answered.last().total == 18

    staff = new_page(viewport=DESKTOP_VIEWPORT)
    sign_in(staff, personas.alice.email)
    staff.goto(f"/courses/{course.uuid}/measures/")
    offered = staff.locator("#enter-instrument option:checked")
    assert offered.get_attribute("value") == "PHQ-9-es"  # typed in session: Dana's version
    chart = staff.locator("figure", has=staff.locator("svg")).filter(has_text="PHQ-9").first
    expect(chart).to_be_visible()
    points = chart.locator("circle > title, path.point-between > title")
    assert points.count() == 3  # one series: two English PHQ-9s and the Spanish one
    assert chart.locator(".point-language").count() == 1  # the Spanish point, marked in text
    table = staff.locator("table").filter(has_text="PHQ-9").first
    assert table.get_by_text(re.compile("Spanish|Español")).count() >= 1
    if SCREENSHOTS:
        staff.screenshot(path=str(Path(SCREENSHOTS) / "es-chart-desktop.png"), full_page=True)


STAFF_ENGLISH = ["Sign out", "Clients", "Caseload", "Schedule", "Security", "Save"]


def test_alice_works_in_spanish_on_her_pages(new_page, transactional_db):
    """A clinician who chose Spanish: her everyday pages in Spanish, at desktop and phone
    width, with no serious axe-core violation and no text wider than its box."""
    from django.urls import reverse

    from openipt.accounts.models import User

    personas, course = _setup()
    User.objects.filter(pk=personas.alice.pk).update(language="es")
    paths = [
        reverse("core:home"),
        reverse("clients:list"),
        reverse("clients:detail", args=[personas.dana.uuid]),
        reverse("clients:messages", args=[personas.dana.uuid]),
        reverse("treatment:course-detail", args=[course.uuid]),
        reverse("measures:course-measures", args=[course.uuid]),
        reverse("accounts:language"),
    ]
    page = new_page(viewport=DESKTOP_VIEWPORT)
    sign_in(page, personas.alice.email)  # once: an authenticator code is taken only once
    for viewport, width in ((DESKTOP_VIEWPORT, "desktop"), (PHONE_VIEWPORT, "375")):
        page.set_viewport_size(viewport)
        for path in paths:
            page.goto(path)
            assert page.locator("html").get_attribute("lang") == "es", path
            if SCREENSHOTS:
                name = path.strip("/").replace("/", "-")[:60] or "home"
                page.screenshot(path=str(Path(SCREENSHOTS) / f"es-staff-{name}-{width}.png"))
            assert_no_serious_axe_violations(page)
            scroll = page.evaluate("document.scrollingElement.scrollWidth")
            assert scroll <= viewport["width"], f"{path} scrolls sideways at {width}"
            text = page.locator("body").inner_text()
            left = [w for w in STAFF_ENGLISH if re.search(rf"\b{re.escape(w)}\b", text)]
            assert left == [], f"{path} still says {left}"
