"""iCalendar (RFC 5545) output for appointments, without clinical content.

Events carry only a neutral title, the time and a stable UID: no client name, no course,
no note. Times are written with the practice's ``TZID`` (and its VTIMEZONE), so a series
at 10:00 Europe/London stays at 10:00 in calendar apps across daylight-saving changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.utils import timezone
from icalendar import Calendar, Event

from openipt.scheduling.models import Appointment
from openipt.scheduling.times import zone_for

PRODID = "-//OpenIPT//Scheduling//EN"


def build_calendar(
    appointments: Iterable[Appointment], *, name: str, summary: Callable[[Appointment], str]
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    stamp = timezone.now()
    for appointment in appointments:
        calendar.add_component(_event(appointment, summary(appointment), stamp))
    calendar.add_missing_timezones()
    body: bytes = calendar.to_ical()  # icalendar is untyped
    return body


def _event(appointment: Appointment, summary: str, stamp: object) -> Event:
    zone = zone_for(appointment.practice)
    event = Event()
    event.add("uid", f"{appointment.uuid}@openipt")
    event.add("dtstamp", stamp)
    event.add("dtstart", appointment.starts_at.astimezone(zone))
    event.add("dtend", appointment.ends_at.astimezone(zone))
    event.add("summary", summary)
    event.add("sequence", appointment.version)
    event.add("status", "CONFIRMED" if appointment.is_booked else "CANCELLED")
    event.add("transp", "OPAQUE")
    event.add("class", "PRIVATE")
    return event
