"""Client accounts: invitation by the care team, password, where clients land."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from openipt.accounts.models import Membership, User
from openipt.engagement.models import PortalInvitation
from openipt.testing.personas import PASSWORD, give_crisis_contacts

NEW_PASSWORD = "quiet river lantern 2031"


def portal_page(personas) -> str:
    return reverse("clients:portal", args=[personas.dana.uuid])


def invite(http, personas, capture) -> str:
    """Alice invites Dana from the client's page; returns the path of the emailed link."""
    give_crisis_contacts(personas.practice)
    with capture(execute=True):
        response = http.post(portal_page(personas), {"email": "dana@example.test"})
    assert response.status_code == 302
    links: list[str] = re.findall(r"https?://\S+", str(mail.outbox[-1].body))
    link = links[0]
    return link.split("127.0.0.1:8000", 1)[-1]


@pytest.mark.django_db
def test_alice_invites_dana_who_sets_a_password_and_lands_in_the_portal(
    alice_client, anon, personas, django_capture_on_commit_callbacks
):
    path = invite(alice_client, personas, django_capture_on_commit_callbacks)
    assert mail.outbox[-1].to == ["dana@example.test"]
    anon.logout()
    assert anon.get(path).status_code == 200
    response = anon.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response["Location"] == reverse("portal:home")
    user = User.objects.get(email="dana@example.test")
    assert Membership.objects.get(user=user).kind == "client"
    assert anon.get(reverse("portal:home")).status_code == 200  # no MFA demanded
    # Used once: the link is dead now.
    anon.logout()
    assert anon.get(path).status_code == 410
    # Signing in later lands in the portal too.
    assert anon.login(email="dana@example.test", password=NEW_PASSWORD)
    assert anon.get("/")["Location"] == reverse("portal:home")


@pytest.mark.django_db
def test_a_weak_password_is_refused_next_to_the_field(
    alice_client, anon, personas, django_capture_on_commit_callbacks
):
    path = invite(alice_client, personas, django_capture_on_commit_callbacks)
    response = anon.post(path, {"password1": "password", "password2": "password"})
    assert response.status_code == 200
    assert "field--error" in response.content.decode()
    assert not User.objects.filter(email="dana@example.test").exists()


@pytest.mark.django_db
def test_an_expired_invitation_does_not_work(
    alice_client, anon, personas, django_capture_on_commit_callbacks
):
    path = invite(alice_client, personas, django_capture_on_commit_callbacks)
    PortalInvitation.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert anon.get(path).status_code == 410
    assert anon.get("/portal/welcome/not-a-token/").status_code == 404


@pytest.mark.django_db
def test_a_new_invitation_replaces_the_old_one(
    alice_client, anon, personas, django_capture_on_commit_callbacks
):
    first = invite(alice_client, personas, django_capture_on_commit_callbacks)
    second = invite(alice_client, personas, django_capture_on_commit_callbacks)
    assert anon.get(first).status_code == 410
    assert anon.get(second).status_code == 200


@pytest.mark.django_db
def test_only_the_care_team_can_invite(client, personas):
    for user in (personas.bob, personas.charlie, personas.adam):  # read-only, other, admin
        client.force_login(user)
        assert client.post(portal_page(personas), {"email": "x@example.test"}).status_code == 404
    assert not PortalInvitation.objects.exists()


@pytest.mark.django_db
def test_staff_pages_answer_404_to_a_client(dana_client, personas):
    for url in (
        reverse("clients:list"),
        reverse("clients:detail", args=[personas.dana.uuid]),
        reverse("intake:list"),
        reverse("clients:messages", args=[personas.dana.uuid]),
        reverse("clients:diary", args=[personas.dana.uuid]),
    ):
        assert dana_client.get(url).status_code == 404, url


@pytest.mark.django_db
def test_staff_get_404_in_the_portal(alice_client):
    assert alice_client.get(reverse("portal:home")).status_code == 404


@pytest.mark.django_db
def test_clinician_shares_the_progress_chart(alice_client, dana_client, personas):
    assert dana_client.get(reverse("portal:progress")).status_code == 404
    alice_client.post(
        reverse("clients:portal-sharing", args=[personas.dana.uuid]), {"share_progress": "on"}
    )
    response = dana_client.get(reverse("portal:progress"))
    assert response.status_code == 200
    assert PASSWORD not in response.content.decode()
