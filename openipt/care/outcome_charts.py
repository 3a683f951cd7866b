"""Hand-written SVG bar charts for the practice outcome dashboard (docs/adr/0012).

Horizontal bars from 0 to 100 %, one per row, each with its figure written beside it in words
("62% · 13 of 21"), so colour never carries the meaning alone; a suppressed or empty row
says so in text instead of drawing a bar. No text is smaller than 12 px. The drawing has a
``<title>`` and ``<desc>``; the page shows the same figures in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from openipt.care.outcomes import Rate

# Narrow on purpose: a phone shows it at about 85 % of its size, and 15-unit text is then
# still at least 12 px. Each row is its label, then its bar with the figure after it.
WIDTH = 360
LEFT = 4
BAR_WIDTH = 170
ROW = 48
BAR_HEIGHT = 16
TOP, BOTTOM = 8, 30
FONT = 15
BAR_FILL = "#1d4f91"
TEXT = "#1b1f24"
GRID = "#c9ced6"


@dataclass(frozen=True)
class Bar:
    label: str
    rate: Rate


def _n(value: float) -> str:
    return f"{value:.1f}"


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def figure(rate: Rate) -> str:
    """The words drawn beside a bar (and read by the tooltip)."""
    if rate.suppressed:
        return _("fewer than 5: not shown")
    if rate.base == 0:
        return _("no courses to count")
    return _("%(percent)s%% · %(count)s of %(base)s") % {
        "percent": rate.percent,
        "count": rate.count,
        "base": rate.base,
    }


def _grid(height: int) -> SafeString:
    ticks = [(LEFT + BAR_WIDTH * p / 100, p) for p in (0, 50, 100)]
    bottom = height - BOTTOM
    return format_html_join(
        "",
        '<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="{3}" stroke-width="1"/>'
        '<text x="{0}" y="{4}" font-size="{5}" text-anchor="{8}" fill="{6}">{7}%</text>',
        (
            (
                _n(x),
                TOP + 20,
                bottom,
                GRID,
                bottom + 20,
                FONT,
                TEXT,
                p,
                "start" if p == 0 else "middle",
            )
            for x, p in ticks
        ),
    )


def _bar(index: int, bar: Bar) -> SafeString:
    y = TOP + index * ROW
    label_y, bar_y = y + FONT, y + 22
    percent = bar.rate.percent
    width = 0.0 if percent is None else BAR_WIDTH * percent / 100
    words = figure(bar.rate)
    shape = format_html(
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
        LEFT,
        bar_y,
        _n(width),
        BAR_HEIGHT,
        BAR_FILL,
        bar.label,
        words,
    )
    return format_html(
        '<g><text x="{}" y="{}" font-size="{}" font-weight="600" fill="{}">{}</text>{}'
        '<text x="{}" y="{}" font-size="{}" fill="{}"{}>{}</text></g>',
        LEFT,
        label_y,
        FONT,
        TEXT,
        _short(bar.label),
        shape if percent is not None else "",
        _n(LEFT + width + 6),
        bar_y + BAR_HEIGHT - 3,
        FONT,
        TEXT,
        format_html(' font-style="{}"', "italic") if percent is None else "",
        words,
    )


def rate_bars_svg(bars: Sequence[Bar], *, title: str, ident: str) -> SafeString:
    """One bar per row; the drawing is as tall as its rows."""
    height = TOP + ROW * max(len(bars), 1) + BOTTOM
    described = "; ".join(f"{b.label}: {figure(b.rate)}" for b in bars)
    rows = format_html_join("", "{}", ((_bar(i, b),) for i, b in enumerate(bars)))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart outcome-chart" role="img" '
        'viewBox="0 0 {} {}" width="{}" height="{}" aria-labelledby="{}-title {}-desc" '
        'font-family="system-ui, sans-serif">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}{}</svg>',
        WIDTH,
        height,
        WIDTH,
        height,
        ident,
        ident,
        ident,
        title,
        ident,
        described or _("Nothing to show for this period."),
        _grid(height),
        rows,
    )
