"""The clinician's calendar: the home page (this week's time grid with the day's due items
beside it) and the week page (the same grid on its own).

Both show client names, so each GET records exactly one list read, covering the
appointments and the due items together. Moving between days and weeks is a plain link;
with htmx only the calendar region is swapped (``#calendar`` partial) and the address kept.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from openipt.access.scheduling import access_clinician_week
from openipt.accounts.http import StaffRequest, staff_required
from openipt.accounts.models import Membership
from openipt.audit import services as audit
from openipt.scheduling import selectors
from openipt.scheduling.services import note_can_start
from openipt.scheduling.times import zone_for
from openipt.treatment import supervision
from openipt.workspace import dashboard
from openipt.workspace.calendar import Grid, build_grid
from openipt.workspace.navigation import inbox_counts


def _focus_day(request: StaffRequest, membership: Membership) -> dt.date:
    """The day asked for (``?date=YYYY-MM-DD``, or the Monday of ``?week=YYYY-Www``), else
    today in the practice's time zone; a value that is not a day gets a message."""
    today = timezone.localdate(timezone=zone_for(membership.practice))
    raw_date, raw_week = request.GET.get("date", ""), request.GET.get("week", "")
    if raw_date:
        try:
            return dt.date.fromisoformat(raw_date.strip())
        except ValueError:
            messages.error(request, _("That is not a date. Showing today instead."))
    elif raw_week:
        week = selectors.parse_week(raw_week, membership)
        if week is not None:
            return today if week.monday <= today < week.monday + dt.timedelta(7) else week.monday
        messages.error(request, _("That is not a week. Showing this week instead."))
    return today


def _grid(request: StaffRequest, focus: dt.date) -> tuple[selectors.Week, Grid]:
    membership = request.membership
    week = selectors.parse_week(_week_param(focus), membership)
    assert week is not None  # noqa: S101 - built from a real date
    # No audit here: the page records one read for everything it shows.
    days = access_clinician_week(request.user, week)
    appointments = [a for day in days for a in day.appointments]
    prefetch_related_objects(appointments, "session", "practice")
    grid = build_grid(
        appointments,
        days=week.days,
        focus=focus,
        zone=zone_for(membership.practice),
        now=timezone.now(),
        note_can_start=note_can_start,
    )
    return week, grid


def _week_param(day: dt.date) -> str:
    year, number, _weekday = day.isocalendar()
    return f"{year}-W{number:02d}"


def _context(week: selectors.Week, grid: Grid, membership: Membership) -> dict[str, Any]:
    focus = grid.focus
    return {
        "week": week,
        "grid": grid,
        "zone": zone_for(membership.practice),
        "previous_day": focus - dt.timedelta(days=1),
        "next_day": focus + dt.timedelta(days=1),
        "previous_week": focus - dt.timedelta(days=7),
        "next_week": focus + dt.timedelta(days=7),
    }


def _record(request: StaffRequest, object_type: str, detail: str) -> None:
    audit.record_list_read(
        request,
        actor=request.user,
        practice_id=request.membership.practice_id,
        object_type=object_type,
        detail=detail,
    )


def calendar_home(request: StaffRequest) -> HttpResponse:
    """A clinician's home page (``core:home``): the week's grid and the day's due items."""
    membership = request.membership
    week, grid = _grid(request, _focus_day(request, membership))
    context = _context(week, grid, membership)
    if request.htmx:
        if grid.count:
            _record(request, "core.home", f"{grid.count} appointments shown")
        return render(request, "calendar/home.html#calendar", context)
    due = dashboard.due_items(request.user, membership)
    if grid.count or due.names_shown:
        detail = f"{grid.count} appointments, {due.names_shown} due items shown"
        _record(request, "core.home", detail)
    follow_ups = supervision.open_follow_ups(membership)
    context |= {"due": due, "inbox": inbox_counts(request), "follow_ups": follow_ups}
    if membership.is_admin:
        context["admin"] = dashboard.admin_counts(membership)
    return render(request, "calendar/home.html", context)


@staff_required
@require_GET
def week(request: StaffRequest) -> HttpResponse:
    """The clinician's own week as a time grid (``scheduling:week``)."""
    week, grid = _grid(request, _focus_day(request, request.membership))
    if grid.count:
        _record(request, "scheduling.week", f"{grid.count} appointments shown")
    template = "calendar/week.html#calendar" if request.htmx else "calendar/week.html"
    return render(request, template, _context(week, grid, request.membership))
