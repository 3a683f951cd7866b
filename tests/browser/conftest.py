"""Playwright harness: Debian's headless Chromium against pytest-django's live server.

Every browser test module starts with::

    pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

so that under ``pytest -n 2 --dist loadgroup`` all of them share one worker (and one browser).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.chromium import (
    CHROMIUM_ARGS,
    CHROMIUM_PATH,
    MISSING_CHROMIUM_MESSAGE,
    browser_required,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

DEFAULT_TIMEOUT_MS = 10_000
PHONE_VIEWPORT: ViewportSize = {"width": 375, "height": 812}
DESKTOP_VIEWPORT: ViewportSize = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM_PATH.exists():
        if browser_required():
            pytest.fail(f"OPENIPT_REQUIRE_BROWSER is set but {CHROMIUM_PATH} is missing.")
        pytest.skip(MISSING_CHROMIUM_MESSAGE)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; Django would
    # otherwise refuse ORM calls from the test body while the browser is open.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM_PATH), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser: Browser, live_server: Any) -> Iterator[Callable[..., Page]]:
    """Opens a page in a fresh browser context (its own cookies: a separate person).

    Fails the test if the page reports a Content-Security-Policy violation or an
    uncaught script error, since both mean something on the page silently did not work.
    """
    contexts = []
    problems: list[str] = []

    def open_page(*, viewport: ViewportSize = DESKTOP_VIEWPORT) -> Page:
        context = browser.new_context(base_url=live_server.url, viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(DEFAULT_TIMEOUT_MS)
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on(
            "console",
            lambda msg: (
                problems.append(f"console: {msg.text}")
                if "Content Security Policy" in msg.text
                else None
            ),
        )
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert problems == [], "\n".join(problems)


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()
