"""docs/quality.md S3: a process note is readable by its author alone and leaks nowhere."""

from __future__ import annotations

import logging

from django.urls import reverse

from openipt.access.treatment import access_process_note
from openipt.audit.models import AuditEvent
from openipt.treatment import services
from openipt.treatment.models import Session
from openipt.treatment.tests.test_permissions import world  # noqa: F401 - fixture

CANARY = "CANARY-7f3a-unmistakable-process-words"


def test_canary_appears_only_on_its_authors_note(client, personas, world, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    client.force_login(personas.alice)
    note_url = world["process-note"]
    response = client.post(note_url, {"version": 0, "text": CANARY})
    assert response.status_code == 302
    assert CANARY in client.get(note_url).content.decode()
    for name, url in world.items():
        if name != "process-note":
            assert CANARY not in client.get(url).content.decode(), name
    for who in ("bob", "charlie", "adam"):
        client.force_login(getattr(personas, who))
        for name, url in world.items():
            assert CANARY not in client.get(url).content.decode(), (who, name)
    assert not any(CANARY in e.detail for e in AuditEvent.objects.all())
    assert CANARY not in caplog.text


def test_another_staff_member_never_gets_the_note(personas, world):  # noqa: F811
    session = Session.objects.get()
    services.process_note_save(actor=personas.alice, session=session, version=0, text=CANARY)
    assert access_process_note(personas.bob, session) is None
    assert access_process_note(personas.alice, session).text == CANARY


def test_read_of_own_note_is_audited(alice_client, personas, world):  # noqa: F811
    alice_client.post(world["process-note"], {"version": 0, "text": "x"})
    before = AuditEvent.objects.filter(action="read", object_type="treatment.processnote").count()
    alice_client.get(world["process-note"])
    after = AuditEvent.objects.filter(action="read", object_type="treatment.processnote").count()
    assert after == before + 1
    assert reverse("treatment:caseload")
