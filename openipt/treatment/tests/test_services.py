from __future__ import annotations

from dataclasses import fields, replace

import pytest
from django.core.exceptions import ValidationError

from openipt.audit.models import AuditEvent
from openipt.core.versioning import EditConflict
from openipt.treatment import forms, services
from openipt.treatment.models import ContractVersion, Course, InventoryPerson, ProblemArea, Session
from openipt.treatment.tests.factories import (
    START,
    make_course,
    make_person,
    make_session,
    session_at,
)


@pytest.fixture
def course(personas):
    return make_course(personas.alice, personas.dana)


def test_course_takes_format_defaults(personas):
    brief = make_course(personas.alice, personas.dana, format="ipt_b")
    assert (brief.planned_sessions, brief.frequency) == (8, "weekly")
    maintenance = make_course(personas.alice, personas.dana, format="ipt_m")
    assert maintenance.frequency == "monthly"
    assert AuditEvent.objects.filter(action="create", object_type="treatment.course").count() == 2


def test_session_before_course_start_is_refused(personas, course):
    with pytest.raises(ValidationError) as exc:
        make_session(personas.alice, course, 1, starts_at=session_at(1, days=-3))
    assert "before the course began" in str(exc.value.message_dict["starts_at"])
    assert not Session.objects.exists()


def test_session_beyond_contract_needs_renegotiation(personas, course):
    with pytest.raises(ValidationError) as exc:
        make_session(personas.alice, course, 13)
    assert "Record the renegotiation" in exc.value.message_dict["number"][0]
    services.contract_record(
        actor=personas.alice,
        course=course,
        data=services.ContractData(
            planned_sessions=12, frequency="weekly", agreed_on=START, focus_areas=[]
        ),
    )
    services.contract_record(
        actor=personas.alice,
        course=course,
        data=services.ContractData(
            planned_sessions=14,
            frequency="weekly",
            agreed_on=START,
            reason="More time for the dispute",
        ),
    )
    assert make_session(personas.alice, course, 13).number == 13
    course.refresh_from_db()
    assert course.planned_sessions == 14
    assert list(course.contracts.values_list("number", "planned_sessions")) == [(1, 12), (2, 14)]


def test_renegotiation_without_reason_is_refused(personas, course):
    data = services.ContractData(planned_sessions=12, frequency="weekly", agreed_on=START)
    services.contract_record(actor=personas.alice, course=course, data=data)
    with pytest.raises(ValidationError) as exc:
        services.contract_record(
            actor=personas.alice, course=course, data=replace(data, planned_sessions=16)
        )
    assert "reason" in exc.value.message_dict
    assert ContractVersion.objects.count() == 1
    course.refresh_from_db()
    assert course.planned_sessions == 12


def test_contract_activates_course(personas, course):
    assert course.status == Course.Status.ASSESSMENT
    services.contract_record(
        actor=personas.alice,
        course=course,
        data=services.ContractData(planned_sessions=12, frequency="weekly", agreed_on=START),
    )
    course.refresh_from_db()
    assert course.status == Course.Status.ACTIVE


def test_signing_locks_and_amendments_append(personas, course):
    session = make_session(personas.alice, course, 1, progress_note="Original words")
    session = services.session_sign(actor=personas.alice, session=session, version=session.version)
    assert session.signed_by == personas.alice
    with pytest.raises(ValidationError, match="signed"):
        services.session_update(
            actor=personas.alice,
            session=session,
            version=session.version,
            data=replace(services.SessionData.of(session), progress_note="Rewritten"),
        )
    services.session_amend(actor=personas.alice, session=session, text="Correction: mood was 4")
    session.refresh_from_db()
    assert session.progress_note == "Original words"
    assert [a.text for a in session.amendments.all()] == ["Correction: mood was 4"]


def test_amending_an_unsigned_session_is_refused(personas, course):
    session = make_session(personas.alice, course, 1)
    with pytest.raises(ValidationError):
        services.session_amend(actor=personas.alice, session=session, text="x")


def test_second_concurrent_save_is_refused(personas, course):
    session = make_session(personas.alice, course, 1)
    started_at = session.version
    services.session_update(
        actor=personas.alice,
        session=session,
        version=started_at,
        data=replace(services.SessionData.of(session), focus="First save"),
    )
    with pytest.raises(EditConflict):
        services.session_update(
            actor=personas.alice,
            session=session,
            version=started_at,
            data=replace(services.SessionData.of(session), focus="Second save"),
        )
    session.refresh_from_db()
    assert session.focus == "First save"


def test_third_focus_area_is_refused(personas, course):
    grief = services.problem_area_create(
        actor=personas.alice,
        course=course,
        area="grief",
        data=services.ProblemAreaData(is_primary=True),
    )
    services.problem_area_create(
        actor=personas.alice,
        course=course,
        area="role_dispute",
        data=services.ProblemAreaData(is_secondary=True),
    )
    with pytest.raises(ValidationError, match="at most two focus areas"):
        services.problem_area_create(
            actor=personas.alice,
            course=course,
            area="role_transition",
            data=services.ProblemAreaData(is_secondary=True),
        )
    transition = services.problem_area_create(
        actor=personas.alice,
        course=course,
        area="role_transition",
        data=services.ProblemAreaData(evidence="New job"),
    )
    assert not transition.is_focus
    dispute = ProblemArea.objects.get(area="role_dispute")
    services.problem_area_update(
        actor=personas.alice,
        problem_area=dispute,
        version=dispute.version,
        data=replace(services.ProblemAreaData.of(dispute), is_secondary=False),
    )
    with pytest.raises(ValidationError, match="already the primary"):
        services.problem_area_update(
            actor=personas.alice,
            problem_area=transition,
            version=transition.version,
            data=replace(services.ProblemAreaData.of(transition), is_primary=True),
        )
    transition = services.problem_area_update(
        actor=personas.alice,
        problem_area=transition,
        version=transition.version,
        data=replace(services.ProblemAreaData.of(transition), is_secondary=True),
    )
    assert transition.is_secondary
    assert ProblemArea.objects.get(pk=grief.pk).is_primary


def test_dispute_fields_are_kept_and_foreign_details_refused(personas, course):
    partner = make_person(personas.alice, course, "Sam")
    dispute = services.problem_area_create(
        actor=personas.alice,
        course=course,
        area="role_dispute",
        data=services.ProblemAreaData(
            other_person=partner,
            dispute_stage="renegotiation",
            details={"options": "Talk on Sunday", "who_died": "ignored"},
        ),
    )
    assert dispute.other_person == partner
    assert dispute.details == {"options": "Talk on Sunday"}


def test_empty_inventory_name_is_refused(personas, course):
    with pytest.raises(ValidationError) as exc:
        make_person(personas.alice, course, "   ")
    assert "name" in exc.value.message_dict
    assert not InventoryPerson.objects.exists()


def test_end_inventory_copies_start(personas, course):
    make_person(personas.alice, course, "Sam", 1)
    make_person(personas.alice, course, "Jo", 3)
    assert services.inventory_copy_to_end(actor=personas.alice, course=course) == 2
    assert course.inventory.filter(snapshot="end").count() == 2
    with pytest.raises(ValidationError):
        services.inventory_copy_to_end(actor=personas.alice, course=course)


def test_process_note_audit_carries_no_text(personas, course):
    session = make_session(personas.alice, course, 1)
    note = services.process_note_save(
        actor=personas.alice, session=session, version=0, text="CANARY-secret-feeling"
    )
    services.process_note_save(
        actor=personas.alice, session=session, version=note.version, text="more"
    )
    events = AuditEvent.objects.filter(object_type="treatment.processnote")
    assert [e.action for e in events.order_by("id")] == ["create", "update"]
    assert not AuditEvent.objects.filter(detail__contains="CANARY").exists()


def test_every_write_is_audited_with_the_client(personas, course):
    before = AuditEvent.objects.count()
    make_session(personas.alice, course, 1)
    make_person(personas.alice, course, "Sam")
    services.timeline_event_create(
        actor=personas.alice,
        course=course,
        data=services.TimelineEventData(date=START, kind="dispute", description="Argument", mood=3),
    )
    events = AuditEvent.objects.order_by("id")[before:]
    assert [e.action for e in events] == ["create", "create", "create"]
    assert {e.client_id for e in events} == {personas.dana.pk}


def test_technique_record_marks_the_session(personas, course):
    session = make_session(personas.alice, course, 4)
    services.technique_create(
        actor=personas.alice,
        session=session,
        data=services.TechniqueData(
            kind="communication_analysis",
            details={"situation": "Dinner", "said": "You never listen", "bogus": "dropped"},
        ),
    )
    session.refresh_from_db()
    assert session.techniques_used == ["communication_analysis"]
    record = session.technique_records.get()
    assert record.details == {"situation": "Dinner", "said": "You never listen"}
    with pytest.raises(ValidationError):
        services.technique_create(
            actor=personas.alice, session=session, data=services.TechniqueData(kind="role_play")
        )


@pytest.mark.parametrize(
    ("form", "data"),
    [
        (forms.CourseForm, services.CourseData),
        (forms.CourseUpdateForm, services.CourseUpdateData),
        (forms.SessionForm, services.SessionData),
        (forms.PersonForm, services.PersonData),
        (forms.TimelineForm, services.TimelineEventData),
        (forms.ProblemAreaForm, services.ProblemAreaData),
        (forms.FormulationForm, services.FormulationData),
        (forms.ContractForm, services.ContractData),
        (forms.GoalForm, services.GoalData),
        (forms.TerminationForm, services.TerminationData),
    ],
)
def test_every_form_field_reaches_its_data_class(form, data):
    assert set(form._meta.fields) <= {f.name for f in fields(data)}
