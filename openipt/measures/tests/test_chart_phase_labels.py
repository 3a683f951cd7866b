"""The course chart names each phase in plain words ("Getting started"), as the staff pages
do, with the clinical name as the tooltip; the labels never run into each other or into the
band names, in every format at its shortest, usual and longest length."""

from __future__ import annotations

import re

import pytest

from openipt.measures import charts
from openipt.measures.models import Instrument
from openipt.measures.progress import _phase_marks
from openipt.treatment import formats
from openipt.treatment.models import Course

pytestmark = pytest.mark.django_db

LABEL = re.compile(
    r'<text x="([0-9.]+)" y="([0-9.]+)"[^>]*class="phase-label">([^<]*)<title>([^<]*)</title>'
)


def phase_labels(svg: str) -> list[tuple[float, float, str, str]]:
    return [(float(x), float(y), text, tip) for x, y, text, tip in LABEL.findall(svg)]


def test_the_phases_carry_plain_names_with_the_clinical_name_as_tooltip(course) -> None:
    marks = _phase_marks(course)
    definition = Instrument.objects.get(code="PHQ-9", practice__isnull=True).parsed
    svg = str(charts.course_chart_svg(definition, [], last_session=12, phases=marks))
    found = [(text, tip) for _x, _y, text, tip in phase_labels(svg)]
    assert found == [
        ("Getting started", "Initial phase"),
        ("Working on it", "Middle phase"),
        ("Finishing well", "Termination phase"),
    ]
    assert ">Initial phase<title>" not in svg  # the clinical name is never the drawn label


LENGTHS = sorted(
    {
        (str(code), n)
        for code in formats.FORMATS
        for n in (
            formats.get_format(code).min_sessions,
            formats.get_format(code).default_sessions,
            formats.get_format(code).max_sessions,
        )
    }
)


@pytest.mark.parametrize(("code", "sessions"), LENGTHS)
def test_labels_stay_apart_and_inside_the_plot(code: str, sessions: int) -> None:
    marks = _phase_marks(Course(format=code, planned_sessions=sessions))
    definition = Instrument.objects.get(code="PHQ-9", practice__isnull=True).parsed
    svg = str(charts.course_chart_svg(definition, [], last_session=sessions, phases=marks))
    labels = phase_labels(svg)
    assert len(labels) == len(marks)
    boxes = []
    for x, y, text, _tip in labels:
        width = charts.text_width(text)
        assert x >= charts.LEFT, text
        assert x + width <= charts.WIDTH - charts.RIGHT, text
        boxes.append((x, x + width, y))
    for i, (a_start, a_end, a_y) in enumerate(boxes):
        for b_start, b_end, b_y in boxes[i + 1 :]:
            assert a_y != b_y or a_end <= b_start or b_end <= a_start, (code, sessions, labels)


def test_a_last_phase_too_short_for_its_label_points_back_at_it() -> None:
    """A group course of 8: the closing phase is one session, too narrow for its name."""
    marks = _phase_marks(Course(format="ipt_g", planned_sessions=8))
    definition = Instrument.objects.get(code="PHQ-9", practice__isnull=True).parsed
    svg = str(charts.course_chart_svg(definition, [], last_session=8, phases=marks))
    *_, (x, _y, text, tip) = phase_labels(svg)
    assert (text, tip) == ("Finishing well →", "Termination phase")
    line = re.findall(r'<line x1="([0-9.]+)"[^>]*stroke-dasharray="2 3"', svg)[-1]
    assert x + charts.text_width(text) <= float(line)  # ends before its line
