"""The dashboard's bar charts: every figure in words, text at least 12 px, escaped labels."""

from __future__ import annotations

import re

from openipt.care.outcome_charts import Bar, figure, rate_bars_svg
from openipt.care.outcomes import Rate


def chart(bars):
    return str(rate_bars_svg(bars, title="Reliable recovery", ident="t"))


def test_each_bar_has_its_figure_in_words_and_a_tooltip():
    svg = chart([Bar("Alice", Rate(3, 7)), Bar("Bob", Rate(1, 2, suppressed=True))])
    assert "43% · 3 of 7" in svg
    assert "fewer than 5: not shown" in svg
    assert svg.count("<rect") == 1  # no bar is drawn for a suppressed cell
    assert "<title>Alice: 43% · 3 of 7</title>" in svg
    assert '<title id="t-title">Reliable recovery</title>' in svg


def test_no_text_is_drawn_smaller_than_12():
    svg = chart([Bar("A long group name that will be shortened", Rate(10, 10))])
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)"', svg)]
    assert sizes
    assert min(sizes) >= 12
    assert "…" in svg


def test_labels_are_escaped_and_empty_charts_say_so():
    svg = chart([Bar("<script>", Rate(0, 0))])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert figure(Rate(0, 0)) == "no courses to count"
    assert "Nothing to show for this period." in chart([])
