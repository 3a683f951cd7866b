"""The caseload reads each course's summary row (docs/adr/0025-course-summary.md): the same
rows and the same page as from the full records, at the same number of queries for 1 and
for 50 courses, and ``rebuild_course_summaries`` rebuilds or checks the rows."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from openipt.care import selectors
from openipt.measures import services as measures
from openipt.measures.models import Instrument
from openipt.measures.scoring import answers_from_entries
from openipt.measures.selectors import course_off_track, open_alerts_by_course
from openipt.measures.summary import (
    summaries_differing,
    summaries_rebuild,
)
from openipt.testing.personas import count_queries, make_client
from openipt.treatment import services
from openipt.treatment.models import Course, CourseSummary, Session
from openipt.treatment.summary import course_summary_refresh
from openipt.treatment.tests.factories import START, make_course, make_person, make_session

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _score(personas, course, code, entries, session=None):
    instrument = Instrument.objects.get(code=code, practice__isnull=True)
    return measures.administration_enter(
        actor=personas.alice,
        course=course,
        instrument=instrument,
        answers=answers_from_entries(instrument.parsed, entries),
        session=session,
    )


@pytest.fixture
def caseload_courses(personas):
    """Three open courses unlike each other: one well under way with scores (one of them
    raising an alert), a maintenance course after a closed acute one, and one just begun."""
    alice = personas.alice
    personas.practice.measure_every_fourth_session = True
    personas.practice.save(update_fields=["measure_every_fourth_session"])
    busy = make_course(alice, personas.dana)
    services.contract_record(
        actor=alice,
        course=busy,
        data=services.ContractData(
            planned_sessions=12, frequency="weekly", agreed_on=START, focus_areas=("grief",)
        ),
    )
    make_person(alice, busy, "Sam")
    for number in range(1, 7):
        session = make_session(
            alice,
            busy,
            number,
            mood=4,
            events_since_last="An argument",
            risk_check=Session.Risk.CONCERNS if number == 6 else Session.Risk.NO_CONCERNS,
        )
        _score(personas, busy, "PHQ-9", [2] * 8 + [0], session)
    _score(personas, busy, "GAD-7", [2] * 7)
    _score(personas, busy, "PHQ-9", [3] * 9)  # the item about self-harm: an open alert
    services.phase_task_set(
        actor=alice,
        course=busy,
        data=services.TaskMarkData(task_code="initial.inventory", status="done"),
    )
    other = make_client(personas.practice, alice, given="Ola", family="Acute")
    acute = make_course(alice, other, start_date=START - dt.timedelta(days=200))
    _score(personas, acute, "PHQ-9", [1] * 8 + [0])
    Course.objects.filter(pk=acute.pk).update(status=Course.Status.CONCLUDED)
    maintenance = services.course_start_maintenance(
        actor=alice,
        previous=acute,
        clinician=personas.membership(alice),
        data=services.MaintenanceData(start_date=START),
    )
    make_session(alice, maintenance, 1)
    third = make_client(personas.practice, alice, given="Una", family="New")
    new = make_course(alice, third)
    return [busy, maintenance, new]


def _records_rows(user, courses):
    alerts = open_alerts_by_course(c.pk for c in courses)
    return {
        c.pk: selectors.records_row(
            selectors.with_course_records(c), open_alerts=alerts.get(c.pk, [])
        )
        for c in courses
    }


def test_the_caseload_rows_from_summaries_equal_the_rows_from_the_records(
    personas, caseload_courses
):
    rows = {row.course.pk: row for row in selectors.caseload(personas.alice)}
    assert set(rows) == {c.pk for c in caseload_courses}
    for pk, expected in _records_rows(personas.alice, caseload_courses).items():
        row = rows[pk]
        assert row.latest_session == expected.latest_session
        assert row.risk_concerns == expected.risk_concerns
        assert row.guidance == expected.guidance
        assert row.off_track == expected.off_track == course_off_track(expected.course)
    busy = rows[caseload_courses[0].pk]
    assert busy.latest_session == 6
    assert busy.risk_concerns
    assert busy.risk_count == 1  # the open alert heads the guidance
    assert busy.off_track is not None


def _page(client) -> str:
    """The caseload page without its one-time tokens."""
    html = client.get(reverse("treatment:caseload")).content.decode()
    return re.sub(r'(CSRFToken": "|value=")[\w-]{20,}', r"\1-", html)


def test_a_course_without_a_complete_summary_is_read_from_its_records(
    alice_client, personas, caseload_courses
):
    from_summaries = _page(alice_client)
    busy, maintenance, new = caseload_courses
    CourseSummary.objects.filter(course=busy).delete()
    CourseSummary.objects.filter(course=new).update(measures=None)  # scores not yet computed
    CourseSummary.objects.filter(course_id=maintenance.follows_id).delete()
    assert _page(alice_client) == from_summaries
    rows = {row.course.pk: row for row in selectors.caseload(personas.alice)}
    assert rows[busy.pk].latest_session == 6
    summaries_rebuild()
    assert CourseSummary.objects.count() == Course.objects.count()
    assert _page(alice_client) == from_summaries


def _open_courses(personas, course, n):
    """``n`` more open courses, written straight through the ORM (fast), then summarised."""
    alice = personas.alice
    for i in range(n):
        client = make_client(personas.practice, alice, given=f"C{i}", family="Load")
        other = Course.objects.create(
            client=client,
            format="ipt",
            planned_sessions=12,
            start_date=START,
            clinician=course.clinician,
            created_by=alice,
            updated_by=alice,
        )
        for number in (1, 2):
            Session.objects.create(
                course=other,
                number=number,
                starts_at=dt.datetime(2026, 1, 5 + 7 * number, 10, tzinfo=dt.UTC),
                created_by=alice,
                updated_by=alice,
            )
    summaries_rebuild()


def test_the_caseload_selector_costs_the_same_queries_for_1_and_50_courses(personas):
    course = make_course(personas.alice, personas.dana)
    make_session(personas.alice, course, 1)
    with count_queries() as one:
        assert len(selectors.caseload(personas.alice)) == 1
    _open_courses(personas, course, 49)
    with count_queries() as fifty:
        assert len(selectors.caseload(personas.alice)) == 50
    assert len(fifty) == len(one)


def test_the_caseload_page_costs_the_same_queries_for_1_and_50_courses(alice_client, personas):
    url = reverse("treatment:caseload")
    course = make_course(personas.alice, personas.dana)
    make_session(personas.alice, course, 1)
    alice_client.get(url)  # warm the session and caches
    with count_queries() as one:
        alice_client.get(url)
    _open_courses(personas, course, 49)
    with count_queries() as fifty:
        page = alice_client.get(url).content.decode()
    assert page.count("Load</a>") == 49
    assert len(fifty) == len(one)


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command("rebuild_course_summaries", *args, stdout=out)
    return out.getvalue()


def test_the_rebuild_command_rebuilds_and_checks_every_row(personas, caseload_courses):
    assert "Every course summary matches its records." in _command("--check")
    busy = caseload_courses[0]
    # Written past the services: the stored row no longer matches the records.
    Session.objects.filter(course=busy, number=6).update(risk_check=Session.Risk.NO_CONCERNS)
    CourseSummary.objects.filter(course=caseload_courses[2]).delete()
    with pytest.raises(CommandError) as refused:
        _command("--check")
    assert refused.value.returncode == 1
    assert "2 course summaries differ." in str(refused.value)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("rebuild_course_summaries", "--check", stdout=out)
    assert f"course {busy.pk}: records, latest_risk_check" in out.getvalue()
    assert f"course {caseload_courses[2].pk}: records, measures" in out.getvalue()
    assert f"Rebuilt {Course.objects.count()} course summaries." in _command()
    assert "Every course summary matches its records." in _command("--check")
    row = next(r for r in selectors.caseload(personas.alice) if r.course.pk == busy.pk)
    assert not row.risk_concerns


def test_missing_builds_only_the_rows_that_are_not_there(personas, caseload_courses):
    """After an upgrade (``make run``): courses without a row get one; others are left."""
    busy, gone = caseload_courses[0], caseload_courses[2]
    Session.objects.filter(course=busy, number=6).update(risk_check=Session.Risk.NO_CONCERNS)
    CourseSummary.objects.filter(course=gone).delete()
    assert "Rebuilt 1 course summaries." in _command("--missing")
    assert CourseSummary.objects.filter(course=gone).exists()
    stale = [pk for pk, _ in summaries_differing()]
    assert stale == [busy.pk]  # written past the services, and not missing: left as it was
    assert "Rebuilt 0 course summaries." in _command("--missing")


def test_a_refresh_without_a_row_makes_one(personas):
    course = make_course(personas.alice, personas.dana)
    make_session(personas.alice, course, 1)
    CourseSummary.objects.filter(course=course).delete()
    course_summary_refresh(course_id=course.pk)  # the records part only: scores still to come
    assert CourseSummary.objects.get(course=course).measures is None
    assert selectors.caseload(personas.alice)[0].latest_session == 1
    CourseSummary.objects.filter(course=course).delete()
    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    measures.administration_enter(  # a score's write on a course without a row: the whole row
        actor=personas.alice, course=course, instrument=phq9,
        answers=answers_from_entries(phq9.parsed, [1, 1, 1, 1, 1, 1, 0, 0, 0]),
    )  # fmt: skip
    assert "Every course summary matches its records." in _command("--check")


def test_a_questionnaire_outside_any_course_touches_no_summary(personas):
    course = make_course(personas.alice, personas.dana)
    gad7 = Instrument.objects.get(code="GAD-7", practice__isnull=True)
    sent = measures.administration_assign(
        actor=personas.alice, client=personas.dana, instrument=gad7, due_on=NOW.date()
    )
    measures.administration_complete(
        actor=personas.alice,
        administration=sent,
        answers=answers_from_entries(gad7.parsed, [1] * 7),
    )
    summary = CourseSummary.objects.get(course=course)
    assert summary.measures == {"depression": [], "anxiety": []}
    assert "Every course summary matches its records." in _command("--check")
