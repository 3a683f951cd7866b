"""The course chart's layout: a score filled in between sessions sits between them by its
date (never on an in-session score) and is drawn as its own kind of point with a legend in
words; every text is 12 units or more; band names wrap rather than run off; session
numbers thin out on long courses so they never touch."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from openipt.measures import charts, services
from openipt.measures.charts import ChartPoint, course_chart_svg, point_positions
from openipt.measures.models import Administration, Instrument
from openipt.measures.progress import course_progress
from openipt.measures.tests.conftest import phq9_answers
from openipt.treatment.tests.factories import START, make_session

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def at(session: int, on: dt.date | None, *, linked: bool = True) -> ChartPoint:
    return ChartPoint(session, Decimal(10), "Moderate", on, linked=linked)


def test_a_score_between_sessions_sits_between_them_by_its_date() -> None:
    monday = dt.date(2026, 1, 5)
    points = [
        at(3, monday),
        at(3, monday + 3 * DAY, linked=False),  # three days of seven after session 3
        at(4, monday + 7 * DAY),
    ]
    assert point_positions(points) == pytest.approx([3, 3 + 3 / 7, 4])


def test_the_sessions_own_dates_place_a_score_between_them() -> None:
    """Session 4 held but without a score of its own: the portal score between 3 and 4 is
    placed by the sessions' dates, not spread to the middle."""
    monday = dt.date(2026, 1, 5)
    points = [at(3, monday), at(3, monday + 5 * DAY, linked=False), at(5, monday + 14 * DAY)]
    assert point_positions(points)[1] == pytest.approx(3.5)  # no date for session 4
    days = {3: monday, 4: monday + 7 * DAY, 5: monday + 14 * DAY}
    assert point_positions(points, days)[1] == pytest.approx(3 + 5 / 7)


def test_a_score_on_the_day_of_a_session_is_never_drawn_on_top_of_it() -> None:
    monday = dt.date(2026, 1, 5)
    points = [at(3, monday), at(3, monday, linked=False), at(4, monday + 7 * DAY)]
    assert point_positions(points)[1] == pytest.approx(3 + charts.BETWEEN_MARGIN)
    points = [at(3, monday), at(3, monday + 7 * DAY, linked=False), at(4, monday + 7 * DAY)]
    assert point_positions(points)[1] == pytest.approx(4 - charts.BETWEEN_MARGIN)


def test_scores_between_sessions_without_dates_around_them_spread_out_in_date_order() -> None:
    monday = dt.date(2026, 1, 5)
    points = [at(2, monday), at(2, monday + 5 * DAY, linked=False), at(2, None, linked=False)]
    first, second = point_positions(points)[1:]
    assert 2 < first < second < 3
    points = [at(0, monday + 2 * DAY, linked=False), at(1, monday + 9 * DAY)]
    assert 0 < point_positions(points)[0] < 1  # before the first session


def test_the_chart_draws_a_score_between_sessions_as_a_hollow_diamond_with_a_legend() -> None:
    definition = Instrument.objects.get(code="PHQ-9", practice__isnull=True).parsed
    monday = dt.date(2026, 1, 5)
    points = [
        ChartPoint(3, Decimal(16), "Moderately severe", monday),
        ChartPoint(3, Decimal(2), "None or minimal", monday + 3 * DAY, linked=False,
                   by_client=True),
        ChartPoint(4, Decimal(12), "Moderate", monday + 7 * DAY),
    ]  # fmt: skip
    svg = str(course_chart_svg(definition, points, last_session=6))
    assert svg.count('class="point-between"') == 1
    assert "<title>Filled in by the client between sessions (2026-01-08): 2, None or minimal" in svg
    assert "Score at a session" in svg
    assert "Score between sessions" in svg
    assert "1 of them filled in between sessions" in svg  # the description says so too
    # The diamond's centre is between the two circles', not on either.
    circles = [
        float(x)
        for x in re.findall(
            r'<circle cx="([0-9.]+)" cy="[0-9.]+" r="4" fill="#1d4f91"><title>', svg
        )
    ]
    diamond = float(re.search(r'<path d="M([0-9.]+),', svg).group(1))  # type: ignore[union-attr]
    assert circles[0] < diamond < circles[1]
    without = str(course_chart_svg(definition, [points[0], points[2]], last_session=6))
    assert "Score between sessions" not in without  # no legend when every score is in session


def test_the_course_progress_marks_a_portal_score_as_between_sessions(personas, course, phq9):
    session_2 = make_session(personas.alice, course, 2)
    services.administration_enter(actor=personas.alice, course=course, instrument=phq9,
                                  session=course.sessions.get(number=1),
                                  answers=phq9_answers("222222220"))  # fmt: skip
    services.administration_enter(actor=personas.alice, course=course, instrument=phq9,
                                  session=session_2, answers=phq9_answers("222211110"))  # fmt: skip
    portal = services.administration_enter(
        actor=personas.alice, course=course, instrument=phq9, answers=phq9_answers("100000000"),
        completed_on=START + 3 * DAY,
    )  # fmt: skip
    Administration.objects.filter(pk=portal.pk).update(mode=Administration.Mode.CLIENT_COMPLETED)
    svg = str(course_progress(course).instruments[0].chart)
    assert svg.count('class="point-between"') == 1
    assert "Filled in by the client between sessions (2026-01-08): 1, None or minimal" in svg
    assert svg.count('r="4" fill="#1d4f91"><title>Session') == 2


def test_every_text_is_at_least_12_units_and_band_names_wrap_inside_the_margin() -> None:
    for code in ("PHQ-9", "GAD-7", "WHO-5", "HAM-D-17"):
        definition = Instrument.objects.get(code=code, practice__isnull=True).parsed
        svg = str(course_chart_svg(definition, [], last_session=16, reliable_change=5))
        sizes = [float(s) for s in re.findall(r'<text[^>]* font-size="([0-9.]+)"', svg)]
        assert sizes, code
        assert min(sizes) >= 12, code
        assert svg.count("<text") == len(sizes), code
        for band in definition.bands:
            lines = charts.band_label_lines(band.label, band.min, band.max, 45)
            for line in lines:
                assert charts.text_width(line) <= charts.RIGHT - 10, (code, line)
    lines = charts.band_label_lines("Moderately severe", 15, 19, 45)
    assert lines == ["Moderately", "severe", "(15-19)"]


def test_session_numbers_thin_out_on_a_long_course_so_they_never_touch() -> None:
    assert charts.session_ticks(12) == list(range(13))
    ticks = charts.session_ticks(36)
    assert ticks[0] == 0
    assert ticks[-1] <= 36
    assert len(ticks) < 37
    span = (charts.WIDTH - charts.LEFT - charts.RIGHT) / 36 * (ticks[1] - ticks[0])
    assert span >= charts.text_width("36") + 6
