"""The practice outcome dashboard in Chromium at 1366 and 375 px, signed in as Bob (Alice's
supervisor) over the hand-computed fixture: both charts drawn with every text at 12 px or
more and clear of the others, each with its table beside it, no sideways scrolling, the
suppressed brief-IPT row said in words, and axe-core finds no serious problem."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.test_charts_readable import assert_readable
from tests.browser.test_session_workspace import WIDE, shoot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_dashboard_is_readable_on_desktop_and_phone(new_page, live_server, transactional_db):
    from openipt.care.tests.outcome_fixture import PERIOD, seed
    from openipt.testing.personas import make_personas

    personas = make_personas()
    seed(personas)
    bob = new_page(viewport=WIDE)
    sign_in(bob, personas.bob.email)
    bob.get_by_role("link", name="Outcomes").click()
    expect(bob.get_by_role("heading", name="Practice outcomes")).to_be_visible()
    bob.goto(f"/outcomes/?date_from={PERIOD[0]}&date_to={PERIOD[1]}&by=format")
    expect(bob.locator("svg.outcome-chart")).to_have_count(2)
    expect(bob.locator(".chart-beside table")).to_have_count(2)
    expect(bob.locator("svg.outcome-chart text", has_text="71% · 5 of 7")).to_have_count(1)
    brief = bob.get_by_role("row", name="Brief IPT").first
    expect(brief).to_contain_text("Fewer than 5 courses")
    shoot(bob, "outcomes")  # also asserts no sideways scrolling at 375 px
    assert_no_serious_axe_violations(bob)
    for viewport in (WIDE, PHONE_VIEWPORT):
        bob.set_viewport_size(viewport)
        assert_readable(bob, 2, wide=viewport is WIDE)
        width = bob.evaluate("document.scrollingElement.scrollWidth")
        assert width <= viewport["width"], (viewport, width)
