"""The signed-in request as views see it, and the staff gate.

``AuthenticatedHttpRequest`` is what a view behind ``login_required`` receives: ``user`` is
our ``User`` (never anonymous), ``membership`` the active membership the middleware found
(``openipt.accounts.middleware``), ``htmx`` the django-htmx details. ``StaffRequest`` is what a
view behind ``staff_required`` receives: the membership is a staff one. Annotating a view's
request with these types replaces the casts each view used to make.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django_htmx.middleware import HtmxDetails

from openipt.accounts.models import Membership, User
from openipt.accounts.policy import staff_membership


class AuthenticatedHttpRequest(HttpRequest):
    user: User  # narrowed from ``User | AnonymousUser``: login_required has run
    membership: Membership | None
    htmx: HtmxDetails


class StaffRequest(AuthenticatedHttpRequest):
    membership: Membership


V = TypeVar("V", bound=Callable[..., HttpResponseBase])


def staff_required(view: V) -> V:
    """Signed-in staff only; anyone else learns nothing (404)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user if isinstance(request.user, User) else None
        if staff_membership(user) is None:
            raise Http404
        return view(request, *args, **kwargs)

    return cast(V, wrapper)  # same signature as ``view``: ``wraps`` keeps it
