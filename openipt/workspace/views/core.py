from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from openipt.accounts.http import AuthenticatedHttpRequest, StaffRequest
from openipt.accounts.models import Practice, User
from openipt.accounts.policy import portal_membership, staff_membership
from openipt.workspace import dashboard as selectors
from openipt.workspace.views.calendar import calendar_home


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """First run leads to setup; a clinician's home is their calendar, other staff get the
    dashboard of counts."""
    if not Practice.objects.exists():
        return redirect("accounts:setup")
    if not request.user.is_authenticated:
        return redirect("account_login")
    if portal_membership(request.user) is not None:
        return redirect("portal:home")
    membership = staff_membership(request.user)
    if membership is not None and membership.is_clinician:
        return calendar_home(cast(StaffRequest, request))
    return _dashboard(request, request.user)


@login_required
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _dashboard(request, request.user)


def _dashboard(request: HttpRequest, user: User) -> HttpResponse:
    """Counts and links for staff without a calendar of their own (administrators,
    supervisors who see no clients); no client names, so no read is audited here."""
    membership = staff_membership(user)  # the membership the middleware found (cached)
    context: dict[str, object] = {}
    if membership is not None and membership.is_admin:
        context["admin"] = selectors.admin_counts(membership)
    return render(request, "core/dashboard.html", context)


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/500.html", status=500)
