"""Permission-matrix helpers for the client's side (tests/test_permission_matrix.py):
the Dana persona (her portal account) and URL-argument fillers, made through the services."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from openipt.accounts.models import Membership, User
from openipt.engagement import accounts, consultation, messaging
from openipt.engagement.models import PortalAccess
from openipt.testing.personas import PASSWORD, Personas, give_crisis_contacts

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def dana_user(p: Personas) -> User:
    """Dana's portal account (created on first use, then reused)."""
    access, _created = PortalAccess.objects.get_or_create(client=p.dana)
    if access.user is None:
        access.user = User.objects.create_user("dana@example.test", PASSWORD)
        Membership.objects.create(user=access.user, practice=p.practice, kind="client")
        access.save()
    return access.user


def consultation_request(p: Personas) -> dict[str, Any]:
    item = consultation.consultation_request_submit(
        practice=p.practice,
        data=consultation.ConsultationData(
            name="Pat Requester", email="pat@example.test", consent_to_contact=True
        ),
    )
    return {"request_uuid": item.uuid}


def portal_token(p: Personas) -> dict[str, Any]:
    give_crisis_contacts(p.practice)
    _invitation, token = accounts.portal_invite(
        actor=p.alice, client=p.dana, email="dana.new@example.test"
    )
    return {"token": token}


def _attachment(p: Personas) -> Any:
    upload = SimpleUploadedFile("note.png", PNG, content_type="image/png")
    message = messaging.message_send(
        actor=p.alice, client=p.dana, body="Hello", attachments=[upload]
    )
    return message.attachments.get()


def dana_attachment(p: Personas) -> dict[str, Any]:
    return {"client_uuid": p.dana.uuid, "attachment_uuid": _attachment(p).uuid}


def own_attachment(p: Personas) -> dict[str, Any]:
    return {"attachment_uuid": _attachment(p).uuid}


def dana_administration(p: Personas) -> dict[str, Any]:
    from django.utils import timezone

    from openipt.measures import services
    from openipt.measures.models import Instrument

    administration = services.administration_assign(
        actor=p.alice, client=p.dana, due_on=timezone.localdate(),
        instrument=Instrument.objects.get(code="PHQ-9", practice__isnull=True),
    )  # fmt: skip
    return {"administration_uuid": administration.uuid}


def dana_goal(p: Personas) -> dict[str, Any]:
    from openipt.treatment import services
    from openipt.treatment.tests import factories

    course = factories.make_course(p.alice, p.dana)
    goal = services.goal_create(
        actor=p.alice, course=course, data=services.GoalData(text="Call my sister")
    )
    return {"goal_uuid": goal.uuid}


def dana_task(p: Personas) -> dict[str, Any]:
    from openipt.treatment import services
    from openipt.treatment.tests import factories

    course = factories.make_course(p.alice, p.dana)
    session = factories.make_session(p.alice, course, 1)
    task = services.task_set(actor=p.alice, session=session, text="Phone my sister")
    return {"task_uuid": task.uuid}
