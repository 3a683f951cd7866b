"""Server-side SVG progress charts: one instrument's totals over the sessions of a course.

Hand-written SVG (no plotting dependency, no JavaScript, no CSS inside), escaped with
``format_html``, so the same drawing serves pages and PDFs. Severity bands are shaded *and*
named in text; the reliable-change threshold and phase boundaries are labelled lines; each
point has a ``<title>`` tooltip; the drawing has ``<title>``/``<desc>``, and pages show a
data table beside it.

Every text is drawn at 12 units or more and pages show the drawing one unit to one CSS
pixel (scrolling sideways inside its frame on a narrow screen), so no label is ever smaller
than 12 px. The x-axis is the session: a score taken at a session sits on its number, a
score filled in between sessions (in the portal, say) sits between the sessions around it,
placed by its date, and is drawn as a hollow diamond named in a legend.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from openipt.core.svg_text import MIN_FONT_SIZE, fit, wrap
from openipt.core.svg_text import text_width as _text_width
from openipt.measures.models import display_number
from openipt.measures.scoring import InstrumentDefinition

WIDTH, HEIGHT = 596, 300
LEFT, RIGHT, TOP, BOTTOM = 36, 100, 16, 44
LEGEND_HEIGHT = 26  # added below the axis title when some score was taken between sessions
BAND_FILLS = ("#eef5ee", "#f6f4e6", "#f8ecdf", "#f6e2dc", "#f1d7d7", "#ead0d8")
FONT_SIZE = MIN_FONT_SIZE
INK, BLUE = "#1b1f24", "#1d4f91"


@dataclass(frozen=True)
class ChartPoint:
    session: int  # its session; for a score between sessions, the last session before it
    total: Decimal
    band_label: str
    on: dt.date | None
    linked: bool = True  # taken at its session; False: filled in between sessions
    by_client: bool = False  # filled in by the client (in the portal)
    # The version answered when it is not the English original: its code ("es"), drawn as
    # a text mark beside the point and named in a legend, and its name ("Spanish").
    language: str = ""
    language_name: str = ""


@dataclass(frozen=True)
class PhaseMark:
    session: int  # the first session of the phase
    label: str  # the plain name, drawn on the chart
    clinical: str = ""  # the clinical name, shown as the line's tooltip


# Phase labels are 12-unit text; each row of them sits ROW_HEIGHT below the last.
PHASE_FONT_SIZE = FONT_SIZE
ROW_HEIGHT = 17
# A score between sessions sits at least this far (in sessions) from either session.
BETWEEN_MARGIN = 0.2


def text_width(text: str, size: float = PHASE_FONT_SIZE) -> float:
    """A generous estimate of how wide ``text`` is drawn in a sans-serif face at ``size``:
    enough to keep labels apart without measuring fonts on the server."""
    return _text_width(text, size)


def _n(value: float) -> str:
    return f"{value:.1f}"


def point_positions(
    points: Sequence[ChartPoint], session_dates: Mapping[int, dt.date] | None = None
) -> list[float]:
    """Each point's place on the session axis. A score taken at a session sits on its
    number. A score filled in between sessions N and N+1 sits between them, as far along as
    its date is between the two sessions' dates (``session_dates``; else the dates of
    their scores; halfway when either is unknown), never closer than ``BETWEEN_MARGIN`` to
    either, so it is never drawn on top of the session's own score; several in one gap
    keep their order and stay apart."""
    dated = {p.session: p.on for p in points if p.linked and p.on is not None}
    dated.update(session_dates or {})
    gaps: dict[int, list[int]] = {}
    for index, p in enumerate(points):
        if not p.linked:
            gaps.setdefault(p.session, []).append(index)
    places = [float(p.session) for p in points]
    low, high = BETWEEN_MARGIN, 1 - BETWEEN_MARGIN
    for session, members in gaps.items():
        start, end = dated.get(session), dated.get(session + 1)
        fractions: list[float] = []
        for index in members:
            on = points[index].on
            if start is not None and end is not None and on is not None and end > start:
                fractions.append(min(max((on - start).days / (end - start).days, low), high))
        ordered = sorted(members, key=lambda i: (points[i].on or dt.date.max, i))
        distinct = len(fractions) == len(members) and len(set(fractions)) == len(fractions)
        if distinct:
            for index, fraction in zip(members, fractions, strict=True):
                places[index] = session + fraction
        else:  # spread evenly across the gap, in date order
            count = len(ordered)
            for rank, index in enumerate(ordered, start=1):
                places[index] = session + low + (high - low) * rank / (count + 1)
    return places


class _Scale:
    def __init__(
        self, definition: InstrumentDefinition, last_session: float, first_session: int = 0
    ) -> None:
        self.low, self.high = definition.range_min, definition.range_max
        self.first = first_session
        self.last = max(math.ceil(last_session), first_session + 1)

    def x(self, session: float) -> float:
        span = WIDTH - LEFT - RIGHT
        return LEFT + span * (session - self.first) / (self.last - self.first)

    def y(self, value: float) -> float:
        span = HEIGHT - TOP - BOTTOM
        return TOP + span * (1 - (value - self.low) / (self.high - self.low))


def _stack(blocks: list[tuple[float, float]], low: float, high: float) -> list[float]:
    """Tops for blocks given as (wanted centre, height), in order: each as near its centre as
    it can be without touching the one before, all kept within ``low``..``high`` where there
    is room."""
    tops: list[float] = []
    for centre, height in blocks:
        wanted = centre - height / 2
        tops.append(max(wanted, tops[-1] + blocks[len(tops) - 1][1] + 2) if tops else wanted)
    if tops:
        tops[0] = max(tops[0], low)
        for i in range(1, len(tops)):
            tops[i] = max(tops[i], tops[i - 1] + blocks[i - 1][1] + 2)
        overflow = tops[-1] + blocks[-1][1] - high
        if overflow > 0:
            tops[-1] -= overflow
            for i in range(len(tops) - 2, -1, -1):
                tops[i] = min(tops[i], tops[i + 1] - blocks[i][1] - 2)
    return tops


BAND_LINE = FONT_SIZE + 2.5  # the height of one line of a band's name


def band_label_lines(label: str, low: int, high: int, band_height: float) -> list[str]:
    """A band's name and range in the margin: on one line if it fits, else over as many
    lines as the band is tall enough for, the last line shortened if need be."""
    full = f"{label} ({low}-{high})"
    return wrap(full, RIGHT - 10, max(1, int(band_height // BAND_LINE)), FONT_SIZE)


def _bands(definition: InstrumentDefinition, s: _Scale) -> SafeString:
    worse_last = definition.direction == "higher_worse"
    ordered = definition.bands if worse_last else tuple(reversed(definition.bands))
    shapes, labels = [], []
    for index, band in enumerate(ordered):
        top = s.y(min(band.max + 0.5, s.high))
        bottom = s.y(max(band.min - 0.5, s.low))
        fill = BAND_FILLS[min(index, len(BAND_FILLS) - 1)]
        shapes.append((LEFT, _n(top), WIDTH - LEFT - RIGHT, _n(bottom - top), fill))
        full = f"{band.label} ({band.min}-{band.max})"
        lines = band_label_lines(band.label, band.min, band.max, bottom - top)
        labels.append(((top + bottom) / 2, lines, full))
    labels.sort(key=lambda item: item[0])
    tops = _stack(
        [(centre, len(lines) * BAND_LINE) for centre, lines, _full in labels],
        TOP,
        HEIGHT - BOTTOM + 4,
    )
    drawn = []
    for top, (_centre, lines, full) in zip(tops, labels, strict=True):
        drawn.append(
            format_html(
                '<g class="band-label"><title>{}</title>{}</g>',
                full,
                format_html_join(
                    "",
                    '<text x="{}" y="{}" font-size="{}" fill="{}">{}</text>',
                    (
                        (WIDTH - RIGHT + 6, _n(top + BAND_LINE * (i + 1) - 4), FONT_SIZE, INK, line)
                        for i, line in enumerate(lines)
                    ),
                ),
            )
        )
    return format_html(
        "{}{}",
        format_html_join("", '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>', shapes),
        format_html_join("", "{}", ((d,) for d in drawn)),
    )


def session_ticks(last: int, first: int = 0) -> list[int]:
    """The session numbers labelled on the axis: every one when there is room, else every
    2nd, 5th or 10th (and always the first), so the numbers never touch."""
    span = (WIDTH - LEFT - RIGHT) / max(last - first, 1)
    need = text_width(str(last), FONT_SIZE) + 6
    step = next((k for k in (1, 2, 5, 10) if span * k >= need), 10)
    return [n for n in range(first, last + 1) if (n - first) % step == 0]


def _axes(definition: InstrumentDefinition, s: _Scale) -> SafeString:
    plot_h = HEIGHT - TOP - BOTTOM
    per_point = plot_h / max(s.high - s.low, 1)
    steps = (5, 10, 20, 25) if s.high - s.low > 12 else (1, 2, 5)
    step = next((k for k in steps if per_point * k >= FONT_SIZE + 4), 50)
    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="{}" text-anchor="end" fill="{}">{}</text>',
        (
            (LEFT - 6, _n(s.y(v) + 4), FONT_SIZE, INK, v)
            for v in range(s.low, s.high + 1)
            if (v - s.low) % step == 0
        ),
    )
    sessions = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="{}" text-anchor="middle" fill="{}">{}</text>',
        (
            (_n(s.x(n)), HEIGHT - BOTTOM + 17, FONT_SIZE, INK, n)
            for n in session_ticks(s.last, s.first)
        ),
    )
    return format_html(
        '{}{}<text x="{}" y="{}" font-size="{}" text-anchor="middle" fill="{}">{}</text>',
        ticks,
        sessions,
        _n((LEFT + WIDTH - RIGHT) / 2),
        HEIGHT - 8,
        FONT_SIZE,
        INK,
        _("Session"),
    )


def _phase_label_places(marks: Sequence[PhaseMark], s: _Scale) -> list[tuple[float, int, str]]:
    """Each phase label's start, row and text. A label starts just right of its line; one
    that would run past the plot into the band names (a last phase of one session, say) ends
    just left of its line instead, with an arrow pointing at its phase. A label that would
    touch one already placed on its row moves down a row."""
    right_edge = WIDTH - RIGHT - 3
    ends: list[float] = []  # per row: where the last label placed there ends
    places = []
    for mark in marks:
        line = s.x(mark.session - 0.5)
        text = mark.label
        width = text_width(text)
        start = line + 3
        if start + width > right_edge:
            text = f"{mark.label} →"
            width = text_width(text)
            start = max(LEFT + 3, line - 3 - width)
        row = next((r for r, end in enumerate(ends) if start >= end + 6), len(ends))
        if row == len(ends):
            ends.append(0.0)
        ends[row] = start + width
        places.append((start, row, text))
    return places


def _phases(marks: Sequence[PhaseMark], s: _Scale) -> tuple[SafeString, float]:
    """The phase lines and labels, and how far down the labels reach."""
    places = _phase_label_places(marks, s)
    rows = max((row + 1 for _start, row, _text in places), default=0)
    drawn = format_html_join(
        "",
        '<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#4a5568" stroke-dasharray="2 3">'
        "<title>{6}</title></line>"
        '<text x="{3}" y="{4}" font-size="{7}" fill="#1b1f24" class="phase-label">{5}'
        "<title>{6}</title></text>",
        (
            (_n(s.x(m.session - 0.5)), TOP, HEIGHT - BOTTOM, _n(start),
             TOP + 12 + row * ROW_HEIGHT, text, m.clinical or m.label, PHASE_FONT_SIZE)
            for m, (start, row, text) in zip(marks, places, strict=True)
        ),
    )  # fmt: skip
    return drawn, TOP + rows * ROW_HEIGHT + 3


def _threshold(
    definition: InstrumentDefinition,
    baseline: Decimal | None,
    points: float | None,
    s: _Scale,
    phases_end: float,
) -> SafeString:
    if baseline is None or points is None:
        return SafeString("")
    sign = -1 if definition.direction == "higher_worse" else 1
    level = float(baseline) + sign * points
    if not s.low <= level <= s.high:
        return SafeString("")
    y = s.y(level)
    label = _("Reliable improvement (%(points)s points from baseline)") % {"points": points}
    label = fit(label, WIDTH - LEFT - RIGHT - 8)
    # Above the line, unless that would touch the phase labels or leave the plot.
    text_y = y - 4 if y - 4 - FONT_SIZE >= max(phases_end, TOP) else y + FONT_SIZE + 2
    return format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#1d4f91" stroke-dasharray="6 4"/>'
        '<text x="{}" y="{}" font-size="{}" fill="#1d4f91" class="threshold-label">{}</text>',
        LEFT, _n(y), WIDTH - RIGHT, _n(y), LEFT + 4, _n(text_y), FONT_SIZE, label,
    )  # fmt: skip


def _tip(p: ChartPoint) -> str:
    values = {
        "n": p.session,
        "next": p.session + 1,
        "total": display_number(p.total),
        "band": p.band_label,
        "on": f" ({p.on.isoformat()})" if p.on else "",
    }
    if p.linked:
        tip = _("Session %(n)s: %(total)s, %(band)s%(on)s") % values
    elif p.by_client:
        tip = _("Filled in by the client between sessions%(on)s: %(total)s, %(band)s") % values
    else:
        tip = _("Between sessions%(on)s: %(total)s, %(band)s") % values
    if p.language:
        tip += " · " + _("%(language)s version") % {"language": p.language_name or p.language}
    return tip


def _language_mark(x: float, y: float, p: ChartPoint) -> SafeString:
    """The language of a translated version, in text beside its point (never colour only)."""
    if not p.language:
        return SafeString("")
    mark = p.language.upper()
    # Right of the point, or left of it when that would run into the band names.
    left = x + 7 + text_width(mark, FONT_SIZE) > WIDTH - RIGHT
    return format_html(
        '<text x="{}" y="{}" font-size="{}" fill="{}" text-anchor="{}" '
        'class="point-language">{}</text>',
        _n(x - 7 if left else x + 7), _n(y - 7), FONT_SIZE, INK, "end" if left else "start", mark,
    )  # fmt: skip


def _diamond(x: float, y: float, r: float = 6) -> str:
    return f"M{_n(x)},{_n(y - r)} L{_n(x + r)},{_n(y)} L{_n(x)},{_n(y + r)} L{_n(x - r)},{_n(y)} Z"


def _points(
    points: Sequence[ChartPoint], s: _Scale, session_dates: Mapping[int, dt.date] | None
) -> SafeString:
    places = point_positions(points, session_dates)
    coords = [(s.x(x), s.y(float(p.total))) for x, p in zip(places, points, strict=True)]
    line = " ".join(f"{_n(x)},{_n(y)}" for x, y in sorted(coords))
    marks = []
    for (x, y), p in zip(coords, points, strict=True):
        if p.linked:
            marks.append(
                format_html(
                    '<circle cx="{}" cy="{}" r="4" fill="#1d4f91"><title>{}</title></circle>',
                    _n(x),
                    _n(y),
                    _tip(p),
                )
            )
        else:
            marks.append(
                format_html(
                    '<path d="{}" fill="#fff" stroke="#1d4f91" stroke-width="2" '
                    'class="point-between"><title>{}</title></path>',
                    _diamond(x, y),
                    _tip(p),
                )
            )
    languages = [_language_mark(x, y, p) for (x, y), p in zip(coords, points, strict=True)]
    return format_html(
        '<polyline points="{}" fill="none" stroke="#1d4f91" stroke-width="2"/>{}{}',
        line,
        format_html_join("", "{}", ((m,) for m in marks)),
        format_html_join("", "{}", ((m,) for m in languages if m)),
    )


def _legend(y: float) -> SafeString:
    """The two kinds of point, named in words."""
    at = _("Score at a session")
    between = _("Score between sessions")
    second = LEFT + 14 + text_width(at, FONT_SIZE) + 24
    return format_html(
        '<g class="chart-legend"><circle cx="{}" cy="{}" r="4" fill="#1d4f91"/>'
        '<text x="{}" y="{}" font-size="{}" fill="{}">{}</text>'
        '<path d="{}" fill="#fff" stroke="#1d4f91" stroke-width="2"/>'
        '<text x="{}" y="{}" font-size="{}" fill="{}">{}</text></g>',
        LEFT + 4, _n(y - 4), LEFT + 14, _n(y), FONT_SIZE, INK, at,
        _diamond(second, y - 4), _n(second + 10), _n(y), FONT_SIZE, INK, between,
    )  # fmt: skip


def _languages(points: Sequence[ChartPoint]) -> list[tuple[str, str]]:
    """The translated versions among the points, (code, name), in order of first use."""
    found: dict[str, str] = {}
    for p in points:
        if p.language:
            found.setdefault(p.language, p.language_name or p.language)
    return list(found.items())


def _language_legend(languages: Sequence[tuple[str, str]], y: float) -> SafeString:
    """What each language mark means, in words: "ES: answered in the Spanish version"."""
    text = "; ".join(
        _("%(code)s: answered in the %(language)s version")
        % {"code": code.upper(), "language": name}
        for code, name in languages
    )
    return format_html(
        '<g class="chart-legend chart-legend-language">'
        '<text x="{}" y="{}" font-size="{}" fill="{}">{}</text></g>',
        LEFT + 4, _n(y), FONT_SIZE, INK, fit(text, WIDTH - LEFT - 8),
    )  # fmt: skip


def course_chart_svg(
    definition: InstrumentDefinition,
    points: Sequence[ChartPoint],
    *,
    last_session: int,
    first_session: int = 0,
    baseline: Decimal | None = None,
    phases: Sequence[PhaseMark] = (),
    reliable_change: float | None = None,
    ident: str = "chart",
    session_dates: Mapping[int, dt.date] | None = None,
) -> SafeString:
    """The whole drawing for one instrument. ``points`` are in session order;
    ``session_dates`` (number -> day) place the scores filled in between sessions. The axis
    runs from ``first_session`` (0: the start); ``baseline``, the total the reliable-change
    line is measured from, is the first point's unless given (a drawing of the latest
    sessions only gives the course's first score)."""
    s = _Scale(
        definition, max([last_session, *point_positions(points, session_dates)]), first_session
    )
    if baseline is None:
        baseline = points[0].total if points else None
    between = sum(1 for p in points if not p.linked)
    title = _("%(instrument)s over the course") % {"instrument": definition.code}
    desc = _(
        "%(count)s scores from session %(first)s to %(last)s; shaded bands name the severity."
    ) % {
        "count": len(points),
        "first": points[0].session if points else "-",
        "last": points[-1].session if points else "-",
    }
    if between:
        desc += " " + _(
            "%(between)s of them filled in between sessions, drawn as hollow diamonds."
        ) % {"between": between}
    languages = _languages(points)
    for code, name in languages:
        count = sum(1 for p in points if p.language == code)
        desc += " " + _(
            "%(count)s of them answered in the %(language)s version, marked %(code)s."
        ) % {"count": count, "language": name, "code": code.upper()}
    height = HEIGHT + (LEGEND_HEIGHT if between else 0) + (LEGEND_HEIGHT if languages else 0)
    language_legend = _language_legend(languages, height - 8) if languages else SafeString("")
    phase_lines, phases_end = _phases(phases, s)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'role="img" class="measure-chart" aria-labelledby="{i}-title {i}-desc">'
        '<title id="{i}-title">{}</title><desc id="{i}-desc">{}</desc>{}{}{}{}{}{}{}</svg>',
        title, desc, _bands(definition, s), _axes(definition, s), phase_lines,
        _threshold(definition, baseline, reliable_change, s, phases_end),
        _points(points, s, session_dates),
        _legend(HEIGHT + LEGEND_HEIGHT - 8) if between else SafeString(""),
        language_legend,
        w=WIDTH, h=height, i=ident,
    )  # fmt: skip
