"""Dates with the day of the week, written as each language writes them (docs/translation.md):
"Friday 4 December 2026" in English, "viernes 4 de diciembre de 2026" in Spanish. Django's
named formats have no weekday form, so the pattern itself is a translated message."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.formats import date_format, time_format
from django.utils.translation import get_language, pgettext

register = template.Library()


def _weekday(value: dt.date, pattern: str) -> str:
    text = date_format(value, pattern)
    # Spanish writes the day of the week in lower case (Django's own names are capitalised).
    return text[:1].lower() + text[1:] if (get_language() or "").startswith("es") else text


@register.filter(expects_localtime=True)
def weekday_date(value: dt.date | None) -> str:
    """ "Friday 4 December" """
    if not value:
        return ""
    # Translators: a date format (Django's date codes); Spanish puts "de" before the month.
    return _weekday(value, pgettext("date with weekday, no year", "l j F"))


@register.filter(expects_localtime=True)
def weekday_date_year(value: dt.date | None) -> str:
    """ "Friday 4 December 2026" """
    if not value:
        return ""
    # Translators: a date format (Django's date codes); Spanish puts "de" between the parts.
    return _weekday(value, pgettext("long date with weekday", "l j F Y"))


@register.filter(expects_localtime=True)
def weekday_datetime(value: dt.datetime | None) -> str:
    """ "Friday 4 December, 10:00" """
    if not value:
        return ""
    return f"{weekday_date(value)}, {time_format(value, 'H:i')}"


@register.filter(expects_localtime=True)
def weekday_datetime_year(value: dt.datetime | None) -> str:
    """ "Friday 4 December 2026, 10:00" """
    if not value:
        return ""
    return f"{weekday_date_year(value)}, {time_format(value, 'H:i')}"
