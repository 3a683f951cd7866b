from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from openipt.accounts.models import Membership
from openipt.audit.models import AuditEvent
from openipt.clients import services
from openipt.clients.models import CareTeamMember, Client, ClientIdentifier, ConsentRecord
from openipt.clients.services import ClientData, IdentifierData
from openipt.core.versioning import EditConflict
from openipt.testing.personas import make_staff

pytestmark = pytest.mark.django_db


def data(**overrides):
    values = {
        "legal_given_name": "Jordan",
        "legal_family_name": "Testcase",
        "date_of_birth": dt.date(1985, 3, 2),
    }
    return ClientData(**(values | overrides))


def counts():
    return (
        Client.objects.count(),
        ClientIdentifier.objects.count(),
        CareTeamMember.objects.count(),
        AuditEvent.objects.count(),
    )


def test_clinician_who_creates_a_client_becomes_primary_and_it_is_audited(personas):
    before = AuditEvent.objects.count()
    client = services.client_create(
        actor=personas.alice,
        data=data(preferred_name="Jo"),
        identifiers=[IdentifierData("practice", "R-1")],
    )
    team = list(client.care_team.all())
    assert [(t.member.user, t.role) for t in team] == [(personas.alice, "primary")]
    assert client.search_name == "jordan testcase jo"
    assert client.identifiers.get().value == "R-1"
    assert client.practice == personas.practice
    event = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1
    assert (event.action, event.client_id, event.actor_id) == (
        "create",
        client.pk,
        personas.alice.pk,
    )


def test_admin_must_choose_a_primary_clinician(personas):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.client_create(actor=personas.adam, data=data())
    assert "primary_clinician" in exc.value.error_dict
    assert counts() == before
    alice = personas.membership(personas.alice)
    client = services.client_create(actor=personas.adam, data=data(), primary_clinician=alice)
    assert client.care_team.get().member == alice


def test_primary_clinician_must_be_a_clinician_of_the_same_practice(personas):
    for member in (personas.membership(personas.charlie), personas.membership(personas.adam)):
        with pytest.raises(ValidationError):
            services.client_create(actor=personas.alice, data=data(), primary_clinician=member)
    assert not Client.objects.filter(legal_family_name="Testcase").exists()


def test_supervisor_only_and_other_practice_cannot_create_here(personas):
    with pytest.raises(PermissionDenied):
        services.client_create(actor=personas.charlie, practice=personas.practice, data=data())
    viewer = make_staff(
        personas.practice, "s@riverside.test", "S", supervisor=True, clinician=False
    )
    with pytest.raises(PermissionDenied):
        services.client_create(actor=viewer, data=data())


def test_duplicate_identifier_in_practice_is_a_field_error_and_writes_nothing(personas):
    services.client_create(
        actor=personas.alice, data=data(), identifiers=[IdentifierData("national", "N-9")]
    )
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.client_create(
            actor=personas.alice, data=data(), identifiers=[IdentifierData("national", "N-9")]
        )
    assert "identifier_national" in exc.value.error_dict
    assert counts() == before
    # The same value in another practice is someone else's business.
    services.client_create(
        actor=personas.charlie, data=data(), identifiers=[IdentifierData("national", "N-9")]
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("legal_given_name", "<script>alert(1)</script>"),
        ("legal_family_name", "Smith>"),
        ("date_of_birth", dt.date(1899, 12, 31)),
        ("date_of_birth", dt.date.today() + dt.timedelta(days=2)),  # noqa: DTZ011
        ("email", "not-an-email"),
        ("legal_given_name", "x" * 101),
    ],
)
def test_invalid_data_is_refused_by_the_service_too(personas, field, value):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.client_create(actor=personas.alice, data=data(**{field: value}))
    assert field in exc.value.error_dict
    assert counts() == before


def test_update_bumps_version_records_changed_fields_only(personas):
    dana = personas.dana
    updated = services.client_update(
        actor=personas.alice,
        client=dana,
        expected_version=dana.version,
        data=data(legal_given_name="Dana", legal_family_name="Renamed"),
        identifiers=[IdentifierData("practice", "R-77")],
    )
    assert updated.version == dana.version + 1
    assert updated.search_name == "dana renamed"
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "update"
    assert "legal_family_name" in event.detail
    assert "identifier_practice" in event.detail
    assert "Renamed" not in event.detail  # names of fields, never their content


def test_stale_version_is_refused_and_nothing_is_overwritten(personas):
    dana = personas.dana
    first = services.client_update(
        actor=personas.alice,
        client=dana,
        expected_version=1,
        data=data(legal_given_name="Dana", legal_family_name="First"),
    )
    events = AuditEvent.objects.count()
    with pytest.raises(EditConflict):
        services.client_update(
            actor=personas.alice,
            client=dana,
            expected_version=1,
            data=data(legal_given_name="Dana", legal_family_name="Second"),
        )
    dana.refresh_from_db()
    assert dana.legal_family_name == "First"
    assert dana.version == first.version
    assert AuditEvent.objects.count() == events


def test_supervisor_cannot_write(personas):
    with pytest.raises(PermissionDenied):
        services.client_update(
            actor=personas.bob, client=personas.dana, expected_version=1, data=data()
        )
    with pytest.raises(PermissionDenied):
        services.client_set_status(
            actor=personas.bob, client=personas.dana, status="archived", reason="x"
        )


def test_status_changes_need_a_reason_and_never_delete(personas):
    dana = personas.dana
    with pytest.raises(ValidationError) as exc:
        services.client_set_status(actor=personas.alice, client=dana, status="archived", reason=" ")
    assert "reason" in exc.value.error_dict
    archived = services.client_set_status(
        actor=personas.alice, client=dana, status="archived", reason="Finished care"
    )
    assert (archived.status, archived.status_reason) == ("archived", "Finished care")
    with pytest.raises(ValidationError):
        services.client_set_status(
            actor=personas.alice, client=dana, status="archived", reason="again"
        )
    services.client_set_status(
        actor=personas.alice, client=dana, status="entered_in_error", reason="Duplicate"
    )
    assert Client.objects.filter(pk=dana.pk, status="entered_in_error").exists()
    event = AuditEvent.objects.order_by("-id").first()
    assert event.detail == "status: archived -> entered_in_error"


def test_care_team_add_remove_and_make_primary(personas):
    dana = personas.dana
    bob = personas.membership(personas.bob)
    entry = services.care_team_add(actor=personas.alice, client=dana, member=bob)
    assert entry.role == "other"
    with pytest.raises(ValidationError):
        services.care_team_add(actor=personas.alice, client=dana, member=bob)
    services.care_team_make_primary(actor=personas.alice, client=dana, entry=entry)
    roles = dict(dana.care_team.values_list("member__user__email", "role"))
    assert roles == {"alice@riverside.test": "other", "bob@riverside.test": "primary"}
    with pytest.raises(ValidationError):
        services.care_team_remove(actor=personas.alice, client=dana, entry=entry)
    alice_entry = dana.care_team.get(member__user=personas.alice)
    services.care_team_remove(actor=personas.alice, client=dana, entry=alice_entry)
    alice_entry.refresh_from_db()
    assert alice_entry.is_active is False  # kept, not deleted
    # Alice is off the team: she can no longer change the record.
    with pytest.raises(PermissionDenied):
        services.care_team_add(
            actor=personas.alice, client=dana, member=personas.membership(personas.alice)
        )


def test_care_team_refuses_other_practice_and_inactive_staff(personas):
    with pytest.raises(ValidationError):
        services.care_team_add(
            actor=personas.alice,
            client=personas.dana,
            member=personas.membership(personas.charlie),
        )
    gone = make_staff(personas.practice, "gone@riverside.test", "Gone")
    Membership.objects.filter(user=gone).update(is_active=False)
    with pytest.raises(ValidationError):
        services.care_team_add(
            actor=personas.alice, client=personas.dana, member=Membership.objects.get(user=gone)
        )


def test_removed_member_can_be_added_again(personas):
    bob = personas.membership(personas.bob)
    entry = services.care_team_add(actor=personas.alice, client=personas.dana, member=bob)
    services.care_team_remove(actor=personas.alice, client=personas.dana, entry=entry)
    again = services.care_team_add(actor=personas.alice, client=personas.dana, member=bob)
    assert again.pk == entry.pk
    assert again.is_active


def test_consent_record_add(personas):
    consent = services.consent_record_add(
        actor=personas.alice,
        client=personas.dana,
        kind="treatment",
        consented_on=dt.date(2024, 1, 5),
        text_version="2024-1",
        notes="Discussed limits of confidentiality",
    )
    assert consent.recorded_by == personas.alice
    assert AuditEvent.objects.order_by("-id").first().object_id == str(consent.uuid)
    with pytest.raises(ValidationError):
        services.consent_record_add(
            actor=personas.alice,
            client=personas.dana,
            kind="treatment",
            consented_on=dt.date.today() + dt.timedelta(days=3),  # noqa: DTZ011
            text_version="2024-1",
        )
    assert ConsentRecord.objects.count() == 1
