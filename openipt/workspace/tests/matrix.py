"""Builders for the inbox tests and the permission matrix (tests/test_permission_matrix.py):
what a client does in the portal, made through the real services as the client."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from openipt.accounts.models import Membership, User
from openipt.clients.models import Client
from openipt.engagement import diary, messaging
from openipt.engagement.models import DiaryEntry, Message, PortalAccess
from openipt.measures import services as measures
from openipt.measures.models import Administration, Instrument
from openipt.testing.personas import PASSWORD, Personas
from openipt.treatment import services as treatment
from openipt.treatment.models import BetweenSessionTask, Course
from openipt.treatment.tests import factories


def portal_user(client: Client) -> User:
    """The client's portal account (made on first use)."""
    access, _created = PortalAccess.objects.get_or_create(client=client)
    if access.user is None:
        email = f"{client.legal_given_name.lower()}.{client.pk}@example.test"
        access.user = User.objects.create_user(email, PASSWORD)
        Membership.objects.create(user=access.user, practice=client.practice, kind="client")
        access.save()
    return access.user


def client_message(client: Client, body: str = "I had a hard week") -> Message:
    return messaging.message_send(actor=portal_user(client), client=client, body=body)


def client_diary(client: Client, mood: int = 4) -> DiaryEntry:
    data = diary.DiaryData(entry_date=timezone.localdate(), mood=mood, with_whom="Sam")
    return diary.diary_entry_create(actor=portal_user(client), client=client, data=data)


def client_task_report(clinician: User, course: Course, number: int) -> BetweenSessionTask:
    session = factories.make_session(clinician, course, number)
    task = treatment.task_set(actor=clinician, session=session, text="Phone my sister")
    return treatment.task_update_by_client(
        actor=portal_user(course.client), client=course.client, task=task,
        status=BetweenSessionTask.Status.DONE, note="It went well", version=task.version,
    )  # fmt: skip


def client_questionnaire(clinician: User, client: Client) -> Administration:
    instrument = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    assigned = measures.administration_assign(
        actor=clinician, client=client, instrument=instrument, due_on=timezone.localdate()
    )
    answers = {i.link_id: i.options[0].code for i in instrument.parsed.items}
    return measures.administration_complete(
        actor=portal_user(client), administration=assigned, answers=answers
    )


def dana_inbox_message(p: Personas) -> dict[str, Any]:
    """URL arguments of one new message from Dana in Alice's inbox."""
    return {"kind": "message", "uuid": client_message(p.dana).uuid}
