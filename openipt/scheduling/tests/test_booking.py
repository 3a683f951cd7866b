"""Repeats, the contract's sessions, moving or cancelling the rest of a series, the ending's
cancellations and "write the note" (issue 9, part 3): the services."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from openipt.audit.models import AuditEvent
from openipt.scheduling import services
from openipt.scheduling.models import Appointment, AppointmentSeries, Reminder
from openipt.scheduling.tests.conftest import LONDON_10, book, make_course, utc
from openipt.treatment import services as treatment
from openipt.treatment.models import Session

LONDON = ZoneInfo("Europe/London")
NOW = utc(2027, 10, 1, 8, 0)


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


def _local(appointment: Appointment) -> dt.datetime:
    return appointment.starts_at.astimezone(LONDON)


def _session(world, number: int, when: dt.datetime, attendance: str = "attended") -> Session:
    return treatment.session_create(
        actor=world.p.alice, course=world.course,
        data=treatment.SessionData(number=number, starts_at=when, attendance=attendance),
    )  # fmt: skip


# Repeats from the booking form ----------------------------------------------------------


def _repeat(world, repeat, **kw):
    kw.setdefault("kind", "session")
    kw.setdefault("course", world.course)
    return services.appointments_book_repeating(
        actor=world.p.alice, client=world.dana, clinician=world.alice_m,
        first_date=dt.date(2027, 10, 19), local_time=LONDON_10, repeat=repeat, **kw,
    )  # fmt: skip


def test_weekly_repeat_books_n_at_the_same_local_time_as_one_series(world, now):
    rows = _repeat(world, services.Repeat(interval_days=7, count=4))

    assert [_local(a).date() for a in rows] == [
        dt.date(2027, 10, 19), dt.date(2027, 10, 26), dt.date(2027, 11, 2), dt.date(2027, 11, 9),
    ]  # fmt: skip
    assert {_local(a).time() for a in rows} == {LONDON_10}  # across the clock change
    assert rows[0].starts_at == utc(2027, 10, 19, 9, 0)
    assert rows[-1].starts_at == utc(2027, 11, 9, 10, 0)
    series = AppointmentSeries.objects.get()
    assert {a.series_id for a in rows} == {series.pk}
    assert (series.count, series.interval_days, series.contract_id) == (4, 7, None)


def test_fortnightly_repeat_until_a_date_includes_that_date(world, now):
    rows = _repeat(world, services.Repeat(interval_days=14, until=dt.date(2027, 11, 16)))

    assert [_local(a).date() for a in rows] == [
        dt.date(2027, 10, 19), dt.date(2027, 11, 2), dt.date(2027, 11, 16),
    ]  # fmt: skip


def test_a_single_booking_makes_no_series(world, now):
    (row,) = _repeat(world, services.Repeat())

    assert row.series_id is None
    assert not AppointmentSeries.objects.exists()


def test_a_repeat_with_one_clash_books_nothing_and_names_the_date(world, now):
    book(world, utc(2027, 11, 2, 10, 30), course=None, kind="consultation")

    with pytest.raises(ValidationError) as exc:
        _repeat(world, services.Repeat(interval_days=7, count=4))

    assert "Tuesday 2 November 2027, 10:30" in " ".join(exc.value.message_dict["starts_at"])
    assert Appointment.objects.count() == 1
    assert not AppointmentSeries.objects.exists()

    rows = _repeat(world, services.Repeat(interval_days=7, count=4), allow_overlap=True)
    assert len(rows) == 4


@pytest.mark.parametrize(
    "repeat",
    [
        services.Repeat(interval_days=7, count=53),
        services.Repeat(interval_days=7, until=dt.date(2028, 12, 1)),
        services.Repeat(interval_days=7, until=dt.date(2027, 10, 1)),
    ],
)
def test_a_repeat_is_bounded(world, now, repeat):
    with pytest.raises(ValidationError):
        _repeat(world, repeat)
    assert not Appointment.objects.exists()


def test_only_the_care_team_books_a_repeat(world, now):
    with pytest.raises(PermissionDenied):
        services.appointments_book_repeating(
            actor=world.p.bob, client=world.dana, clinician=world.alice_m,
            first_date=dt.date(2027, 10, 19), local_time=LONDON_10,
        )  # fmt: skip
    assert not Appointment.objects.exists()


# The contract's sessions ----------------------------------------------------------------


def _contract_series(world, **kw):
    kw.setdefault("weekday", 1)
    kw.setdefault("local_time", LONDON_10)
    kw.setdefault("first_date", dt.date(2027, 10, 11))
    return services.series_generate_from_contract(actor=world.p.alice, course=world.course, **kw)


def _future_booked(course) -> int:
    return Appointment.objects.filter(
        course=course, kind="session", status="booked", session__isnull=True
    ).count()


def test_contract_12_held_2_booked_1_books_9(personas, now):
    from openipt.scheduling.tests.conftest import World

    world = World(personas, make_course(personas, sessions=12))
    _session(world, 1, utc(2027, 9, 14, 9, 0))
    attended = book(world, utc(2027, 9, 21, 9, 0))  # held, with its appointment
    services.appointment_set_outcome(
        actor=personas.alice, appointment=attended, version=1, status="attended"
    )
    _session(world, 2, utc(2027, 9, 21, 9, 0))
    book(world, utc(2027, 10, 5, 9, 0))  # booked, still to come
    dropped = book(world, utc(2027, 10, 12, 9, 0))  # booked, then cancelled: frees its place
    services.appointment_cancel(
        actor=personas.alice, appointment=dropped, version=1, reason="client away"
    )

    tally = services.contract_tally(world.course)
    assert (tally.planned, tally.held, tally.missed, tally.booked, tally.to_book) == (
        12,
        2,
        0,
        1,
        9,
    )

    series = _contract_series(world)
    assert series.count == 9
    assert services.contract_tally(world.course).to_book == 0
    with pytest.raises(ValidationError, match="already held or booked"):
        _contract_series(world)


MIXES = list(itertools.product(range(3), range(3), range(2), range(2)))


@pytest.mark.parametrize(("held", "booked", "cancelled", "missed"), MIXES)
def test_booking_from_the_contract_never_exceeds_its_sessions(
    personas, now, held, booked, cancelled, missed
):
    from openipt.scheduling.tests.conftest import World

    world = World(personas, make_course(personas, sessions=5))
    number = itertools.count(1)
    for week in range(held):
        _session(world, next(number), utc(2027, 8, 3 + 7 * week, 9, 0))
    for week in range(missed):
        _session(world, next(number), utc(2027, 9, 1 + 7 * week, 9, 0), attendance="no_show")
    for week in range(booked):
        book(world, utc(2027, 10, 5 + 7 * week, 9, 0))
    for week in range(cancelled):
        row = book(world, utc(2027, 10, 6 + 7 * week, 9, 0))
        services.appointment_cancel(actor=personas.alice, appointment=row, version=1, reason="ill")
    remaining = 5 - held - missed - booked

    if remaining <= 0:
        with pytest.raises(ValidationError):
            _contract_series(world, first_date=dt.date(2027, 11, 1))
    else:
        series = _contract_series(world, first_date=dt.date(2027, 11, 1))
        assert series.count == remaining

    used = Session.objects.filter(course=world.course, number__gte=1).count()
    assert used + _future_booked(world.course) == max(5, held + missed + booked)
    assert services.contract_tally(world.course).to_book == 0


def test_a_closed_course_books_no_more_sessions(world, now):
    from openipt.treatment.models import Course

    Course.objects.filter(pk=world.course.pk).update(status=Course.Status.ENDED_EARLY)
    world.course.refresh_from_db()

    with pytest.raises(ValidationError, match="closed"):
        _contract_series(world)
    assert not Appointment.objects.exists()


def test_a_count_above_the_remainder_is_refused(world, now):
    book(world, utc(2027, 10, 5, 9, 0))

    with pytest.raises(ValidationError) as exc:
        _contract_series(world, count=4)

    assert "Only 3 sessions" in " ".join(exc.value.message_dict["count"])
    assert _contract_series(world, count=2).count == 2
    assert services.contract_tally(world.course).to_book == 1


def test_a_flexible_contract_books_at_the_chosen_interval(personas, now):
    from openipt.scheduling.tests.conftest import World

    world = World(personas, make_course(personas, sessions=3, frequency="flexible"))
    with pytest.raises(ValidationError, match="flexible"):
        _contract_series(world)

    series = _contract_series(world, interval_days=14)
    days = [_local(a).date() for a in series.appointments.order_by("starts_at")]
    assert days == [dt.date(2027, 10, 12), dt.date(2027, 10, 26), dt.date(2027, 11, 9)]


def test_defaults_follow_the_usual_day_and_time_after_the_last_session(world, now):
    book(world, utc(2027, 10, 6, 13, 30))  # Wednesday 14:30 BST
    book(world, utc(2027, 10, 13, 13, 30), duration_minutes=45)
    book(world, utc(2027, 10, 8, 8, 0))  # a one-off Friday
    _session(world, 1, utc(2027, 9, 29, 13, 30))

    d = services.series_defaults(world.course)

    assert (d.weekday, d.local_time, d.interval_days) == (2, dt.time(14, 30), 7)
    assert d.first_date == dt.date(2027, 10, 20)  # one week after the last one
    assert d.duration_minutes == 45


def test_defaults_with_nothing_booked_start_tomorrow(world, now):
    d = services.series_defaults(world.course)

    assert d.first_date == dt.date(2027, 10, 2)
    assert d.local_time == dt.time(10, 0)


# Moving or cancelling one, or the rest of a series --------------------------------------


@pytest.fixture
def weekly(world, now):
    """Four Tuesdays at 10:00 London, across the October clock change."""
    return _repeat(world, services.Repeat(interval_days=7, count=4))


def test_moving_one_occurrence_leaves_the_others(world, weekly):
    first, second, third, fourth = weekly

    services.appointment_reschedule(
        actor=world.p.alice, appointment=second, version=1,
        starts_at=utc(2027, 10, 27, 14, 0), duration_minutes=50,
    )  # fmt: skip

    rows = {a.pk: a for a in Appointment.objects.all()}
    assert rows[second.pk].starts_at == utc(2027, 10, 27, 14, 0)
    for other in (first, third, fourth):
        assert (rows[other.pk].starts_at, rows[other.pk].version) == (other.starts_at, 1)


def test_moving_the_rest_shifts_each_by_the_same_local_time_across_the_clock_change(world, weekly):
    first, second, third, fourth = weekly
    # Tuesday 26 October 10:00 BST -> Wednesday 27 October 11:30 BST
    moved = services.series_reschedule_following(
        actor=world.p.alice, appointment=second, version=1,
        starts_at=utc(2027, 10, 27, 10, 30), duration_minutes=50,
    )  # fmt: skip

    assert len(moved) == 3
    rows = {a.pk: a for a in Appointment.objects.all()}
    assert rows[first.pk].starts_at == first.starts_at  # earlier: untouched
    assert [_local(rows[a.pk]) for a in (second, third, fourth)] == [
        dt.datetime(2027, 10, 27, 11, 30, tzinfo=LONDON),
        dt.datetime(2027, 11, 3, 11, 30, tzinfo=LONDON),  # GMT now: still 11:30 local
        dt.datetime(2027, 11, 10, 11, 30, tzinfo=LONDON),
    ]
    assert rows[third.pk].starts_at == utc(2027, 11, 3, 11, 30)


def test_moving_the_rest_onto_a_clash_moves_nothing(world, weekly):
    _first, second, _third, fourth = weekly
    book(world, utc(2027, 11, 9, 12, 0), course=None, kind="consultation")  # 12:00 GMT

    with pytest.raises(ValidationError) as exc:  # 10:00 -> 12:00 local each week
        services.series_reschedule_following(
            actor=world.p.alice, appointment=second, version=1,
            starts_at=utc(2027, 10, 26, 11, 0), duration_minutes=50,
        )  # fmt: skip

    assert "Tuesday 9 November 2027, 12:00" in " ".join(exc.value.message_dict["starts_at"])
    fourth.refresh_from_db()
    assert fourth.version == 1


def test_cancelling_the_rest_keeps_earlier_ones_and_stores_the_reason(world, weekly):
    first, _second, third, fourth = weekly

    count = services.series_cancel_following(
        actor=world.p.alice, appointment=third, version=1, reason="  moving away  ", late=True
    )

    assert count == 2
    rows = {a.pk: a for a in Appointment.objects.all()}
    assert [rows[a.pk].status for a in weekly] == [
        "booked", "booked", "late_cancellation", "cancelled",
    ]  # fmt: skip
    assert {rows[third.pk].cancellation_reason, rows[fourth.pk].cancellation_reason} == {
        "moving away"
    }
    assert rows[first.pk].cancellation_reason == ""


def test_supervisor_cannot_move_or_cancel_the_rest(world, weekly):
    with pytest.raises(PermissionDenied):
        services.series_cancel_following(
            actor=world.p.bob, appointment=weekly[0], version=1, reason="x"
        )
    with pytest.raises(PermissionDenied):
        services.series_reschedule_following(
            actor=world.p.bob, appointment=weekly[0], version=1,
            starts_at=utc(2027, 10, 20, 9, 0), duration_minutes=50,
        )  # fmt: skip
    assert set(Appointment.objects.values_list("status", "version")) == {("booked", 1)}


# The ending: a course's future appointments ---------------------------------------------


def test_course_future_appointments_are_the_booked_ones_to_come_soonest_first(world, now):
    later = book(world, utc(2027, 10, 20, 9, 0))
    sooner = book(world, utc(2027, 10, 6, 9, 0))
    book(world, utc(2027, 9, 1, 9, 0))  # past
    cancelled = book(world, utc(2027, 10, 13, 9, 0))
    services.appointment_cancel(actor=world.p.alice, appointment=cancelled, version=1)
    book(world, utc(2027, 10, 27, 9, 0), course=None, kind="consultation")  # no course

    assert services.course_future_appointments(world.course) == [sooner, later]


def test_cancel_future_cancels_each_audited_with_reminders_stopped(world, now, settings):
    settings.OPENIPT_REMINDER_LEAD_HOURS = [24]
    settings.OPENIPT_REMINDER_CHANNELS = ["email"]
    rows = [book(world, utc(2027, 10, 5 + 7 * i, 9, 0)) for i in range(3)]
    past = book(world, utc(2027, 9, 28, 9, 0))
    assert Reminder.objects.filter(cancelled_at__isnull=True, sent_at__isnull=True).count() >= 3
    before = AuditEvent.objects.count()

    count = services.appointments_cancel_future(
        actor=world.p.alice, course=world.course, reason="Course concluded"
    )

    assert count == 3
    for row in rows:
        row.refresh_from_db()
        assert (row.status, row.cancellation_reason) == ("cancelled", "Course concluded")
    past.refresh_from_db()
    assert past.status == "booked"
    events = AuditEvent.objects.order_by("id")[before:]
    assert [e.action for e in events] == ["update"] * 3
    assert not Reminder.objects.filter(
        target_id__in=[r.pk for r in rows], cancelled_at__isnull=True, sent_at__isnull=True
    ).exists()
    assert services.course_future_appointments(world.course) == []


def test_cancel_future_rechecks_permission_and_changes_nothing(world, now):
    row = book(world, utc(2027, 10, 5, 9, 0))

    for outsider in (world.p.bob, world.p.charlie, world.p.adam):
        with pytest.raises(PermissionDenied):
            services.appointments_cancel_future(actor=outsider, course=world.course, reason="x")

    row.refresh_from_db()
    assert row.status == "booked"


# "Write the note" -----------------------------------------------------------------------


def test_writing_the_note_creates_the_next_session_once(world, now):
    _session(world, 1, utc(2027, 9, 21, 9, 0))
    appointment = book(world, NOW - dt.timedelta(minutes=10))

    session, created = services.appointment_note_open(actor=world.p.alice, appointment=appointment)
    again, created_again = services.appointment_note_open(
        actor=world.p.alice, appointment=appointment
    )

    assert (created, created_again) == (True, False)
    assert again.pk == session.pk
    assert (session.number, session.starts_at, session.attendance) == (
        2, appointment.starts_at, "attended",
    )  # fmt: skip
    appointment.refresh_from_db()
    assert (appointment.session_id, appointment.status) == (session.pk, "attended")
    assert Session.objects.filter(course=world.course).count() == 2


def test_the_note_can_start_within_the_hour_but_not_days_ahead(world, now):
    soon = book(world, NOW + dt.timedelta(minutes=45))
    later = book(world, utc(2027, 10, 5, 9, 0))

    session, _created = services.appointment_note_open(actor=world.p.alice, appointment=soon)
    soon.refresh_from_db()
    assert soon.status == "booked"  # it has not started: the outcome is still to come
    with pytest.raises(ValidationError, match="on the day"):
        services.appointment_note_open(actor=world.p.alice, appointment=later)
    assert Session.objects.filter(course=world.course).count() == 1
    assert session.number == 1


def test_a_recorded_session_at_the_same_time_is_opened_not_duplicated(world, now):
    appointment = book(world, NOW - dt.timedelta(hours=2))
    existing = _session(world, 1, NOW - dt.timedelta(hours=2))

    session, created = services.appointment_note_open(actor=world.p.alice, appointment=appointment)

    assert (session.pk, created) == (existing.pk, False)
    appointment.refresh_from_db()
    assert appointment.session_id == existing.pk


def test_no_note_for_a_consultation_or_a_cancelled_appointment(world, now):
    consultation = book(world, NOW, course=None, kind="consultation")
    cancelled = book(world, NOW - dt.timedelta(days=1))
    services.appointment_cancel(actor=world.p.alice, appointment=cancelled, version=1)
    cancelled.refresh_from_db()

    with pytest.raises(ValidationError, match="Only a session"):
        services.appointment_note_open(actor=world.p.alice, appointment=consultation)
    with pytest.raises(ValidationError, match="did not take place"):
        services.appointment_note_open(actor=world.p.alice, appointment=cancelled)
    assert not Session.objects.exists()
