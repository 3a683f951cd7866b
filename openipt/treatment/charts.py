"""Server-side SVG drawings: the closeness circle and the mood-and-events timeline.

Plain SVG text built with ``format_html`` (every name and label is escaped); no JavaScript,
no CSS in the drawing, so the same picture works on pages and in PDFs. Each drawing has a
``<title>`` and ``<desc>``; pages show a text list or table beside it as well.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from openipt.treatment.models import InventoryPerson, TimelineEvent

RING_RADII = (70, 125, 180)
RING_FILLS = ("#dbe7f5", "#e9f0f8", "#f6f8fb")


def _n(value: float) -> str:
    return f"{value:.1f}"


def _short(text: str, limit: int = 18) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def closeness_circle_svg(
    people: Sequence[InventoryPerson], *, title: str, ident: str
) -> SafeString:
    size = 2 * RING_RADII[-1] + 20
    c = size / 2
    rings = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="{}" fill="{}" stroke="#7a8aa0" stroke-width="1"/>',
        (
            (c, c, r, fill)
            for r, fill in zip(reversed(RING_RADII), reversed(RING_FILLS), strict=True)
        ),
    )
    ring_names = (_("Inner"), _("Middle"), _("Outer"))
    labels = [
        format_html(
            '<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#5b6470">{}</text>',
            _n(c),
            _n(c + RING_RADII[i] - 6),
            name,
        )
        for i, name in enumerate(ring_names)
    ]
    for ring in (1, 2, 3):
        members = [p for p in people if p.circle == ring]
        inner = 0 if ring == 1 else RING_RADII[ring - 2]
        radius = (inner + RING_RADII[ring - 1]) / 2 + (8 if ring == 1 else 0)
        for i, person in enumerate(members):
            angle = 2 * math.pi * i / max(len(members), 1) - math.pi / 2 + ring * 0.35
            x, y = c + radius * math.cos(angle), c + radius * math.sin(angle)
            labels.append(
                format_html(
                    '<g><circle cx="{}" cy="{}" r="4" fill="#1d4f91"/>'
                    '<text x="{}" y="{}" font-size="12" text-anchor="middle" '
                    'fill="#1b1f24">{}</text></g>',
                    x,
                    y,
                    x,
                    y - 7,
                    _short(person.name),
                )
            )
    desc = "; ".join(f"{p.name}: {p.get_circle_display()}" for p in people) or _(
        "Nobody recorded yet."
    )
    return format_html(
        '<svg class="chart chart--circle" viewBox="0 0 {s} {s}" width="{s}" height="{s}" '
        'role="img" aria-labelledby="{i}-title {i}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{i}-title">{t}</title><desc id="{i}-desc">{d}</desc>{rings}'
        '<text x="{c}" y="{cy}" font-size="13" font-weight="bold" text-anchor="middle" '
        'fill="#1b1f24">{client}</text>{labels}</svg>',
        s=size,
        i=ident,
        t=title,
        d=desc,
        rings=rings,
        c=c,
        cy=c + 5,
        client=_("Client"),
        labels=mark_safe("".join(labels)),  # noqa: S308 - each part built by format_html
    )


def timeline_svg(events: Sequence[TimelineEvent], *, title: str, ident: str) -> SafeString:
    """Dates along the bottom, mood (0-10) up the side, a dashed line where symptoms began."""
    width, height, left, right, top, bottom = 720, 280, 60, 80, 24, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    if not events:
        return format_html(
            '<svg class="chart" viewBox="0 0 {w} 60" role="img" aria-labelledby="{i}-title" '
            'xmlns="http://www.w3.org/2000/svg"><title id="{i}-title">{t}</title>'
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

    def y(mood: int) -> float:
        return top + plot_h * (10 - mood) / 10

    parts = [
        format_html(
            '<line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#5b6470"/>'
            '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#5b6470"/>',
            l=left,
            t=top,
            b=top + plot_h,
            r=left + plot_w,
        )
    ]
    for mood in (0, 5, 10):
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#5b6470">{}</text>',
                left - 6,
                y(mood) + 4,
                mood,
            )
        )
    parts.append(
        format_html(
            '<text x="{}" y="{}" font-size="11" fill="#5b6470">{}</text>'
            '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#5b6470">{}</text>',
            left,
            height - 8,
            first.isoformat(),
            left + plot_w,
            height - 8,
            last.isoformat(),
        )
    )
    rated = [e for e in events if e.mood is not None]
    if len(rated) > 1:
        points = " ".join(f"{x(e.date):.1f},{y(e.mood or 0):.1f}" for e in rated)
        parts.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="#1d4f91" stroke-width="2"/>', points
            )
        )
    for e in events:
        if e.marks_symptom_onset:
            parts.append(
                format_html(
                    '<line x1="{x}" y1="{t}" x2="{x}" y2="{b}" stroke="#b3261e" '
                    'stroke-dasharray="5 4" stroke-width="2"/>'
                    '<text x="{x}" y="{ty}" font-size="11" text-anchor="middle" '
                    'fill="#b3261e">{m}</text>',
                    x=x(e.date),
                    t=top,
                    b=top + plot_h,
                    ty=top - 8,
                    m=_("Symptoms began"),
                )
            )
        cy = y(e.mood) if e.mood is not None else top + plot_h
        parts.append(
            format_html(
                '<circle cx="{x}" cy="{y}" r="5" fill="#1d4f91"/>'
                '<text x="{x}" y="{ty}" font-size="11" text-anchor="middle" '
                'fill="#1b1f24">{label}</text>',
                x=x(e.date),
                y=cy,
                ty=cy - 9,
                label=_short(e.description, 22),
            )
        )
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{i}-title" '
        'xmlns="http://www.w3.org/2000/svg"><title id="{i}-title">{t}</title>{body}</svg>',
        w=width,
        h=height,
        i=ident,
        t=title,
        body=mark_safe("".join(parts)),  # noqa: S308 - each part built by format_html
    )
