from __future__ import annotations

import pytest
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.treatment import services
from openipt.treatment.models import Formulation, PhaseTaskStatus, TerminationRecord
from openipt.treatment.tests.factories import make_course, make_session


@pytest.fixture
def course(personas):
    return make_course(personas.alice, personas.dana)


def _url(name, course, *args):
    return reverse(f"treatment:{name}", args=[course.uuid, *args])


def test_formulation_agreement_needs_a_date_and_then_clears_the_due_item(alice_client, course):
    overview = alice_client.get(_url("course-detail", course)).content.decode()
    assert "Write the formulation and agree it with the client" in overview
    bad = alice_client.post(
        _url("formulation", course),
        {
            "version": 0,
            "text": "Low mood since the arguments with Sam",
            "client_agreement": "agreed",
        },
    )
    assert "Give the date the formulation was shared" in bad.content.decode()
    assert "Low mood since the arguments with Sam" in bad.content.decode()
    assert not Formulation.objects.exists()
    alice_client.post(
        _url("formulation", course),
        {
            "version": 0,
            "text": "Low mood since the arguments with Sam",
            "client_agreement": "agreed",
            "shared_on": "2026-01-19",
        },
    )
    overview = alice_client.get(_url("course-detail", course)).content.decode()
    assert "Agreed by the client" in overview
    assert "Write the formulation and agree it with the client" not in overview


def test_marking_a_due_item_removes_it_and_is_audited(alice_client, course):
    before = alice_client.get(_url("course-detail", course)).content.decode()
    assert "Explain the diagnosis and the sick role" in before
    response = alice_client.post(
        _url("task-mark", course),
        {
            "task_code": "init.diagnosis_psychoed",
            "status": "done",
            "note": "Covered in session 1",
        },
    )
    assert response.status_code == 302
    after = alice_client.get(_url("course-detail", course)).content.decode()
    assert "Explain the diagnosis and the sick role" not in after
    assert PhaseTaskStatus.objects.get().note == "Covered in session 1"
    assert AuditEvent.objects.filter(
        object_type="treatment.phasetaskstatus", action="create"
    ).exists()


def test_bad_task_code_is_refused(alice_client, course):
    alice_client.post(_url("task-mark", course), {"task_code": "<script>", "status": "done"})
    assert not PhaseTaskStatus.objects.exists()


def test_termination_record_with_relapse_plan(alice_client, course):
    response = alice_client.post(
        _url("termination", course),
        {
            "version": 0,
            "raised_at_session": 9,
            "gains": "Talks with Sam again",
            "warning_signs": "Sleeping badly",
            "relapse_plan": "Call the practice",
            "relapse_contacts": "GP",
            "next_step": "maintenance",
        },
    )
    assert "Give a reason for the next step" in response.content.decode()
    assert not TerminationRecord.objects.exists()
    alice_client.post(
        _url("termination", course),
        {
            "version": 0,
            "raised_at_session": 9,
            "gains": "Talks with Sam again",
            "warning_signs": "Sleeping badly",
            "relapse_plan": "Call the practice",
            "relapse_contacts": "GP",
            "next_step": "maintenance",
            "next_step_reason": "Two past episodes",
        },
    )
    record = TerminationRecord.objects.get()
    assert (record.relapse_plan, record.next_step) == ("Call the practice", "maintenance")


def test_goal_rating_through_the_page(alice_client, personas, course):
    alice_client.post(_url("goals", course), {"text": "Say no to overtime"})
    goal = course.goals.get()
    alice_client.post(_url("goal-rate", course, goal.uuid), {"rating": 4, "rated_on": "2026-02-02"})
    alice_client.post(
        _url("goal-rate", course, goal.uuid), {"rating": 11, "rated_on": "2026-02-09"}
    )
    assert list(goal.ratings.values_list("rating", flat=True)) == [4]
    page = alice_client.get(_url("course-detail", course)).content.decode()
    assert "latest rating 4/10" in page


def test_overview_counts_sessions_and_phase(alice_client, personas, course):
    for n in range(1, 5):
        make_session(personas.alice, course, n)
    page = alice_client.get(_url("course-detail", course)).content.decode()
    assert "Session 4 of 12 · Working on it" in page  # the plain phase names (docs/ipt.md §10)


def test_technique_record_through_the_page(alice_client, personas, course):
    session = make_session(personas.alice, course, 5)
    alice_client.post(
        _url("technique-create", course, session.uuid, "decision_analysis"),
        {
            "problem": "Whether to move out",
            "option_1": "Stay",
            "pros_1": "Cheap",
            "choice": "Stay",
        },
    )
    page = alice_client.get(_url("session-detail", course, session.uuid)).content.decode()
    assert "Decision analysis (Weighing your options)" in page
    assert "Whether to move out" in page


def test_dispute_workspace_links_inventory_person(alice_client, personas, course):
    sam = services.inventory_person_create(
        actor=personas.alice, course=course, data=services.PersonData(name="Sam", circle=1)
    )
    area = services.problem_area_create(
        actor=personas.alice, course=course, area="role_dispute", data=services.ProblemAreaData()
    )
    alice_client.post(
        _url("problem-area", course, area.uuid),
        {
            "version": area.version,
            "is_candidate": "on",
            "is_primary": "on",
            "other_person": sam.pk,
            "dispute_stage": "renegotiation",
            "d_client_expectations": "Share the chores",
        },
    )
    area.refresh_from_db()
    assert (area.other_person, area.dispute_stage) == (sam, "renegotiation")
    assert area.details == {"client_expectations": "Share the chores"}
    page = alice_client.get(_url("course-detail", course)).content.decode()
    assert "Role dispute (Disagreements)" in page
    assert "Renegotiation (Still talking)" in page


def test_middle_session_without_agreed_formulation_shows_banner(alice_client, personas, course):
    session = make_session(personas.alice, course, 5)
    page = alice_client.get(_url("session-detail", course, session.uuid)).content.decode()
    assert "formulation has not been agreed" in page
    services.formulation_save(
        actor=personas.alice,
        course=course,
        version=0,
        data=services.FormulationData(
            text="Summary", shared_on=course.start_date, client_agreement="agreed"
        ),
    )
    page = alice_client.get(_url("session-detail", course, session.uuid)).content.decode()
    assert "formulation has not been agreed" not in page


def test_task_mark_with_htmx_returns_the_guidance_fragment(alice_client, course):
    response = alice_client.post(
        _url("task-mark", course),
        {"task_code": "init.diagnosis_psychoed", "status": "done"},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="course-guidance">')
    assert "Explain the diagnosis and the sick role" not in page
    assert "<html" not in page


def test_new_session_form_shows_what_was_set_last_time(alice_client, personas, course):
    make_session(personas.alice, course, 4, tasks_set="Ask Sam about the weekend plans", mood=4)
    page = alice_client.get(_url("session-create", course)).content.decode()
    assert "Last time (session 4)" in page
    assert "Ask Sam about the weekend plans" in page
    assert 'value="5"' in page


@pytest.mark.parametrize("name", ["course-detail", "inventory", "course-update", "session-create"])
def test_each_page_view_writes_exactly_one_read_event(alice_client, course, name):
    before = AuditEvent.objects.filter(action="read").count()
    alice_client.get(_url(name, course))
    events = AuditEvent.objects.filter(action="read").order_by("id")[before:]
    assert [(e.client_id, e.actor_email) for e in events] == [
        (course.client_id, "alice@riverside.test")
    ]


def test_caseload_puts_risk_concerns_first(alice_client, personas, course):
    from openipt.testing.personas import make_client

    other = make_client(personas.practice, personas.alice, given="Aaron", family="Aardvark")
    make_session(personas.alice, make_course(personas.alice, other), 1)
    make_session(personas.alice, course, 1, risk_check="concerns", risk_notes="Passive thoughts")
    url = reverse("treatment:caseload")
    by_name = alice_client.get(url, {"sort": "client"}).content.decode()
    assert by_name.index("Aaron Aardvark") < by_name.index("Dana Example")
    by_attention = alice_client.get(url, {"sort": "flags"}).content.decode()
    assert by_attention.index("Dana Example") < by_attention.index("Aaron Aardvark")
    assert "Concerns were noted at the latest session" in by_attention
    assert "Passive thoughts" not in by_attention
