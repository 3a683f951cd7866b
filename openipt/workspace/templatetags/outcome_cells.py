"""Cells of the practice outcome dashboard: a rate with the count it comes from, a count,
or "Fewer than 5" in words where a small cell is suppressed. Filters rather than includes:
a page of fifty clinicians has several hundred cells."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from openipt.care.outcomes import Rate, Tally, Waiting

register = template.Library()


def _suppressed(text: str) -> SafeString:
    return format_html('<span class="suppressed">{}</span>', text)


@register.filter
def rate_cell(rate: Rate | None) -> SafeString:
    if rate is None:
        return format_html('<span class="muted">{}</span>', _("Not measured"))
    if rate.suppressed:
        return _suppressed(_("Fewer than 5 courses"))
    if rate.base == 0:
        return format_html('<span class="muted">{}</span>', _("No courses"))
    of = _("%(count)s of %(base)s") % {"count": rate.count, "base": rate.base}
    return format_html('<strong>{}%</strong> <span class="muted">{}</span>', rate.percent, of)


@register.filter
def tally_cell(tally: Tally) -> SafeString:
    if tally.suppressed:
        return _suppressed(_("Fewer than 5"))
    return format_html("{}", tally.value)


@register.filter
def waiting_cell(waiting: Waiting) -> SafeString:
    if waiting.suppressed:
        return _suppressed(_("Fewer than 5"))
    if waiting.median_days is None:
        return format_html('<span class="muted">{}</span>', "—")
    of = _("of %(n)s") % {"n": waiting.base}
    return format_html('{} <span class="muted">{}</span>', waiting.median_days, of)
