"""First-run setup: /setup/ creates the practice and its first administrator, once."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from openipt.accounts.models import Membership, Practice, User
from openipt.audit.models import AuditEvent
from openipt.testing.personas import PASSWORD

pytestmark = pytest.mark.django_db

SETUP_URL = "/setup/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def setup_data(**overrides: object) -> dict[str, object]:
    data = {
        "practice_name": "Lakeside Therapy",
        "time_zone": "Europe/Madrid",
        "full_name": "Rosa Admin",
        "email": "Rosa@Lakeside.test",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


def test_home_leads_to_setup_on_first_run(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:setup")


def test_setup_form_offers_time_zones(client):
    response = client.get(SETUP_URL)
    assert response.status_code == 200
    assert b'<option value="Europe/Madrid">' in response.content
    assert b"I also see clients myself" in response.content


@pytest.mark.parametrize("sees_clients", [True, False])
def test_setup_creates_practice_admin_and_sends_to_mfa(client, sees_clients):
    data = setup_data(sees_clients="on") if sees_clients else setup_data()
    response = client.post(SETUP_URL, data)

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    practice = Practice.objects.get()
    assert (practice.name, practice.time_zone) == ("Lakeside Therapy", "Europe/Madrid")
    user = User.objects.get()
    assert user.email == "rosa@lakeside.test"
    assert user.check_password(PASSWORD)
    membership = Membership.objects.get(user=user)
    assert membership.practice == practice
    assert membership.is_admin
    assert membership.is_clinician is sees_clients
    assert AuditEvent.objects.filter(action="admin", practice_id=practice.pk).exists()
    # Signed in, and the authenticator page opens straight away (no password prompt again).
    activate = client.get(response["Location"])
    assert activate.status_code == 200
    assert activate.wsgi_request.user == user
    assert b"totp-secret" in activate.content


def test_setup_sends_signed_in_admin_to_mfa_before_anything_else(client):
    client.post(SETUP_URL, setup_data())
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", b"Select a valid choice"),
        ({"password2": "something else entirely"}, "password2", b"not the same"),
        ({"password1": "short", "password2": "short"}, "password1", b"too short"),
        ({"practice_name": ""}, "practice_name", b"This field is required"),
        ({"email": "not-an-email"}, "email", b"valid email"),
        ({"full_name": "<script>alert(1)</script>"}, "full_name", b"leave out the characters"),
    ],
)
def test_setup_bad_input_is_explained_kept_and_writes_nothing(client, overrides, field, message):
    data = setup_data(**overrides)
    response = client.post(SETUP_URL, data)

    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors
    assert message in response.content
    assert b"field--error" in response.content
    # What was typed is kept, except the password.
    if field != "practice_name":
        assert b'value="Lakeside Therapy"' in response.content
    assert PASSWORD.encode() not in response.content
    assert not Practice.objects.exists()
    assert not User.objects.exists()
    assert not AuditEvent.objects.exists()


def test_setup_is_gone_once_a_practice_exists(client):
    Practice.objects.create(name="Existing")
    assert client.get(SETUP_URL).status_code == 404
    assert client.post(SETUP_URL, setup_data()).status_code == 404
    assert not User.objects.exists()
