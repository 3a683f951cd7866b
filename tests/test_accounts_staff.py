"""Staff management for administrators: list, invite, accept, roles, supervision, deactivate."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from openipt.accounts.models import Invitation, Membership, Supervision, User
from openipt.accounts.services import invitation_create
from openipt.audit.models import AuditEvent
from openipt.clients.models import CareTeamMember, Client
from openipt.testing.personas import PASSWORD, count_queries, make_staff

pytestmark = pytest.mark.django_db

STAFF_URL = "/staff/"
INVITE_URL = "/staff/invite/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def adam_client(client, personas):
    client.force_login(personas.adam)
    return client


def invite(personas, email="nina@riverside.test", **roles):
    roles = {"is_admin": False, "is_supervisor": False, "is_clinician": True} | roles
    return invitation_create(
        actor=personas.adam, practice=personas.practice, email=email, full_name="Nina New", **roles
    )


def test_staff_list_shows_roles_status_mfa_and_invitations(adam_client, personas):
    make_staff(personas.practice, "olga@riverside.test", "Olga Pending", mfa=False)
    invite(personas)
    response = adam_client.get(STAFF_URL)
    assert response.status_code == 200
    text = response.content.decode()
    for name in ("Alice Clinician", "Bob Supervisor", "Adam Admin", "Olga Pending"):
        assert name in text
    assert "Charlie" not in text  # another practice
    assert "Supervisor, Clinician" in text  # Bob's roles
    assert "Not set up yet" in text  # Olga has no authenticator
    assert "nina@riverside.test" in text  # pending invitation


def test_staff_list_query_count_does_not_grow_with_staff(adam_client, personas):
    with count_queries() as few:
        adam_client.get(STAFF_URL)
    for i in range(10):
        user = make_staff(personas.practice, f"extra{i}@riverside.test", f"Extra {i}", mfa=False)
        Supervision.objects.create(
            practice=personas.practice,
            supervisor=personas.membership(personas.bob),
            supervisee=Membership.objects.get(user=user),
        )
        invite(personas, email=f"inv{i}@riverside.test")
    with count_queries() as many:
        adam_client.get(STAFF_URL)
    assert len(many) == len(few)


@pytest.mark.parametrize("persona", ["alice", "bob", "charlie"])
def test_staff_pages_are_404_for_non_admins(client, personas, persona):
    client.force_login(getattr(personas, persona))
    alice_uuid = personas.membership(personas.alice).uuid
    for url in (STAFF_URL, INVITE_URL, f"/staff/{alice_uuid}/"):
        assert client.get(url).status_code == 404
    response = client.post(f"/staff/{alice_uuid}/deactivate/")
    assert response.status_code == 404
    assert User.objects.get(pk=personas.alice.pk).is_active


def test_admin_of_another_practice_cannot_reach_our_staff(client, personas):
    other_admin = make_staff(personas.other_practice, "hanna@hilltop.test", "Hanna", admin=True)
    client.force_login(other_admin)
    alice_uuid = personas.membership(personas.alice).uuid
    assert client.get(f"/staff/{alice_uuid}/").status_code == 404
    assert client.post(f"/staff/{alice_uuid}/deactivate/").status_code == 404
    assert "Alice" not in client.get(STAFF_URL).content.decode()


def test_anonymous_is_sent_to_sign_in(client, personas):
    response = client.get(STAFF_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_invite_stores_only_a_hash_and_emails_the_link_after_commit(
    adam_client, personas, django_capture_on_commit_callbacks
):
    data = {"email": "Nina@Riverside.test", "full_name": "Nina New", "is_supervisor": "on"}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = adam_client.post(INVITE_URL, data)
    assert response.status_code == 302
    assert len(callbacks) == 1
    invitation = Invitation.objects.get()
    assert invitation.email == "nina@riverside.test"
    assert (invitation.is_supervisor, invitation.is_clinician, invitation.is_admin) == (
        True,
        False,
        False,
    )
    remaining = invitation.expires_at - timezone.now()
    assert dt.timedelta(days=6, hours=23) < remaining <= dt.timedelta(days=7)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nina@riverside.test"]
    token = re.search(r"/invitations/([^/\s]+)/", mail.outbox[0].body).group(1)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Invitation.objects.values().get())
    assert AuditEvent.objects.filter(action="admin", object_id=str(invitation.uuid)).exists()


def test_no_email_when_the_invitation_is_not_committed(
    personas, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invite(personas)
    assert len(callbacks) == 1
    assert mail.outbox == []


@pytest.mark.parametrize(
    "email", ["alice@riverside.test", "ALICE@riverside.test", "nina@riverside.test"]
)
def test_invite_duplicate_email_is_refused_next_to_the_field(adam_client, personas, email):
    invite(personas)  # nina has a pending invitation
    before = Invitation.objects.count()
    response = adam_client.post(
        INVITE_URL, {"email": email, "full_name": "Dup", "is_clinician": "on"}
    )
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert b"already has an account or invitation" in response.content
    assert f'value="{email}"'.encode() in response.content
    assert Invitation.objects.count() == before


def test_invite_needs_a_role(adam_client, personas):
    response = adam_client.post(INVITE_URL, {"email": "x@riverside.test", "full_name": "X"})
    assert response.status_code == 200
    assert b"Choose at least one role" in response.content
    assert not Invitation.objects.exists()


def test_revoked_invitation_no_longer_works(adam_client, client, personas):
    invitation, token = invite(personas)
    response = adam_client.post(f"/staff/invitations/{invitation.uuid}/revoke/")
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    adam_client.logout()
    response = client.get(f"/invitations/{token}/")
    assert response.status_code == 410
    assert b"does not work" in response.content


def test_accepting_an_invitation_creates_the_account_once(client, personas):
    invitation, token = invite(personas, is_supervisor=True)
    url = f"/invitations/{token}/"
    page = client.get(url)
    assert page.status_code == 200
    assert b'value="Nina New"' in page.content

    response = client.post(
        url, {"full_name": "Nina Newton", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    user = User.objects.get(email="nina@riverside.test")
    assert user.full_name == "Nina Newton"
    membership = Membership.objects.get(user=user)
    assert membership.practice == personas.practice
    assert (membership.is_clinician, membership.is_supervisor, membership.is_admin) == (
        True,
        True,
        False,
    )
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert client.get(reverse("mfa_activate_totp")).status_code == 200  # signed in as Nina

    client.logout()
    again = client.post(url, {"full_name": "Someone", "password1": PASSWORD, "password2": PASSWORD})
    assert again.status_code == 410
    assert User.objects.filter(email="nina@riverside.test").count() == 1


def test_expired_invitation_creates_nothing(client, personas):
    with time_machine.travel(timezone.now() - dt.timedelta(days=8), tick=False):
        _invitation, token = invite(personas)
    response = client.post(
        f"/invitations/{token}/",
        {"full_name": "Nina", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 410
    assert b"expired" in response.content
    assert not User.objects.filter(email="nina@riverside.test").exists()


def test_unknown_invitation_token_is_404(client, personas):
    response = client.get("/invitations/not-a-real-token/")
    assert response.status_code == 404
    assert b"does not work" in response.content


def test_accept_with_a_weak_password_explains_and_writes_nothing(client, personas):
    _invitation, token = invite(personas)
    response = client.post(
        f"/invitations/{token}/",
        {"full_name": "Nina Keep", "password1": "12345678", "password2": "12345678"},
    )
    assert response.status_code == 200
    assert "password1" in response.context["form"].errors
    assert b'value="Nina Keep"' in response.content
    assert b"12345678" not in response.content
    assert not User.objects.filter(email="nina@riverside.test").exists()


def test_admin_edits_roles_and_supervision(adam_client, personas):
    alice_m = personas.membership(personas.alice)
    carla = make_staff(
        personas.practice, "carla@riverside.test", "Carla Sup", supervisor=True, clinician=False
    )
    carla_m = Membership.objects.get(user=carla)
    url = f"/staff/{alice_m.uuid}/"
    page = adam_client.get(url)
    assert page.status_code == 200
    assert b"Bob Supervisor" in page.content
    assert b"Carla Sup" in page.content

    response = adam_client.post(
        url, {"is_clinician": "on", "is_supervisor": "on", "supervisors": [str(carla_m.uuid)]}
    )
    assert response.status_code == 302
    alice_m.refresh_from_db()
    assert alice_m.is_supervisor
    active = Supervision.objects.filter(supervisee=alice_m, is_active=True)
    assert [s.supervisor for s in active] == [carla_m]  # Bob no longer supervises Alice
    assert AuditEvent.objects.filter(action="admin", object_id=str(alice_m.uuid)).exists()


def test_last_admin_keeps_the_admin_role(adam_client, personas):
    adam_m = personas.membership(personas.adam)
    response = adam_client.post(f"/staff/{adam_m.uuid}/", {"is_clinician": "on"})
    assert response.status_code == 200
    assert b"at least one administrator" in response.content
    adam_m.refresh_from_db()
    assert adam_m.is_admin
    assert not adam_m.is_clinician


def test_deactivation_ends_access_at_once_and_keeps_records(adam_client, client, personas):
    from django.test import Client as TestClient

    alice_browser = TestClient()
    alice_browser.force_login(personas.alice)
    assert alice_browser.get("/").status_code == 200

    alice_m = personas.membership(personas.alice)
    response = adam_client.post(f"/staff/{alice_m.uuid}/deactivate/")
    assert response.status_code == 302

    alice_m.refresh_from_db()
    assert not alice_m.is_active
    assert alice_m.deactivated_at is not None
    assert not User.objects.get(pk=personas.alice.pk).is_active
    after = alice_browser.get("/")
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("account_login"))
    assert not alice_browser.post(
        reverse("account_login"), {"login": "alice@riverside.test", "password": PASSWORD}
    ).wsgi_request.user.is_authenticated
    assert Client.objects.filter(pk=personas.dana.pk).exists()
    assert CareTeamMember.objects.filter(member=alice_m).exists()
    assert "Deactivated" in adam_client.get(STAFF_URL).content.decode()


def test_admin_cannot_deactivate_themself(adam_client, personas):
    adam_m = personas.membership(personas.adam)
    response = adam_client.post(f"/staff/{adam_m.uuid}/deactivate/", follow=True)
    assert b"cannot deactivate your own account" in response.content
    adam_m.refresh_from_db()
    assert adam_m.is_active
    assert User.objects.get(pk=personas.adam.pk).is_active
