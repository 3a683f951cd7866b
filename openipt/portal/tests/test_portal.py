"""The portal pages, always for the signed-in client's own record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from openipt.audit.models import AuditEvent
from openipt.engagement import accounts
from openipt.engagement.diary import diary_entries_since
from openipt.engagement.models import DiaryEntry
from openipt.measures import services as measures
from openipt.measures.models import Administration, Instrument
from openipt.scheduling.services import appointment_book
from openipt.treatment import services as treatment
from openipt.treatment.models import GoalRating
from openipt.treatment.tests import factories

PROCESS_NOTE = "Private countertransference thought XYZZY"


def assign_phq9(actor, client, course=None) -> Administration:
    instrument = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    return measures.administration_assign(
        actor=actor, client=client, instrument=instrument, due_on=timezone.localdate(),
        course=course,
    )  # fmt: skip


def q_url(administration: Administration, step: int | None = None) -> str:
    url = reverse("portal:questionnaire", args=[administration.uuid])
    return url if step is None else f"{url}?step={step}"


@pytest.mark.django_db
def test_home_shows_the_next_appointment_and_what_is_due(dana_client, personas):
    appointment_book(
        actor=personas.alice, client=personas.dana, clinician=personas.membership(personas.alice),
        starts_at=timezone.now() + dt.timedelta(days=2),
    )  # fmt: skip
    assign_phq9(personas.alice, personas.dana)
    response = dana_client.get(reverse("portal:home"))
    html = response.content.decode()
    assert "Alice Clinician" in html
    assert "PHQ-9" in html or "Patient Health Questionnaire" in html
    assert reverse("portal:help") in html  # crisis information one tap away


@pytest.mark.django_db
def test_questionnaire_one_question_at_a_time_saved_as_it_goes_and_sent_once(dana_client, personas):
    administration = assign_phq9(personas.alice, personas.dana)
    html = dana_client.get(q_url(administration)).content.decode()
    assert "Question 1 of 10" in html
    dana_client.post(q_url(administration, 1), {"answer": "LA6568-5"})
    dana_client.post(q_url(administration, 2), {"answer": "LA6569-3"})
    # She leaves and comes back: she continues where she stopped.
    html = dana_client.get(q_url(administration)).content.decode()
    assert "Question 3 of 10" in html
    items = administration.instrument.parsed.items
    for step in range(3, 11):
        dana_client.post(q_url(administration, step), {"answer": items[step - 1].options[0].code})
    review = dana_client.get(q_url(administration)).content.decode()
    assert "Send my answers" in review
    first = dana_client.post(q_url(administration, 11), {"action": "submit"})
    second = dana_client.post(q_url(administration, 11), {"action": "submit"})
    assert first.status_code == second.status_code == 302
    administration.refresh_from_db()
    assert administration.status == "completed"
    assert administration.version == 2  # completed exactly once
    assert administration.mode == "client_completed"


@pytest.mark.django_db
def test_a_question_needs_an_answer(dana_client, personas):
    administration = assign_phq9(personas.alice, personas.dana)
    response = dana_client.post(q_url(administration, 1), {})
    assert "Please choose one answer." in response.content.decode()


@pytest.mark.django_db
def test_dana_gets_404_for_erins_records_whatever_uuid_she_tries(dana_client, erin_user, personas):
    erins = assign_phq9(personas.charlie, personas.erin)
    course = factories.make_course(personas.charlie, personas.erin)
    goal = treatment.goal_create(
        actor=personas.charlie, course=course, data=treatment.GoalData(text="Walk")
    )
    assert dana_client.get(q_url(erins)).status_code == 404
    assert dana_client.post(q_url(erins, 1), {"answer": "x"}).status_code == 404
    rate = reverse("portal:goal-rate", args=[goal.uuid])
    assert dana_client.post(rate, {f"{goal.uuid}-rating": "5"}).status_code == 404
    assert not GoalRating.objects.exists()
    # A client uuid in the query or body changes nothing: the portal shows her own record.
    html = dana_client.get(reverse("portal:diary") + f"?client={personas.erin.uuid}")
    assert html.status_code == 200
    dana_client.post(
        reverse("portal:diary-new"),
        {"entry_date": "2026-01-10", "mood": "5", "client": str(personas.erin.uuid)},
    )
    assert DiaryEntry.objects.get().client == personas.dana


@pytest.mark.django_db
def test_diary_entries_reach_alice_and_not_charlie(dana_client, alice_client, personas, client):
    before = timezone.now()
    for mood, who in ((3, "my sister"), (6, "my partner")):
        response = dana_client.post(
            reverse("portal:diary-new"),
            {"entry_date": timezone.localdate().isoformat(), "mood": str(mood), "with_whom": who,
             "what_happened": "We argued about the holidays"},
        )  # fmt: skip
        assert response["Location"] == reverse("portal:diary")
    assert "my partner" in dana_client.get(reverse("portal:diary")).content.decode()
    entries = diary_entries_since(personas.dana, before)
    assert [e.mood for e in entries] == [3, 6]
    diary_page = reverse("clients:diary", args=[personas.dana.uuid])
    assert "my sister" in alice_client.get(diary_page).content.decode()
    charlie = type(client)()
    charlie.force_login(personas.charlie)
    assert charlie.get(diary_page).status_code == 404
    assert AuditEvent.objects.filter(action="create", object_type="clients.diaryentry").count() == 2


@pytest.mark.django_db
def test_mood_must_be_between_0_and_10(dana_client):
    response = dana_client.post(
        reverse("portal:diary-new"), {"entry_date": "2026-01-10", "mood": "11"}
    )
    assert "field--error" in response.content.decode()
    assert not DiaryEntry.objects.exists()


@pytest.mark.django_db
def test_dana_rates_her_goal(dana_client, personas):
    course = factories.make_course(personas.alice, personas.dana)
    goal = treatment.goal_create(
        actor=personas.alice, course=course, data=treatment.GoalData(text="Call my sister")
    )
    assert "Call my sister" in dana_client.get(reverse("portal:goals")).content.decode()
    dana_client.post(reverse("portal:goal-rate", args=[goal.uuid]), {f"{goal.uuid}-rating": "7"})
    assert goal.ratings.get().rating == 7
    assert "Last rating: 7 out of 10" in dana_client.get(reverse("portal:goals")).content.decode()


@pytest.mark.django_db
def test_safety_plan_help_and_record_pages(dana_client, personas):
    personas.practice.crisis_information = "Call the Riverside duty line"
    personas.practice.save()
    measures.safety_plan_save(
        actor=personas.alice,
        client=personas.dana,
        data=measures.SafetyPlanData(warning_signs="Not sleeping"),
    )
    assert "Not sleeping" in dana_client.get(reverse("portal:safety-plan")).content.decode()
    assert "Riverside duty line" in dana_client.get(reverse("portal:help")).content.decode()
    record = dana_client.get(reverse("portal:record"))
    assert "Not sleeping" in record.content.decode()
    pdf = dana_client.get(reverse("portal:record-pdf"))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment")
    assert pdf.content.startswith(b"%PDF-")
    assert AuditEvent.objects.filter(action="export", client_id=personas.dana.pk).exists()


@pytest.mark.django_db
def test_process_notes_are_never_shown_in_the_portal(dana_client, personas):
    course = factories.make_course(personas.alice, personas.dana)
    session = factories.make_session(personas.alice, course, 1, tasks_set="Call a friend")
    treatment.process_note_save(actor=personas.alice, session=session, version=0, text=PROCESS_NOTE)
    accounts.portal_sharing_set(actor=personas.alice, client=personas.dana, share_progress=True)
    names = ["home", "questionnaires", "tasks", "diary", "goals", "messages", "safety-plan",
             "help", "record", "progress"]  # fmt: skip
    for name in names:
        html = dana_client.get(reverse(f"portal:{name}")).content.decode()
        assert PROCESS_NOTE not in html, name
    assert "Call a friend" in dana_client.get(reverse("portal:tasks")).content.decode()


@pytest.mark.django_db
def test_every_portal_page_has_the_help_link_and_its_own_navigation(dana_client):
    for name in ("home", "diary", "goals", "messages", "safety-plan"):
        html = dana_client.get(reverse(f"portal:{name}")).content.decode()
        assert "Need help now?" in html
        assert reverse("clients:list") not in html
