"""Every chart measured in Chromium at 1366 and 375 px: the course symptom chart (scores at
sessions and one filled in the portal between sessions), the closeness circle with ten
people with long names, the timeline with long event descriptions, and Dana's progress
chart in the portal. Each visible text is drawn at 12 CSS px or more, no text's box touches
another's, none runs outside its drawing, and the page never scrolls sideways. axe-core finds
no serious problem on any of the pages. Screenshots go to /tmp/shots (``shoot``), each
drawing's own as well."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_no_serious_axe_violations
from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.test_cosign import sign_in_dana
from tests.browser.test_session_workspace import SHOTS, WIDE, shoot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# PHQ-9 answers (nine digits) for sessions 1 to 6, and one filled in the portal between
# sessions 3 and 4 (a much lower score, which must not be drawn on top of session 3's).
SCORES = ["333322220", "332222220", "222222220", "222211110", "211111110", "111111000"]
PORTAL_SCORE = "100000000"

PEOPLE = [  # (name, circle): four close, three in the middle, three further out
    ("Alexandra Montgomery-Whitfield", 1), ("Bartholomew Okonkwo-Lindqvist", 1),
    ("Catherine the elder sister", 1), ("Dimitrios from the allotment", 1),
    ("Evangeline Castellanos-Ruiz", 2), ("Frederick my manager at work", 2),
    ("Gwendolyn Abernathy-Sutherland", 2), ("Hieronymus the neighbour upstairs", 3),
    ("Isadora from the Thursday choir", 3), ("Jonathan Featherstonehaugh", 3),
]  # fmt: skip

EVENTS = [  # (date, description, mood, symptoms began)
    (dt.date(2025, 1, 10), "Moved to a new flat on the other side of the city", 6, False),
    (dt.date(2025, 1, 24), "Started a new job with long hours and a long commute", 5, False),
    (dt.date(2025, 2, 2), "Argument with my sister about looking after our mother", 3, True),
    (dt.date(2025, 2, 4), "Stopped going to the Thursday choir rehearsals", 3, False),
    (dt.date(2025, 3, 15), "Mother moved into a care home after her fall", 2, False),
    (dt.date(2025, 5, 1), "Went back to the choir for the spring concert", 5, False),
    (dt.date(2025, 6, 20), "Long talk with my sister; we agreed to share visits", 7, False),
]


def charted_course():
    """Alice's course with Dana: six PHQ-9 scores at sessions, one from the portal between
    sessions 3 and 4, ten people in the circle and seven timeline events; Dana may see her
    progress in the portal."""
    from openipt.engagement import accounts
    from openipt.measures import services
    from openipt.measures.models import Administration, Instrument
    from openipt.measures.tests.conftest import phq9_answers
    from openipt.portal.tests.matrix import dana_user
    from openipt.testing.personas import make_personas
    from openipt.treatment import services as treatment
    from openipt.treatment.tests.factories import START, make_course, make_person, make_session

    personas = make_personas()
    dana_user(personas)
    course = make_course(personas.alice, personas.dana, planned_sessions=12)
    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    for number, answers in enumerate(SCORES, start=1):
        session = make_session(personas.alice, course, number)
        services.administration_enter(
            actor=personas.alice, course=course, instrument=phq9, session=session,
            answers=phq9_answers(answers),
        )  # fmt: skip
    portal = services.administration_enter(
        actor=personas.alice, course=course, instrument=phq9,
        answers=phq9_answers(PORTAL_SCORE), completed_on=START + dt.timedelta(days=17),
    )  # fmt: skip
    # As if Dana had filled it in herself in the portal.
    Administration.objects.filter(pk=portal.pk).update(mode=Administration.Mode.CLIENT_COMPLETED)
    for name, circle in PEOPLE:
        make_person(personas.alice, course, name, circle, relationship="friend")
    for day, description, mood, onset in EVENTS:
        treatment.timeline_event_create(
            actor=personas.alice, course=course,
            data=treatment.TimelineEventData(date=day, kind="other", description=description,
                                             mood=mood, marks_symptom_onset=onset),
        )  # fmt: skip
    accounts.portal_sharing_set(actor=personas.alice, client=personas.dana, share_progress=True)
    return personas, course


# Every visible text of every chart on the page: its words, its box on screen and its
# drawn size (the font size times the drawing's scale), with the drawing's own box.
MEASURE = """() => Array.from(document.querySelectorAll("svg.measure-chart, svg.chart"))
  .filter(svg => svg.getClientRects().length > 0)
  .map(svg => {
    const frame = svg.getBoundingClientRect();
    const texts = Array.from(svg.querySelectorAll("text"))
      .filter(el => el.getClientRects().length > 0 && el.textContent.trim())
      .map(el => { const r = el.getBoundingClientRect();
        return {text: el.firstChild ? el.firstChild.textContent : "",
                left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                size: el.getScreenCTM().a * parseFloat(getComputedStyle(el).fontSize)}; });
    const holder = svg.closest(".chart-frame");
    return {name: svg.getAttribute("aria-labelledby"), texts,
            frame: {left: frame.left, right: frame.right, top: frame.top, bottom: frame.bottom},
            scrolls: holder !== null && holder.scrollWidth > holder.clientWidth};
  })"""


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return not (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


def assert_readable(page, expected: int, *, wide: bool) -> None:
    """At the page's current width: the ``expected`` number of charts, every text 12 px or
    more, inside its drawing and clear of every other text. On a wide screen every drawing
    fits its column whole; on a phone it may scroll sideways inside its frame."""
    charts = page.evaluate(MEASURE)
    assert len(charts) == expected, [c["name"] for c in charts]
    for chart in charts:
        assert not (wide and chart["scrolls"]), chart["name"]
        texts, frame = chart["texts"], chart["frame"]
        assert texts, chart["name"]
        for i, label in enumerate(texts):
            assert label["size"] >= 12 - 0.01, (chart["name"], label)
            assert label["left"] >= frame["left"] - 0.5, (chart["name"], label)
            assert label["right"] <= frame["right"] + 0.5, (chart["name"], label)
            assert label["top"] >= frame["top"] - 0.5, (chart["name"], label)
            assert label["bottom"] <= frame["bottom"] + 0.5, (chart["name"], label)
            for other in texts[i + 1 :]:
                assert not overlaps(label, other), (chart["name"], label, other)


def check_page(page, path: str, name: str, expected: int) -> None:
    page.goto(path)
    expect(page.locator("svg.measure-chart, svg.chart").first).to_be_visible()
    shoot(page, name)  # also asserts no sideways scrolling at 375 px
    assert_no_serious_axe_violations(page)
    for viewport in (WIDE, PHONE_VIEWPORT):
        page.set_viewport_size(viewport)
        assert_readable(page, expected, wide=viewport is WIDE)
        drawings = page.locator("svg.measure-chart, svg.chart")
        for index in range(drawings.count()):  # each drawing on its own, to look at closely
            drawings.nth(index).screenshot(
                path=str(SHOTS / f"{name}-{index}-{viewport['width']}.png")
            )
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= viewport["width"], (name, viewport, width)
    # Each drawing sits in a frame that scrolls sideways on its own and takes the focus.
    frames = page.locator(".chart-frame")
    assert frames.count() >= expected
    for index in range(frames.count()):
        frame = frames.nth(index)
        expect(frame).to_have_attribute("tabindex", "0")
        expect(frame).to_have_attribute("aria-label", "Chart (scroll sideways on a small screen)")
    page.set_viewport_size(WIDE)


def test_every_staff_chart_is_readable_at_1366_and_375_px(new_page, live_server, transactional_db):
    from django.urls import reverse

    personas, course = charted_course()
    alice = new_page(viewport=WIDE)
    sign_in(alice, personas.alice.email)

    check_page(alice, reverse("measures:course-measures", args=[course.uuid]), "chart-course", 1)
    chart = alice.locator("svg.measure-chart").first
    expect(chart.locator("path.point-between")).to_have_count(1)
    expect(chart.locator("circle")).to_have_count(len(SCORES) + 1)  # the legend's dot too
    expect(chart.get_by_text("Score between sessions")).to_have_count(1)
    between = chart.locator("path.point-between title")
    expect(between).to_have_text(
        "Filled in by the client between sessions (2026-01-22): 1, None or minimal"
    )

    check_page(alice, reverse("treatment:course-detail", args=[course.uuid]), "chart-overview", 3)
    check_page(alice, reverse("treatment:inventory", args=[course.uuid]), "chart-circle", 1)
    circle = alice.locator("svg.chart--circle")
    expect(circle.locator("g.person")).to_have_count(len(PEOPLE))
    expect(circle.get_by_text("Alexandra Montgomery-Whitfield (friend)")).to_have_count(2)

    check_page(alice, reverse("treatment:timeline", args=[course.uuid]), "chart-timeline", 1)
    timeline = alice.locator("svg.chart--timeline")
    expect(timeline.locator("text.event-number")).to_have_count(len(EVENTS))
    expect(timeline.get_by_text("Symptoms began")).to_have_count(1)


def test_danas_progress_chart_is_readable_on_her_phone(new_page, live_server, transactional_db):
    charted_course()
    dana = new_page(viewport=PHONE_VIEWPORT)
    sign_in_dana(dana)
    check_page(dana, "/portal/progress/", "chart-portal", 1)
    expect(dana.locator("svg.measure-chart path.point-between")).to_have_count(1)


def test_every_instruments_chart_keeps_its_labels_apart(new_page, transactional_db):
    """Each built-in instrument's chart, for the shortest, a usual and the longest course,
    with a score at every session and one between sessions, drawn in Chromium on its own."""
    from decimal import Decimal

    from openipt.measures.charts import ChartPoint, course_chart_svg
    from openipt.measures.models import Instrument
    from openipt.measures.progress import _phase_marks
    from openipt.treatment.models import Course

    page = new_page(viewport=WIDE)
    monday = dt.date(2026, 1, 5)
    drawn = []
    instruments = Instrument.objects.filter(practice__isnull=True).order_by("code")
    for instrument in instruments:
        definition = instrument.parsed
        if not definition.bands:
            continue
        low, high = definition.range_min, definition.range_max
        for code, sessions in (("ipc", 6), ("ipt", 16), ("ipt_m", 36)):
            marks = _phase_marks(Course(format=code, planned_sessions=sessions))
            points = [
                ChartPoint(n, Decimal(high - (high - low) * n // sessions), "Band",
                           monday + dt.timedelta(days=7 * n))
                for n in range(1, sessions + 1)
            ]  # fmt: skip
            points.insert(
                2, ChartPoint(2, Decimal(low), "Band", monday + dt.timedelta(days=17), linked=False)
            )
            drawn.append(
                course_chart_svg(definition, points, last_session=sessions, phases=marks,
                                 reliable_change=(high - low) / 4, ident=f"c{len(drawn)}")
            )  # fmt: skip
    assert len(drawn) >= 3 * 4  # at least the PHQ-9, GAD-7, WHO-5 and HAM-D-17
    page.set_content("<!doctype html><body>" + "".join(str(svg) for svg in drawn) + "</body>")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "chart-every-instrument.png"), full_page=True)
    assert_readable(page, len(drawn), wide=False)
