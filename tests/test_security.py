"""Security bars S7-S10, S12, S13 (docs/quality.md), shown over the real URL configuration."""

from __future__ import annotations

import datetime as dt
import io
import re
import runpy

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, include, path, reverse

from openipt.accounts.mfa_adapter import MfaAdapter
from openipt.accounts.middleware import MFA_EXEMPT_PREFIXES
from openipt.testing.personas import PASSWORD, TOTP_SECRET, make_staff

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("secret-internal-detail-4711")


# A test-only URL configuration: the real one plus a view that fails (S12).
urlpatterns = [path("boom/", _boom), path("", include("config.urls"))]
handler500 = "openipt.workspace.views.core.server_error"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


API_PREFIXES = ("/api/", "/fhir/")
OAUTH_ENDPOINTS = ("/oauth/token/", "/oauth/revoke_token/")


def _sample(route: str) -> str:
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "x1", route)  # allauth's regex routes
    route = re.sub(r"<uuid:\w+>", "6f1c3a52-0d7e-4b8e-9a1f-2c4d5e6f7a8b", route)
    route = re.sub(r"<(?:int):\w+>", "1", route)
    route = re.sub(r"<(?:\w+:)?\w+>", "sample", route)
    return "/" + route.replace("^", "").replace("$", "").replace("\\", "")


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield _sample(prefix + str(pattern.pattern))


def all_paths() -> list[str]:
    return sorted(set(_walk(get_resolver().url_patterns)))


def protected_paths() -> list[str]:
    return [p for p in all_paths() if not p.startswith(MFA_EXEMPT_PREFIXES)]


# S7 ------------------------------------------------------------------------------------


def test_url_walk_finds_the_staff_pages():
    paths = protected_paths()
    assert "/staff/" in paths
    assert "/" in paths
    assert len(paths) >= 5


def test_staff_without_authenticator_reach_only_enrolment(client, personas):
    user = make_staff(personas.practice, "nina@riverside.test", "Nina", mfa=False)
    client.force_login(user)
    enrol = reverse("mfa_activate_totp")
    for url in protected_paths():
        for method in (client.get, client.post):
            response = method(url)
            if url.startswith(API_PREFIXES):
                assert response.status_code == 403, url  # an API answers, it does not redirect
                continue
            assert response.status_code == 302, (url, response.status_code)
            assert response["Location"] == enrol, url
    assert client.get(reverse("mfa_index")).status_code == 200  # account pages stay open


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_every_staff_role_needs_an_authenticator(client, personas, role):
    user = make_staff(personas.practice, f"{role}@riverside.test", role, mfa=False, **{role: True})
    client.force_login(user)
    for url in ("/", "/staff/", "/clients/"):
        assert client.get(url)["Location"] == reverse("mfa_activate_totp")


def test_staff_with_authenticator_pass_the_mfa_gate(alice_client):
    assert alice_client.get("/").status_code == 200


# S8 ------------------------------------------------------------------------------------


def test_idle_timeout_signs_out_after_15_minutes(personas):
    browser = Client()
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        browser.force_login(personas.alice)
        assert browser.get("/").status_code == 200
        clock.shift(dt.timedelta(minutes=14))
        assert browser.get("/").status_code == 200  # activity resets the idle clock
        clock.shift(dt.timedelta(minutes=14))
        assert browser.get("/").status_code == 200
        clock.shift(dt.timedelta(minutes=16))
        response = browser.get("/staff/")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
        assert b"signed out to keep records safe" in browser.get(response["Location"]).content
        assert browser.get("/").status_code == 302  # the session is gone, not just paused


def test_the_idle_clock_writes_the_session_at_most_once_a_minute(personas):
    """Pages read within a minute of the last write leave the session row untouched (no
    write, no commit per page); the time-out still counts from the last write."""
    from django.contrib.sessions.models import Session as SessionRow

    browser = Client()
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        browser.force_login(personas.alice)
        assert browser.get("/").status_code == 200
        key = browser.session.session_key

        def stored() -> str:
            return SessionRow.objects.get(session_key=key).session_data

        written = stored()
        clock.shift(dt.timedelta(seconds=30))
        assert browser.get("/").status_code == 200
        assert stored() == written
        clock.shift(dt.timedelta(seconds=31))
        assert browser.get("/").status_code == 200
        assert stored() != written


def test_idle_timeout_sends_htmx_requests_to_sign_in(personas):
    browser = Client()
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        browser.force_login(personas.alice)
        assert browser.get("/").status_code == 200
        clock.shift(dt.timedelta(minutes=16))
        response = browser.get("/", headers={"HX-Request": "true"})
        assert response["HX-Redirect"].startswith(reverse("account_login"))


@override_settings(OPENIPT_IDLE_TIMEOUT_MINUTES=5)
def test_idle_timeout_is_configurable(personas):
    browser = Client()
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        browser.force_login(personas.alice)
        assert browser.get("/").status_code == 200
        clock.shift(dt.timedelta(minutes=6))
        assert browser.get("/").status_code == 302


@override_settings(OPENIPT_SESSION_MAX_HOURS=2)
def test_absolute_session_lifetime_ends_even_an_active_session(personas):
    browser = Client()
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        browser.force_login(personas.alice)
        for _ in range(11):  # active every 10 minutes for 1 h 50
            assert browser.get("/").status_code == 200
            clock.shift(dt.timedelta(minutes=10))
        assert browser.get("/").status_code == 200  # 1 h 50
        clock.shift(dt.timedelta(minutes=11))
        assert browser.get("/").status_code == 302  # 2 h 01


# S9 ------------------------------------------------------------------------------------


def _totp_code(secret=TOTP_SECRET):
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def test_login_is_throttled_after_repeated_failures(client, personas):
    login = reverse("account_login")
    for _ in range(5):
        client.post(login, {"login": "alice@riverside.test", "password": "wrong guess 123"})
    response = client.post(login, {"login": "alice@riverside.test", "password": PASSWORD})
    assert response.status_code == 200  # even the right password is refused for now
    assert b"Too many failed login attempts" in response.content
    assert client.get(reverse("mfa_authenticate")).status_code == 302


def test_mfa_code_entry_is_throttled(client, personas):
    client.post(reverse("account_login"), {"login": "alice@riverside.test", "password": PASSWORD})
    for _ in range(5):
        client.post(reverse("mfa_authenticate"), {"code": "000000"})
    response = client.post(reverse("mfa_authenticate"), {"code": _totp_code()})
    assert response.status_code == 200
    assert b"Too many failed login attempts" in response.content
    assert client.get("/").status_code == 302  # the right code was refused: not signed in


def test_password_reset_is_throttled(client, personas):
    reset = reverse("account_reset_password")
    statuses = [client.post(reset, {"email": "alice@riverside.test"}).status_code for _ in range(5)]
    assert statuses == [302, 302, 302, 429, 429]
    response = client.post(reset, {"email": "alice@riverside.test"})
    assert b"too many attempts" in response.content
    assert b'class="skip-link"' in response.content  # our calm page, in our layout


def test_password_reset_does_not_reveal_whether_an_account_exists(
    client, personas, django_capture_on_commit_callbacks
):
    from django.core import mail

    reset = reverse("account_reset_password")
    with django_capture_on_commit_callbacks(execute=True):  # the worker sends the emails
        known = client.post(reset, {"email": "alice@riverside.test"})
        unknown = client.post(reset, {"email": "nobody@riverside.test"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    page_known = client.get(known["Location"]).content.decode()
    page_unknown = client.get(unknown["Location"]).content.decode()
    strip = lambda html: re.sub(r'value="[^"]+"|"X-CSRFToken": "[^"]+"', "", html)  # noqa: E731
    assert strip(page_known) == strip(page_unknown)
    # Only the real account gets a reset link.
    links = [m for m in mail.outbox if "/accounts/password/reset/key/" in m.body]
    assert [m.to for m in links] == [["alice@riverside.test"]]


# S10 -----------------------------------------------------------------------------------


def test_every_url_refuses_a_post_without_csrf_token(personas):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(personas.adam)
    refused = []
    for url in all_paths():
        if url.startswith("/static/"):
            continue
        response = browser.post(url, {"x": "1"})
        refused.append((url, response.status_code))
    # Pages answer 403. API operations may also refuse with 401 (token auth, no cookies),
    # 404 (nothing served at a sample address) or 405 (no POST operation); what they must
    # never do is accept the POST. OAuth's token and revocation endpoints take no cookies:
    # the app proves itself with its own credentials, so a bare POST is a 400 or 401.
    wrong = [
        (url, status)
        for url, status in refused
        if status != 403
        and not (url.startswith(API_PREFIXES) and status in (401, 404, 405))
        and not (url in OAUTH_ENDPOINTS and status in (400, 401))
    ]
    assert wrong == []


def test_anonymous_posts_without_token_are_refused_too(personas):
    browser = Client(enforce_csrf_checks=True)
    for url in ("/accounts/login/", "/setup/", "/accounts/password/reset/", "/invitations/x/"):
        assert browser.post(url, {"login": "alice@riverside.test"}).status_code == 403


def test_security_headers_on_pages(alice_client):
    response = alice_client.get("/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


def test_login_page_is_not_cached_either(client, personas):
    assert "no-store" in client.get(reverse("account_login"))["Cache-Control"]


def test_https_setting_turns_on_secure_cookies_and_hsts(monkeypatch):
    monkeypatch.setenv("OPENIPT_HTTPS", "1")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 64)
    values = runpy.run_path("config/settings.py")
    assert values["SESSION_COOKIE_SECURE"]
    assert values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_SSL_REDIRECT"]
    monkeypatch.setenv("OPENIPT_HTTPS", "0")
    assert not runpy.run_path("config/settings.py")["SESSION_COOKIE_SECURE"]


@override_settings(
    SECURE_HSTS_SECONDS=31536000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)
def test_over_https_responses_carry_hsts_and_secure_cookies(personas):
    browser = Client()
    page = browser.get(reverse("account_login"), secure=True)
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")
    assert page.cookies["csrftoken"]["secure"]
    response = browser.post(
        reverse("account_login"),
        {"login": "alice@riverside.test", "password": PASSWORD},
        secure=True,
    )
    assert response.cookies["sessionid"]["secure"]
    assert response.cookies["sessionid"]["httponly"]


# S12 -----------------------------------------------------------------------------------


@pytest.mark.urls("tests.test_security")
def test_server_error_page_is_generic(personas):
    browser = Client(raise_request_exception=False)
    browser.force_login(personas.alice)
    response = browser.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "Traceback" not in html
    assert "secret-internal-detail-4711" not in html
    assert "RuntimeError" not in html


def test_not_found_page_is_generic(alice_client):
    response = alice_client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Traceback" not in response.content
    assert b"Using the URLconf" not in response.content


# S13 -----------------------------------------------------------------------------------


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"])
def test_passwords_are_hashed_with_argon2():
    encoded = make_password(PASSWORD)
    assert encoded.startswith("argon2$argon2id$")
    assert PASSWORD not in encoded
    assert check_password(PASSWORD, encoded)


def test_production_hasher_is_argon2():
    import config.settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def _raw_authenticator_rows() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM mfa_authenticator")
        return " ".join(str(row[0]) for row in cursor.fetchall())


def test_totp_secret_and_recovery_seed_are_encrypted_at_rest(personas):
    # personas enrolled TOTP_SECRET for every staff member
    raw = _raw_authenticator_rows()
    assert TOTP_SECRET not in raw
    assert "fernet:" in raw
    recovery = RecoveryCodes.activate(personas.alice)
    seed = MfaAdapter().decrypt(Authenticator.objects.get(pk=recovery.instance.pk).data["seed"])
    assert seed not in _raw_authenticator_rows()
    # ... and they still work.
    totp = TOTP(Authenticator.objects.get(user=personas.alice, type="totp"))
    assert totp.validate_code(_totp_code())
    assert recovery.validate_code(recovery.get_unused_codes()[0])


def test_a_database_dump_holds_no_known_secret(personas):
    dump = io.StringIO()
    call_command("dumpdata", "accounts", "mfa", stdout=dump)
    text = dump.getvalue()
    assert TOTP_SECRET not in text
    assert PASSWORD not in text


def test_encryption_key_setting_is_used(personas):
    with override_settings(OPENIPT_FIELD_ENCRYPTION_KEY="first-key-0123456789"):
        sealed = MfaAdapter().encrypt("JBSWY3DP")
        assert MfaAdapter().decrypt(sealed) == "JBSWY3DP"
    with override_settings(OPENIPT_FIELD_ENCRYPTION_KEY="another-key,first-key-0123456789"):
        assert MfaAdapter().decrypt(sealed) == "JBSWY3DP"  # key rotation
    from cryptography.fernet import InvalidToken

    with (
        override_settings(OPENIPT_FIELD_ENCRYPTION_KEY="unrelated-key"),
        pytest.raises(InvalidToken),
    ):
        MfaAdapter().decrypt(sealed)


def test_deploy_check_is_clean_under_production_settings():
    with override_settings(
        DEBUG=False,
        SECRET_KEY="k" * 30 + "Q9x!" * 10,
        ALLOWED_HOSTS=["openipt.example.org"],
        SESSION_COOKIE_SECURE=True,
        CSRF_COOKIE_SECURE=True,
        SECURE_SSL_REDIRECT=True,
        SECURE_HSTS_SECONDS=31536000,
        SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
        SECURE_HSTS_PRELOAD=True,
    ):
        call_command("check", deploy=True, fail_level="WARNING", stdout=io.StringIO())
