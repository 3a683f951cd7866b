"""Secure messages between Dana and her care team, with attachments."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.core import outbox
from openipt.engagement import messaging
from openipt.engagement.models import Message, MessageAttachment

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BODY = "I had a difficult weekend with my mother"


def png(name: str = "drawing.png", content: bytes = PNG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def staff_thread(personas) -> str:
    return reverse("clients:messages", args=[personas.dana.uuid])


@pytest.mark.django_db
def test_dana_writes_alice_is_told_only_that_a_message_waits_and_reads_it(
    dana_client, alice_client, personas, django_capture_on_commit_callbacks
):
    outbox.deliver_due()  # Dana's portal invitation, queued when she was invited
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = dana_client.post(
            reverse("portal:messages"), {"body": BODY, "attachments": [png()]}
        )
    assert response["Location"] == reverse("portal:messages")
    assert [m.to for m in mail.outbox] == [["alice@riverside.test"]]
    assert "mother" not in mail.outbox[0].body
    assert "mother" not in mail.outbox[0].subject
    html = alice_client.get(staff_thread(personas)).content.decode()
    assert BODY in html
    attachment = MessageAttachment.objects.get()
    assert "drawing" not in attachment.file.name  # stored under a random name
    download = alice_client.get(
        reverse("clients:attachment", args=[personas.dana.uuid, attachment.uuid])
    )
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content) == PNG
    assert AuditEvent.objects.filter(action="create", object_type="clients.message").exists()
    marked = AuditEvent.objects.get(action="update", object_type="clients.message")
    assert (marked.actor_id, marked.detail) == (personas.alice.pk, "1 marked read")


@pytest.mark.django_db
def test_alice_replies_and_dana_is_emailed_without_the_text(
    dana_client, alice_client, personas, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(staff_thread(personas), {"body": "See you on Tuesday"})
    assert mail.outbox[-1].to == ["dana@example.test"]
    assert "Tuesday" not in mail.outbox[-1].body
    home = dana_client.get(reverse("portal:home")).content.decode()
    assert "You have 1 new message." in home
    assert "See you on Tuesday" in dana_client.get(reverse("portal:messages")).content.decode()
    assert "new message" not in dana_client.get(reverse("portal:home")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upload", "error"),
    [
        (SimpleUploadedFile("run.exe", b"MZ\x90\x00"), "Please attach a PDF, PNG, JPEG"),
        (png("fake.png", b"%PDF-1.4 not a png"), "do not match its type"),
        (png("big.png", PNG + b"\x00" * (2 * 1024 * 1024)), "at most 2 MB"),
    ],
)
def test_attachments_are_limited_by_type_and_size(dana_client, upload, error):
    response = dana_client.post(
        reverse("portal:messages"), {"body": "Here it is", "attachments": [upload]}
    )
    html = response.content.decode()
    assert error in html
    assert "Here it is" in html  # what was typed is kept
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_nobody_outside_the_care_team_reaches_the_conversation(dana_client, erin_user, personas):
    messaging.message_send(actor=dana_client_user(personas), client=personas.dana, body=BODY,
                           attachments=[png()])  # fmt: skip
    attachment = MessageAttachment.objects.get()
    charlie = HttpClient()
    charlie.force_login(personas.charlie)
    assert charlie.get(staff_thread(personas)).status_code == 404
    staff_download = reverse("clients:attachment", args=[personas.dana.uuid, attachment.uuid])
    assert charlie.get(staff_download).status_code == 404
    erin = HttpClient()
    erin.force_login(erin_user)
    assert BODY not in erin.get(reverse("portal:messages")).content.decode()
    assert erin.get(reverse("portal:attachment", args=[attachment.uuid])).status_code == 404
    own = dana_client.get(reverse("portal:attachment", args=[attachment.uuid]))
    assert own.status_code == 200
    assert own["Content-Disposition"].startswith("attachment")


@pytest.mark.django_db
def test_bob_the_supervisor_reads_but_cannot_write(client, dana_client, personas):
    dana_client.post(reverse("portal:messages"), {"body": BODY})
    client.force_login(personas.bob)
    html = client.get(staff_thread(personas)).content.decode()
    assert BODY in html
    assert client.post(staff_thread(personas), {"body": "Hello"}).status_code == 404
    assert Message.objects.count() == 1


def dana_client_user(personas):
    from openipt.engagement.models import PortalAccess

    return PortalAccess.objects.get(client=personas.dana).user
