"""The practice outcome dashboard and its CSV export (docs/measures.md "Practice outcomes").

Seeing the dashboard is recorded as one read and downloading it as one export, with the
filters in the event's detail; neither names a client.
"""

from __future__ import annotations

import csv
import io

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from openipt.access.outcomes import access_outcomes
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.accounts.models import Membership
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.care import outcomes
from openipt.care.outcome_charts import Bar, rate_bars_svg
from openipt.workspace.outcome_forms import GROUP_CHOICES, OutcomeFilterForm, default_range
from openipt.workspace.views.audit import safe_cell

OBJECT_TYPE = "care.outcomes"


@login_required
@require_GET
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access_outcomes(request.user)
    clinicians = outcomes.outcome_clinicians(membership)
    form = OutcomeFilterForm(_with_defaults(request), clinicians=clinicians)
    if not form.is_valid():
        return render(request, "outcomes/dashboard.html", {"form": form}, status=400)
    filters = form.filters()
    board = outcomes.practice_outcomes(membership, filters, clinicians=clinicians)
    export = request.GET.get("format") == "csv"
    action = AuditEvent.Action.EXPORT if export else AuditEvent.Action.READ
    _record(request, membership, action, filters)
    if export:
        return _csv_response(board)
    return render(request, "outcomes/dashboard.html", _context(form, board))


def _with_defaults(request: AuthenticatedHttpRequest) -> dict[str, object]:
    data = request.GET.copy()
    start, end = default_range(timezone.localdate())
    if not data.get("date_from"):
        data["date_from"] = start.isoformat()
    if not data.get("date_to"):
        data["date_to"] = end.isoformat()
    return data  # type: ignore[return-value]


@transaction.atomic
def _record(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    action: str,
    filters: outcomes.OutcomeFilters,
) -> None:
    audit.record(
        actor=request.user,
        action=action,
        object_type=OBJECT_TYPE,
        practice_id=membership.practice_id,
        request=request,
        detail=filters.summary(),
    )


def _context(form: OutcomeFilterForm, board: outcomes.Dashboard) -> dict[str, object]:
    headline = board.measures[0] if board.measures else None
    group_title = str(dict(GROUP_CHOICES).get(board.filters.group_by, ""))
    headline_bars = [Bar(name, rate) for name, rate in headline.rates()] if headline else []
    group_bars = [
        Bar(row.label, row.outcome.reliable_recovery)
        for row in board.groups
        if row.outcome.reliable_recovery is not None
    ]
    return {
        "form": form,
        "board": board,
        "headline": headline,
        "group_title": group_title,
        "headline_chart": rate_bars_svg(
            headline_bars,
            title=headline.label if headline else _("Outcomes"),
            ident="outcome-headline",
        ),
        "group_chart": rate_bars_svg(
            group_bars,
            title=_("Reliable recovery by %(group)s") % {"group": group_title.lower()},
            ident="outcome-groups",
        ),
    }


def _csv_response(board: outcomes.Dashboard) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "group", "measure", "figure", "count", "base", "percent"])
    for row in outcomes.csv_rows(board):
        writer.writerow([safe_cell(cell) for cell in row])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"openipt-outcomes-{board.filters.date_from}-{board.filters.date_to}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
