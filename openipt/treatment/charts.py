"""Server-side SVG drawings: the closeness circle and the mood-and-events timeline.

Plain SVG text built with ``format_html`` (every name and label is escaped); no JavaScript,
no CSS in the drawing, so the same picture works on pages and in PDFs. Each drawing has a
``<title>`` and ``<desc>``; pages show a text list or table beside it as well.

Both drawings are 300 units wide with every text at 12 units or more, and pages show them
one unit to one CSS pixel, so they fit a phone without any text shrinking. Names and event
descriptions are too long to sit in the picture without colliding, so the picture carries
numbers and a key under it gives each number its words (shortened to fit, the whole text
in the key row's tooltip).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from openipt.core.svg_text import MIN_FONT_SIZE, fit, text_width, wrap
from openipt.treatment.models import InventoryPerson, TimelineEvent

SIZE = 300  # both drawings are this wide
FONT = MIN_FONT_SIZE
KEY_ROW = 18  # the height of one row of a key
KEY_LINE = 15  # the height of a further line of the same row
KEY_LINES = 2  # the most lines an event's words take in the timeline's key
RING_RADII = (54, 98, 142)
RING_FILLS = ("#dbe7f5", "#e9f0f8", "#f6f8fb")
DOT_RADIUS = 10  # a person's numbered dot
INK, MUTED, BLUE = "#1b1f24", "#5b6470", "#1d4f91"


def _n(value: float) -> str:
    return f"{value:.1f}"


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    def touches(self, other: Box, gap: float = 2) -> bool:
        return not (
            self.right + gap <= other.left
            or other.right + gap <= self.left
            or self.bottom + gap <= other.top
            or other.bottom + gap <= self.top
        )


def text_box(x: float, baseline: float, text: str, anchor: str = "start") -> Box:
    """Where a ``FONT``-sized text is drawn (generously: ascent to descent)."""
    width = text_width(text, FONT)
    left = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
    return Box(left, baseline - FONT, left + width, baseline + FONT * 0.3)


def orbits(ring: int) -> list[tuple[float, int]]:
    """The circles (radius, how many dots fit) that a ring's people sit on: one in the inner
    ring (clear of the word in the middle), two in each of the others."""
    inner = 0 if ring == 1 else RING_RADII[ring - 2]
    outer = RING_RADII[ring - 1]
    if ring == 1:
        radii = [outer - DOT_RADIUS - 6]
    else:
        radii = [inner + DOT_RADIUS + 2, outer - DOT_RADIUS - 2]
    spacing = 2 * DOT_RADIUS + 4
    return [(r, max(1, int(2 * math.pi * r // spacing))) for r in radii]


def person_places(count: int, ring: int) -> list[tuple[float, float]]:
    """Where (relative to the centre) the ``count`` people of ``ring`` sit: the first orbit
    fills before the next; past what fits, the last orbit holds the rest, closer together."""
    places: list[tuple[float, float]] = []
    todo = count
    ring_orbits = orbits(ring)
    for index, (radius, room) in enumerate(ring_orbits):
        last = index == len(ring_orbits) - 1
        here = todo if last else min(todo, room)
        for i in range(here):
            angle = 2 * math.pi * i / here - math.pi / 2 + ring * 0.35 + index * 0.2
            places.append((radius * math.cos(angle), radius * math.sin(angle)))
        todo -= here
        if not todo:
            break
    return places


def closeness_circle_svg(
    people: Sequence[InventoryPerson], *, title: str, ident: str
) -> SafeString:
    c = SIZE / 2
    rings = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="{}" fill="{}" stroke="#7a8aa0" stroke-width="1"/>',
        (
            (c, c, r, fill)
            for r, fill in zip(reversed(RING_RADII), reversed(RING_FILLS), strict=True)
        ),
    )
    dots, key = [], []
    number = 0
    y = SIZE + 14
    for ring in (1, 2, 3):
        members = [p for p in people if p.circle == ring]
        if not members:
            continue
        ring_name = str(InventoryPerson.Circle(ring).label)
        key.append(
            format_html(
                '<text x="4" y="{}" font-size="{}" font-weight="bold" fill="{}">{}</text>',
                _n(y),
                FONT,
                INK,
                fit(ring_name, SIZE - 8),
            )
        )
        y += KEY_ROW
        for person, (dx, dy) in zip(members, person_places(len(members), ring), strict=True):
            number += 1
            full = f"{person.name} ({person.relationship})" if person.relationship else person.name
            dots.append(
                format_html(
                    '<g class="person"><circle cx="{x}" cy="{y}" r="{r}" fill="{b}"/>'
                    '<text x="{x}" y="{ty}" font-size="{f}" font-weight="bold" '
                    'text-anchor="middle" fill="#fff">{n}<title>{name}</title></text></g>',
                    x=_n(c + dx),
                    y=_n(c + dy),
                    r=DOT_RADIUS,
                    b=BLUE,
                    ty=_n(c + dy + 4),
                    f=FONT,
                    n=number,
                    name=full,
                )
            )
            key.append(
                format_html(
                    '<text x="28" y="{y}" font-size="{f}" text-anchor="end" fill="{i}">{n}</text>'
                    '<text x="36" y="{y}" font-size="{f}" fill="{i}">{text}'
                    "<title>{name}</title></text>",
                    y=_n(y),
                    f=FONT,
                    i=INK,
                    n=number,
                    text=fit(full, SIZE - 40),
                    name=full,
                )
            )
            y += KEY_ROW
    height = y - KEY_ROW + 8 if key else SIZE
    desc = "; ".join(f"{p.name}: {p.get_circle_display()}" for p in people) or _(
        "Nobody recorded yet."
    )
    return format_html(
        '<svg class="chart chart--circle" viewBox="0 0 {s} {h}" width="{s}" height="{h}" '
        'role="img" aria-labelledby="{i}-title {i}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{i}-title">{t}</title><desc id="{i}-desc">{d}</desc>{rings}'
        '<text x="{c}" y="{cy}" font-size="13" font-weight="bold" text-anchor="middle" '
        'fill="#1b1f24">{client}</text>{dots}{key}</svg>',
        s=SIZE,
        h=_n(height),
        i=ident,
        t=title,
        d=desc,
        rings=rings,
        c=c,
        cy=c + 5,
        client=_("Client"),
        dots=mark_safe("".join(dots)),  # noqa: S308 - each part built by format_html
        key=mark_safe("".join(key)),  # noqa: S308 - each part built by format_html
    )


# The timeline's frame: the plot, then the dates under it, then the key.
T_LEFT, T_RIGHT, T_TOP, T_PLOT_H = 30, 14, 30, 150
LABEL_OFFSETS = (  # where an event's number may go, relative to its dot: dx, dy, anchor
    (0, -9, "middle"), (0, 19, "middle"), (8, 4, "start"), (-8, 4, "end"),
    (6, -7, "start"), (-6, -7, "end"), (6, 16, "start"), (-6, 16, "end"),
    (0, -23, "middle"), (0, 33, "middle"), (18, 4, "start"), (-18, 4, "end"),
)  # fmt: skip


def place_labels(
    anchors: Sequence[tuple[float, float, str]], obstacles: Sequence[Box], frame: Box
) -> list[tuple[float, float, str]]:
    """For each dot (x, y, label): the first spot around it where its label stays inside
    ``frame`` and clear of the ``obstacles`` and of labels already placed; (x, baseline,
    anchor). When no spot is clear the label takes the first spot inside the frame."""
    taken = list(obstacles)
    places = []
    for x, y, label in anchors:
        inside = []
        for dx, dy, anchor in LABEL_OFFSETS:
            box = text_box(x + dx, y + dy, label, anchor)
            if not (
                box.left >= frame.left
                and box.right <= frame.right
                and box.top >= frame.top
                and box.bottom <= frame.bottom
            ):
                continue
            inside.append((x + dx, y + dy, anchor, box))
            if not any(box.touches(other) for other in taken):
                break
        else:
            inside = inside[:1] or [(x, y - 9, "middle", text_box(x, y - 9, label, "middle"))]
        lx, ly, anchor, box = inside[-1]
        taken.append(box)
        places.append((lx, ly, anchor))
    return places


def timeline_svg(events: Sequence[TimelineEvent], *, title: str, ident: str) -> SafeString:
    """Dates along the bottom, mood (0-10) up the side, a dashed line where symptoms began;
    each event a numbered dot, and under the plot a key: number, date and what happened."""
    width = SIZE
    left, plot_w, top, plot_h = T_LEFT, SIZE - T_LEFT - T_RIGHT, T_TOP, T_PLOT_H
    bottom = top + plot_h
    if not events:
        return format_html(
            '<svg class="chart chart--timeline" viewBox="0 0 {w} 60" width="{w}" height="60" '
            'role="img" aria-labelledby="{i}-title" xmlns="http://www.w3.org/2000/svg">'
            '<title id="{i}-title">{t}</title>'
            '<text x="10" y="35" font-size="13" fill="#5b6470">{m}</text></svg>',
            w=width,
            i=ident,
            t=title,
            m=_("No events recorded yet."),
        )
    first, last = events[0].date, events[-1].date
    if first == last:
        first, last = first - dt.timedelta(days=30), last + dt.timedelta(days=30)
    span = (last - first).days

    def x(day: dt.date) -> float:
        return left + plot_w * (day - first).days / span

    def y(mood: int | None) -> float:
        return bottom if mood is None else top + plot_h * (10 - mood) / 10

    parts = [
        format_html(
            '<line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#5b6470"/>'
            '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#5b6470"/>',
            l=left,
            t=top,
            b=bottom,
            r=left + plot_w,
        )
    ]
    obstacles = []
    for mood in (0, 5, 10):
        obstacles.append(text_box(left - 6, y(mood) + 4, str(mood), "end"))
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="{}" text-anchor="end" fill="{}">{}</text>',
                left - 6,
                _n(y(mood) + 4),
                FONT,
                MUTED,
                mood,
            )
        )
    mood_word = _("Mood")
    parts.append(
        format_html(
            '<text x="2" y="{}" font-size="{}" fill="{}">{}</text>',
            top - 12,
            FONT,
            MUTED,
            mood_word,
        )
    )
    mood_box = text_box(2, top - 12, mood_word)
    obstacles.append(mood_box)
    date_y = bottom + 17
    parts.append(
        format_html(
            '<text x="{}" y="{}" font-size="{f}" fill="{m}">{}</text>'
            '<text x="{}" y="{}" font-size="{f}" text-anchor="end" fill="{m}">{}</text>',
            left,
            date_y,
            first.isoformat(),
            left + plot_w,
            date_y,
            last.isoformat(),
            f=FONT,
            m=MUTED,
        )
    )
    obstacles += [
        text_box(left, date_y, first.isoformat()),
        text_box(left + plot_w, date_y, last.isoformat(), "end"),
    ]
    rated = [e for e in events if e.mood is not None]
    if len(rated) > 1:
        points = " ".join(f"{x(e.date):.1f},{y(e.mood):.1f}" for e in rated)
        parts.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="#1d4f91" stroke-width="2"/>', points
            )
        )
    onsets = [e for e in events if e.marks_symptom_onset]
    for e in onsets:
        parts.append(
            format_html(
                '<line x1="{x}" y1="{t}" x2="{x}" y2="{b}" stroke="#b3261e" '
                'stroke-dasharray="5 4" stroke-width="2"/>',
                x=_n(x(e.date)),
                t=top - 6,
                b=bottom,
            )
        )
    if onsets:
        began = _("Symptoms began")
        wide = text_width(began, FONT)
        mood_end = mood_box.right + 8
        start = min(max(x(onsets[0].date) - wide / 2, mood_end), width - 2 - wide)
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="{}" fill="#b3261e">{}</text>',
                _n(start),
                top - 12,
                FONT,
                began,
            )
        )
        obstacles.append(text_box(start, top - 12, began))
    # One dot per date and mood; events that share both share a dot and a label ("2, 3").
    dots: dict[tuple[dt.date, int | None], list[int]] = {}
    for number, e in enumerate(events, start=1):
        dots.setdefault((e.date, e.mood), []).append(number)
    anchors = []
    for (when, rating), numbers in dots.items():
        cx, cy = x(when), y(rating)
        obstacles.append(Box(cx - 5, cy - 5, cx + 5, cy + 5))
        anchors.append((cx, cy, ", ".join(str(n) for n in numbers)))
        parts.append(format_html('<circle cx="{}" cy="{}" r="5" fill="{}"/>', _n(cx), _n(cy), BLUE))
    frame = Box(0, top - 4, width, date_y - FONT - 2)
    for (lx, ly, anchor), (_cx, _cy, label) in zip(
        place_labels(anchors, obstacles, frame), anchors, strict=True
    ):
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="{}" font-weight="bold" text-anchor="{}" '
                'fill="{}" class="event-number">{}</text>',
                _n(lx),
                _n(ly),
                FONT,
                anchor,
                INK,
                label,
            )
        )
    row = date_y + 12 + KEY_ROW
    for number, e in enumerate(events, start=1):
        on = e.date.isoformat()
        after_date = 36 + text_width(on, FONT) + 8
        lines = wrap(e.description, width - after_date - 4, KEY_LINES)
        parts.append(
            format_html(
                '<g class="event-key"><title>{full}</title>'
                '<text x="28" y="{y}" font-size="{f}" font-weight="bold" text-anchor="end" '
                'fill="{i}">{n}</text>'
                '<text x="36" y="{y}" font-size="{f}" fill="{m}">{day}</text>{lines}</g>',
                full=f"{on}: {e.description}",
                y=_n(row),
                f=FONT,
                i=INK,
                m=MUTED,
                n=number,
                day=on,
                lines=format_html_join(
                    "",
                    '<text x="{}" y="{}" font-size="{}" fill="{}">{}</text>',
                    (
                        (_n(after_date), _n(row + KEY_LINE * k), FONT, INK, line)
                        for k, line in enumerate(lines)
                    ),
                ),
            )
        )
        row += KEY_ROW + KEY_LINE * (len(lines) - 1)
    height = row - KEY_ROW + 8
    desc = "; ".join(
        f"{n}. {e.date.isoformat()}: {e.description}"
        + (f" ({_('mood')} {e.mood}/10)" if e.mood is not None else "")
        for n, e in enumerate(events, start=1)
    )
    return format_html(
        '<svg class="chart chart--timeline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'role="img" aria-labelledby="{i}-title {i}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{i}-title">{t}</title><desc id="{i}-desc">{d}</desc>{body}</svg>',
        w=width,
        h=_n(height),
        i=ident,
        t=title,
        d=desc,
        body=mark_safe("".join(parts)),  # noqa: S308 - each part built by format_html
    )
