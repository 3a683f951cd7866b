"""The practice administrator's audit report and its CSV export (docs/quality.md S6).

Looking at the report and exporting it are themselves audited: the log says who has seen
whose access history.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Iterator

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.accounts.models import Membership
from openipt.audit import services
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.workspace.audit_forms import AuditFilterForm
from openipt.workspace.audit_report import (
    AuditFilters,
    AuditRow,
    access_audit_log,
    audit_events,
    audit_rows,
    audit_rows_for_export,
)

PER_PAGE = 50
CSV_HEADER = [
    "event_id", "time_utc", "time_local", "user_name", "user_email", "client_id",
    "client_name", "action", "object_type", "object_id", "source_address", "detail",
]  # fmt: skip
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@login_required
@require_GET
def report(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access_audit_log(request.user)
    form = AuditFilterForm(request.GET, practice=membership.practice)
    context: dict[str, object] = {"form": form}
    if form.is_valid():
        filters = form.filters()
        events = audit_events(membership.practice, filters)
        page = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
        rows = audit_rows(membership.practice, page.object_list)
        context |= {"filtered": True, "page": page, "rows": rows}
        _record(request, membership, AuditEvent.Action.READ, filters)
    return render(request, "audit/report.html", context)


@login_required
@require_GET
def export(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    membership = access_audit_log(request.user)
    form = AuditFilterForm(request.GET, practice=membership.practice)
    if not form.is_valid():
        return render(request, "audit/report.html", {"form": form}, status=400)
    filters = form.filters()
    _record(request, membership, AuditEvent.Action.EXPORT, filters)
    lines = _csv_lines(audit_rows_for_export(membership.practice, filters))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"openipt-audit-{timezone.now():%Y%m%d-%H%M%S}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@transaction.atomic
def _record(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    action: AuditEvent.Action,
    filters: AuditFilters,
) -> None:
    services.record(
        actor=request.user,
        action=action,
        object_type="audit.report",
        client=_filtered_client(membership, filters.client_uuid),
        practice_id=membership.practice_id,
        request=request,
        detail=filters.summary(),
    )


def _filtered_client(membership: Membership, client_uuid: uuid.UUID | None) -> Client | None:
    """The one client the report is about, so the event shows in that client's history."""
    if client_uuid is None:
        return None
    return Client.objects.filter(practice_id=membership.practice_id, uuid=client_uuid).first()


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: Iterable[AuditRow]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CSV_HEADER)
    for row in rows:
        cells = [
            row.id,
            row.occurred_utc.isoformat(),
            row.occurred_local.isoformat(),
            row.user_name,
            row.user_email,
            row.client_uuid,
            row.client_name,
            row.action,
            row.object_type,
            row.object_id,
            row.source_address,
            row.detail,
        ]
        yield writer.writerow([safe_cell(cell) for cell in cells])
