"""Cross-cutting suites: browser tests, the permission matrix, URL checks."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.browser.chromium import MISSING_CHROMIUM_MESSAGE, SKIP_REASON


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Generator[None]:
    """Say plainly, after every other summary, when the browser tests could not run."""
    result = yield
    skipped = terminalreporter.stats.get("skipped", [])
    if any(SKIP_REASON in str(getattr(report, "longrepr", "")) for report in skipped):
        terminalreporter.write_sep("!", "browser tests skipped", yellow=True, bold=True)
        terminalreporter.write_line(MISSING_CHROMIUM_MESSAGE, yellow=True, bold=True)
    return result
