"""Server-side SVG progress charts: one instrument's totals over the sessions of a course.

Hand-written SVG (no plotting dependency, no JavaScript, no CSS inside), escaped with
``format_html``, so the same drawing serves pages and PDFs. Severity bands are shaded *and*
named in text; the reliable-change threshold and phase boundaries are labelled lines; each
point has a ``<title>`` tooltip; the drawing has ``<title>``/``<desc>``, and pages show a
data table beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from openipt.measures.models import display_number
from openipt.measures.scoring import InstrumentDefinition

WIDTH, HEIGHT = 680, 300
LEFT, RIGHT, TOP, BOTTOM = 44, 170, 16, 40
BAND_FILLS = ("#eef5ee", "#f6f4e6", "#f8ecdf", "#f6e2dc", "#f1d7d7", "#ead0d8")


@dataclass(frozen=True)
class ChartPoint:
    session: int
    total: Decimal
    band_label: str
    on: dt.date | None


@dataclass(frozen=True)
class PhaseMark:
    session: int  # the first session of the phase
    label: str


def _short(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _n(value: float) -> str:
    return f"{value:.1f}"


class _Scale:
    def __init__(self, definition: InstrumentDefinition, last_session: int) -> None:
        self.low, self.high = definition.range_min, definition.range_max
        self.first, self.last = 0, max(last_session, 1)

    def x(self, session: float) -> float:
        span = WIDTH - LEFT - RIGHT
        return LEFT + span * (session - self.first) / (self.last - self.first)

    def y(self, value: float) -> float:
        span = HEIGHT - TOP - BOTTOM
        return TOP + span * (1 - (value - self.low) / (self.high - self.low))


def _bands(definition: InstrumentDefinition, s: _Scale) -> SafeString:
    worse_last = definition.direction == "higher_worse"
    ordered = definition.bands if worse_last else tuple(reversed(definition.bands))
    rows = []
    for index, band in enumerate(ordered):
        top = s.y(min(band.max + 0.5, s.high))
        bottom = s.y(max(band.min - 0.5, s.low))
        fill = BAND_FILLS[min(index, len(BAND_FILLS) - 1)]
        rows.append((LEFT, _n(top), WIDTH - LEFT - RIGHT, _n(bottom - top), fill,
                     WIDTH - RIGHT + 6, _n((top + bottom) / 2 + 4),
                     f"{_short(band.label)} ({band.min}-{band.max})"))  # fmt: skip
    return format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
        '<text x="{}" y="{}" font-size="11" fill="#1b1f24">{}</text>',
        rows,
    )


def _axes(definition: InstrumentDefinition, s: _Scale) -> SafeString:
    step = 5 if definition.range_max > 12 else 1
    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#1b1f24">{}</text>',
        ((LEFT - 6, _n(s.y(v) + 4), v) for v in range(s.low, s.high + 1, step)),
    )
    sessions = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="#1b1f24">{}</text>',
        ((_n(s.x(n)), HEIGHT - BOTTOM + 16, n) for n in range(s.first, s.last + 1)),
    )
    return format_html(
        '{}{}<text x="{}" y="{}" font-size="12" text-anchor="middle" fill="#1b1f24">{}</text>',
        ticks,
        sessions,
        _n((LEFT + WIDTH - RIGHT) / 2),
        HEIGHT - 6,
        _("Session"),
    )


def _phases(marks: Sequence[PhaseMark], s: _Scale) -> SafeString:
    return format_html_join(
        "",
        '<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#4a5568" stroke-dasharray="2 3"/>'
        '<text x="{3}" y="{4}" font-size="11" fill="#1b1f24">{5}</text>',
        (
            (_n(s.x(m.session - 0.5)), TOP, HEIGHT - BOTTOM, _n(s.x(m.session - 0.5) + 3),
             TOP + 11, m.label)
            for m in marks
        ),
    )  # fmt: skip


def _threshold(
    definition: InstrumentDefinition, baseline: Decimal | None, points: float | None, s: _Scale
) -> SafeString:
    if baseline is None or points is None:
        return SafeString("")
    sign = -1 if definition.direction == "higher_worse" else 1
    level = float(baseline) + sign * points
    if not s.low <= level <= s.high:
        return SafeString("")
    y = _n(s.y(level))
    label = _("Reliable improvement (%(points)s points from baseline)") % {"points": points}
    return format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#1d4f91" stroke-dasharray="6 4"/>'
        '<text x="{}" y="{}" font-size="11" fill="#1d4f91">{}</text>',
        LEFT, y, WIDTH - RIGHT, y, LEFT + 4, _n(float(y) - 4), label,
    )  # fmt: skip


def _points(points: Sequence[ChartPoint], s: _Scale) -> SafeString:
    coords = [(_n(s.x(p.session)), _n(s.y(float(p.total)))) for p in points]
    line = " ".join(f"{x},{y}" for x, y in coords)
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="4" fill="#1d4f91"><title>{}</title></circle>',
        (
            (x, y, _("Session %(n)s: %(total)s, %(band)s%(on)s")
             % {"n": p.session, "total": display_number(p.total), "band": p.band_label,
                "on": f" ({p.on.isoformat()})" if p.on else ""})
            for (x, y), p in zip(coords, points, strict=True)
        ),
    )  # fmt: skip
    return format_html(
        '<polyline points="{}" fill="none" stroke="#1d4f91" stroke-width="2"/>{}', line, dots
    )


def course_chart_svg(
    definition: InstrumentDefinition,
    points: Sequence[ChartPoint],
    *,
    last_session: int,
    phases: Sequence[PhaseMark] = (),
    reliable_change: float | None = None,
    ident: str = "chart",
) -> SafeString:
    """The whole drawing for one instrument. ``points`` are in session order."""
    s = _Scale(definition, max([last_session, *(p.session for p in points)]))
    baseline = points[0].total if points else None
    title = _("%(instrument)s over the course") % {"instrument": definition.code}
    desc = _(
        "%(count)s scores from session %(first)s to %(last)s; shaded bands name the severity."
    ) % {
        "count": len(points),
        "first": points[0].session if points else "-",
        "last": points[-1].session if points else "-",
    }
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" '
        'class="measure-chart" aria-labelledby="{}-title {}-desc">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}{}{}{}{}</svg>',
        WIDTH, HEIGHT, ident, ident, ident, title, ident, desc,
        _bands(definition, s), _axes(definition, s), _phases(phases, s),
        _threshold(definition, baseline, reliable_change, s), _points(points, s),
    )  # fmt: skip
