"""Administrators see the emails the outbox could not send, masked, and send them again."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.core import outbox
from openipt.core.models import OutboxEmail
from openipt.core.tests.test_outbox import BROKEN


def _parked(practice_id: int) -> OutboxEmail:
    row = outbox.queue_email(
        kind="message_notification", subject="A message waits for you", body="Sign in.",
        recipients=["dana@example.test"], practice_id=practice_id,
    )  # fmt: skip
    assert row is not None
    OutboxEmail.objects.filter(pk=row.pk).update(
        attempts=outbox.MAX_ATTEMPTS, last_error="451 Try again later", dead_at=row.created_at
    )
    row.refresh_from_db()
    return row


@pytest.mark.django_db
def test_the_admin_sees_a_parked_email_masked_and_sends_it_again(
    client, personas, django_capture_on_commit_callbacks
):
    OutboxEmail.objects.all().delete()
    row = _parked(personas.practice.pk)
    client.force_login(personas.adam)

    staff = client.get(reverse("accounts:staff-list")).content.decode()
    assert "1 gave up" in staff
    page = client.get(reverse("accounts:outbox")).content.decode()
    assert "d…@example.test" in page
    assert "dana@example.test" not in page
    assert "451 Try again later" in page

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:outbox-send-again", args=[row.uuid]))

    assert response.status_code == 302
    row.refresh_from_db()
    assert row.state == "sent"  # tests run the worker's task at once
    assert [m.to for m in mail.outbox] == [["dana@example.test"]]
    event = AuditEvent.objects.filter(object_type="core.outboxemail").get()
    assert (event.actor_id, event.action) == (personas.adam.pk, "admin")


@pytest.mark.django_db
@override_settings(EMAIL_BACKEND=BROKEN)
def test_an_email_still_being_tried_cannot_be_forced_and_others_practices_are_hidden(
    client, personas
):
    row = outbox.queue_email(
        kind="t", subject="s", body="b", recipients=["x@example.test"],
        practice_id=personas.practice.pk,
    )  # fmt: skip
    assert row is not None
    outbox.deliver_due()  # refused once: waiting for its next try
    client.force_login(personas.adam)
    assert "next try" in client.get(reverse("accounts:outbox")).content.decode()
    response = client.post(reverse("accounts:outbox-send-again", args=[row.uuid]), follow=True)
    assert "still being tried" in response.content.decode()

    other = _parked(personas.other_practice.pk)
    assert client.post(reverse("accounts:outbox-send-again", args=[other.uuid])).status_code == 404
    client.force_login(personas.alice)  # a clinician, not an administrator
    assert client.get(reverse("accounts:outbox")).status_code == 404
