"""The closeness circle and the timeline: numbered dots in the picture and a key under it,
so long names and descriptions never collide; every text 12 units or more, inside the
drawing; names escaped."""

from __future__ import annotations

import datetime as dt
import math
import re

from openipt.core.svg_text import text_width
from openipt.treatment import charts
from openipt.treatment.models import InventoryPerson, TimelineEvent

TEXT = re.compile(r'<text x="([0-9.-]+)" y="([0-9.-]+)" font-size="([0-9.]+)"[^>]*>([^<]*)')


def texts(svg: str) -> list[tuple[float, float, float, str]]:
    return [(float(x), float(y), float(size), words) for x, y, size, words in TEXT.findall(svg)]


def viewbox(svg: str) -> tuple[float, float]:
    width, height = re.search(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"', svg).groups()  # type: ignore[union-attr]
    return float(width), float(height)


def person(name: str, circle: int) -> InventoryPerson:
    return InventoryPerson(name=name, circle=circle, relationship="friend")


def test_people_in_one_ring_never_overlap_up_to_what_the_ring_holds() -> None:
    for ring in (1, 2, 3):
        room = sum(count for _radius, count in charts.orbits(ring))
        places = charts.person_places(room, ring)
        assert len(places) == room
        for i, (ax, ay) in enumerate(places):
            inner = 0 if ring == 1 else charts.RING_RADII[ring - 2]
            assert inner < math.hypot(ax, ay) < charts.RING_RADII[ring - 1]  # in its ring
            for bx, by in places[i + 1 :]:
                assert math.hypot(ax - bx, ay - by) >= 2 * charts.DOT_RADIUS, (ring, i)


def test_the_circle_numbers_its_people_and_names_them_in_a_key() -> None:
    people = [person(f"Person with a very long name number {n} <b>", 1 + n % 3) for n in range(12)]
    svg = str(charts.closeness_circle_svg(people, title="Circle", ident="c"))
    width, height = viewbox(svg)
    assert width == charts.SIZE
    drawn = texts(svg)
    assert min(size for _x, _y, size, _w in drawn) >= 12
    assert "&lt;b&gt;" in svg
    assert "<b>" not in svg
    assert svg.count('<g class="person">') == 12
    for heading in ("Inner circle (closest)", "Middle circle", "Outer circle"):
        assert heading in svg
    for x, y, _size, words in drawn:
        assert 0 <= x <= width, words
        assert 0 <= y <= height, words
        if x == 36:  # a key row: its words fit in the drawing
            assert x + text_width(words) <= width, words


def test_timeline_numbers_stay_clear_of_each_other_and_inside_the_frame() -> None:
    frame = charts.Box(0, 0, 300, 200)
    anchors = [(150.0, 100.0, str(n)) for n in range(1, 6)]  # five dots on one spot
    anchors += [(2.0, 100.0, "6"), (298.0, 100.0, "7")]  # dots at the edges
    places = charts.place_labels(anchors, [], frame)
    boxes = [
        charts.text_box(x, y, label, anchor)
        for (x, y, anchor), (_ax, _ay, label) in zip(places, anchors, strict=True)
    ]
    for i, box in enumerate(boxes):
        assert frame.left <= box.left, i
        assert box.right <= frame.right, i
        for other in boxes[i + 1 :]:
            assert not box.touches(other, gap=0), (i, box, other)


def test_the_timeline_keys_each_event_with_its_date_and_words() -> None:
    day = dt.date(2025, 1, 10)
    events = [
        TimelineEvent(date=day + dt.timedelta(days=3 * n), kind="other", mood=n % 11,
                      description=f"A long description of what happened, event {n}",
                      marks_symptom_onset=n == 0)
        for n in range(8)
    ]  # fmt: skip
    events.append(TimelineEvent(date=events[-1].date, kind="other", mood=events[-1].mood,
                                description="Same day, same mood"))  # fmt: skip
    svg = str(charts.timeline_svg(events, title="Timeline", ident="t"))
    width, height = viewbox(svg)
    drawn = texts(svg)
    assert min(size for _x, _y, size, _w in drawn) >= 12
    numbers = re.findall(r'class="event-number">([^<]*)<', svg)
    assert numbers[-1] == "8, 9"  # one dot and one label for the two on the same day
    assert svg.count('<g class="event-key">') == 9
    assert "<title>2025-01-10: A long description of what happened, event 0</title>" in svg
    assert "Symptoms began" in svg
    for x, y, _size, words in drawn:
        assert 0 <= x <= width, words
        assert 0 < y <= height, words


def test_an_empty_timeline_says_so() -> None:
    svg = str(charts.timeline_svg([], title="Timeline", ident="t"))
    assert "No events recorded yet." in svg
