"""Cross-cutting request handling that knows no domain: session time-outs and
``Cache-Control: no-store`` on everything that is not static. The membership, MFA and
client-boundary middlewares live with the accounts they reason about
(``openipt.accounts.middleware``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

Handler = Callable[[HttpRequest], HttpResponse]

SESSION_LAST_SEEN = "openipt_last_seen"
SESSION_STARTED = "openipt_started"
#: Seconds between writes of the last-seen time: the idle time-out is kept to the minute,
#: and a request in between leaves the session unchanged (no session write, no commit).
LAST_SEEN_RESOLUTION = 60


def start_session_clocks(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    """At sign-in both clocks start (``user_logged_in``; connected in ``CoreConfig.ready``),
    so they are saved with the new session and the first page after it writes nothing."""
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SESSION_STARTED] = now
        request.session[SESSION_LAST_SEEN] = now


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
            if last_seen is None or now - last_seen >= LAST_SEEN_RESOLUTION:
                # At minute resolution: a page a second does not write the session a second.
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
