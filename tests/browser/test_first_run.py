"""First run end to end: from an empty database to a clinician's first client, in Chromium."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from django.core import mail

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.totp import current_totp_code

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ADMIN_EMAIL = "ruth.admin@example.org"
ADMIN_PASSWORD = "purple lantern orchard 73"
CLINICIAN_EMAIL = "sam.clinician@example.org"
CLINICIAN_PASSWORD = "quiet harbour maple 58"


def checked(page, path_pattern: str):
    """Assert the browser is on the expected page and that the page passes axe."""
    assert re.search(path_pattern, page.url), f"expected {path_pattern}, at {page.url}"
    assert_no_serious_axe_violations(page)
    return page


def enrol_authenticator(page) -> None:
    checked(page, r"/accounts/2fa/totp/activate/$")
    secret = page.locator("#authenticator_secret").inner_text()
    page.get_by_label("Authenticator code").fill(current_totp_code(secret))
    page.get_by_role("button", name="Turn on").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/recovery-codes/"))
    checked(page, r"/accounts/2fa/recovery-codes/$")
    assert page.locator("#recovery_codes li").count() == 10
    page.get_by_role("link", name=re.compile("I have saved them")).click()
    page.wait_for_url(re.compile(r"/$"))
    page.secret = secret  # type: ignore[attr-defined]


def fill_password_pair(page, password: str) -> None:
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again").fill(password)


def test_setup_sign_in_invite_and_first_client(new_page, live_server):
    admin = new_page()

    # A fresh database: the home page leads to first-run setup.
    admin.goto("/")
    checked(admin, r"/setup/$")
    admin.get_by_label("Practice name").fill("Lakeside Wellbeing")
    admin.get_by_label("Your full name").fill("Ruth Admin")
    admin.get_by_label("Your email address").fill(ADMIN_EMAIL)
    fill_password_pair(admin, ADMIN_PASSWORD)
    admin.get_by_role("button", name="Create practice").click()

    # The administrator enrols an authenticator at once, then sees the dashboard.
    admin.wait_for_url(re.compile(r"/accounts/2fa/totp/activate/"))
    enrol_authenticator(admin)
    checked(admin, r"/$")
    secret = admin.secret  # type: ignore[attr-defined]

    # Sign out, then back in with password and authenticator code.
    admin.get_by_role("button", name="Sign out").click()
    admin.goto("/accounts/login/")
    checked(admin, r"/accounts/login/")
    admin.get_by_label("Email").fill(ADMIN_EMAIL)
    admin.get_by_label("Password").fill(ADMIN_PASSWORD)
    admin.get_by_role("button", name="Sign in").click()
    admin.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    checked(admin, r"/accounts/2fa/authenticate/$")
    admin.get_by_label(re.compile("code", re.I)).first.fill(current_totp_code(secret))
    admin.get_by_role("button", name=re.compile("Sign in|Verify|Continue", re.I)).click()
    admin.wait_for_url(re.compile(r"/$"))

    # Invite a clinician.
    admin.goto("/staff/invite/")
    checked(admin, r"/staff/invite/$")
    admin.get_by_label("Email address").fill(CLINICIAN_EMAIL)
    admin.get_by_label("Full name").fill("Sam Clinician")
    admin.get_by_role("button", name="Send invitation").click()
    admin.wait_for_url(re.compile(r"/staff/"))
    checked(admin, r"/staff/")
    invitation = next(m for m in mail.outbox if CLINICIAN_EMAIL in m.to)
    link = re.search(r"https?://\S+/invitations/\S+/", invitation.body)
    assert link, invitation.body
    path = re.sub(r"^https?://[^/]+", "", link.group(0))

    # The clinician, in a browser of their own, accepts and enrols an authenticator.
    clinician = new_page(viewport=PHONE_VIEWPORT)
    clinician.goto(path)
    checked(clinician, r"/invitations/")
    clinician.get_by_label("Your full name").fill("Sam Clinician")
    fill_password_pair(clinician, CLINICIAN_PASSWORD)
    clinician.get_by_role("button", name="Create my account").click()
    clinician.wait_for_url(re.compile(r"/accounts/2fa/totp/activate/"))
    enrol_authenticator(clinician)

    # The clinician adds a first client and lands on the client's page.
    clinician.goto("/clients/new/")
    checked(clinician, r"/clients/new/$")
    primary = clinician.get_by_label("Primary clinician")
    if primary.count():
        primary.select_option(label="Sam Clinician")
    clinician.get_by_label("Legal given name").fill("Jordan")
    clinician.get_by_label("Legal family name").fill("Testperson")
    clinician.get_by_label("Date of birth").fill("1988-03-14")
    clinician.get_by_role("button", name="Add client").click()
    clinician.wait_for_url(re.compile(r"/clients/[0-9a-f-]{36}/$"))
    checked(clinician, r"/clients/[0-9a-f-]{36}/$")
    assert "Jordan" in clinician.get_by_role("heading", level=1).inner_text()

    shots = Path(tempfile.gettempdir()) / "openipt-screenshots"
    shots.mkdir(exist_ok=True)
    clinician.screenshot(path=str(shots / "client-page-375.png"), full_page=True)
    assert clinician.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
