"""The staff main navigation, as data.

``NAVIGATION`` lists every entry once, in display order: its section key (matched against
``openipt.core.context_processors.nav_section``), label, URL name and who sees it (a
predicate over the request's ``Membership``, or ``None`` for a signed-in user without one).
``nav_items(request)`` keeps the entries the member may see and marks the current one.
templates/components/nav.html only loops over the result.

Visibility comes from the policy's ``can_*`` functions (openipt/accounts/policy.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise, SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Membership, User
from openipt.accounts.policy import (
    can_export_research,
    can_keep_supervision,
    can_manage_apps,
    can_manage_practice,
    can_see_alerts,
    can_see_caseload,
    can_see_clients,
    can_see_dashboard,
    can_see_inbox,
    can_see_outcomes,
    can_see_schedule,
    can_triage_consultations,
)
from openipt.core.context_processors import nav_section
from openipt.engagement import inbox
from openipt.measures import selectors as measure_selectors

Predicate = Callable[[Membership | None], bool]
Current = Literal["page", "true"] | None


# --- navigation rules (not policy) ----------------------------------------------------------


def _sees_practice_alerts_instead(membership: Membership | None) -> bool:
    """One "Alerts" entry: an administrator who receives no alerts of their own gets the
    practice's alert overview there instead."""
    return can_manage_practice(membership) and not can_see_alerts(membership)


def _signed_in(membership: Membership | None) -> bool:
    return True


def _not_a_client(membership: Membership | None) -> bool:
    """Clients choose their language in the portal's own navigation."""
    return membership is None or membership.kind != Membership.Kind.CLIENT


@dataclass(frozen=True)
class NavEntry:
    key: str  # the section, as ``nav_section`` names it
    label: str | Promise
    url_name: str
    visible: Predicate
    badge: Literal["open_alerts", "inbox"] | None = None


NAVIGATION: tuple[NavEntry, ...] = (
    NavEntry("dashboard", _("Dashboard"), "core:home", can_see_dashboard),
    NavEntry("clients", _("Clients"), "clients:list", can_see_clients),
    NavEntry("requests", _("Requests"), "intake:list", can_triage_consultations),
    NavEntry("caseload", _("Caseload"), "treatment:caseload", can_see_caseload),
    NavEntry("schedule", _("Schedule"), "scheduling:week", can_see_schedule),
    # Messages, diary entries, task reports and questionnaires from the member's clients.
    NavEntry("inbox", _("Inbox"), "inbox:list", can_see_inbox, badge="inbox"),
    NavEntry("alerts", _("Alerts"), "measures:alerts", can_see_alerts, badge="open_alerts"),
    NavEntry("alerts", _("Alerts"), "measures:practice-alerts", _sees_practice_alerts_instead),
    NavEntry("outcomes", _("Outcomes"), "outcomes:dashboard", can_see_outcomes),
    NavEntry("supervision", _("Supervision"), "supervision:workspace", can_keep_supervision),
    NavEntry("staff", _("Staff"), "accounts:staff-list", can_manage_practice),
    # Crisis contacts and what clients are told about response times.
    NavEntry("practice", _("Practice settings"), "accounts:practice-settings", can_manage_practice),
    NavEntry("questionnaires", _("Questionnaires"), "measures:instruments", can_manage_practice),
    NavEntry("audit", _("Audit log"), "audit:report", can_manage_practice),
    NavEntry("research", _("Research export"), "research:export", can_export_research),
    # SMART apps that read and write through the FHIR API (docs/smart.md).
    NavEntry("apps", _("Apps"), "smart:apps", can_manage_apps),
    # Staff only: clients find their Connected apps in the portal's own navigation.
    NavEntry("connected", _("Connected apps"), "smart:connected", can_see_dashboard),
    NavEntry("language", _("Language"), "accounts:language", _not_a_client),
    NavEntry("security", _("Security"), "mfa_index", _signed_in),
)


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str | Promise
    url: str
    current: Current  # the value of aria-current: "page" on the entry's own page,
    #                   "true" anywhere else inside its section, None outside it
    badge: Any = None  # a count (lazy) shown next to the label when not zero
    badge_label: str | Promise = ""  # what the count counts, for screen readers


def open_alert_count(request: HttpRequest) -> Any:
    """The open-alert count for this request, lazy (one count query, run only if a page
    shows it) and made once per request so the Alerts badge and the dashboard share it."""
    cached = getattr(request, "_openipt_open_alert_count", None)
    if cached is None:
        cached = _lazy_alert_count(request)
        # A per-request cache on the request object, like django's own ``request._cached_user``.
        request._openipt_open_alert_count = cached  # type: ignore[attr-defined]
    return cached


def _lazy_alert_count(request: HttpRequest) -> Any:
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    if not can_see_alerts(membership) or not isinstance(user, User):
        return 0
    return SimpleLazyObject(lambda: measure_selectors.open_alert_count(user))


def inbox_counts(request: HttpRequest) -> Any:
    """The member's new-item counts (``inbox.InboxCounts``), lazy and made once per request,
    so the Inbox badge, the home page and the inbox page share one query."""
    cached = getattr(request, "_openipt_inbox_counts", None)
    if cached is None:
        membership = getattr(request, "membership", None) or None
        cached = SimpleLazyObject(lambda: inbox.inbox_counts(membership))
        request._openipt_inbox_counts = cached  # type: ignore[attr-defined]
    return cached


def _inbox_badge(request: HttpRequest) -> Any:
    counts = inbox_counts(request)
    return SimpleLazyObject(lambda: counts.total)


# Sections that ``nav_section`` (openipt/core) does not know, by URL namespace, and the
# pages of a namespace that belong to another section than the namespace's.
_OWN_SECTIONS = {"inbox": "inbox", "smart": "apps"}
_OWN_PAGES = {
    "smart:connected": "connected",
    "smart:connected-revoke": "connected",
    "accounts:language": "language",
}


def _section(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    namespace = match.namespace if match is not None else ""
    view_name = match.view_name if match is not None else ""
    return nav_section(request) or _OWN_PAGES.get(view_name, "") or _OWN_SECTIONS.get(namespace, "")


def _badge(request: HttpRequest, entry: NavEntry) -> tuple[Any, str | Promise]:
    if entry.badge == "open_alerts":
        return open_alert_count(request), _("open")
    if entry.badge == "inbox":
        return _inbox_badge(request), _("new")
    return None, ""


def nav_items(request: HttpRequest) -> list[NavItem]:
    """The entries the request's member may see, in order, with the current one marked."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    membership = getattr(request, "membership", None) or None
    section = _section(request)
    items = []
    for entry in NAVIGATION:
        if not entry.visible(membership):
            continue
        url = reverse(entry.url_name)
        current: Current = None
        if entry.key == section:
            current = "page" if request.path == url else "true"
        badge, badge_label = _badge(request, entry)
        items.append(NavItem(entry.key, entry.label, url, current, badge, badge_label))
    return items
