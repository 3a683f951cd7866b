"""The client's own record as a FHIR Bundle, from the portal's record page."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from openipt.api.tests.fhir_kit import CANARY, dana_record, valid_r4
from openipt.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_dana_downloads_her_whole_record_as_fhir(personas, dana_client):
    record = dana_record(personas)
    page = dana_client.get(reverse("portal:record"))
    assert reverse("portal:record-fhir") in page.content.decode()
    response = dana_client.get(reverse("portal:record-fhir"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="my-record.fhir.json"'
    body = response.content.decode()
    assert CANARY not in body
    bundle = valid_r4(json.loads(body))
    ids = {e["resource"]["id"] for e in bundle["entry"]}
    assert {str(personas.dana.uuid), str(record.phq9.uuid), str(record.course.uuid)} <= ids
    assert str(personas.erin.uuid) not in ids
    event = AuditEvent.objects.filter(detail="portal record FHIR").get()
    assert event.action == AuditEvent.Action.EXPORT
    assert event.client_id == personas.dana.pk


def test_staff_cannot_open_the_portal_download(alice_client):
    assert alice_client.get(reverse("portal:record-fhir")).status_code == 404
