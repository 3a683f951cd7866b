from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

# Which main-navigation entry a page belongs to, by URL namespace (then by URL name).
_SECTION_BY_NAMESPACE = {
    "core": "dashboard",
    "clients": "clients",
    "intake": "requests",
    "treatment": "caseload",
    "scheduling": "schedule",
    "audit": "audit",
    "inbox": "inbox",
    "outcomes": "outcomes",
    "research": "research",
    "supervision": "supervision",
}
_SECTION_BY_NAME = {
    "measures:instruments": "questionnaires",
    "measures:alerts": "alerts",
    "measures:practice-alerts": "alerts",
    "measures:alert-detail": "alerts",
    "measures:safety-plan": "clients",
    "measures:safety-plan-history": "clients",
    "measures:course-measures": "caseload",
    "measures:administration-create": "caseload",
    "measures:administration-assign": "caseload",
    "accounts:practice-settings": "practice",
}


def nav_section(request: HttpRequest) -> str:
    """The navigation entry to mark as current (``aria-current``); "" when none fits."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.view_name in _SECTION_BY_NAME:
        return _SECTION_BY_NAME[match.view_name]
    if match.namespace == "accounts" and (match.url_name or "").startswith("staff"):
        return "staff"
    if (match.url_name or "").startswith("mfa_"):
        return "security"
    return _SECTION_BY_NAMESPACE.get(match.namespace, "")


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the base layout needs: the membership (for navigation by role), current section."""
    membership = getattr(request, "membership", None)
    return {
        "membership": membership if membership else None,
        "nav_section": nav_section(request),
        "idle_timeout_minutes": settings.OPENIPT_IDLE_TIMEOUT_MINUTES,
    }
