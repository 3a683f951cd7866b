"""SMART apps in Chromium: Adam registers an app, Alice approves it for Dana after signing
in with her authenticator and is sent back to the app with a code, then revokes it on
Connected apps; Dana, on a phone, finds Connected apps in her portal. With an
accessibility check on each page."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.test_session_workspace import WIDE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CALLBACK = "https://app.example.test/callback"
SHOTS = os.environ.get("OPENIPT_SCREENSHOTS", "")


def _shot(page, name):  # type: ignore[no-untyped-def]
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_an_app_is_registered_approved_for_one_client_and_revoked(new_page):
    from openipt.portal.tests.conftest import portal_user_for
    from openipt.testing.personas import make_personas

    personas = make_personas()
    adam = new_page(viewport=WIDE)
    sign_in(adam, "adam@riverside.test")
    adam.get_by_role("link", name="Apps", exact=True).click()
    adam.get_by_role("link", name="Register an app").click()
    adam.get_by_role("button", name="Register").click()
    expect(adam.locator("#id_name_error")).to_be_visible()
    adam.get_by_label("App name").fill("Mood Diary")
    adam.get_by_label("Redirect addresses").fill("http://insecure.example.test/cb")
    adam.get_by_role("button", name="Register").click()
    expect(adam.locator("#id_redirect_uris_error")).to_contain_text("https://")
    expect(adam.get_by_label("App name")).to_have_value("Mood Diary")  # nothing lost
    adam.get_by_label("Redirect addresses").fill(CALLBACK)
    adam.get_by_role("button", name="Register").click()
    client_id = adam.locator("dt:has-text('Client id') + dd code").inner_text()
    _shot(adam, "smart-app-detail")
    assert_no_serious_axe_violations(adam)

    verifier = "v" * 60
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK,
        "scope": "launch/patient patient/*.read", "state": "s1",
        "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256",
    })  # fmt: skip
    alice = new_page(viewport=WIDE)
    sign_in(alice, "alice@riverside.test")
    alice.goto(f"/oauth/authorize/?{query}")
    expect(alice.get_by_role("heading", name="Allow “Mood Diary” to connect?")).to_be_visible()
    _shot(alice, "smart-approve")
    assert_no_serious_axe_violations(alice)
    alice.get_by_role("button", name="Approve").click()
    expect(alice.get_by_text("Choose the client this app may work with.")).to_be_visible()
    alice.get_by_label("Client").select_option(value=str(personas.dana.uuid))
    with alice.expect_request(re.compile(r"^https://app\.example\.test/")) as sent:
        alice.get_by_role("button", name="Approve").click()
    # The app's address does not exist here: the browser lands on an error page after the
    # redirect, which carried the code.
    alice.wait_for_url(re.compile(r"^(https://app\.example\.test/|chrome-error:)"))
    back = parse_qs(urlsplit(sent.value.url).query)
    assert back["state"] == ["s1"]
    # The app exchanges the code (with its PKCE verifier) for a token.
    from django.test import Client as HttpClient

    token = HttpClient().post("/oauth/token/", {
        "grant_type": "authorization_code", "code": back["code"][0], "redirect_uri": CALLBACK,
        "client_id": client_id, "code_verifier": verifier,
    })  # fmt: skip
    assert token.status_code == 200, token.content
    assert token.json()["patient"] == str(personas.dana.uuid)

    alice.goto("/")
    alice.get_by_role("link", name="Connected apps").click()
    expect(alice.get_by_role("cell", name="Mood Diary Client: Dana")).to_be_visible()
    _shot(alice, "smart-connected")
    assert_no_serious_axe_violations(alice)
    alice.get_by_role("button", name="Revoke Mood Diary").click()
    expect(alice.get_by_role("cell", name="Mood Diary Client: Dana")).to_have_count(0)
    from openipt.api.models import TokenContext

    assert not TokenContext.objects.filter(access_token__user=personas.alice).exists()

    portal_user_for(personas.alice, personas.dana, "dana@example.test")
    dana = new_page(viewport=PHONE_VIEWPORT)
    dana.goto("/accounts/login/")
    from openipt.testing.personas import PASSWORD

    dana.get_by_label("Email").fill("dana@example.test")
    dana.get_by_label("Password").fill(PASSWORD)
    dana.get_by_role("button", name="Sign in").click()
    dana.wait_for_url(re.compile(r"/portal/"))
    dana.get_by_text("Menu").click()  # the navigation folds away on a phone
    dana.get_by_role("link", name="Connected apps").click()
    expect(dana.get_by_role("heading", name="Connected apps")).to_be_visible()
    _shot(dana, "smart-connected-phone")
    assert_no_serious_axe_violations(dana)
