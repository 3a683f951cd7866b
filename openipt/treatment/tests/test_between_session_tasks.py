"""The clinician's side of the portal: the opening review (diary and new scores since the last
session) and between-session tasks ("Something to try this week")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from openipt.audit.models import AuditEvent
from openipt.engagement import diary
from openipt.engagement.models import DiaryEntry
from openipt.measures import services as measures
from openipt.measures.models import Instrument
from openipt.portal.tests.conftest import portal_user_for
from openipt.testing.personas import query_count
from openipt.treatment import services
from openipt.treatment.models import BetweenSessionTask
from openipt.treatment.tests import factories


@pytest.fixture
def course(personas):
    course = factories.make_course(personas.alice, personas.dana)
    factories.make_session(personas.alice, course, 1)
    factories.make_session(personas.alice, course, 2)
    return course


def write_diary(personas, mood: int, who: str) -> DiaryEntry:
    data = diary.DiaryData(entry_date=timezone.localdate(), mood=mood, with_whom=who)
    return diary.diary_entry_create(actor=personas.alice, client=personas.dana, data=data)


def complete_phq9(personas, course, code_index: int = 1):
    administration = measures.administration_assign(
        actor=personas.alice, client=personas.dana, due_on=timezone.localdate(), course=course,
        instrument=Instrument.objects.get(code="PHQ-9", practice__isnull=True),
    )  # fmt: skip
    items = administration.instrument.parsed.items
    return measures.administration_complete(
        actor=personas.alice, administration=administration,
        answers={i.link_id: i.options[code_index].code for i in items},
    )  # fmt: skip


def session_now(personas, course, number: int = 3):
    return factories.make_session(personas.alice, course, number, starts_at=timezone.now())


def page(http: HttpClient, course, session) -> str:
    url = reverse("treatment:session-detail", args=[course.uuid, session.uuid])
    response = http.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_opening_review_shows_the_diary_and_new_scores_since_the_last_session(
    alice_client, personas, course
):
    old = write_diary(personas, 2, "an old friend")
    DiaryEntry.objects.filter(pk=old.pk).update(created_at=factories.session_at(1))
    write_diary(personas, 3, "my sister")
    write_diary(personas, 6, "my partner")
    phq9 = complete_phq9(personas, course)
    session = session_now(personas, course)

    html = page(alice_client, course, session)

    assert "Since last session: from Dana's diary" in html
    assert "my sister" in html
    assert "my partner" in html
    assert "an old friend" not in html  # written before session 2
    assert "New scores" in html
    assert f"<td>{phq9.total_display}" in html
    assert "PHQ-9" in html


@pytest.mark.django_db
def test_the_opening_review_is_in_the_form_for_the_next_session_too(alice_client, personas, course):
    write_diary(personas, 4, "my brother")
    html = alice_client.get(reverse("treatment:session-create", args=[course.uuid])).content
    assert b"my brother" in html
    assert b"New scores" in html


@pytest.mark.django_db
def test_the_opening_review_costs_the_same_queries_however_many_entries(
    alice_client, personas, course
):
    session = session_now(personas, course)
    write_diary(personas, 3, "one")
    complete_phq9(personas, course)
    few = query_count(lambda: page(alice_client, course, session))
    for n in range(6):
        write_diary(personas, n, f"person {n}")
    complete_phq9(personas, course, 2)
    many = query_count(lambda: page(alice_client, course, session))
    assert many == few


@pytest.mark.django_db
def test_the_session_page_read_is_one_audit_event(alice_client, personas, course):
    write_diary(personas, 3, "my sister")
    session = session_now(personas, course)
    before = AuditEvent.objects.filter(action="read").count()
    page(alice_client, course, session)
    assert AuditEvent.objects.filter(action="read").count() == before + 1


@pytest.mark.django_db
def test_a_task_set_in_session_goes_to_the_portal_and_back(alice_client, personas, course):
    session2 = course.sessions.get(number=2)
    url = reverse("treatment:task-create", args=[course.uuid, session2.uuid])
    response = alice_client.post(url, {"text": "Phone my sister on Sunday"})
    assert response.status_code == 302
    [task] = BetweenSessionTask.objects.all()

    dana = HttpClient()
    dana.force_login(portal_user_for(personas.alice, personas.dana, "dana@example.test"))
    assert "Phone my sister on Sunday" in dana.get(reverse("portal:tasks")).content.decode()
    task_url = reverse("portal:task", args=[task.uuid])
    dana.post(task_url, {"status": "done", "note": "We laughed", "version": task.version})

    session3 = session_now(personas, course)
    html = page(alice_client, course, session3)
    assert "Phone my sister on Sunday" in html
    assert "We laughed" in html
    review_url = reverse("treatment:task-review", args=[course.uuid, session3.uuid, task.uuid])
    alice_client.post(review_url, {"status": "done"})
    task.refresh_from_db()
    assert (task.status, task.reviewed_in_session, task.updated_by) == (
        "done", session3, personas.alice
    )  # fmt: skip


@pytest.mark.django_db
def test_an_empty_task_is_refused_next_to_the_field(alice_client, personas, course):
    session2 = course.sessions.get(number=2)
    url = reverse("treatment:task-create", args=[course.uuid, session2.uuid])
    response = alice_client.post(url, {"text": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not BetweenSessionTask.objects.exists()


@pytest.mark.django_db
def test_no_task_is_added_to_a_signed_session(personas, course):
    session = course.sessions.get(number=2)
    services.session_sign(actor=personas.alice, session=session, version=session.version)
    with pytest.raises(ValidationError):
        services.task_set(actor=personas.alice, session=session, text="Too late")


@pytest.mark.django_db
def test_a_client_can_only_update_her_own_tasks(personas, course):
    task = services.task_set(
        actor=personas.alice, session=course.sessions.get(number=2), text="Walk"
    )
    erin = portal_user_for(personas.charlie, personas.erin, "erin@example.test")
    with pytest.raises(BetweenSessionTask.DoesNotExist):
        services.task_update_by_client(
            actor=erin, client=personas.erin, task=task, status="done", version=task.version,
        )  # fmt: skip
    task.refresh_from_db()
    assert task.status == "open"


@pytest.mark.django_db
def test_a_task_is_reviewed_in_a_later_session_only(personas, course):
    session2 = course.sessions.get(number=2)
    task = services.task_set(actor=personas.alice, session=session2, text="Walk")
    with pytest.raises(ValidationError):
        services.task_review(actor=personas.alice, task=task, session=session2, status="done")


@pytest.mark.django_db
def test_old_free_text_tasks_still_show_in_the_portal(personas, course):
    factories.make_session(
        personas.alice, course, 3, starts_at=timezone.now() - dt.timedelta(days=1),
        tasks_set="Notice one good moment each day",
    )  # fmt: skip
    dana = HttpClient()
    dana.force_login(portal_user_for(personas.alice, personas.dana, "dana@example.test"))
    assert "Notice one good moment each day" in dana.get(reverse("portal:tasks")).content.decode()
