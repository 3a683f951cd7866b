"""The client list and the caseload show what clinicians scan for (issue 9 part 7): the next
appointment in the practice's time zone, the last session, the latest score on the course's
primary measure with its direction of change, and an open risk alert; at a fixed number of
queries whatever the number of rows; without clinical columns for an administrator."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from openipt.accounts.models import Membership
from openipt.audit.models import AuditEvent
from openipt.care.glance import trend
from openipt.clients.models import CareTeamMember
from openipt.clients.tests.helpers import bulk_clients
from openipt.measures import services as measures
from openipt.measures.models import Administration, Instrument, RiskAlert
from openipt.measures.scoring import answers_from_entries
from openipt.scheduling import services as scheduling
from openipt.scheduling.models import Appointment
from openipt.treatment.models import Course, Session
from openipt.treatment.tests.factories import make_course, make_session

UTC = dt.UTC
# A Monday in British Summer Time: London is UTC+1, so 13:00 UTC shows as 14:00.
NOW = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _phq9(personas, course, digits: str, *, days_ago: int, session=None):
    instrument = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    answers = answers_from_entries(instrument.parsed, [int(c) for c in digits])
    with time_machine.travel(NOW - dt.timedelta(days=days_ago), tick=False):
        return measures.administration_enter(
            actor=personas.alice,
            course=course,
            instrument=instrument,
            answers=answers,
            session=session,
        )


def _book(personas, client, at: dt.datetime, **kwargs):
    return scheduling.appointment_book(
        actor=personas.alice,
        client=client,
        clinician=Membership.objects.get(user=personas.alice),
        starts_at=at,
        **kwargs,
    )


@pytest.fixture
def dana_course(personas):
    """Dana's course: three sessions, PHQ-9 17 -> 15 -> 12, a booked and a cancelled
    appointment ahead, a booked one in the past."""
    course = make_course(personas.alice, personas.dana, planned_sessions=12)
    for number, when in ((1, 40), (2, 33), (3, 5)):
        session = make_session(
            personas.alice, course, number, starts_at=NOW - dt.timedelta(days=when)
        )
        digits = {1: "333332000", 2: "333321000", 3: "222222000"}[number]
        _phq9(personas, course, digits, days_ago=when, session=session)
    cancelled = _book(personas, personas.dana, dt.datetime(2026, 6, 2, 9, 0, tzinfo=UTC))
    Appointment.objects.filter(pk=cancelled.pk).update(status=Appointment.Status.CANCELLED)
    _book(personas, personas.dana, dt.datetime(2026, 6, 3, 13, 0, tzinfo=UTC), course=course)
    _book(personas, personas.dana, dt.datetime(2026, 6, 10, 13, 0, tzinfo=UTC), course=course)
    past = Appointment.objects.get(starts_at=dt.datetime(2026, 6, 10, 13, 0, tzinfo=UTC))
    Appointment.objects.filter(pk=past.pk).update(
        starts_at=NOW - dt.timedelta(days=2), ends_at=NOW - dt.timedelta(days=2, minutes=-50)
    )
    return course


# --- what the rows show -------------------------------------------------------------------


def test_client_list_shows_next_appointment_last_session_and_score_trend(
    alice_client, personas, dana_course
):
    page = alice_client.get(reverse("clients:list")).text
    assert "Next appointment" in page
    # Booked for 13:00 UTC on Wednesday 3 June: 14:00 in London; the cancelled appointment
    # on the 2nd and the past one never show.
    assert "Wed 3 Jun, 14:00" in page
    assert "2 Jun" not in page
    assert "Session 3" in page
    assert "27 May 2026" in page  # session 3, five days ago
    assert "PHQ-9 12" in page
    assert "Moderate" in page
    assert "down 3 since last time" in page
    assert "down 5 since the start" in page
    assert "↓" in page


def test_caseload_shows_the_same_columns(alice_client, personas, dana_course):
    page = alice_client.get(reverse("treatment:caseload")).text
    assert "Wed 3 Jun, 14:00" in page
    assert "3 of 12" in page
    assert "27 May 2026" in page
    assert "PHQ-9 12" in page
    assert "down 5 since the start" in page


def test_no_change_and_a_first_score_are_said_in_words(alice_client, personas):
    course = make_course(personas.alice, personas.dana)
    _phq9(personas, course, "111111000", days_ago=9)
    page = alice_client.get(reverse("clients:list")).text
    assert "PHQ-9 6" in page
    assert "first score" in page
    _phq9(personas, course, "111111000", days_ago=2)
    page = alice_client.get(reverse("clients:list")).text
    assert "no change since last time" in page
    assert "since the start" not in page  # the previous score is the first one
    assert "None booked" in page


def test_the_glance_reads_latest_previous_and_first_of_the_primary_measure_only(personas):
    """Many scores, and another course's primary measure on this one's records: the glance
    takes the newest two and the oldest of each course's own primary measure."""
    from openipt.care.glance import client_glances

    course = make_course(personas.alice, personas.dana)
    for days_ago, digits in ((50, "333333300"), (40, "333333000"), (30, "333330000")):
        _phq9(personas, course, digits, days_ago=days_ago)
    for days_ago, digits in ((20, "222200000"), (10, "111100000")):
        _phq9(personas, course, digits, days_ago=days_ago)
    score = client_glances(personas.alice, [personas.dana.pk])[personas.dana.pk].score
    assert score is not None
    assert (score.instrument, score.total) == ("PHQ-9", "4")
    assert score.since_last is not None
    assert score.since_last.points == Decimal(-4)
    assert score.since_start is not None
    assert score.since_start.points == Decimal(-17)
    assert client_glances(personas.alice, []) == {}


def test_today_and_tomorrow_are_named(alice_client, personas):
    _book(personas, personas.dana, dt.datetime(2026, 6, 1, 15, 30, tzinfo=UTC))
    assert "Today, 16:30" in alice_client.get(reverse("clients:list")).text
    Appointment.objects.update(
        starts_at=dt.datetime(2026, 6, 2, 7, 0, tzinfo=UTC),
        ends_at=dt.datetime(2026, 6, 2, 7, 50, tzinfo=UTC),
    )
    assert "Tomorrow, 08:00" in alice_client.get(reverse("clients:list")).text


def test_consultation_is_named_and_a_client_without_course_has_no_score(alice_client, personas):
    _book(
        personas,
        personas.dana,
        dt.datetime(2026, 6, 4, 9, 0, tzinfo=UTC),
        kind=Appointment.Kind.CONSULTATION,
    )
    page = alice_client.get(reverse("clients:list")).text
    assert "Thu 4 Jun, 10:00" in page
    assert "(consultation)" in page
    assert "No session yet" in page
    assert "No score yet" in page


def test_trend_words_and_arrows():
    down = trend(Decimal(12), Decimal(17), since="start")
    assert (down.arrow, down.words, down.points) == ("↓", "down 5 since the start", -5)
    up = trend(Decimal("12.5"), Decimal(10), since="last")
    assert (up.arrow, up.words) == ("↑", "up 2.5 since last time")
    same = trend(Decimal(8), Decimal(8), since="last")
    assert (same.arrow, same.words) == ("→", "no change since last time")


# --- risk alerts: shown to whom must act on them ------------------------------------------


def test_open_alert_is_shown_to_the_clinician_not_to_the_supervisor(client, personas):
    course = make_course(personas.alice, personas.dana)
    _phq9(personas, course, "111111002", days_ago=1)  # item 9 answered: an alert is raised
    assert RiskAlert.objects.filter(status=RiskAlert.Status.OPEN).count() == 1
    client.force_login(personas.alice)
    assert "Open risk alert" in client.get(reverse("clients:list")).text
    assert "Open risk alert" in client.get(reverse("treatment:caseload")).text
    client.force_login(personas.bob)  # reads Dana as Alice's supervisor; not escalated to him
    page = client.get(reverse("clients:list")).text
    assert "Example, Dana" in page
    assert "Open risk alert" not in page
    RiskAlert.objects.update(status=RiskAlert.Status.ACKNOWLEDGED, acknowledged_at=NOW)
    client.force_login(personas.alice)
    assert "Open risk alert" not in client.get(reverse("clients:list")).text


def test_caseload_puts_an_open_alert_first_by_default(alice_client, personas):
    calm = make_course(personas.alice, personas.dana)
    other = _client(personas, "Zoe", "Zed")
    worried = make_course(personas.alice, other)
    _phq9(personas, worried, "111111002", days_ago=1)
    rows = alice_client.get(reverse("treatment:caseload")).context["rows"]
    assert [r.course.pk for r in rows] == [worried.pk, calm.pk]
    by_name = alice_client.get(reverse("treatment:caseload"), {"sort": "client"}).context["rows"]
    assert [r.course.pk for r in by_name] == [calm.pk, worried.pk]
    flagged = alice_client.get(reverse("treatment:caseload"), {"flagged": "1"}).context["rows"]
    assert worried.pk in [r.course.pk for r in flagged]


def _client(personas, given, family):
    from openipt.testing.personas import make_client

    return make_client(personas.practice, personas.alice, given=given, family=family)


def test_caseload_sorts_by_next_appointment(alice_client, personas):
    later = make_course(personas.alice, personas.dana)
    soon_client = _client(personas, "Sam", "Soon")
    soon = make_course(personas.alice, soon_client)
    none = make_course(personas.alice, _client(personas, "Nora", "Nothing"))
    _book(personas, personas.dana, dt.datetime(2026, 6, 9, 9, 0, tzinfo=UTC))
    _book(personas, soon_client, dt.datetime(2026, 6, 2, 9, 0, tzinfo=UTC))
    rows = alice_client.get(reverse("treatment:caseload"), {"sort": "next"}).context["rows"]
    assert [r.course.pk for r in rows] == [soon.pk, later.pk, none.pk]


@pytest.mark.parametrize("sort", ["client", "start", "session", "phase", "flags", "next", "x"])
def test_every_caseload_sort_still_works(alice_client, dana_course, sort):
    response = alice_client.get(reverse("treatment:caseload"), {"sort": sort})
    assert response.status_code == 200
    assert "Dana Example" in response.text


# --- who sees the columns -----------------------------------------------------------------


def test_admin_on_the_care_team_sees_no_clinical_columns(client, personas, dana_course):
    adam = Membership.objects.get(user=personas.adam)
    CareTeamMember.objects.create(
        client=personas.dana, member=adam, role="other", added_by=personas.alice
    )
    client.force_login(personas.adam)
    page = client.get(reverse("clients:list")).text
    assert "Example, Dana" in page  # what the list showed an administrator before
    for clinical in ("Next appointment", "Latest score", "PHQ-9", "Session 3", "14:00"):
        assert clinical not in page


def test_other_practice_sees_none_of_alices_clients(client, personas, dana_course):
    client.force_login(personas.charlie)
    page = client.get(reverse("clients:list"), {"status": "any"}).text
    assert "Example, Dana" not in page
    assert "PHQ-9" not in page
    assert "Dana Example" not in client.get(reverse("treatment:caseload")).text


# --- audit: one list read, exactly as before ----------------------------------------------


def test_each_list_page_is_one_read(alice_client, dana_course):
    for url, object_type in (
        (reverse("clients:list"), "clients.client_list"),
        (reverse("treatment:caseload"), "treatment.caseload"),
    ):
        before = AuditEvent.objects.count()
        alice_client.get(url)
        events = list(AuditEvent.objects.order_by("id")[before:])
        assert [(e.action, e.object_type) for e in events] == [("read", object_type)]


# --- query counts do not grow with the rows (docs/quality.md P1) ---------------------------


def _fill(personas, count: int, family: str) -> None:
    """``count`` clients, each with an open course, two sessions, three PHQ-9 totals, an
    upcoming and a cancelled appointment: straight through the ORM, for speed."""
    alice = personas.alice
    member = Membership.objects.get(user=alice)
    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    for client in bulk_clients(alice, count, family=family):
        course = Course.objects.create(
            client=client,
            format="ipt",
            planned_sessions=12,
            start_date=dt.date(2026, 4, 1),
            status=Course.Status.ACTIVE,
            clinician=member,
            created_by=alice,
            updated_by=alice,
        )
        for number in (1, 2):
            Session.objects.create(
                course=course,
                number=number,
                starts_at=NOW - dt.timedelta(days=20 - 7 * number),
                created_by=alice,
                updated_by=alice,
            )
        for days, total in ((30, 18), (14, 15), (3, 11)):
            Administration.objects.create(
                client=client,
                course=course,
                instrument=phq9,
                mode=Administration.Mode.CLINICIAN_ENTERED,
                status=Administration.Status.COMPLETED,
                total=total,
                band="moderate",
                completed_at=NOW - dt.timedelta(days=days),
            )
        for hours, status in ((30, Appointment.Status.BOOKED), (5, Appointment.Status.CANCELLED)):
            Appointment.objects.create(
                practice_id=client.practice_id,
                client=client,
                clinician=member,
                course=course,
                starts_at=NOW + dt.timedelta(hours=hours),
                ends_at=NOW + dt.timedelta(hours=hours, minutes=50),
                status=status,
                created_by=alice,
                updated_by=alice,
            )


@pytest.mark.parametrize("url", ["clients:list", "treatment:caseload"])
def test_query_count_is_the_same_for_3_and_30_rows(
    alice_client, personas, settings, django_assert_max_num_queries, url
):
    settings.OPENIPT_CLIENTS_PER_PAGE = 50
    path = reverse(url)
    _fill(personas, 3, "Few")
    alice_client.get(path)  # warm the session and caches
    with django_assert_max_num_queries(100) as few:
        page = alice_client.get(path).text
    assert page.count("down 7 since the start") == 3
    _fill(personas, 27, "Many")
    with django_assert_max_num_queries(len(few)):
        page = alice_client.get(path).text
    assert page.count("down 7 since the start") == 30
    assert page.count("down 4 since last time") == 30
    assert page.count("Tomorrow, 15:00") == 30  # 30 hours on, in London summer time
