"""The browser harness itself: Chromium starts, pages load from the live server, axe bites."""

from __future__ import annotations

import pytest

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import PHONE_VIEWPORT

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_axe_check_fails_on_an_inaccessible_page(page):
    page.set_content('<html lang="en"><body><main><img src="x.png"></main></body></html>')

    with pytest.raises(AssertionError, match="image-alt"):
        assert_no_serious_axe_violations(page)


def test_sign_in_page_loads_with_its_stylesheet_and_passes_axe(new_page, personas):
    page = new_page(viewport=PHONE_VIEWPORT)

    page.goto("/accounts/login/")

    assert page.locator("input[type=email]").is_visible()
    stylesheet_loaded = page.evaluate("document.styleSheets.length > 0")
    assert stylesheet_loaded
    assert_no_serious_axe_violations(page)
