from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.test import override_settings

from openipt.access.clients import access_client
from openipt.accounts.models import Membership
from openipt.audit.models import AuditEvent
from openipt.clients import selectors, services
from openipt.clients.services import IdentifierData
from openipt.clients.tests.helpers import bulk_clients
from openipt.testing.personas import make_client, query_count

pytestmark = pytest.mark.django_db


def names(page):
    return [c.legal_given_name for c in page.object_list]


def test_access_client_follows_the_care_team(personas):
    dana = personas.dana
    assert access_client(personas.alice, dana.uuid) == dana
    assert access_client(personas.alice, str(dana.uuid), write=True) == dana
    assert access_client(personas.bob, dana.uuid) == dana  # supervises Alice
    for user, write in [(personas.bob, True), (personas.adam, False), (personas.charlie, False)]:
        with pytest.raises(Http404):
            access_client(user, dana.uuid, write=write)


@pytest.mark.parametrize(
    "bad", ["not-a-uuid", "", "1 OR 1=1", "0b7e6b0e-6f7a-4a39-9a51-3a6b8f0d2c11"]
)
def test_access_client_raises_404_for_malformed_or_unknown_uuid(personas, bad):
    with pytest.raises(Http404):
        access_client(personas.alice, bad)


def test_admin_on_the_care_team_sees_the_client(personas):
    services.care_team_add(
        actor=personas.alice, client=personas.dana, member=personas.membership(personas.adam)
    )
    assert access_client(personas.adam, personas.dana.uuid, write=True)


def test_supervisor_loses_access_when_supervision_ends(personas):
    Membership.objects.get(user=personas.bob).supervisions_given.update(is_active=False)
    with pytest.raises(Http404):
        access_client(personas.bob, personas.dana.uuid)


def test_search_by_any_part_of_the_name_ignoring_case(personas):
    make_client(personas.practice, personas.alice, given="Maria", family="Lopez-Garcia")
    make_client(
        personas.practice, personas.alice, given="Sam", family="Other", preferred_name="Sunny"
    )
    alice = personas.alice
    assert names(selectors.client_search(alice, q="GARC")) == ["Maria"]
    assert names(selectors.client_search(alice, q="maria lopez")) == ["Maria"]
    assert names(selectors.client_search(alice, q="sunny")) == ["Sam"]
    assert names(selectors.client_search(alice, q="xyz")) == []
    assert names(selectors.client_search(alice)) == ["Dana", "Maria", "Sam"]  # by family name


def test_search_by_date_of_birth_and_exact_identifier(personas):
    make_client(
        personas.practice,
        personas.alice,
        given="Kim",
        family="Born",
        date_of_birth=dt.date(1970, 1, 2),
    )
    services.client_update(
        actor=personas.alice,
        client=personas.dana,
        expected_version=1,
        data=services.ClientData("Dana", "Example", personas.dana.date_of_birth),
        identifiers=[IdentifierData("practice", "RX-1001")],
    )
    alice = personas.alice
    assert names(selectors.client_search(alice, dob=dt.date(1970, 1, 2))) == ["Kim"]
    assert names(selectors.client_search(alice, identifier="RX-1001")) == ["Dana"]
    assert names(selectors.client_search(alice, identifier="RX-100")) == []


def test_search_shows_only_what_the_user_may_read(personas):
    assert names(selectors.client_search(personas.alice)) == ["Dana"]
    assert names(selectors.client_search(personas.bob)) == ["Dana"]
    assert names(selectors.client_search(personas.adam)) == []
    assert names(selectors.client_search(personas.charlie)) == ["Erin"]
    assert names(selectors.client_search(personas.charlie, q="dana")) == []


def test_search_filters_by_status(personas):
    services.client_set_status(
        actor=personas.alice, client=personas.dana, status="archived", reason="Done"
    )
    assert names(selectors.client_search(personas.alice)) == []
    assert names(selectors.client_search(personas.alice, status="archived")) == ["Dana"]
    assert names(selectors.client_search(personas.alice, status=None)) == ["Dana"]


@override_settings(OPENIPT_CLIENTS_PER_PAGE=2)
def test_search_is_paginated_on_the_server(personas):
    for i in range(4):
        make_client(personas.practice, personas.alice, given=f"P{i}", family="Zed")
    page = selectors.client_search(personas.alice, page=3)
    assert page.paginator.count == 5
    assert page.number == 3
    assert names(page) == ["P3"]


def test_search_query_count_does_not_grow_with_page_size(personas):
    def run():
        page = selectors.client_search(personas.alice)
        for client in page.object_list:
            list(client.identifiers.all())
            [e.member.user.full_name for e in client.primary_team]

    one = query_count(run)
    bulk_clients(personas.alice, 24)
    assert query_count(run) == one


def test_overview_records_exactly_one_read(personas, rf):
    before = AuditEvent.objects.count()
    client = access_client(personas.bob, personas.dana.uuid, audit=rf.get("/"))
    overview = selectors.client_overview(personas.bob, client)
    assert overview.can_write is False
    assert [e.member.user for e in overview.care_team] == [personas.alice]
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.action, event.actor_id, event.client_id) == (
        "read",
        personas.bob.pk,
        personas.dana.pk,
    )


def test_care_team_candidates_are_colleagues_not_yet_on_the_team(personas):
    candidates = selectors.care_team_candidates(personas.dana)
    assert {m.user for m in candidates} == {personas.bob, personas.adam}
