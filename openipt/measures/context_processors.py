from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from openipt.accounts.models import User


def alerts(request: HttpRequest) -> dict[str, Any]:
    """``open_alert_count`` for the navigation: one count query, run only if a page shows it."""
    membership = getattr(request, "membership", None)
    if membership is None or not (membership.is_clinician or membership.is_supervisor):
        return {"open_alert_count": 0}

    def count() -> int:
        from openipt.measures.selectors import open_alert_count

        return open_alert_count(cast("User", request.user))

    return {"open_alert_count": SimpleLazyObject(count)}
