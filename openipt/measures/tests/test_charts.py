"""Slice 5: the course chart (server-side SVG) and its page cost."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse

from openipt.measures import services
from openipt.measures.charts import ChartPoint, PhaseMark, course_chart_svg
from openipt.measures.models import Instrument
from openipt.measures.progress import course_progress
from openipt.measures.tests.conftest import phq9_answers
from openipt.testing.personas import count_queries
from openipt.treatment.models import Session
from openipt.treatment.tests.factories import make_course, make_session

pytestmark = pytest.mark.django_db

SCORES = ["333333220", "333322220", "332222220", "322222220", "222222220", "222222110",
          "222211110", "221111110", "211111110", "111111110", "111111000", "110000000"]  # fmt: skip


def _fill(personas, course, n):
    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    for number in range(1, n + 1):
        session = Session.objects.filter(course=course, number=number).first()
        session = session or make_session(personas.alice, course, number)
        services.administration_enter(
            actor=personas.alice, course=course, instrument=phq9, session=session,
            answers=phq9_answers(SCORES[number - 1]),
        )  # fmt: skip


def test_the_chart_names_bands_threshold_phases_and_points(personas, course):
    _fill(personas, course, 12)
    progress = course_progress(course)
    svg = str(progress.instruments[0].chart)
    assert svg.startswith("<svg")
    assert 'role="img"' in svg
    assert re.search(r"<title id=\"[^\"]+\">PHQ-9[^<]*over the course</title>", svg)
    assert "<desc" in svg
    assert "12 scores from session 1 to 12" in svg
    for label in ("None or minimal (0-4)", "Mild (5-9)", "Moderate (10-14)", "Severe (20-27)"):
        assert label in svg  # bands carry text, not colour alone
    assert "Reliable improvement (6 points from baseline)" in svg
    for phase in ("Initial phase", "Middle phase", "Termination phase"):
        assert phase in svg
    assert svg.count("<circle") == 12
    assert "<title>Session 1: 22, Severe" in svg
    assert "<title>Session 12: 2, None or minimal" in svg


def test_the_summary_reports_reliable_recovery(personas, course):
    _fill(personas, course, 12)
    summary = course_progress(course).instruments[0].summary
    assert (summary.baseline, summary.latest) == (22, 2)
    assert summary.reliable_recovery
    assert summary.response
    assert summary.remission


def test_chart_escapes_labels_and_draws_an_empty_course():
    definition = Instrument.objects.get(code="WHO-5").parsed
    svg = course_chart_svg(definition, [], last_session=0, phases=[PhaseMark(1, "<b>")])
    assert "&lt;b&gt;" in svg
    assert "<circle" not in svg
    assert "0 scores" in svg
    point = ChartPoint(session=2, total=Decimal(12), band_label="Poor", on=None)
    svg = course_chart_svg(definition, [point], last_session=4, reliable_change=2.5)
    assert "<title>Session 2: 12, Poor</title>" in svg
    assert "Reliable improvement (2.5 points from baseline)" in svg  # WHO-5: a rise


def test_measures_page_query_count_does_not_grow_with_administrations(alice_client, personas):
    small = make_course(personas.alice, personas.dana, planned_sessions=12)
    big = make_course(personas.alice, personas.dana, planned_sessions=12)
    _fill(personas, small, 1)
    _fill(personas, big, 12)

    def queries(course):
        with count_queries() as ctx:
            response = alice_client.get(reverse("measures:course-measures", args=[course.uuid]))
            assert response.status_code == 200
        return len(ctx), response.content.decode()

    queries(small)  # warm per-session caches
    (one, _), (twelve, page) = queries(small), queries(big)
    assert one == twelve
    assert page.count("<circle") == 12
    assert "<table>" in page


def test_the_course_overview_can_include_the_chart_with_one_tag(personas, course):
    _fill(personas, course, 2)
    html = Template("{% load measures_tags %}{% course_chart course %}").render(
        Context({"course": course})
    )
    assert "<svg" in html
    assert "Scores as a table" in html
    summary = Template("{% load measures_tags %}{% termination_summary course %}").render(
        Context({"course": course})
    )
    assert "Change over the course" in summary


def test_the_off_track_badge_costs_no_query_on_a_prefetched_course(personas, course):
    from openipt.care.selectors import COURSE_PREFETCH
    from openipt.treatment.models import Course

    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    for number, digits in ((1, "222222110"), (2, "333333110")):  # 16, then 22: worse by 6
        session = Session.objects.filter(course=course, number=number).first()
        services.administration_enter(
            actor=personas.alice, course=course, instrument=phq9, answers=phq9_answers(digits),
            session=session or make_session(personas.alice, course, number),
        )  # fmt: skip
    fetched = Course.objects.prefetch_related(*COURSE_PREFETCH).get(pk=course.pk)
    template = Template("{% load measures_tags %}{% off_track_badge course %}")
    with count_queries() as ctx:
        html = template.render(Context({"course": fetched}))
    assert len(ctx) == 0
    assert ">Not on track</span>" in html


def test_the_course_page_says_what_the_off_track_signal_is(alice_client, personas):
    course = make_course(personas.alice, personas.dana, planned_sessions=12)
    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    for number, digits in ((1, "111111110"), (2, "222222220")):  # 8, then 16
        services.administration_enter(
            actor=personas.alice, course=course, instrument=phq9, answers=phq9_answers(digits),
            session=make_session(personas.alice, course, number),
        )  # fmt: skip
    page = alice_client.get(reverse("measures:course-measures", args=[course.uuid])).content
    assert "Not on track — a prompt to review the plan, not a prediction" in page.decode()
    assert "reliably worse than the first score" in page.decode()


def _enter(personas, course, code: str, number: int, digits: str) -> None:
    from openipt.measures.scoring import answers_from_entries

    instrument = Instrument.objects.get(code=code, practice__isnull=True)
    session = Session.objects.filter(course=course, number=number).first()
    services.administration_enter(
        actor=personas.alice, course=course, instrument=instrument,
        answers=answers_from_entries(instrument.parsed, [int(d) for d in digits]),
        session=session or make_session(personas.alice, course, number),
    )  # fmt: skip


def _summary(course) -> str:
    return Template("{% load measures_tags %}{% termination_summary course %}").render(
        Context({"course": course})
    )


def test_the_ending_reports_recovery_over_depression_and_anxiety_together(personas, course):
    """PHQ-9 14 -> 6 recovers on its own, GAD-7 12 -> 9 is still a case: the ending says
    "not recovered" for the two together, names GAD-7, and never says "Reliable recovery"."""
    _enter(personas, course, "PHQ-9", 1, "222221110")  # 14
    _enter(personas, course, "GAD-7", 1, "2222211")  # 12
    _enter(personas, course, "PHQ-9", 2, "111111000")  # 6
    _enter(personas, course, "GAD-7", 2, "2221110")  # 9
    html = _summary(course)
    assert "Recovery: depression and anxiety together" in html
    assert "Not recovered; reliable improvement" in html
    assert "GAD-7 is still at or over its cut-off" in html
    assert "Reliable recovery" not in html
    assert "Recovery (this measure alone)" not in html


def test_with_one_measure_the_ending_says_the_recovery_is_that_measures(personas, course):
    _enter(personas, course, "PHQ-9", 1, "222221110")  # 14
    _enter(personas, course, "PHQ-9", 2, "111111000")  # 6
    html = _summary(course)
    assert "Recovery (this measure alone)" in html
    assert "Reliable recovery" in html
    assert "depression and anxiety together" not in html
