"""Project-wide URL rules: only UUIDs leave the system, names are namespaced, errors are generic."""

from __future__ import annotations

import pytest

from tests.test_permission_matrix import all_url_names

THIRD_PARTY_PREFIXES = ("account_", "mfa_")
THIRD_PARTY_NAMES = {"set_language"}  # Django's own language switch (django.conf.urls.i18n)


def test_no_url_exposes_an_integer_key():
    integer_urls = sorted(name for name, route in all_url_names().items() if "<int:" in route)
    assert integer_urls == [], "Use the record's uuid in these URLs: " + ", ".join(integer_urls)


def test_our_url_names_are_namespaced():
    flat = sorted(
        name for name in all_url_names()
        if ":" not in name
        and not name.startswith(THIRD_PARTY_PREFIXES)
        and name not in THIRD_PARTY_NAMES
    )  # fmt: skip
    assert flat == [], "Give these URLs an app namespace: " + ", ".join(flat)


def test_health_answers_without_signing_in(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_unknown_page_gets_the_generic_not_found_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert b"Traceback" not in response.content
    assert response.headers["Cache-Control"].startswith("no-store")
