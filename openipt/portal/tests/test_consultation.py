from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from openipt.accounts.models import Practice
from openipt.audit.models import AuditEvent
from openipt.engagement.models import ConsultationRequest

BASE = "/consultation/"
REASON = "Low mood since my father died in spring"


@pytest.fixture
def url(personas) -> str:
    return f"{BASE}?practice={personas.practice.uuid}"


def valid(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Pat Requester",
        "email": "pat@example.test",
        "phone": "",
        "contact_times": "weekday mornings",
        "preferred_times": "Tuesdays",
        "reason": REASON,
        "consent_to_contact": "on",
        "website": "",
    }
    return data | overrides


@pytest.mark.django_db
def test_anonymous_person_requests_a_consultation_and_gets_a_plain_acknowledgement(
    client, personas, url, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, valid())
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:consultation-thanks")
    item = ConsultationRequest.objects.get()
    assert item.practice == personas.practice
    assert item.status == "open"
    assert item.reason == REASON
    assert len(mail.outbox) == 1
    ack = mail.outbox[0]
    assert ack.to == ["pat@example.test"]
    assert "father" not in ack.body
    assert "mood" not in ack.body.lower()
    assert AuditEvent.objects.filter(
        action="create", object_type="clients.consultationrequest"
    ).exists()
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "<script>alert(1)</script>", "Please remove the &lt; and &gt;"),
        ("reason", "x" * 501, "at most 500 characters"),
        ("name", "N" * 101, "at most 100 characters"),
        ("contact_times", "javascript:alert(1)", "looks like code"),
        ("consent_to_contact", "", "Please agree that we may contact you"),
    ],
)
def test_bad_input_is_refused_next_to_the_field_and_what_was_typed_is_kept(
    client, personas, url, field, value, message
):
    data = valid(**{field: value})
    if field == "consent_to_contact":
        data.pop("consent_to_contact")
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert "field--error" in html
    assert "Tuesdays" in html  # another field keeps what was typed
    assert not ConsultationRequest.objects.exists()


@pytest.mark.django_db
def test_a_way_to_reach_them_is_required(client, personas, url):
    response = client.post(url, valid(email="", phone=""))
    assert "Please give an email address or a phone number." in response.content.decode()
    assert not ConsultationRequest.objects.exists()


@pytest.mark.django_db
def test_phone_only_request_is_accepted_without_email(client, personas, url):
    client.post(url, valid(email="", phone="07700 900123"))
    assert ConsultationRequest.objects.get().phone == "07700 900123"
    assert len(mail.outbox) == 0


@pytest.mark.django_db
def test_honeypot_filled_looks_like_success_but_files_nothing(client, personas, url):
    response = client.post(url, valid(website="http://spam.example"))
    assert response.status_code == 302
    assert not ConsultationRequest.objects.exists()


@pytest.mark.django_db
def test_honeypot_field_is_hidden_from_people_and_assistive_technology(client, personas, url):
    html = client.get(url).content.decode()
    assert 'aria-hidden="true"' in html
    assert 'tabindex="-1"' in html
    assert "Leave this field empty" in html


@pytest.mark.django_db
def test_a_flood_from_one_address_is_throttled_with_a_clear_message(client, personas, url):
    for _ in range(5):
        assert client.post(url, valid()).status_code == 302
    response = client.post(url, valid(name="Sixth Try"))
    assert response.status_code == 429
    assert "Please wait an hour" in response.content.decode()
    assert "Sixth Try" in response.content.decode()
    assert ConsultationRequest.objects.count() == 5
    other = client.post(url, valid(), REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 302


@pytest.mark.django_db
def test_with_several_practices_the_request_names_its_practice(client, personas, url):
    assert Practice.objects.count() == 2
    assert client.get(BASE).status_code == 404
    assert client.get(f"{BASE}?practice=not-a-uuid").status_code == 404
    url = f"{BASE}?practice={personas.other_practice.uuid}"
    assert client.get(url).status_code == 200
    client.post(url, valid())
    assert ConsultationRequest.objects.get().practice == personas.other_practice
