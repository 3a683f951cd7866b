"""Where Debian's Chromium lives and how the browser tests launch it (no Playwright download)."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM_PATH = Path(os.environ.get("OPENIPT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SKIP_REASON = "Chromium is not installed"
MISSING_CHROMIUM_MESSAGE = (
    "Browser tests were skipped: Chromium is not installed. "
    "Install it with: sudo apt-get install -y chromium"
)


def browser_required() -> bool:
    """CI sets OPENIPT_REQUIRE_BROWSER=1 so that a missing Chromium fails instead of skipping."""
    return os.environ.get("OPENIPT_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}
