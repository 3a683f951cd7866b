"""Issue 9 part 5: the ending closes the loop. Concluding from the ending page once the
required items are recorded, cancelling the future appointments in the same step, and the
maintenance course that carries over the baseline, the warning signs and the relapse plan
(docs/ipt.md §3, "Concluding a course")."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from openipt.audit.models import AuditEvent
from openipt.care import guidance as guidance_lib
from openipt.core.versioning import EditConflict
from openipt.measures import services as measure_services
from openipt.measures.models import Instrument
from openipt.measures.scoring import answers_from_entries
from openipt.scheduling import services as scheduling
from openipt.scheduling.models import Appointment
from openipt.treatment import services
from openipt.treatment.models import Course
from openipt.treatment.tests.factories import make_course, make_session

ENDING = services.TerminationData(
    raised_at_session=9,
    gains="Asked Sam for help; PHQ-9 fell from 18 to 6.",
    warning_signs="Staying in bed at weekends.",
    relapse_plan="Talk to Sam that week; book a GP appointment.",
    relapse_contacts="Sam; the practice.",
    next_step="maintenance",
    next_step_reason="Two earlier episodes.",
    conclusion_summary="Completed 12 sessions.",
)


@pytest.fixture
def course(personas):
    return make_course(personas.alice, personas.dana, planned_sessions=12)


def _phq9(actor, course, session, total_digits: str):
    instrument = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    entries = [int(c) for c in total_digits]
    return measure_services.administration_enter(
        actor=actor,
        course=course,
        instrument=instrument,
        answers=answers_from_entries(instrument.parsed, entries),
        session=session,
    )


def _record_ending(alice, course, data=ENDING):
    return services.termination_save(actor=alice, course=course, version=0, data=data)


def _book_future(p, course, days: int) -> Appointment:
    return scheduling.appointment_book(
        actor=p.alice,
        client=p.dana,
        clinician=p.membership(p.alice),
        starts_at=timezone.now() + dt.timedelta(days=days),
        course=course,
    )


def _conclude(alice, course, **data):
    data.setdefault("status", Course.Status.CONCLUDED)
    course.refresh_from_db()
    return services.course_conclude(
        actor=alice, course=course, version=course.version, data=services.ConclusionData(**data)
    )


# --- The service -------------------------------------------------------------------------


def test_concluding_needs_the_required_ending_items(personas, course):
    with pytest.raises(ValidationError) as refused:
        _conclude(personas.alice, course)
    assert "status" in refused.value.error_dict
    course.refresh_from_db()
    assert course.is_open
    assert course.ended_on is None

    _record_ending(personas.alice, course, replace(ENDING, relapse_plan=""))
    with pytest.raises(ValidationError):
        _conclude(personas.alice, course)

    course.refresh_from_db()
    services.termination_save(
        actor=personas.alice,
        course=course,
        version=course.termination.version,
        data=ENDING,
    )
    closed = _conclude(personas.alice, course, status_reason="Completed as planned.")
    assert closed.status == Course.Status.CONCLUDED
    assert closed.ended_on == timezone.localdate()
    event = AuditEvent.objects.filter(object_id=str(course.uuid), action="update").latest("id")
    assert event.detail == "status concluded"


def test_ending_early_needs_only_a_reason(personas, course):
    with pytest.raises(ValidationError) as refused:
        _conclude(personas.alice, course, status=Course.Status.ENDED_EARLY)
    assert "status_reason" in refused.value.error_dict
    closed = _conclude(
        personas.alice, course, status=Course.Status.ENDED_EARLY, status_reason="Moved away."
    )
    assert closed.status == Course.Status.ENDED_EARLY
    with pytest.raises(ValidationError, match="already closed"):
        _conclude(personas.alice, closed, status=Course.Status.ENDED_EARLY, status_reason="x")


def test_concluding_refuses_a_stale_version_a_future_date_and_the_supervisor(personas, course):
    data = services.ConclusionData(status="ended_early", status_reason="Moved away.")
    with pytest.raises(EditConflict):
        services.course_conclude(
            actor=personas.alice, course=course, version=course.version + 1, data=data
        )
    with pytest.raises(ValidationError) as refused:
        services.course_conclude(
            actor=personas.alice,
            course=course,
            version=course.version,
            data=replace(data, ended_on=timezone.localdate() + dt.timedelta(days=1)),
        )
    assert "ended_on" in refused.value.error_dict
    with pytest.raises(PermissionDenied):
        services.course_conclude(
            actor=personas.bob, course=course, version=course.version, data=data
        )
    course.refresh_from_db()
    assert course.is_open


def test_course_details_no_longer_conclude_a_course(personas, course):
    data = replace(services.CourseUpdateData.of(course), status=Course.Status.CONCLUDED)
    with pytest.raises(ValidationError, match="ending page"):
        services.course_update(
            actor=personas.alice, course=course, version=course.version, data=data
        )


def test_maintenance_course_follows_and_carries_the_baseline(personas, course):
    alice = personas.alice
    last = make_session(alice, course, 12)
    _phq9(alice, course, last, "111100000")  # 4
    _record_ending(alice, course)
    _conclude(alice, course)
    follow_on = services.course_start_maintenance(
        actor=alice,
        previous=course,
        clinician=personas.membership(alice),
        data=services.MaintenanceData(start_date=timezone.localdate()),
    )
    assert (follow_on.format, follow_on.frequency, follow_on.planned_sessions) == (
        "ipt_m",
        "monthly",
        12,
    )
    assert follow_on.follows == course
    assert follow_on.status == Course.Status.ACTIVE
    carried = guidance_lib.carried_baseline(follow_on)
    assert carried is not None
    assert (carried.instrument, carried.total) == ("PHQ-9", 4.0)
    # The carried score is the maintenance course's baseline (rule 10 is met).
    codes = {i.code for i in guidance_lib.guidance_for(follow_on).todo}
    assert "init.symptom_review" not in codes
    with pytest.raises(ValidationError, match="already follows"):
        services.course_start_maintenance(
            actor=alice,
            previous=course,
            clinician=personas.membership(alice),
            data=services.MaintenanceData(start_date=timezone.localdate()),
        )
    with pytest.raises(ValidationError, match="acute"):
        services.course_start_maintenance(
            actor=alice,
            previous=follow_on,
            clinician=personas.membership(alice),
            data=services.MaintenanceData(start_date=timezone.localdate()),
        )


# --- The pages ---------------------------------------------------------------------------


def _url(name, course):
    return reverse(f"treatment:{name}", args=[course.uuid])


def _post_conclude(client, course, **fields):
    course.refresh_from_db()
    form = {
        "conclude-status": "concluded",
        "conclude-status_reason": "",
        "conclude-ended_on": timezone.localdate().isoformat(),
        "conclude-version": course.version,
        **{f"conclude-{k}": v for k, v in fields.items()},
    }
    return client.post(_url("course-conclude", course), form)


def test_ending_page_lists_what_is_missing_then_offers_to_conclude(alice_client, personas, course):
    page = alice_client.get(_url("termination", course)).content.decode()
    assert 'id="conclude"' in page
    assert "To conclude the course, first record and save:" in page
    assert "Plan what to do if they return" in page
    _record_ending(personas.alice, course)
    page = alice_client.get(_url("termination", course)).content.decode()
    assert "To conclude the course, first record and save:" not in page
    assert "Start a maintenance course now" in page  # the next step chosen is maintenance


def test_concluding_cancels_the_future_appointments_in_the_same_step(
    alice_client, personas, course
):
    booked = [_book_future(personas, course, days) for days in (3, 10, 17)]
    page = alice_client.get(_url("termination", course)).content.decode()
    assert "3 future appointments are still booked" in page

    # Refused (ending not recorded): nothing is cancelled, what was typed is kept.
    refused = _post_conclude(
        alice_client, course, cancel_appointments="on", cancel_reason="Typed reason here"
    )
    assert refused.status_code == 200
    assert "before concluding the course" in refused.content.decode()
    assert "Typed reason here" in refused.content.decode()
    assert Appointment.objects.filter(status="booked").count() == 3

    _record_ending(personas.alice, course)
    response = _post_conclude(
        alice_client, course, cancel_appointments="on", cancel_reason="The course has ended."
    )
    assert response.status_code == 302
    assert response["Location"] == _url("course-detail", course)
    course.refresh_from_db()
    assert course.status == Course.Status.CONCLUDED
    for appointment in booked:
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.CANCELLED
        assert appointment.cancellation_reason == "The course has ended."

    overview = alice_client.get(response["Location"]).content.decode()
    assert "3 future appointments were cancelled." in overview
    assert "Next session:" not in overview
    assert "Course concluded" in overview
    assert "Completed 12 sessions." in overview  # the ending summary
    assert "Start a maintenance course" in overview


def test_concluding_can_leave_the_appointments_booked(alice_client, personas, course):
    _book_future(personas, course, 5)
    _record_ending(personas.alice, course)
    response = _post_conclude(alice_client, course, cancel_reason="")
    assert response.status_code == 302
    assert Appointment.objects.get().status == Appointment.Status.BOOKED


def test_concluding_with_maintenance_opens_the_new_course(alice_client, personas, course):
    _record_ending(personas.alice, course)
    response = _post_conclude(alice_client, course, start_maintenance="on")
    follow_on = Course.objects.get(follows=course)
    assert response["Location"] == _url("course-detail", follow_on)
    page = alice_client.get(response["Location"]).content.decode()
    assert "Carried over from the earlier course" in page
    assert "Staying in bed at weekends." in page
    assert "Talk to Sam that week; book a GP appointment." in page
    earlier = alice_client.get(_url("course-detail", course)).content.decode()
    assert "Open the maintenance course" in earlier
    assert "Start a maintenance course" not in earlier


def test_maintenance_page_starts_the_course(alice_client, personas, course):
    _record_ending(personas.alice, course)
    page = alice_client.get(_url("course-maintenance", course)).content.decode()
    assert "What carries over" in page
    response = alice_client.post(
        _url("course-maintenance", course),
        {"start_date": timezone.localdate().isoformat(), "planned_sessions": "", "frequency": ""},
    )
    follow_on = Course.objects.get(follows=course)
    assert response["Location"] == _url("course-detail", follow_on)
    again = alice_client.post(
        _url("course-maintenance", course),
        {"start_date": timezone.localdate().isoformat()},
    )
    assert again.status_code == 200
    assert "already follows" in again.content.decode()
    assert Course.objects.filter(follows=course).count() == 1


def test_supervisor_sees_the_ending_but_cannot_conclude(client, personas, course):
    _record_ending(personas.alice, course)
    client.force_login(personas.bob)
    page = client.get(_url("termination", course)).content.decode()
    assert "Conclude the course" not in page
    assert _post_conclude(client, course).status_code == 404
    course.refresh_from_db()
    assert course.is_open


def test_a_refusal_late_in_the_step_undoes_the_conclusion_and_the_cancellations(
    alice_client, personas, course, monkeypatch
):
    from openipt.workspace.views.treatment import termination as views

    _book_future(personas, course, 4)
    _record_ending(personas.alice, course)

    def refuse(**kwargs):
        raise ValidationError("No maintenance today.")

    monkeypatch.setattr(views.services, "course_start_maintenance", refuse)
    response = _post_conclude(
        alice_client,
        course,
        cancel_appointments="on",
        cancel_reason="Ended.",
        start_maintenance="on",
    )
    assert response.status_code == 200
    assert "No maintenance today." in response.content.decode()
    course.refresh_from_db()
    assert course.is_open
    assert Appointment.objects.get().status == Appointment.Status.BOOKED
