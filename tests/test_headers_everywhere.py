"""Security headers on every kind of response, not only on pages (docs/quality.md S10).

Responses made by a middleware (the MFA redirect, a client account's 404 on a staff URL,
the idle time-out) or by an error handler never reach a view, so they carry the headers
only if the header middlewares wrap all the others (config/settings.py, MIDDLEWARE).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path, reverse

from openipt.portal.tests.matrix import dana_user
from openipt.testing.personas import Personas, make_staff

pytestmark = pytest.mark.django_db


def _refuse(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("headers-test-failure")


# A test-only URL configuration: the real one plus views that refuse and fail.
urlpatterns = [
    path("test-only/refuse/", _refuse),
    path("test-only/boom/", _boom),
    path("", include("config.urls")),
]
handler403 = "openipt.workspace.views.core.permission_denied"
handler404 = "openipt.workspace.views.core.page_not_found"
handler500 = "openipt.workspace.views.core.server_error"


def assert_browser_protections(response: HttpResponse) -> None:
    """What every response carries, static files included."""
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == settings.SECURE_REFERRER_POLICY
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def assert_all_headers(response: HttpResponse) -> None:
    assert_browser_protections(response)
    assert "no-store" in response["Cache-Control"]


def test_mfa_redirect_carries_the_headers(personas: Personas) -> None:
    browser = Client()
    browser.force_login(make_staff(personas.practice, "nina@riverside.test", "Nina", mfa=False))
    response = browser.get("/clients/")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    assert_all_headers(response)


def test_client_accounts_404_on_a_staff_url_carries_the_headers(personas: Personas) -> None:
    browser = Client()
    browser.force_login(dana_user(personas))
    response = browser.get("/clients/")
    assert response.status_code == 404
    assert_all_headers(response)


def test_client_account_sent_on_to_the_portal_carries_the_headers(personas: Personas) -> None:
    browser = Client()
    browser.force_login(dana_user(personas))
    response = browser.get("/")
    assert (response.status_code, response["Location"]) == (302, reverse("portal:home"))
    assert_all_headers(response)


def test_idle_timeout_redirect_carries_the_headers(personas: Personas) -> None:
    browser = Client()
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        browser.force_login(personas.alice)
        assert browser.get("/").status_code == 200
        clock.shift(dt.timedelta(minutes=settings.OPENIPT_IDLE_TIMEOUT_MINUTES + 1))
        response = browser.get("/clients/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert_all_headers(response)


def test_idle_timeout_answer_to_htmx_carries_the_headers(personas: Personas) -> None:
    browser = Client()
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        browser.force_login(personas.alice)
        assert browser.get("/").status_code == 200
        clock.shift(dt.timedelta(minutes=settings.OPENIPT_IDLE_TIMEOUT_MINUTES + 1))
        response = browser.get("/clients/", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert "HX-Redirect" in response
    assert_all_headers(response)


def test_sign_in_redirect_for_anonymous_carries_the_headers(db: None) -> None:
    response = Client().get("/clients/")
    assert response.status_code == 302
    assert_all_headers(response)


@pytest.mark.urls("tests.test_headers_everywhere")
def test_forbidden_page_carries_the_headers(personas: Personas) -> None:
    browser = Client()
    browser.force_login(personas.alice)
    response = browser.get("/test-only/refuse/")
    assert response.status_code == 403
    assert_all_headers(response)


def test_csrf_refusal_carries_the_headers(personas: Personas) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(personas.alice)
    response = browser.post("/clients/new/", {"legal_given_name": "X"})
    assert response.status_code == 403
    assert_all_headers(response)


def test_not_found_page_carries_the_headers(personas: Personas) -> None:
    browser = Client()
    browser.force_login(personas.alice)
    response = browser.get("/no/such/page/")
    assert response.status_code == 404
    assert_all_headers(response)


def test_not_found_for_anonymous_carries_the_headers(db: None) -> None:
    response = Client().get("/accounts/no-such-page/")
    assert response.status_code == 404
    assert_all_headers(response)


@pytest.mark.urls("tests.test_headers_everywhere")
def test_server_error_page_carries_the_headers(personas: Personas) -> None:
    browser = Client(raise_request_exception=False)
    browser.force_login(personas.alice)
    response = browser.get("/test-only/boom/")
    assert response.status_code == 500
    assert "headers-test-failure" not in response.content.decode()
    assert_all_headers(response)


def _a_static_file() -> str:
    name = "favicon.svg"
    if not (Path(settings.STATIC_ROOT) / name).exists():
        pytest.fail("Static files are not collected: run `manage.py collectstatic` (make test)")
    return settings.STATIC_URL_PATH + name


def test_static_files_carry_the_headers_but_may_be_cached(db: None) -> None:
    response = Client().get(_a_static_file())
    assert response.status_code == 200
    assert response.streaming  # served by WhiteNoise, not by a view
    assert_browser_protections(response)
    assert "no-store" not in response.get("Cache-Control", "")


def test_static_files_for_a_signed_in_user_skip_the_session_machinery(personas: Personas) -> None:
    # WhiteNoise answers before sessions and authentication: no cookie, no database.
    browser = Client()
    browser.force_login(personas.alice)
    response = browser.get(_a_static_file())
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert_browser_protections(response)
