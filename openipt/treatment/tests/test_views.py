from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.treatment import services
from openipt.treatment.models import Course, ProblemArea, Session
from openipt.treatment.tests.factories import START, make_course, make_person, make_session


@pytest.fixture
def course(personas):
    return make_course(personas.alice, personas.dana)


def _url(name, course, *args):
    return reverse(f"treatment:{name}", args=[course.uuid, *args])


def test_alice_starts_a_course_from_the_client(alice_client, personas):
    url = reverse("treatment:course-create", args=[personas.dana.uuid])
    assert alice_client.get(url).status_code == 200
    response = alice_client.post(
        url,
        {
            "format": "ipt",
            "start_date": "2026-01-05",
            "presenting_concerns": ["depression", "grief"],
            "medication_status": "considering",
            "participants": [],
        },
    )
    course = Course.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url("course-detail", course)
    assert course.planned_sessions == 12
    assert course.presenting_concerns == ["depression", "grief"]
    page = alice_client.get(response["Location"]).content.decode()
    assert "Session 0 of 12" in page
    assert "What is due next" in page
    assert 'id="symptom-chart"' in page


def test_overview_shows_due_items_and_reads_are_audited(alice_client, course):
    before = AuditEvent.objects.filter(action="read").count()
    page = alice_client.get(_url("course-detail", course)).content.decode()
    assert "Take a baseline depression measure at or before session 1." in page
    assert '<details class="why">' in page  # the rule behind it, in plain words, on request
    assert AuditEvent.objects.filter(action="read").count() == before + 1
    event = AuditEvent.objects.filter(action="read").latest("id")
    assert event.object_id == str(course.uuid)


def test_session_before_start_keeps_what_was_typed(alice_client, course):
    response = alice_client.post(
        _url("session-create", course),
        {
            "number": 1,
            "starts_at": "2025-12-01T10:00",
            "duration_minutes": 50,
            "attendance": "attended",
            "risk_check": "not_asked",
            "focus": "Typed focus words",
            "version": 0,
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "before the course began" in page
    assert "Typed focus words" in page
    assert not Session.objects.exists()


def test_session_beyond_contract_points_to_renegotiation(alice_client, course):
    response = alice_client.post(
        _url("session-create", course),
        {
            "number": 13,
            "starts_at": "2026-04-01T10:00",
            "duration_minutes": 50,
            "attendance": "attended",
            "risk_check": "not_asked",
            "version": 0,
        },
    )
    assert "Record the renegotiation" in response.content.decode()
    assert not Session.objects.exists()


def test_concurrent_session_edit_refused_and_input_kept(alice_client, personas, course):
    session = make_session(personas.alice, course, 1)
    form = {
        "version": session.version,
        "number": 1,
        "starts_at": "2026-01-05T10:00",
        "duration_minutes": 50,
        "attendance": "attended",
        "risk_check": "not_asked",
    }
    services.session_update(
        actor=personas.alice,
        session=session,
        version=session.version,
        data=replace(services.SessionData.of(session), focus="Saved first"),
    )
    response = alice_client.post(
        _url("session-update", course, session.uuid), {**form, "focus": "Mine"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Someone else saved this record" in page
    assert "Mine" in page
    session.refresh_from_db()
    assert session.focus == "Saved first"


def test_sign_then_amend_through_pages(alice_client, personas, course):
    session = make_session(personas.alice, course, 1, progress_note="First account")
    alice_client.post(_url("session-sign", course, session.uuid), {"version": session.version})
    session.refresh_from_db()
    assert session.is_signed
    edit = alice_client.get(_url("session-update", course, session.uuid))
    assert edit.status_code == 302
    alice_client.post(_url("session-amend", course, session.uuid), {"text": "Added later"})
    page = alice_client.get(_url("session-detail", course, session.uuid)).content.decode()
    assert "First account" in page
    assert "Added later" in page


def test_third_focus_area_message_in_workspace(alice_client, personas, course):
    for area, flags in (("grief", {"is_primary": True}), ("role_dispute", {"is_secondary": True})):
        services.problem_area_create(
            actor=personas.alice, course=course, area=area, data=services.ProblemAreaData(**flags)
        )
    third = services.problem_area_create(
        actor=personas.alice, course=course, area="role_transition", data=services.ProblemAreaData()
    )
    response = alice_client.post(
        _url("problem-area", course, third.uuid),
        {
            "version": third.version,
            "is_candidate": "on",
            "is_secondary": "on",
            "evidence": "Typed evidence",
            "d_old_role": "Student",
        },
    )
    page = response.content.decode()
    assert "at most two focus areas" in page
    assert "Typed evidence" in page
    assert not ProblemArea.objects.get(pk=third.pk).is_focus


def test_deficits_without_rationale_warns_but_saves(alice_client, personas, course):
    area = services.problem_area_create(
        actor=personas.alice,
        course=course,
        area="interpersonal_deficits",
        data=services.ProblemAreaData(),
    )
    response = alice_client.post(
        _url("problem-area", course, area.uuid),
        {"version": area.version, "is_candidate": "on", "is_primary": "on"},
        follow=True,
    )
    assert "usually chosen only when" in response.content.decode()
    assert ProblemArea.objects.get(pk=area.pk).is_primary


def test_empty_inventory_name_message(alice_client, course):
    response = alice_client.post(
        _url("person-create", course),
        {
            "version": 0,
            "snapshot": "start",
            "name": "",
            "circle": 1,
            "relationship": "Sister",
            "knows_about_difficulties": "unknown",
        },
    )
    page = response.content.decode()
    assert "This field is required" in page or "Enter a name" in page
    assert 'value="Sister"' in page


def test_inventory_circle_and_timeline_are_drawn(alice_client, personas, course):
    make_person(personas.alice, course, "Sam & Co", 1, relationship="Partner")
    services.timeline_event_create(
        actor=personas.alice,
        course=course,
        data=services.TimelineEventData(
            date=START, kind="dispute", description="Big argument", mood=2, marks_symptom_onset=True
        ),
    )
    inventory = alice_client.get(_url("inventory", course)).content.decode()
    assert "<svg" in inventory
    assert "<title" in inventory
    assert "Sam &amp; Co" in inventory
    timeline = alice_client.get(_url("timeline", course)).content.decode()
    assert "Symptoms began" in timeline
    assert "Big argument" in timeline


def test_contract_page_renegotiation_creates_version(alice_client, course):
    data = {
        "planned_sessions": 12,
        "frequency": "weekly",
        "agreed_on": "2026-01-19",
        "client_agreed": "on",
    }
    alice_client.post(_url("contract", course), data)
    response = alice_client.post(_url("contract", course), {**data, "planned_sessions": 16})
    assert "Say why the agreement is changing" in response.content.decode()
    alice_client.post(
        _url("contract", course), {**data, "planned_sessions": 16, "reason": "Slow start"}
    )
    page = alice_client.get(_url("contract", course)).content.decode()
    assert "Slow start" in page
    assert list(course.contracts.values_list("planned_sessions", flat=True)) == [12, 16]


def test_a_renegotiation_opened_before_another_was_saved_is_refused_and_kept(alice_client, course):
    """Two people open the contract at version 1; the second save must not undo the first."""
    data = {"planned_sessions": 12, "frequency": "weekly", "agreed_on": "2026-01-19",
            "client_agreed": "on", "based_on": 0}  # fmt: skip
    alice_client.post(_url("contract", course), data)
    first = {**data, "planned_sessions": 16, "reason": "Slow start", "based_on": 1}
    second = {**data, "planned_sessions": 10, "reason": "Moving away", "based_on": 1}
    assert alice_client.post(_url("contract", course), first).status_code == 302

    refused = alice_client.post(_url("contract", course), second)

    html = refused.content.decode()
    assert refused.status_code == 200
    assert "Someone else recorded a new version of the agreement" in html
    assert "Moving away" in html  # the typing is kept
    assert list(course.contracts.values_list("planned_sessions", flat=True)) == [12, 16]
    fresh = alice_client.get(_url("contract", course))
    assert fresh.context["form"]["based_on"].value() == 2


@pytest.mark.parametrize(
    "name",
    [
        "course-detail",
        "course-update",
        "session-create",
        "inventory",
        "person-create",
        "timeline",
        "event-create",
        "problem-areas",
        "formulation",
        "contract",
        "goals",
        "termination",
    ],
)
def test_every_course_page_renders_for_alice(alice_client, course, name):
    assert alice_client.get(_url(name, course)).status_code == 200


def test_session_pages_render(alice_client, personas, course):
    session = make_session(personas.alice, course, 1)
    for name in ("session-detail", "session-update", "session-amend", "process-note"):
        assert alice_client.get(_url(name, course, session.uuid)).status_code == 200
    url = _url("technique-create", course, session.uuid, "decision_analysis")
    assert alice_client.get(url).status_code == 200
    assert (
        alice_client.get(_url("technique-create", course, session.uuid, "nonsense")).status_code
        == 404
    )


def test_caseload_lists_active_course_with_due_items(alice_client, personas, course):
    page = alice_client.get(reverse("treatment:caseload")).content.decode()
    assert "Dana Example" in page
    assert "0 of 12" in page
    filtered = alice_client.get(
        reverse("treatment:caseload"), {"phase": "termination"}
    ).content.decode()
    assert "Dana Example" not in filtered


def test_overview_lists_the_latest_sessions_of_a_long_course(alice_client, personas):
    from django.urls import reverse

    from openipt.treatment.tests import factories

    course = factories.make_course(personas.alice, personas.dana, planned_sessions=40)
    for number in range(1, 31):
        factories.make_session(personas.alice, course, number)
    url = reverse("treatment:course-detail", args=[course.uuid])
    page = alice_client.get(url).content.decode()
    assert "Showing the latest 24 of 30 sessions." in page
    assert ">Session 30<" in page
    assert ">Session 6<" not in page
    everything = alice_client.get(url + "?sessions=all").content.decode()
    assert ">Session 6<" in everything
    assert "Showing the latest" not in everything


def test_course_start_page_shows_the_client_and_records_one_read(alice_client, personas):
    url = reverse("treatment:course-create", args=[personas.dana.uuid])
    before = AuditEvent.objects.filter(action="read").count()
    page = alice_client.get(url).content.decode()
    assert "Dana" in page
    events = list(AuditEvent.objects.filter(action="read").order_by("id")[before:])
    assert [(e.object_type, e.object_id, e.client_id, e.detail) for e in events] == [
        ("clients.client", str(personas.dana.uuid), personas.dana.pk, "course start")
    ]


def test_times_are_typed_and_shown_on_the_practices_clock(alice_client, personas, course):
    """Riverside is in London: in July a session typed as 10:00 is 09:00 UTC, and the pages
    show 10:00 again (not the server's UTC)."""
    alice_client.post(
        _url("session-create", course),
        {"number": 1, "starts_at": "2026-07-01T10:00", "duration_minutes": 50,
         "attendance": "attended", "risk_check": "not_asked", "version": 0},
    )  # fmt: skip
    session = Session.objects.get()
    assert session.starts_at.astimezone(dt.UTC).hour == 9
    page = alice_client.get(_url("course-detail", course)).content.decode()
    assert "10:00" in page
    assert "09:00" not in page
