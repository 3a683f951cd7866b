"""Request handling that needs accounts: the user's membership on ``request.membership``
(and the practice's time zone for the request), the MFA requirement for staff, and the
boundary that keeps client accounts in the portal."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from openipt.accounts.models import Membership
from openipt.accounts.policy import active_membership

Handler = Callable[[HttpRequest], HttpResponse]


class MembershipMiddleware:
    """Makes ``request.membership`` (the user's active practice membership) available."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A plain value, not a lazy object: ``request.membership is None`` must mean "none".
        # The MFA check needs it on every signed-in request anyway; anonymous costs nothing.
        user = request.user
        # ``membership`` is ours on Django's request (typed in openipt/accounts/http.py).
        membership = active_membership(user) if user.is_authenticated else None
        request.membership = membership  # type: ignore[attr-defined]
        zone = practice_zone(membership)
        if zone is None:
            return self.get_response(request)
        # Times are stored in UTC; pages show, and forms read, the practice's clock.
        with timezone.override(zone):
            return self.get_response(request)


def practice_zone(membership: Membership | None) -> zoneinfo.ZoneInfo | None:
    """The time zone of the member's practice (None without one, or for an unknown name)."""
    if membership is None:
        return None
    try:
        return zoneinfo.ZoneInfo(membership.practice.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


MFA_EXEMPT_PREFIXES = (
    "/accounts/", "/static/", "/setup/", "/invitations/", "/health/", "/ready/",
)  # fmt: skip


class MfaRequiredMiddleware:
    """Staff must enrol an authenticator before they reach anything else."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            and _is_staff(request)
            and not _has_totp(user)
        ):
            if request.path.startswith(("/api/", "/fhir/")):
                return HttpResponse(status=403)
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def _is_staff(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)  # set by MembershipMiddleware
    return membership is not None and membership.kind == "staff"


def _has_totp(user: object) -> bool:
    cached = getattr(user, "_openipt_has_totp", None)
    if cached is None:
        cached = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        # Cached on the user object for the rest of the request.
        user._openipt_has_totp = cached  # type: ignore[attr-defined]
    return bool(cached)


# ``/oauth/``: a client approves an app that reads their own record; ``/fhir/`` answers
# bearer tokens only, never the browser session, so a client's session gains nothing there.
CLIENT_ALLOWED_PREFIXES = (
    "/portal/", "/accounts/", "/static/", "/health/", "/ready/", "/consultation/",
    "/oauth/", "/fhir/",
)  # fmt: skip


class ClientBoundaryMiddleware:
    """A client's account reaches the portal and its own sign-in pages, nothing else.

    Deny by default: a staff page added later cannot leak to clients by forgetting a check.
    The start page sends clients on to the portal.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = getattr(request, "membership", None)
        if membership is not None and membership.kind == "client":
            if request.path == "/":
                return redirect("portal:home")
            if not request.path.startswith(CLIENT_ALLOWED_PREFIXES):
                raise Http404("Not part of the portal")
        return self.get_response(request)
