"""Questionnaire answers kept on the server across sign-outs, and between-session
tasks that the client marks done with a note (only her own)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from openipt.measures import services as measures
from openipt.measures.models import Administration, Instrument
from openipt.treatment import services as treatment
from openipt.treatment.tests import factories


def assign(personas) -> Administration:
    return measures.administration_assign(
        actor=personas.alice, client=personas.dana, due_on=timezone.localdate(),
        instrument=Instrument.objects.get(code="PHQ-9", practice__isnull=True),
    )  # fmt: skip


def q_url(administration: Administration, step: int | None = None) -> str:
    url = reverse("portal:questionnaire", args=[administration.uuid])
    return url if step is None else f"{url}?step={step}"


@pytest.mark.django_db
def test_answers_so_far_survive_signing_out_and_coming_back(dana_user, personas):
    administration = assign(personas)
    first = HttpClient()
    first.force_login(dana_user)
    first.post(q_url(administration, 1), {"answer": "LA6568-5"})
    first.post(q_url(administration, 2), {"answer": "LA6569-3"})
    first.post(reverse("account_logout"))

    other_device = HttpClient()
    other_device.force_login(dana_user)
    html = other_device.get(q_url(administration)).content.decode()

    assert "Question 3 of 10" in html
    administration.refresh_from_db()
    assert sorted(administration.draft_answers.values()) == ["LA6568-5", "LA6569-3"]
    assert administration.draft_saved_at is not None


@pytest.mark.django_db
def test_submitting_twice_completes_once_and_clears_the_draft(dana_client, personas):
    administration = assign(personas)
    for item in administration.instrument.parsed.items:
        dana_client.post(q_url(administration), {"answer": item.options[0].code})
    dana_client.post(q_url(administration), {"action": "submit"})
    again = dana_client.post(q_url(administration), {"action": "submit"}, follow=True)

    assert "we already have your answers" in again.content.decode()
    administration.refresh_from_db()
    assert (administration.status, administration.version) == ("completed", 2)
    assert administration.draft_answers == {}


@pytest.mark.django_db
def test_saving_progress_refuses_unknown_answers_and_closed_questionnaires(personas):
    administration = assign(personas)
    with pytest.raises(ValidationError):
        measures.administration_save_progress(
            actor=personas.alice, administration=administration, answers={"nope": "x"}
        )
    Administration.objects.filter(pk=administration.pk).update(status="expired")
    with pytest.raises(ValidationError):
        measures.administration_save_progress(
            actor=personas.alice, administration=administration, answers={}
        )


@pytest.fixture
def task(personas):
    course = factories.make_course(personas.alice, personas.dana)
    session = factories.make_session(personas.alice, course, 1)
    return treatment.task_set(actor=personas.alice, session=session, text="Phone my sister")


@pytest.mark.django_db
def test_dana_marks_a_task_done_with_a_note(dana_client, task):
    url = reverse("portal:task", args=[task.uuid])
    page = dana_client.get(url).content.decode()
    assert "Phone my sister" in page
    assert "How did it go?" in page

    response = dana_client.post(url, {"status": "done", "note": "She was glad", "version": 1})

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.client_note) == ("done", "She was glad")
    assert task.client_updated_at is not None
    listing = dana_client.get(reverse("portal:tasks")).content.decode()
    assert "Done — well done" in listing


@pytest.mark.django_db
def test_a_task_form_without_a_choice_keeps_the_note(dana_client, task):
    url = reverse("portal:task", args=[task.uuid])
    response = dana_client.post(url, {"note": "Half way", "version": 1})
    html = response.content.decode()
    assert "Please choose one of the answers." in html
    assert "Half way" in html
    task.refresh_from_db()
    assert task.status == "open"


@pytest.mark.django_db
def test_another_client_s_task_is_not_found(personas, task):
    from openipt.portal.tests.conftest import portal_user_for

    erin = HttpClient()
    erin.force_login(portal_user_for(personas.charlie, personas.erin, "erin@example.test"))
    url = reverse("portal:task", args=[task.uuid])
    assert erin.get(url).status_code == 404
    assert erin.post(url, {"status": "done", "version": 1}).status_code == 404
    task.refresh_from_db()
    assert task.status == "open"


@pytest.mark.django_db
def test_tasks_of_a_course_entered_in_error_leave_the_portal(dana_client, task):
    from openipt.treatment.models import Course

    Course.objects.filter(pk=task.course_id).update(status=Course.Status.ENTERED_IN_ERROR)
    url = reverse("portal:task", args=[task.uuid])
    assert "Phone my sister" not in dana_client.get(reverse("portal:tasks")).content.decode()
    assert dana_client.get(url).status_code == 404
    assert dana_client.post(url, {"status": "done", "version": 1}).status_code == 404
