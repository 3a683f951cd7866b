"""The clinician's calendar as a time grid: rows of half an hour, one column per day.

Server-rendered as a table (``templates/calendar/_grid.html``): an appointment is one cell
spanning the rows it covers (``rowspan``), so no inline style places it and the page needs
no script. Overlapping appointments share one cell. An empty half hour still to come is a
link to book it. The grid runs over practice hours (``DAY_START``-``DAY_END``), widened to
fit any appointment outside them. Built from rows already fetched: no queries here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

from openipt.core.templatetags.dates import weekday_date
from openipt.scheduling.models import Appointment

SLOT_MINUTES = 30
DAY_START = dt.time(8, 0)
DAY_END = dt.time(20, 0)
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES

NoteAction = Literal["open", "start", "none"]


@dataclass(frozen=True)
class Entry:
    """One appointment in the grid, with what its note link does."""

    appointment: Appointment
    starts: dt.datetime  # local
    ends: dt.datetime  # local
    note: NoteAction  # "open": it has a session; "start": one click makes it; "none"


@dataclass
class Cell:
    day: dt.date
    slot: int  # index of the half hour in the day (0 = 00:00)
    rowspan: int = 1
    entries: list[Entry] = field(default_factory=list)
    bookable: bool = False  # an empty half hour still to come
    is_today: bool = False
    is_focus: bool = False
    # Written once per day and per half hour (not per cell in the template): "Friday 4
    # December", "09:30".
    day_label: str = ""
    time_label: str = ""

    @property
    def time(self) -> dt.time:
        minutes = self.slot * SLOT_MINUTES
        return dt.time(minutes // 60, minutes % 60)


@dataclass(frozen=True)
class Row:
    time: dt.time
    on_the_hour: bool
    cells: list[Cell]  # only the cells that start in this row (rowspans cover the rest)


@dataclass(frozen=True)
class Grid:
    days: list[dt.date]
    today: dt.date
    focus: dt.date
    rows: list[Row]
    count: int  # appointments shown

    @property
    def day_counts(self) -> dict[dt.date, int]:
        counts = dict.fromkeys(self.days, 0)
        for row in self.rows:
            for cell in row.cells:
                counts[cell.day] += len(cell.entries)
        return counts


def _slot_of(moment: dt.datetime) -> int:
    return (moment.hour * 60 + moment.minute) // SLOT_MINUTES


def _end_slot(start: dt.datetime, end: dt.datetime) -> int:
    """The first slot after the appointment (it is cut at midnight)."""
    if end.date() > start.date():
        return SLOTS_PER_DAY
    minutes = end.hour * 60 + end.minute
    return max(_slot_of(start) + 1, -(-minutes // SLOT_MINUTES))


def _entries(
    appointments: Sequence[Appointment],
    zone: ZoneInfo,
    note_can_start: Callable[[Appointment], bool],
) -> dict[dt.date, list[Entry]]:
    by_day: dict[dt.date, list[Entry]] = {}
    for appointment in appointments:
        if appointment.status == Appointment.Status.CANCELLED:
            continue  # a cancelled appointment frees its time
        starts = appointment.starts_at.astimezone(zone)
        if appointment.session_id is not None and appointment.course_id is not None:
            note: NoteAction = "open"
        elif note_can_start(appointment):
            note = "start"
        else:
            note = "none"
        entry = Entry(appointment, starts, appointment.ends_at.astimezone(zone), note)
        by_day.setdefault(starts.date(), []).append(entry)
    return by_day


def _bounds(by_day: dict[dt.date, list[Entry]]) -> tuple[int, int]:
    first = _slot_of(dt.datetime.combine(dt.date.min, DAY_START))
    last = _slot_of(dt.datetime.combine(dt.date.min, DAY_END))
    for entries in by_day.values():
        for entry in entries:
            first = min(first, _slot_of(entry.starts))
            last = max(last, _end_slot(entry.starts, entry.ends))
    return first, last


def _day_cells(
    day: dt.date, entries: list[Entry], first: int, last: int, now: dt.datetime
) -> dict[int, Cell]:
    """The cells of one day, keyed by the slot each starts in; overlapping entries merge."""
    cells: dict[int, Cell] = {}
    busy_until = first
    current: Cell | None = None
    for entry in sorted(entries, key=lambda e: (e.starts, e.appointment.pk)):
        start = max(_slot_of(entry.starts), first)
        end = _end_slot(entry.starts, entry.ends)
        if current is not None and start < busy_until:
            current.entries.append(entry)
            busy_until = max(busy_until, end)
            current.rowspan = busy_until - current.slot
            continue
        current = Cell(day, start, end - start, [entry])
        cells[start] = current
        busy_until = end
    covered = {s for cell in cells.values() for s in range(cell.slot, cell.slot + cell.rowspan)}
    for slot in range(first, last):
        if slot not in covered:
            cell = Cell(day, slot)
            cell.bookable = dt.datetime.combine(day, cell.time, tzinfo=now.tzinfo) > now
            cells[slot] = cell
    return cells


def build_grid(
    appointments: Sequence[Appointment],
    *,
    days: list[dt.date],
    focus: dt.date,
    zone: ZoneInfo,
    now: dt.datetime,
    note_can_start: Callable[[Appointment], bool],
) -> Grid:
    """The grid of ``days`` (one or seven), ``focus`` the day a phone shows."""
    now = now.astimezone(zone)
    today = now.date()
    by_day = _entries(appointments, zone, note_can_start)
    first, last = _bounds({day: by_day.get(day, []) for day in days})
    columns = {day: _day_cells(day, by_day.get(day, []), first, last, now) for day in days}
    day_labels = {day: weekday_date(day) for day in days}
    rows = []
    for slot in range(first, last):
        cells = [columns[day][slot] for day in days if slot in columns[day]]
        minutes = slot * SLOT_MINUTES
        time = dt.time(minutes // 60, minutes % 60)
        time_label = time.strftime("%H:%M")
        for cell in cells:
            cell.is_today = cell.day == today
            cell.is_focus = cell.day == focus
            cell.day_label = day_labels[cell.day]
            cell.time_label = time_label
        rows.append(Row(time, minutes % 60 == 0, cells))
    count = sum(len(by_day.get(day, [])) for day in days)
    return Grid(days, today, focus, rows, count)
