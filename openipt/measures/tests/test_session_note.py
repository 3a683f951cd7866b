"""The session note as the one workspace (issue 9 part 2) and quick entry as the instruments
are (issue 10): questionnaires typed inline and saved with the note, the client's task as
the note's own field, saving and signing from the note, and the standalone entry page with
the PHQ-9's real 10 answers and a date completed."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from openipt.audit.models import AuditEvent
from openipt.measures import forms, services
from openipt.measures.models import Administration, Instrument, RiskAlert
from openipt.treatment import services as treatment_services
from openipt.treatment.models import BetweenSessionTask, Session
from openipt.treatment.tests.factories import make_session, session_at

pytestmark = pytest.mark.django_db

NOTE_FIELDS = {
    "number": 1,
    "starts_at": "2026-01-05T10:00",
    "duration_minutes": 50,
    "attendance": "attended",
    "risk_check": "not_asked",
}


@pytest.fixture
def session(course):
    return Session.objects.get(course=course, number=1)


@pytest.fixture
def phq9_definition(phq9):
    return phq9.parsed


def _note_url(course, session):
    return reverse("treatment:session-update", args=[course.uuid, session.uuid])


def _post_note(http, course, session, **fields):
    data = {**NOTE_FIELDS, "version": session.version, **fields}
    return http.post(_note_url(course, session), data)


def _entry_url(course):
    return reverse("measures:administration-create", args=[course.uuid]) + "?instrument=PHQ-9"


# --- Quick entry takes the instrument's real count of answers ----------------------------


def _entry(definition, **data):
    form = forms.EntryForm(data, definition=definition, link_session=False)
    return form, form.is_valid()


def test_ten_digits_fill_the_nine_scored_answers_and_the_difficulty(phq9_definition):
    form, valid = _entry(phq9_definition, quick="0123012302")
    assert valid, form.errors
    answers = form.cleaned_data["answers"]
    assert len(answers) == 10
    difficulty = phq9_definition.item("difficulty")
    assert answers["difficulty"] == difficulty.option_for_entry(2).code


def test_nine_digits_leave_the_difficulty_blank(phq9_definition):
    form, valid = _entry(phq9_definition, quick="012301230")
    assert valid, form.errors
    assert form.cleaned_data["answers"]["difficulty"] is None
    assert form.cleaned_data["answers"]["9"] is not None


@pytest.mark.parametrize("typed", ["01230123", "01230123012"])
def test_another_count_names_both_counts(phq9_definition, typed):
    form, valid = _entry(phq9_definition, quick=typed)
    assert not valid
    assert "Type 9 answers (questions 1 to 9), or 10 with the unscored question" in str(
        form.errors["quick"]
    )


def test_a_bad_tenth_digit_names_the_unscored_question(phq9_definition):
    form, valid = _entry(phq9_definition, quick="0123012309")
    assert not valid
    assert "The unscored question: “9” is not an answer" in str(form.errors["quick"])


def test_an_instrument_without_unscored_questions_keeps_one_count(db):
    who5 = Instrument.objects.get(code="WHO-5", practice__isnull=True).parsed
    form, valid = _entry(who5, quick="1234")
    assert not valid
    assert "Type 5 answers, one per question; you typed 4." in str(form.errors["quick"])


def test_a_date_in_the_future_is_refused_next_to_the_field(phq9_definition):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    form, valid = _entry(phq9_definition, quick="000000000", completed_on=tomorrow.isoformat())
    assert not valid
    assert "cannot be in the future" in str(form.errors["completed_on"])


def test_the_entry_page_numbers_scored_questions_and_marks_the_difficulty(alice_client, course):
    page = alice_client.get(_entry_url(course)).content.decode()
    numbers = re.findall(r'<span class="measure-number">(\d+)\.</span>', page)
    assert numbers == [str(n) for n in range(1, 10)]  # no "10." for the difficulty question
    assert "Not scored" in page
    assert "(quick entry: answer 10, optional)" in page
    assert 'name="completed_on"' in page
    assert f'value="{timezone.localdate(session_at(1)).isoformat()}"' in page  # session's day


def test_ten_digits_on_the_entry_page_store_the_difficulty_answer(alice_client, course):
    response = alice_client.post(_entry_url(course), {"quick": "0123012301"})
    assert response.status_code == 302
    row = Administration.objects.get()
    assert row.total == Decimal(12)
    assert row.answers["difficulty"] is not None
    assert len(row.answers) == 10


def test_a_back_dated_score_keeps_its_date_and_shows_as_a_whole_number(alice_client, course):
    day = timezone.localdate() - dt.timedelta(days=40)
    alice_client.post(_entry_url(course), {"quick": "012301230", "completed_on": day.isoformat()})
    row = Administration.objects.get()
    assert timezone.localdate(row.completed_at) == day
    page = alice_client.get(reverse("measures:course-measures", args=[course.uuid])).content
    assert f"<td>{day.isoformat()}</td><td>12</td>".encode() in page
    assert b"12.0" not in page


def test_a_score_linked_to_a_session_is_dated_with_the_session(personas, course, phq9, session):
    answers = _answers(phq9, "000000000")
    row = services.administration_enter(
        actor=personas.alice, course=course, instrument=phq9, session=session, answers=answers
    )
    assert row.completed_at == session.starts_at  # the session of 5 January 2026, not today


def _answers(instrument, digits):
    form = forms.EntryForm({"quick": digits}, definition=instrument.parsed, link_session=False)
    assert form.is_valid(), form.errors
    return form.cleaned_data["answers"]


# --- The session note --------------------------------------------------------------------


def test_the_note_offers_the_phq9_inline_with_the_sessions_date(alice_client, course, session):
    page = alice_client.get(_note_url(course, session)).content.decode()
    assert 'name="m-phq-9-quick"' in page
    assert 'name="m-phq-9-completed_on" value="2026-01-05"' in page
    assert 'name="task"' in page
    assert 'name="tasks_set"' not in page
    assert 'name="sign"' in page  # "Save and sign" on the note itself
    for heading in ("Opening review", "Questionnaires this session", "Risk check"):
        assert heading in page
    headings = (
        "Opening review",
        "Questionnaires this session",
        "mood and events",
        "The work of this phase",
        "Between sessions: for the client",
        "Safety and risk",
    )
    order = [page.index(h) for h in headings]
    assert order == sorted(order)


def test_saving_the_note_with_scores_stays_on_the_note(alice_client, personas, course, session):
    before = AuditEvent.objects.count()
    response = _post_note(
        alice_client, course, session,
        focus="Talked about Sam", **{"m-phq-9-quick": "1111111110"}, task="Phone Sam on Sunday",
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == _note_url(course, session)
    row = Administration.objects.get()
    assert (row.session, row.total, row.completed_at) == (session, Decimal(9), session.starts_at)
    assert row.answers["difficulty"] is not None
    task = BetweenSessionTask.objects.get()
    assert (task.set_in_session, task.text) == (session, "Phone Sam on Sunday")
    session.refresh_from_db()
    assert (session.focus, session.tasks_set) == ("Talked about Sam", "")
    kinds = list(AuditEvent.objects.order_by("id")[before:].values_list("action", "object_type"))
    assert ("update", "treatment.session") in kinds
    assert ("create", "treatment.betweensessiontask") in kinds
    assert ("create", "measures.administration") in kinds


def test_item_9_in_the_note_raises_the_alert_as_the_entry_page_does(alice_client, course, session):
    response = _post_note(alice_client, course, session, **{"m-phq-9-quick": "0000000010"})
    assert response.status_code == 302
    alert = RiskAlert.objects.get()
    assert alert.administration.session == session
    assert alert.flags == ["self_harm_item"]
    page = alice_client.get(response["Location"]).content.decode()
    assert "PHQ-9: a risk alert was raised" in page
    assert "Critical item" in page
    assert "Several days" in page
    assert "No questionnaires completed since then." in page  # not "new" in its own session


def test_invalid_scores_keep_every_word_and_save_nothing(alice_client, course, session):
    version = session.version
    response = _post_note(
        alice_client, course, session,
        focus="Words I typed", task="A task I typed", **{"m-phq-9-quick": "01230123"},
    )  # fmt: skip
    assert response.status_code == 200
    page = response.content.decode()
    assert "Type 9 answers" in page
    assert 'value="01230123"' in page
    assert "Words I typed" in page
    assert "A task I typed" in page
    session.refresh_from_db()
    assert (session.version, session.focus) == (version, "")
    assert not Administration.objects.exists()
    assert not BetweenSessionTask.objects.exists()


def test_a_note_with_no_questionnaire_is_saved_without_scores(alice_client, course, session):
    response = _post_note(alice_client, course, session, focus="No forms today")
    assert response.status_code == 302
    assert not Administration.objects.exists()


def test_save_and_sign_ends_on_the_signed_note_with_task_and_score(alice_client, course, session):
    response = _post_note(
        alice_client, course, session, sign="1", risk_check="no_concerns",
        task="Notice one good moment a day", **{"m-phq-9-quick": "2222222200"},
    )  # fmt: skip
    detail = reverse("treatment:session-detail", args=[course.uuid, session.uuid])
    assert response.status_code == 302
    assert response["Location"] == detail
    session.refresh_from_db()
    assert session.is_signed
    page = alice_client.get(detail).content.decode()
    assert "Notice one good moment a day" in page
    assert "Questionnaires this session" in page
    assert "<td>PHQ-9</td>" in page
    assert "<td>16</td>" in page
    assert "Moderately severe" in page


def test_signing_waits_for_the_risk_check_when_item_9_was_answered(alice_client, course, session):
    response = _post_note(
        alice_client, course, session, sign="1", focus="Kept", **{"m-phq-9-quick": "000000002"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Record the risk check before signing" in page
    assert "Kept" in page
    session.refresh_from_db()
    assert not session.is_signed
    assert not Administration.objects.exists()
    assert not RiskAlert.objects.exists()


def test_the_sign_button_on_the_session_page_also_waits_for_the_risk_check(
    alice_client, personas, course, session, phq9
):
    services.administration_enter(
        actor=personas.alice, course=course, instrument=phq9, session=session,
        answers=_answers(phq9, "000000001"),
    )  # fmt: skip
    url = reverse("treatment:session-sign", args=[course.uuid, session.uuid])
    alice_client.post(url, {"version": session.version})
    session.refresh_from_db()
    assert not session.is_signed


def test_the_task_is_edited_and_withdrawn_while_the_note_is_unsigned(alice_client, course, session):
    _post_note(alice_client, course, session, task="First wording")
    session.refresh_from_db()
    page = alice_client.get(_note_url(course, session)).content.decode()
    assert "First wording" in page  # the note shows the task it set
    _post_note(alice_client, course, session, task="Second wording")
    assert list(BetweenSessionTask.objects.values_list("text", flat=True)) == ["Second wording"]
    session.refresh_from_db()
    _post_note(alice_client, course, session, task="")
    assert not BetweenSessionTask.objects.exists()


def test_a_task_the_client_answered_is_not_withdrawn(personas, course, session):
    task = treatment_services.task_set(actor=personas.alice, session=session, text="Walk")
    BetweenSessionTask.objects.filter(pk=task.pk).update(status="done")
    with pytest.raises(ValidationError) as refused:
        treatment_services.task_save_for_session(actor=personas.alice, session=session, text="")
    assert "already said how this went" in str(refused.value)
    assert BetweenSessionTask.objects.filter(pk=task.pk).exists()


def test_an_old_free_text_task_becomes_the_client_task_when_the_note_is_saved(
    alice_client, personas, course
):
    old = make_session(personas.alice, course, 2, tasks_set="Ask Sam about the weekend")
    page = alice_client.get(_note_url(course, old)).content.decode()
    assert "Ask Sam about the weekend" in page
    _post_note(alice_client, course, old, number=2, task="Ask Sam about the weekend")
    assert BetweenSessionTask.objects.get().text == "Ask Sam about the weekend"


def test_tasks_from_last_time_are_reviewed_in_the_note(alice_client, personas, course, session):
    task = treatment_services.task_set(actor=personas.alice, session=session, text="Walk")
    second = make_session(personas.alice, course, 2)
    _post_note(alice_client, course, second, number=2, **{f"review-{task.uuid}": "done"})
    task.refresh_from_db()
    assert (task.status, task.reviewed_in_session) == ("done", second)


def test_a_new_note_is_created_with_its_scores_and_stays_open(alice_client, course):
    url = reverse("treatment:session-create", args=[course.uuid])
    data = {**NOTE_FIELDS, "number": 2, "starts_at": "2026-01-12T10:00", "version": 0}
    response = alice_client.post(url, {**data, "m-phq-9-quick": "111111111"})
    created = Session.objects.get(course=course, number=2)
    assert response["Location"] == _note_url(course, created)
    assert Administration.objects.get().session == created


def test_the_note_page_is_one_read_and_a_refused_save_another(alice_client, course, session):
    reads = AuditEvent.objects.filter(action="read")
    before = reads.count()
    alice_client.get(_note_url(course, session))
    assert reads.count() == before + 1
    _post_note(alice_client, course, session, **{"m-phq-9-quick": "1"})
    assert reads.count() == before + 2


def test_bob_reads_but_cannot_save_the_note(client, personas, course, session):
    client.force_login(personas.bob)
    assert _post_note(client, course, session, **{"m-phq-9-quick": "111111111"}).status_code == 404
    assert not Administration.objects.exists()


def test_the_service_refuses_a_bad_measure_and_keeps_the_session_as_it_was(
    personas, course, session, phq9
):
    note = services.SessionNote(
        data=treatment_services.SessionData.of(session),
        task="Not saved",
        measures=(
            services.SessionMeasure(
                "m-phq-9", phq9,
                services.EntryData(answers=_answers(phq9, "000000000"),
                                   completed_on=timezone.localdate() + dt.timedelta(days=3)),
            ),
        ),
    )  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        services.session_note_save(
            actor=personas.alice, course=course, session=session, version=session.version,
            note=note,
        )  # fmt: skip
    assert "m-phq-9-completed_on" in refused.value.error_dict
    session.refresh_from_db()
    assert session.version == 1
    assert not BetweenSessionTask.objects.exists()
