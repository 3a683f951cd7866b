"""Cross-cutting request handling: session time-outs, the user's membership, the MFA
requirement for staff and ``Cache-Control: no-store`` on everything that is not static."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.messages.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from openipt.accounts.policy import active_membership

Handler = Callable[[HttpRequest], HttpResponse]

SESSION_LAST_SEEN = "openipt_last_seen"
SESSION_STARTED = "openipt_started"


class SessionTimeoutMiddleware:
    """Ends a session after an idle period and after an absolute lifetime."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.get(SESSION_STARTED)
            last_seen = request.session.get(SESSION_LAST_SEEN)
            idle_limit = settings.OPENIPT_IDLE_TIMEOUT_MINUTES * 60
            absolute_limit = settings.OPENIPT_SESSION_MAX_HOURS * 3600
            expired = (last_seen is not None and now - last_seen > idle_limit) or (
                started is not None and now - started > absolute_limit
            )
            if expired:
                return self._signed_out(request)
            if started is None:
                request.session[SESSION_STARTED] = now
            request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)

    @staticmethod
    def _signed_out(request: HttpRequest) -> HttpResponse:
        logout(request)
        if request.path.startswith("/api/"):
            return HttpResponse(status=401)
        query = urlencode({"next": request.get_full_path()})
        login_url = f"{settings.LOGIN_URL_PATH}?{query}"
        if request.headers.get("HX-Request"):
            # htmx would swap the sign-in page into a fragment; send the whole window there.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = login_url
        else:
            response = redirect(login_url)
        # This runs before MessageMiddleware, so the message is stored here directly.
        storage = default_storage(request)
        storage.add(
            messages.INFO, _("You were signed out to keep records safe. Please sign in again.")
        )
        storage.update(response)
        return response


class MembershipMiddleware:
    """Makes ``request.membership`` (the user's active practice membership) available."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A plain value, not a lazy object: ``request.membership is None`` must mean "none".
        # The MFA check needs it on every signed-in request anyway; anonymous costs nothing.
        user = request.user
        request.membership = active_membership(user) if user.is_authenticated else None  # type: ignore[attr-defined,arg-type]
        return self.get_response(request)


MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/setup/", "/invitations/", "/health/")


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
            if request.path.startswith("/api/"):
                return HttpResponse(status=403)
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def _is_staff(request: HttpRequest) -> bool:
    membership = request.membership  # type: ignore[attr-defined]
    return bool(membership) and membership.kind == "staff"


def _has_totp(user: object) -> bool:
    from allauth.mfa.models import Authenticator

    cached = getattr(user, "_openipt_has_totp", None)
    if cached is None:
        cached = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        user._openipt_has_totp = cached  # type: ignore[attr-defined]
    return bool(cached)


CLIENT_ALLOWED_PREFIXES = ("/portal/", "/accounts/", "/static/", "/health/", "/consultation/")


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


class NoStoreMiddleware:
    """Pages may hold client data: never let a browser or proxy cache them."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(settings.STATIC_URL_PATH):
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        return response
