"""S12: if the audit write fails, the request fails: no data shown, nothing written."""

from __future__ import annotations

import pytest
from django.db import DatabaseError
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.clients.models import Client


@pytest.fixture
def broken_audit(monkeypatch):
    def fail(self, *args, **kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(AuditEvent, "save", fail)


@pytest.fixture
def alice_web(client, personas):
    client.force_login(personas.alice)  # before the audit breaks: sign-in is audited too
    client.raise_request_exception = False
    return client


def test_client_page_is_not_shown_when_its_read_cannot_be_audited(
    alice_web, personas, broken_audit
):
    response = alice_web.get(reverse("clients:detail", args=[personas.dana.uuid]))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Example" not in page
    assert "1990" not in page  # date of birth
    assert "Traceback" not in page
    assert "audit table unavailable" not in page


def test_client_page_works_when_the_audit_works(alice_web, personas):
    response = alice_web.get(reverse("clients:detail", args=[personas.dana.uuid]))
    assert response.status_code == 200
    assert AuditEvent.objects.filter(client_id=personas.dana.pk, action="read").count() == 1


@pytest.mark.urls("openipt.audit.tests.failclosed_urls")
def test_a_change_is_not_saved_when_it_cannot_be_audited(alice_web, personas, broken_audit):
    url = reverse("test-change-phone", args=[personas.dana.uuid])
    response = alice_web.post(url, {"phone": "0700 900 123"})
    assert response.status_code == 500
    assert "0700 900 123" not in response.content.decode()
    assert Client.objects.get(pk=personas.dana.pk).phone == ""


@pytest.mark.urls("openipt.audit.tests.failclosed_urls")
def test_the_same_change_is_saved_and_audited_when_the_audit_works(alice_web, personas):
    url = reverse("test-change-phone", args=[personas.dana.uuid])
    assert alice_web.post(url, {"phone": "0700 900 123"}).status_code == 200
    assert Client.objects.get(pk=personas.dana.pk).phone == "0700 900 123"
    assert AuditEvent.objects.filter(client_id=personas.dana.pk, action="update").count() == 1


def test_audit_report_fails_closed_too(adam_client, broken_audit):
    adam_client.raise_request_exception = False
    assert adam_client.get(reverse("audit:report")).status_code == 500
    response = adam_client.get(reverse("audit:export"))
    assert response.status_code == 500
    assert not getattr(response, "streaming", False)
