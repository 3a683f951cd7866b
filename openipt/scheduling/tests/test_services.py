from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from openipt.audit.models import AuditEvent
from openipt.core.versioning import EditConflict
from openipt.scheduling import services
from openipt.scheduling.models import Appointment
from openipt.scheduling.tests.conftest import LONDON_10, book, make_course, utc
from openipt.treatment import services as treatment
from openipt.treatment.models import Session

LONDON = ZoneInfo("Europe/London")


def test_booking_stores_utc_and_audits_one_create(world):
    before = AuditEvent.objects.count()

    appointment = book(world, utc(2027, 3, 2, 10, 0), duration_minutes=50)

    assert appointment.ends_at == utc(2027, 3, 2, 10, 50)
    assert appointment.status == Appointment.Status.BOOKED
    events = AuditEvent.objects.order_by("id")[before:]
    assert [(e.action, e.client_id) for e in events] == [("create", world.dana.pk)]


def test_double_booking_is_refused_with_the_clashing_time(world):
    book(world, utc(2027, 3, 2, 10, 0))

    with pytest.raises(ValidationError) as exc:
        book(world, utc(2027, 3, 2, 10, 30))

    message = " ".join(exc.value.message_dict["starts_at"])
    assert "Tuesday 2 March 2027, 10:00 to 10:50" in message
    assert Appointment.objects.count() == 1


def test_back_to_back_appointments_do_not_clash(world):
    book(world, utc(2027, 3, 2, 10, 0))

    book(world, utc(2027, 3, 2, 10, 50))

    assert Appointment.objects.count() == 2


def test_double_booking_goes_through_only_when_asked_and_is_audited(world):
    book(world, utc(2027, 3, 2, 10, 0))

    second = book(world, utc(2027, 3, 2, 10, 30), allow_overlap=True)

    event = AuditEvent.objects.filter(object_id=str(second.uuid)).get()
    assert event.detail == "double booking accepted"


def test_a_cancelled_appointment_frees_the_time(world):
    first = book(world, utc(2027, 3, 2, 10, 0))
    services.appointment_cancel(actor=world.p.alice, appointment=first, version=first.version)

    book(world, utc(2027, 3, 2, 10, 0))

    assert Appointment.objects.filter(status="booked").count() == 1


def test_reschedule_moves_one_appointment_and_checks_clashes(world):
    first = book(world, utc(2027, 3, 2, 10, 0))
    other = book(world, utc(2027, 3, 3, 10, 0))

    with pytest.raises(ValidationError):
        services.appointment_reschedule(
            actor=world.p.alice, appointment=first, version=1,
            starts_at=utc(2027, 3, 3, 10, 15), duration_minutes=50,
        )  # fmt: skip
    moved = services.appointment_reschedule(
        actor=world.p.alice, appointment=first, version=1,
        starts_at=utc(2027, 3, 4, 9, 0), duration_minutes=60,
    )  # fmt: skip

    assert (moved.starts_at, moved.ends_at, moved.version) == (
        utc(2027, 3, 4, 9, 0), utc(2027, 3, 4, 10, 0), 2,
    )  # fmt: skip
    other.refresh_from_db()
    assert other.starts_at == utc(2027, 3, 3, 10, 0)


def test_reschedule_with_a_stale_version_is_refused(world):
    first = book(world, utc(2027, 3, 2, 10, 0))
    services.appointment_reschedule(
        actor=world.p.alice, appointment=first, version=1,
        starts_at=utc(2027, 3, 4, 9, 0), duration_minutes=50,
    )  # fmt: skip

    with pytest.raises(EditConflict):
        services.appointment_reschedule(
            actor=world.p.alice, appointment=first, version=1,
            starts_at=utc(2027, 3, 5, 9, 0), duration_minutes=50,
        )  # fmt: skip


def _recorded_session(world, starts_at):
    return treatment.session_create(
        actor=world.p.alice,
        course=world.course,
        data=treatment.SessionData(number=1, starts_at=starts_at),
    )


@pytest.mark.parametrize(
    ("status", "attendance"),
    [
        ("cancelled", Session.Attendance.CANCELLED),
        ("late_cancellation", Session.Attendance.LATE_CANCELLATION),
        ("no_show", Session.Attendance.NO_SHOW),
    ],
)
def test_outcome_flows_into_the_recorded_session(world, status, attendance):
    appointment = book(world, utc(2026, 3, 2, 10, 0))
    session = _recorded_session(world, utc(2026, 3, 2, 10, 0))

    services.appointment_set_outcome(
        actor=world.p.alice, appointment=appointment, version=1, status=status
    )

    session.refresh_from_db()
    appointment.refresh_from_db()
    assert session.attendance == attendance
    assert appointment.session_id == session.pk


def test_no_show_without_a_recorded_session_changes_only_the_appointment(world):
    appointment = book(world, utc(2026, 3, 2, 10, 0))

    services.appointment_no_show(actor=world.p.alice, appointment=appointment, version=1)

    appointment.refresh_from_db()
    assert appointment.status == "no_show"
    assert not Session.objects.exists()


def test_outcome_on_a_signed_session_is_refused_and_nothing_changes(world):
    appointment = book(world, utc(2026, 3, 2, 10, 0))
    session = _recorded_session(world, utc(2026, 3, 2, 10, 0))
    treatment.session_sign(actor=world.p.alice, session=session, version=session.version)

    with pytest.raises(ValidationError):
        services.appointment_no_show(actor=world.p.alice, appointment=appointment, version=1)

    appointment.refresh_from_db()
    assert appointment.status == "booked"


# Series ---------------------------------------------------------------------------------


def _series(world, **kw):
    kw.setdefault("weekday", 1)  # Tuesday
    kw.setdefault("local_time", LONDON_10)
    kw.setdefault("first_date", dt.date(2027, 10, 11))
    return services.series_generate_from_contract(actor=world.p.alice, course=world.course, **kw)


def test_series_keeps_local_time_across_the_october_clock_change(world):
    series = _series(world)

    rows = list(series.appointments.order_by("starts_at"))
    assert [a.starts_at for a in rows] == [
        utc(2027, 10, 12, 9, 0),  # BST: 10:00 local is 09:00 UTC
        utc(2027, 10, 19, 9, 0),
        utc(2027, 10, 26, 9, 0),
        utc(2027, 11, 2, 10, 0),  # GMT after 31 October: 10:00 local is 10:00 UTC
    ]
    assert {a.starts_at.astimezone(LONDON).time() for a in rows} == {LONDON_10}
    assert series.time_zone == "Europe/London"
    assert {(a.kind, a.course_id, a.clinician_id) for a in rows} == {
        ("session", world.course.pk, world.alice_m.pk)
    }


def test_series_skips_marked_dates_and_still_books_the_contracted_number(world):
    series = _series(world, skip_dates=[dt.date(2027, 10, 19)])

    dates = [a.starts_at.astimezone(LONDON).date() for a in series.appointments.all()]
    assert sorted(dates) == [
        dt.date(2027, 10, 12), dt.date(2027, 10, 26), dt.date(2027, 11, 2), dt.date(2027, 11, 9),
    ]  # fmt: skip


def test_series_books_only_the_sessions_without_an_appointment(world):
    book(world, utc(2027, 10, 5, 9, 0))

    series = _series(world)

    assert series.count == 3
    assert Appointment.objects.filter(course=world.course).count() == 4


def test_series_fortnightly_follows_the_contract(personas):
    course = make_course(personas, sessions=3, frequency="fortnightly")

    series = services.series_generate_from_contract(
        actor=personas.alice, course=course, weekday=0, local_time=dt.time(14, 0),
        first_date=dt.date(2027, 1, 4),
    )  # fmt: skip

    days = sorted(a.starts_at.date() for a in series.appointments.all())
    assert days == [dt.date(2027, 1, 4), dt.date(2027, 1, 18), dt.date(2027, 2, 1)]


def test_series_refuses_clashes_listing_them_and_books_nothing(world):
    book(world, utc(2027, 10, 26, 9, 30), course=None, kind="consultation")

    with pytest.raises(ValidationError) as exc:
        _series(world)

    assert "Tuesday 26 October 2027, 10:30" in " ".join(exc.value.message_dict["starts_at"])
    assert Appointment.objects.count() == 1


def test_series_needs_a_contract(personas):
    course = treatment.course_create(
        actor=personas.alice, client=personas.dana, clinician=personas.membership(personas.alice),
        data=treatment.CourseData(format="ipt", start_date=dt.date(2026, 1, 5)),
    )  # fmt: skip

    with pytest.raises(ValidationError, match="contract"):
        services.series_generate_from_contract(
            actor=personas.alice, course=course, weekday=1, local_time=LONDON_10,
            first_date=dt.date(2027, 1, 4),
        )  # fmt: skip


def test_series_is_audited_once_per_record(world):
    before = AuditEvent.objects.count()

    _series(world)

    assert AuditEvent.objects.count() - before == 5  # the series and its 4 appointments
    assert set(AuditEvent.objects.order_by("id")[before:].values_list("client_id", flat=True)) == {
        world.dana.pk
    }


def test_the_series_dates_function_handles_a_start_after_the_weekday():
    days = services.series_dates(
        first_date=dt.date(2027, 10, 14), weekday=1, interval_days=7, count=2, skip=set()
    )

    assert days == [dt.date(2027, 10, 19), dt.date(2027, 10, 26)]
