"""The calendar home in Chromium: on a phone "Waiting for you" (what needs the clinician
today) comes before the week grid, in the page's order as well as on screen, so a screen
reader meets it first too; on a wide screen it sits beside the grid, on the right.
Screenshots at 1366 and 375 px go to /tmp/shots (``shoot``)."""

from __future__ import annotations

import pytest

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.test_session_workspace import WIDE, shoot, sign_in, todays_appointment

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_waiting_for_you_comes_before_the_grid_on_a_phone_and_beside_it_when_wide(
    new_page, live_server, transactional_db
):
    from openipt.testing.personas import make_personas

    personas = make_personas()
    todays_appointment(personas)
    alice = new_page(viewport=WIDE)
    sign_in(alice, personas.alice.email)
    shoot(alice, "calendar-home")
    waiting = alice.get_by_role("heading", level=2, name="Waiting for you")
    grid = alice.locator("table.cal")

    wide_heading, wide_grid = waiting.bounding_box(), grid.bounding_box()
    assert wide_heading is not None
    assert wide_grid is not None
    assert wide_heading["x"] >= wide_grid["x"] + wide_grid["width"]  # beside it, on the right

    alice.set_viewport_size(PHONE_VIEWPORT)
    phone_heading, phone_grid = waiting.bounding_box(), grid.bounding_box()
    assert phone_heading is not None
    assert phone_grid is not None
    assert phone_heading["y"] + phone_heading["height"] <= phone_grid["y"]
    assert_no_serious_axe_violations(alice)
    # The reading order matches: the list comes before the grid in the page itself.
    before = alice.evaluate(
        "Boolean(document.getElementById('due-heading').compareDocumentPosition("
        "document.querySelector('table.cal')) & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    assert before is True
