from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the base layout needs: the membership (for navigation by role)."""
    membership = getattr(request, "membership", None)
    return {
        "membership": membership if membership else None,
        "idle_timeout_minutes": settings.OPENIPT_IDLE_TIMEOUT_MINUTES,
    }
