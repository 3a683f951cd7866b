"""No client is invited to the portal before the practice has said whom its clients should
call in a crisis: every portal page shows those contacts. The service refuses; the page
where a clinician invites says why and where the contacts are added."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.accounts.models import Membership
from openipt.core.models import OutboxEmail
from openipt.engagement import accounts
from openipt.engagement.models import PortalInvitation
from openipt.testing.personas import Personas, give_crisis_contacts

EXPLAINS = "Invitations can go out once the practice has added its crisis contacts."
ASK_ADMIN = "Please ask your practice administrator"


def portal_page(personas: Personas) -> str:
    return reverse("clients:portal", args=[personas.dana.uuid])


@pytest.mark.django_db
def test_the_service_refuses_a_practice_without_crisis_contacts(personas: Personas) -> None:
    assert not personas.other_practice.has_crisis_contacts
    with pytest.raises(accounts.CrisisContactsMissing) as refused:
        accounts.portal_invite(
            actor=personas.charlie, client=personas.erin, email="erin@example.test"
        )
    assert refused.value.code == "no_crisis_contacts"
    assert "crisis contacts" in refused.value.messages[0]
    assert not PortalInvitation.objects.exists()
    assert not OutboxEmail.objects.exists()


@pytest.mark.django_db
def test_the_service_invites_once_the_practice_has_crisis_contacts(personas: Personas) -> None:
    give_crisis_contacts(personas.other_practice)
    invitation, token = accounts.portal_invite(
        actor=personas.charlie, client=personas.erin, email="erin@example.test"
    )
    assert invitation.email == "erin@example.test"
    assert accounts.portal_invitation_by_token(token) == invitation


@pytest.mark.django_db
def test_an_emergency_number_alone_is_enough(personas: Personas) -> None:
    type(personas.practice).objects.filter(pk=personas.practice.pk).update(emergency_number="999")
    invitation, _token = accounts.portal_invite(
        actor=personas.alice, client=personas.dana, email="dana@example.test"
    )
    assert invitation.pk is not None


@pytest.mark.django_db
def test_the_page_explains_and_points_a_clinician_to_the_administrator(
    personas: Personas, alice_client: HttpClient
) -> None:
    html = alice_client.get(portal_page(personas)).content.decode()
    assert EXPLAINS in html
    assert ASK_ADMIN in html
    assert reverse("accounts:practice-settings") not in html  # not hers to change
    assert "Invite to the portal" not in html
    assert 'name="email"' not in html


@pytest.mark.django_db
def test_the_page_links_an_administrator_to_the_practice_settings(
    personas: Personas, alice_client: HttpClient
) -> None:
    Membership.objects.filter(user=personas.alice).update(is_admin=True)
    html = alice_client.get(portal_page(personas)).content.decode()
    assert EXPLAINS in html
    assert f'href="{reverse("accounts:practice-settings")}"' in html
    assert ASK_ADMIN not in html
    assert "Invite to the portal" not in html


@pytest.mark.django_db
def test_a_posted_invitation_is_refused_with_the_reason(
    personas: Personas, alice_client: HttpClient, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(portal_page(personas), {"email": "dana@example.test"})
    assert response.status_code == 200
    assert EXPLAINS in response.content.decode()
    assert not PortalInvitation.objects.exists()
    assert not mail.outbox


@pytest.mark.django_db
def test_with_crisis_contacts_the_page_offers_the_invitation(
    personas: Personas, alice_client: HttpClient
) -> None:
    give_crisis_contacts(personas.practice)
    html = alice_client.get(portal_page(personas)).content.decode()
    assert "Invite to the portal" in html
    assert EXPLAINS not in html
