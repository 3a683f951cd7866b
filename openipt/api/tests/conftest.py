"""Fixtures for SMART authorisation: a registered app, real MFA sign-ins, the PKCE pair."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

import pytest
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.api import smart
from openipt.portal.tests.conftest import portal_user_for
from openipt.testing.personas import PASSWORD, TOTP_SECRET, enrol_totp

REDIRECT_URI = "https://app.example.test/callback"


def totp_code(secret: str = TOTP_SECRET) -> str:
    return str(format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time()))))


def sign_in_with_totp(http: HttpClient, email: str) -> HttpClient:
    """Sign in for real: password, then the authenticator code (allauth records both)."""
    response = http.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    response = http.post(reverse("mfa_authenticate"), {"code": totp_code()})
    assert response.status_code == 302, response.content
    return http


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str


@pytest.fixture
def pkce() -> Pkce:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


@pytest.fixture
def app(personas):
    """A public app registered by Adam, Alice's practice administrator."""
    return smart.app_register(
        actor=personas.adam, name="Mood Diary", redirect_uris=[REDIRECT_URI], confidential=False
    ).app


@pytest.fixture
def alice_mfa(personas) -> HttpClient:
    return sign_in_with_totp(HttpClient(), "alice@riverside.test")


@pytest.fixture
def dana_user(personas):
    user = portal_user_for(personas.alice, personas.dana, "dana@example.test")
    enrol_totp(user)
    return user
