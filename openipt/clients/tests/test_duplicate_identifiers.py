"""A duplicate identifier is no existence oracle (ADR 14).

Eve is a clinician of Dana's practice who is not on Dana's care team. Entering Dana's
national identifier for a new record must tell her nothing about Dana: the record is
created and flagged for an administrator to merge, exactly as it would be with a fresh
identifier, and the attempt is audited on Dana's log. Those who may see Dana anyway
(Alice on her care team, Bob who supervises it) are still told plainly.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as Browser
from django.urls import reverse

from openipt.accounts.models import Membership, User
from openipt.audit.models import AuditEvent
from openipt.clients import services
from openipt.clients.models import Client, ClientIdentifier
from openipt.clients.services import ClientData, IdentifierData
from openipt.testing.personas import Personas, make_staff

pytestmark = pytest.mark.django_db

DANA_NUMBER = "943-476-5919"
FRESH_NUMBER = "401-023-2137"


@pytest.fixture
def dana_has_a_number(personas: Personas) -> Client:
    return services.client_update(
        actor=personas.alice,
        client=personas.dana,
        expected_version=personas.dana.version,
        data=ClientData(
            legal_given_name=personas.dana.legal_given_name,
            legal_family_name=personas.dana.legal_family_name,
            date_of_birth=personas.dana.date_of_birth,
        ),
        identifiers=[IdentifierData("national", DANA_NUMBER)],
    )


@pytest.fixture
def eve(personas: Personas) -> User:
    """A clinician of Dana's practice with no part in Dana's care."""
    return make_staff(personas.practice, "eve@riverside.test", "Eve Clinician")


@pytest.fixture
def eve_browser(eve: User) -> Browser:
    browser = Browser()
    browser.force_login(eve)
    return browser


def new_client_form(user: User, number: str, given: str = "Robin") -> dict[str, str]:
    return {
        "legal_given_name": given,
        "legal_family_name": "Formfill",
        "date_of_birth": "17/05/1990",
        "primary_clinician": str(Membership.objects.get(user=user).uuid),
        "identifier_national": number,
    }


def duplicate_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditEvent.Action.DUPLICATE))


def test_eve_learns_nothing_and_the_record_is_flagged(dana_has_a_number, eve, eve_browser):
    dana = dana_has_a_number
    response = eve_browser.post(reverse("clients:create"), new_client_form(eve, DANA_NUMBER))
    assert response.status_code == 302
    created = Client.objects.get(legal_given_name="Robin")
    assert response["Location"] == reverse("clients:detail", kwargs={"client_uuid": created.uuid})
    page = eve_browser.get(response["Location"]).content.decode()
    for giveaway in ("already has", "Dana", "Example", "duplicate", str(dana.uuid)):
        assert giveaway not in page
    assert "Client added." in page
    assert DANA_NUMBER in page  # her record shows what she typed, as any record would
    identifier = created.identifiers.get()
    assert (identifier.value, identifier.duplicate_of) == (DANA_NUMBER, dana)
    # Dana's own identifier is untouched.
    assert dana.identifiers.get().duplicate_of is None


def test_the_attempt_is_audited_on_danas_log_without_the_number(
    dana_has_a_number, eve, eve_browser
):
    eve_browser.post(reverse("clients:create"), new_client_form(eve, DANA_NUMBER))
    created = Client.objects.get(legal_given_name="Robin")
    [event] = duplicate_events()
    assert (event.actor_id, event.client_id, event.practice_id) == (
        eve.pk,
        dana_has_a_number.pk,
        dana_has_a_number.practice_id,
    )
    assert (event.object_type, event.object_id) == ("clients.client", str(created.uuid))
    assert "national" in event.detail
    assert "administrator" in event.detail
    assert DANA_NUMBER not in event.detail
    assert DANA_NUMBER.replace("-", "") not in event.detail
    # The new record's creation is audited as usual, before the flag.
    create = AuditEvent.objects.get(action="create", client_id=created.pk)
    assert create.id < event.id


def _normalised(html: str, client: Client, number: str) -> str:
    html = html.replace(str(client.uuid), "UUID").replace(number, "NUMBER")
    return re.sub(r'value="[^"]+"|"X-CSRFToken": "[^"]+"', "", html)


def test_a_taken_number_is_indistinguishable_from_a_fresh_one(dana_has_a_number, eve, eve_browser):
    """Same status, same redirect, same message, same record page, same edit page."""
    pages = []
    for number in (FRESH_NUMBER, DANA_NUMBER):
        response = eve_browser.post(reverse("clients:create"), new_client_form(eve, number))
        assert response.status_code == 302
        created = ClientIdentifier.objects.get(value=number, client__created_by=eve).client
        detail = eve_browser.get(response["Location"]).content.decode()
        edit = eve_browser.get(reverse("clients:edit", kwargs={"client_uuid": created.uuid}))
        pages.append(
            (
                response["Location"].replace(str(created.uuid), "UUID"),
                _normalised(detail, created, number),
                _normalised(edit.content.decode(), created, number),
            )
        )
    assert pages[0] == pages[1]


def test_eve_editing_her_own_client_to_danas_number_learns_nothing_either(
    dana_has_a_number, eve, eve_browser
):
    mine = services.client_create(
        actor=eve,
        data=ClientData("Robin", "Formfill", dt.date(1990, 5, 17)),
        identifiers=[IdentifierData("national", FRESH_NUMBER)],
    )
    form = {
        "legal_given_name": "Robin",
        "legal_family_name": "Formfill",
        "date_of_birth": "17/05/1990",
        "identifier_national": DANA_NUMBER,
        "version": mine.version,
    }
    response = eve_browser.post(reverse("clients:edit", kwargs={"client_uuid": mine.uuid}), form)
    assert response.status_code == 302
    assert mine.identifiers.get().duplicate_of == dana_has_a_number
    assert len(duplicate_events()) == 1
    # Correcting the number later clears the flag, and raises none.
    services.client_update(
        actor=eve,
        client=mine,
        expected_version=mine.version + 1,
        data=ClientData("Robin", "Formfill", dt.date(1990, 5, 17)),
        identifiers=[IdentifierData("national", FRESH_NUMBER)],
    )
    assert mine.identifiers.get().duplicate_of is None
    assert len(duplicate_events()) == 1


def test_alice_on_danas_care_team_is_told_plainly(dana_has_a_number, personas, alice_client):
    before = (Client.objects.count(), AuditEvent.objects.count())
    form = new_client_form(personas.alice, DANA_NUMBER, given="Other")
    response = alice_client.post(reverse("clients:create"), form)
    assert response.status_code == 200
    assert "Another client in this practice already has this identifier." in response.text
    assert "identifier_national" in response.context["form"].errors
    assert (Client.objects.count(), AuditEvent.objects.count()) == before


def test_bob_who_supervises_danas_care_is_told_plainly_too(dana_has_a_number, personas):
    with pytest.raises(ValidationError, match="already has this identifier"):
        services.client_create(
            actor=personas.bob,
            data=ClientData("Other", "Formfill", dt.date(1990, 5, 17)),
            identifiers=[IdentifierData("national", DANA_NUMBER)],
        )
    assert duplicate_events() == []


def test_every_outsider_attempt_is_flagged_and_audited(dana_has_a_number, personas, eve):
    frank = make_staff(personas.practice, "frank@riverside.test", "Frank Clinician")
    for actor in (eve, frank, eve):
        services.client_create(
            actor=actor,
            data=ClientData("Robin", "Formfill", dt.date(1990, 5, 17)),
            identifiers=[IdentifierData("national", DANA_NUMBER)],
        )
    flagged = ClientIdentifier.objects.filter(duplicate_of=dana_has_a_number)
    assert flagged.count() == 3
    assert [e.actor_id for e in duplicate_events()] == [eve.pk, frank.pk, eve.pk]


def test_another_practice_is_no_duplicate(dana_has_a_number, personas):
    services.client_create(
        actor=personas.charlie,
        data=ClientData("Robin", "Formfill", dt.date(1990, 5, 17)),
        identifiers=[IdentifierData("national", DANA_NUMBER)],
    )
    assert duplicate_events() == []
    assert not ClientIdentifier.objects.filter(duplicate_of__isnull=False).exists()


def test_the_administrator_sees_the_flag_and_no_one_else_does(
    dana_has_a_number, personas, eve, eve_browser
):
    eve_browser.post(reverse("clients:create"), new_client_form(eve, DANA_NUMBER))
    staff_list = Browser()
    staff_list.force_login(personas.adam)
    assert "1 to check" in staff_list.get(reverse("accounts:staff-list")).content.decode()
    reads = AuditEvent.objects.filter(action=AuditEvent.Action.READ).count()
    page = staff_list.get(reverse("accounts:duplicates")).content.decode()
    assert "Robin Formfill" in page
    assert "Dana Example" in page
    assert DANA_NUMBER not in page  # the type of number is enough to go on
    assert AuditEvent.objects.filter(action=AuditEvent.Action.READ).count() == reads + 1
    assert eve_browser.get(reverse("accounts:duplicates")).status_code == 404
