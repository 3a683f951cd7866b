"""Wall-clock time in a practice's time zone <-> the UTC instants we store."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from openipt.accounts.models import Practice

UTC = dt.UTC


def zone_for(practice: Practice) -> ZoneInfo:
    """The practice's IANA time zone (UTC if the stored name is unknown)."""
    try:
        return ZoneInfo(practice.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def to_utc(day: dt.date, clock: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of ``clock`` on ``day`` in ``zone``.

    The offset is the one in force on that date, so 10:00 in London is 09:00 UTC in summer
    and 10:00 UTC in winter. A time that does not exist (skipped when clocks go forward)
    is read with the offset from before the change, i.e. one hour later in local time.
    """
    return dt.datetime.combine(day, clock.replace(tzinfo=None), tzinfo=zone).astimezone(UTC)


def local(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return moment.astimezone(zone)


def describe(moment: dt.datetime, zone: ZoneInfo) -> str:
    """ "Tuesday 3 November 2026, 10:00" in the active language, in ``zone``."""
    wall = local(moment, zone)
    # Translators: a date format (Django's date codes); Spanish puts "de" between the parts.
    day = date_format(wall, pgettext("long date with weekday", "l j F Y"))
    return f"{day}, {time_format(wall, 'H:i')}"


def describe_range(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> str:
    return _("%(start)s to %(end)s") % {
        "start": describe(start, zone),
        "end": time_format(local(end, zone), "H:i"),
    }
