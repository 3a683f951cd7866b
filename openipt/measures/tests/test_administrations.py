"""Slice 1: entering, assigning and expiring questionnaires; the entry page; the guidance."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from openipt.audit.models import AuditEvent
from openipt.care.guidance import guidance_for
from openipt.measures import services, tasks
from openipt.measures.models import Administration, Instrument
from openipt.measures.tests.conftest import phq9_answers
from openipt.treatment.models import Session
from openipt.treatment.tests.factories import make_session

pytestmark = pytest.mark.django_db


def _enter(personas, course, digits, **kwargs):
    instrument = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    return services.administration_enter(
        actor=personas.alice, course=course, instrument=instrument,
        answers=phq9_answers(digits), **kwargs,
    )  # fmt: skip


def test_entering_stores_the_typed_score_with_one_audit_event(personas, course):
    before = AuditEvent.objects.count()
    row = _enter(personas, course, "123123120")
    row.refresh_from_db()
    assert (row.total, row.band, row.prorated) == (Decimal(15), "moderately_severe", False)
    assert row.status == Administration.Status.COMPLETED
    assert row.completed_at is not None
    assert row.answers["1"]
    assert row.scoring_version
    assert row.entered_by == personas.alice
    events = AuditEvent.objects.order_by("id")[before:]
    assert [(e.action, e.object_type) for e in events] == [("create", "measures.administration")]


def test_two_missing_items_are_prorated_and_three_give_no_total(personas, course):
    assert _enter(personas, course, "1111111--").total == Decimal(9)
    prorated = _enter(personas, course, "2221111--")
    assert prorated.prorated
    assert prorated.total == Decimal("12.9")
    invalid = _enter(personas, course, "111111---")
    assert invalid.total is None
    assert invalid.band == ""
    assert invalid.status == "completed"


def test_only_a_clinician_with_write_access_may_enter(personas, course, phq9):
    for user in (personas.bob, personas.charlie, personas.adam):
        with pytest.raises(PermissionDenied):
            services.administration_enter(
                actor=user, course=course, instrument=phq9, answers=phq9_answers("000000000")
            )
    assert not Administration.objects.exists()


def test_assignment_is_due_on_its_day_and_expires_later(personas, course, phq9):
    today = timezone.localdate()
    later = services.administration_assign(
        actor=personas.alice, client=personas.dana, course=course, instrument=phq9,
        due_on=today + dt.timedelta(days=3),
    )  # fmt: skip
    now = services.administration_assign(
        actor=personas.alice, client=personas.dana, course=course, instrument=phq9, due_on=today
    )
    assert (later.status, now.status) == ("assigned", "due")
    with override_settings(OPENIPT_ASSIGNMENT_EXPIRY_DAYS=7):
        assert services.administrations_refresh_status(today=today + dt.timedelta(days=3)) == (
            1,
            0,
        )
        assert services.administrations_refresh_status(today=today + dt.timedelta(days=9)) == (
            0,
            1,
        )
        assert tasks.refresh_assignments.call() == [0, 0]  # idempotent
    statuses = dict(Administration.objects.values_list("pk", "status"))
    assert statuses == {later.pk: "due", now.pk: "expired"}


def test_client_completes_an_assignment_and_it_is_scored(personas, course, phq9):
    assigned = services.administration_assign(
        actor=personas.alice, client=personas.dana, course=course, instrument=phq9,
        due_on=timezone.localdate(),
    )  # fmt: skip
    done = services.administration_complete(
        actor=personas.alice, administration=assigned, answers=phq9_answers("000000000")
    )
    assert (done.status, done.total, done.version) == ("completed", Decimal(0), 2)


def test_the_assignments_task_runs_through_the_tasks_backend(personas, course, phq9):
    services.administration_assign(
        actor=personas.alice, client=personas.dana, course=course, instrument=phq9,
        due_on=timezone.localdate() - dt.timedelta(days=30),
    )  # fmt: skip
    backend = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(TASKS=backend):
        call_command("periodic", stdout=io.StringIO())
    assert Administration.objects.get().status == "expired"


# --- The entry page -------------------------------------------------------------------------


def _url(course, code="PHQ-9"):
    return reverse("measures:administration-create", args=[course.uuid]) + f"?instrument={code}"


def test_quick_entry_saves_and_shows_on_the_measures_page(alice_client, course):
    response = alice_client.post(_url(course), {"quick": "012301230"})
    assert response.status_code == 302
    assert Administration.objects.get().total == Decimal(12)
    page = alice_client.get(response["Location"]).content.decode()
    assert "Moderate" in page
    assert "<svg" in page


def test_the_radio_grid_posts_without_quick_entry(alice_client, course):
    data = {f"item-{n}": "1" for n in range(1, 9)} | {"item-9": "0", "item-difficulty": "2"}
    assert alice_client.post(_url(course), data).status_code == 302
    row = Administration.objects.get()
    assert row.total == Decimal(8)
    assert row.answers["difficulty"] is not None


def test_bad_quick_entry_is_explained_and_kept(alice_client, course):
    page = alice_client.post(_url(course), {"quick": "01230123"}).content.decode()
    assert "Type 9 answers" in page
    assert 'value="01230123"' in page
    page = alice_client.post(_url(course), {"quick": "012301235"}).content.decode()
    assert "Question 9: “5” is not an answer" in page
    assert not Administration.objects.exists()


def test_an_unanswered_radio_row_is_named_and_the_rest_kept(alice_client, course):
    data = {f"item-{n}": "2" for n in range(1, 9)}
    page = alice_client.post(_url(course), data).content.decode()
    assert page.count("Choose an answer") == 1
    assert len(re.findall(r'<input type="radio"[^>]*value="2"[^>]*checked', page)) == 8
    assert not Administration.objects.exists()


def test_entry_page_is_labelled_for_the_keyboard(alice_client, course):
    page = alice_client.get(_url(course)).content.decode()
    assert 'name="quick"' in page
    assert "autofocus" in page
    assert "<legend>" in page
    assert page.count('type="radio"') == 10 * 5  # 9 items + difficulty, 4 answers + "not answered"


def test_entry_permissions(client, personas, course):
    for user, expected in ((personas.bob, 404), (personas.charlie, 404), (personas.adam, 404)):
        client.force_login(user)
        assert client.get(_url(course)).status_code == expected
        assert client.post(_url(course), {"quick": "000000000"}).status_code == expected
    client.force_login(personas.alice)
    assert client.get(_url(course, "NOPE")).status_code == 404


def test_measures_page_permissions(client, personas, course):
    url = reverse("measures:course-measures", args=[course.uuid])
    for user, expected in ((personas.bob, 200), (personas.charlie, 404), (personas.adam, 404)):
        client.force_login(user)
        assert client.get(url).status_code == expected
    client.force_login(personas.bob)
    assert "Enter a questionnaire" not in client.get(url).content.decode()


def test_assign_from_the_measures_page(alice_client, course):
    url = reverse("measures:administration-assign", args=[course.uuid])
    day = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    alice_client.post(url, {"instrument": "GAD-7", "due_on": day})
    row = Administration.objects.get()
    assert (row.instrument.code, row.status, row.mode) == ("GAD-7", "assigned", "client_completed")
    page = alice_client.get(reverse("measures:course-measures", args=[course.uuid])).content
    assert b"Waiting for the client" in page


def test_reading_the_measures_page_is_audited(alice_client, course):
    before = AuditEvent.objects.filter(action="read").count()
    alice_client.get(reverse("measures:course-measures", args=[course.uuid]))
    assert AuditEvent.objects.filter(action="read").count() == before + 1


# --- The schedule, through the protocol guidance ------------------------------------------------


def _flagged(course):
    guidance = guidance_for(course)
    return {item.code for item in guidance.due + guidance.warnings}


def test_guidance_counts_a_baseline_phq9_and_asks_for_the_next_when_due(personas, course):
    assert "init.symptom_review" in _flagged(course)  # session 1 held, no baseline
    _enter(personas, course, "111111111", session=Session.objects.get(course=course, number=1))
    assert "init.symptom_review" not in _flagged(course)
    for number in range(2, 7):
        make_session(personas.alice, course, number)
    assert "mid.measure" in _flagged(course)  # rule 11: at most 4 sessions apart
    _enter(personas, course, "111111111", session=Session.objects.get(course=course, number=5))
    assert "mid.measure" not in _flagged(course)


def test_entry_links_the_latest_session_by_default(alice_client, course):
    page = alice_client.get(_url(course)).content.decode()
    session = Session.objects.get(course=course, number=1)
    assert re.search(rf'<option value="{session.uuid}" selected>Session 1', page)
    alice_client.post(_url(course), {"quick": "000000000", "session": str(session.uuid)})
    assert Administration.objects.get().session == session


def test_an_unanswered_item_9_prompts_the_clinician_to_ask(alice_client, course):
    response = alice_client.post(_url(course), {"quick": "00000000-"}, follow=True)
    assert "Question 9 was not answered: ask the client about it." in response.content.decode()
