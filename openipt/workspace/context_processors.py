from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from openipt.workspace.navigation import nav_items, open_alert_count


def navigation(request: HttpRequest) -> dict[str, Any]:
    """``nav_items`` for templates/components/nav.html, built only if a page renders it
    (no query either way until the Alerts badge is shown), and ``open_alert_count`` (the
    same lazy count as the badge, for the dashboard)."""
    return {
        "nav_items": SimpleLazyObject(lambda: nav_items(request)),
        "open_alert_count": open_alert_count(request),
    }
