"""allauth's pages in our layout, the sign-in and MFA flows, and the sign-in audit trail."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core.cache import cache
from django.urls import reverse

from openipt.accounts.models import User
from openipt.audit.models import AuditEvent
from openipt.testing.personas import PASSWORD, TOTP_SECRET, make_staff

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def totp_code(secret: str = TOTP_SECRET) -> str:
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def sign_in_with_password(client, email="alice@riverside.test", password=PASSWORD):
    return client.post(LOGIN, {"login": email, "password": password})


def assert_in_our_layout(response):
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="skip-link"' in html
    assert "css/openipt.css" in html
    assert "Menu:" not in html  # allauth's bare default layout


@pytest.mark.parametrize(
    "url",
    [
        LOGIN,
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        "/accounts/password/reset/key/1-bad-key/",
    ],
)
def test_public_account_pages_use_our_layout(client, personas, url):
    response = client.get(url, follow=True)
    assert_in_our_layout(response)
    assert "sign up" not in response.content.decode().lower()


def test_login_page_uses_our_form_classes(client, personas):
    html = client.get(LOGIN).content.decode()
    assert 'class="stack"' in html
    assert 'class="field' in html
    assert 'href="/accounts/password/reset/"' in html


def test_login_with_totp_reaches_dashboard(client, personas):
    response = sign_in_with_password(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    page = client.get(reverse("mfa_authenticate"))
    assert_in_our_layout(page)
    assert client.get("/").status_code == 302  # not signed in before the code

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_shows_a_calm_message(client, personas):
    response = sign_in_with_password(client, password="wrong password here")
    assert response.status_code == 200
    assert b"form-errors" in response.content
    assert not response.wsgi_request.user.is_authenticated


def test_enrolment_shows_secret_and_qr_then_recovery_codes_then_dashboard(client, personas):
    user = make_staff(personas.practice, "nina@riverside.test", "Nina New", mfa=False)
    sign_in_with_password(client, email=user.email)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert_in_our_layout(page)
    html = page.content.decode()
    secret = re.search(r'id="authenticator_secret">([A-Z2-7]+)<', html).group(1)
    assert 'src="data:image/svg+xml;base64,' in html

    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_view_recovery_codes")
    codes_page = client.get(response["Location"])
    assert_in_our_layout(codes_page)
    codes_html = codes_page.content.decode()
    assert codes_html.count("<li><code>") == 10
    assert reverse("mfa_download_recovery_codes") in codes_html
    assert f'href="{reverse("core:home")}"' in codes_html
    assert client.get("/").status_code == 200  # MFA requirement met


def test_mfa_index_uses_our_layout(alice_client):
    response = alice_client.get(reverse("mfa_index"))
    assert_in_our_layout(response)
    assert b'class="panel"' in response.content


def test_staff_cannot_switch_off_their_authenticator(alice_client, personas):
    alice_client.post(reverse("mfa_deactivate_totp"))
    assert Authenticator.objects.filter(user=personas.alice, type="totp").exists()


def test_signup_stays_closed(client, personas):
    response = client.post(
        "/accounts/signup/",
        {"email": "new@example.test", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert not User.objects.filter(email="new@example.test").exists()
    assert response.status_code == 200
    assert_in_our_layout(response)


def test_logout_page_uses_our_layout(alice_client):
    assert_in_our_layout(alice_client.get(reverse("account_logout")))


def test_sign_in_sign_out_and_failed_sign_in_are_audited(client, personas):
    sign_in_with_password(client, password="a wrong guess 123")
    failed = AuditEvent.objects.get(action="login_failed")
    assert "alice@riverside.test" in failed.detail
    assert "a wrong guess" not in failed.detail
    assert failed.actor_id is None
    assert failed.practice_id == personas.practice.pk

    sign_in_with_password(client)
    client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    login = AuditEvent.objects.get(action="login")
    assert login.actor_id == personas.alice.pk
    assert login.practice_id == personas.practice.pk
    assert login.source_address == "127.0.0.1"

    client.post(reverse("account_logout"))
    assert AuditEvent.objects.filter(action="logout", actor_id=personas.alice.pk).count() == 1
    for event in AuditEvent.objects.all():
        assert PASSWORD not in event.detail


def test_a_failed_sign_in_never_keeps_what_was_typed_for_an_unknown_account(client, personas):
    # People sometimes type their password into the email field; the audit log is permanent.
    sign_in_with_password(client, email="hunter2-my-password@nowhere.test")
    failed = AuditEvent.objects.get(action="login_failed")
    assert "hunter2" not in failed.detail
    assert failed.detail == "attempted: unknown account"
