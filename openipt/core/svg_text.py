"""Text measurement for the hand-drawn SVG charts (docs/adr/0012-svg-charts-by-hand.md).

The server cannot measure fonts, so a chart lays its labels out with a generous estimate of
how wide a string is drawn in a sans-serif face, and shortens a label that would not fit
(the full text then goes into the label's ``<title>``).
"""

from __future__ import annotations

# Every text in a chart is drawn at this size or larger (in SVG user units, which the pages
# show one to one as CSS pixels), so no label is ever smaller than 12 px on screen.
MIN_FONT_SIZE = 12

_NARROW, _WIDE = frozenset("fijlrtI.,;:'!|() "), frozenset("mwMW→…")
# Fonts differ; a shortened label leaves this share of its room unused, to be sure it fits.
_SPARE = 0.06


def text_width(text: str, size: float = MIN_FONT_SIZE) -> float:
    """A generous estimate of how wide ``text`` is drawn at ``size`` (narrow letters a third
    of an em, wide ones nine tenths, capitals seven tenths, digits and the rest about six
    tenths)."""
    ems = sum(
        0.34
        if ch in _NARROW
        else 0.9
        if ch in _WIDE
        else 0.7
        if ch.isupper()
        else 0.64
        if ch.isdigit()
        else 0.6
        for ch in text
    )
    return ems * size


def fit(text: str, width: float, size: float = MIN_FONT_SIZE) -> str:
    """``text`` itself if it fits in ``width``, else as much of it as fits followed by "…"."""
    width *= 1 - _SPARE
    if text_width(text, size) <= width:
        return text
    cut = text
    while cut and text_width(cut.rstrip() + "…", size) > width:
        cut = cut[:-1]
    return cut.rstrip() + "…"


def wrap(text: str, width: float, lines: int, size: float = MIN_FONT_SIZE) -> list[str]:
    """``text`` broken at spaces into at most ``lines`` lines that fit in ``width``; what
    does not fit on the last line is cut short with "…" (as is a word longer than a line)."""
    room = width * (1 - _SPARE)
    result: list[str] = []
    words = text.split()
    while words and len(result) < lines:
        line = words.pop(0)
        while words and text_width(f"{line} {words[0]}", size) <= room:
            line = f"{line} {words.pop(0)}"
        result.append(line)
    if words:
        result[-1] = " ".join([result[-1], *words])
    return [fit(line, width, size) for line in result] or [""]
