"""Accessibility checks with axe-core (the copy shipped by axe-playwright-python, no CDN)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from axe_playwright_python.base import AXE_SCRIPT

if TYPE_CHECKING:
    from playwright.sync_api import Page

BLOCKING_IMPACTS = {"serious", "critical"}


def serious_axe_violations(page: Page) -> list[dict[str, Any]]:
    page.evaluate(AXE_SCRIPT)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]


def assert_no_serious_axe_violations(page: Page) -> None:
    """Fail listing every serious or critical axe-core violation on the current page."""
    violations = serious_axe_violations(page)
    if violations:
        lines = [f"axe-core found {len(violations)} serious problem(s) on {page.url}:"]
        for violation in violations:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            lines.extend(f"    at {node['target']}" for node in violation["nodes"][:5])
        raise AssertionError("\n".join(lines))
