"""The staff intake queue: triage a consultation request (book it or close it)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from openipt.audit.models import AuditEvent
from openipt.clients.models import CareTeamMember, Client
from openipt.engagement.consultation import ConsultationData, consultation_request_submit
from openipt.engagement.models import ConsultationRequest
from openipt.scheduling.models import Appointment
from openipt.testing.personas import make_staff

# A winter morning within the two years ahead that bookings accept.
WINTER_DAY = f"{timezone.localdate().year + 1}-01-14"


def make_request(practice, name: str = "Pat Requester") -> ConsultationRequest:
    data = ConsultationData(
        name=name, email="pat@example.test", contact_times="mornings", consent_to_contact=True
    )
    return consultation_request_submit(practice=practice, data=data)


@pytest.fixture
def pending(personas) -> ConsultationRequest:
    return make_request(personas.practice)


def detail(item: ConsultationRequest) -> str:
    return reverse("intake:detail", args=[item.uuid])


def book_data(personas, **overrides: str) -> dict[str, str]:
    data = {
        "action": "book",
        "legal_given_name": "Pat",
        "legal_family_name": "Requester",
        "date_of_birth": "1991-02-03",
        "primary_clinician": str(personas.membership(personas.alice).uuid),
        "starts_at": f"{WINTER_DAY}T10:00",
        "duration_minutes": "50",
    }
    return data | overrides


@pytest.mark.django_db
def test_alice_sees_her_practices_open_requests_and_charlie_does_not(
    alice_client, client, personas, pending
):
    make_request(personas.other_practice, name="Hilltop Person")
    html = alice_client.get(reverse("intake:list")).content.decode()
    assert "Pat Requester" in html
    assert "Hilltop Person" not in html
    client.force_login(personas.charlie)
    assert client.get(detail(pending)).status_code == 404
    assert "Pat Requester" not in client.get(reverse("intake:list")).content.decode()


@pytest.mark.django_db
def test_a_supervisor_without_clinical_role_cannot_triage(client, personas, pending):
    sam = make_staff(personas.practice, "sam@riverside.test", "Sam", supervisor=True,
                     clinician=False)  # fmt: skip
    client.force_login(sam)
    assert client.get(reverse("intake:list")).status_code == 404
    assert client.get(detail(pending)).status_code == 404


@pytest.mark.django_db
def test_booking_creates_the_client_and_a_consultation_appointment(alice_client, personas, pending):
    response = alice_client.post(detail(pending), book_data(personas))
    client_record = Client.objects.get(legal_family_name="Requester")
    assert response["Location"] == reverse("clients:detail", args=[client_record.uuid])
    assert client_record.email == "pat@example.test"
    primary = CareTeamMember.objects.get(client=client_record, role="primary")
    assert primary.member.user == personas.alice
    appointment = Appointment.objects.get(client=client_record)
    assert appointment.kind == "consultation"
    assert appointment.starts_at.isoformat() == f"{WINTER_DAY}T10:00:00+00:00"  # London, winter
    pending.refresh_from_db()
    assert (pending.status, pending.client) == ("booked", client_record)
    assert AuditEvent.objects.filter(
        action="update", object_type="clients.consultationrequest", detail="open -> booked"
    ).exists()
    assert "Pat Requester" not in alice_client.get(reverse("intake:list")).content.decode()


@pytest.mark.django_db
def test_admin_books_for_a_clinician(client, personas, pending):
    client.force_login(personas.adam)
    response = client.post(detail(pending), book_data(personas, starts_at=""))
    assert response.status_code == 302  # Adam cannot open the record: back to the queue
    assert response["Location"] == reverse("intake:list")
    created = Client.objects.get(legal_family_name="Requester")
    assert not Appointment.objects.filter(client=created).exists()


@pytest.mark.django_db
def test_booking_needs_a_date_of_birth_and_keeps_what_was_typed(alice_client, personas, pending):
    response = alice_client.post(detail(pending), book_data(personas, date_of_birth=""))
    html = response.content.decode()
    assert response.status_code == 200
    assert "field--error" in html
    assert 'value="Requester"' in html
    assert not Client.objects.filter(legal_family_name="Requester").exists()


@pytest.mark.django_db
def test_close_with_a_reason_and_not_without(alice_client, pending):
    response = alice_client.post(detail(pending), {"action": "close", "reason": ""})
    assert "Please say why you are closing this request." in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "open"
    alice_client.post(detail(pending), {"action": "close", "reason": "Referred to the GP"})
    pending.refresh_from_db()
    assert (pending.status, pending.closed_reason) == ("closed", "Referred to the GP")


@pytest.mark.django_db
def test_a_request_is_triaged_only_once(alice_client, personas, pending):
    alice_client.post(detail(pending), {"action": "close", "reason": "Could not reach"})
    alice_client.post(detail(pending), book_data(personas))
    assert not Client.objects.filter(legal_family_name="Requester").exists()


@pytest.mark.django_db
def test_opening_a_request_is_audited_as_a_read(alice_client, pending):
    alice_client.get(detail(pending))
    assert AuditEvent.objects.filter(
        action="read", object_type="clients.consultationrequest", object_id=str(pending.uuid)
    ).exists()


@pytest.mark.django_db
def test_the_queue_costs_the_same_queries_for_1_or_25_requests(alice_client, personas):
    from openipt.testing.personas import query_count

    make_request(personas.practice)
    one = query_count(lambda: alice_client.get(reverse("intake:list")))
    for n in range(24):
        make_request(personas.practice, name=f"Person {n}")
    many = query_count(lambda: alice_client.get(reverse("intake:list")))
    assert one == many
