"""The course chart's phase labels, measured in Chromium at 375 px: plain names ("Getting
started"), none touching another label or any other text in the drawing, all inside the
drawing, for a short course whose phases are one session long. A screenshot of the page at
1366 and 375 px goes to /tmp/shots (``shoot``)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.test_session_workspace import WIDE, shoot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# PHQ-9 answers (nine digits) for sessions 1 to 6: from severe towards mild.
SCORES = ["333322220", "332222220", "222222220", "222211110", "211111110", "111111000"]


def short_course_with_scores(personas):  # type: ignore[no-untyped-def]
    """Interpersonal counselling over 6 sessions: the first and last phases are one session
    each, so the labels have the least room."""
    from openipt.measures import services
    from openipt.measures.models import Instrument
    from openipt.measures.tests.conftest import phq9_answers
    from openipt.treatment.tests.factories import make_course, make_session

    course = make_course(personas.alice, personas.dana, format="ipc", planned_sessions=6)
    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    for number, answers in enumerate(SCORES, start=1):
        session = make_session(personas.alice, course, number)
        services.administration_enter(
            actor=personas.alice, course=course, instrument=phq9, session=session,
            answers=phq9_answers(answers),
        )  # fmt: skip
    return course


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


# Every text in the drawing as drawn on screen: its box, its own words (not its tooltip)
# and whether it is a phase label.
BOXES = """svg => {
  const frame = svg.getBoundingClientRect();
  const box = el => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            text: el.firstChild ? el.firstChild.textContent : "",
            phase: el.classList.contains("phase-label")}; };
  return {frame: {left: frame.left, right: frame.right, top: frame.top, bottom: frame.bottom},
          texts: Array.from(svg.querySelectorAll("text")).map(box)};
}"""


def test_phase_labels_at_375_px_are_plain_apart_and_inside_the_chart(
    new_page, live_server, transactional_db
):
    from django.urls import reverse

    from openipt.testing.personas import make_personas

    personas = make_personas()
    course = short_course_with_scores(personas)
    alice = new_page(viewport=WIDE)
    sign_in(alice, personas.alice.email)
    alice.goto(reverse("measures:course-measures", args=[course.uuid]))
    shoot(alice, "chart-phases")
    alice.set_viewport_size(PHONE_VIEWPORT)

    drawn = alice.locator("svg.measure-chart").first.evaluate(BOXES)
    phases = [t for t in drawn["texts"] if t["phase"]]
    assert [t["text"] for t in phases] == ["Getting started", "Working on it", "Finishing well →"]
    frame = drawn["frame"]
    for label in phases:
        assert label["left"] >= frame["left"], label
        assert label["right"] <= frame["right"], label
        for other in drawn["texts"]:
            assert other is label or not overlaps(label, other), (label, other)
