"""The de-identified research export page and its download (docs/adr/0019-research-export.md).

The page shows, in counts only, whether every combination of age band, format and start year
is shared by enough courses; the download is recorded as one export event of the practice
(no client is named in it).
"""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from openipt.access.research import access_research_export
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.accounts.models import Membership
from openipt.accounts.research_key import ResearchKeyUnreadable, practice_research_key
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.care import research_export as research

OBJECT_TYPE = "care.research_export"
SPOOL_BYTES = 8 * 1024 * 1024


@login_required
@require_http_methods(["GET", "POST"])
def export(request: AuthenticatedHttpRequest) -> HttpResponse | FileResponse:
    membership = access_research_export(request.user)
    try:
        key = practice_research_key(membership.practice_id)
    except ResearchKeyUnreadable:
        return render(request, "research/key_unreadable.html", status=503)
    k = settings.OPENIPT_EXPORT_MIN_K
    if request.method == "GET":
        check = research.export_check(research.course_rows(membership.practice_id, key), k)
        return render(request, "research/export.html", {"check": check})
    suppress = request.POST.get("suppress") == "1"
    try:
        rows = research.research_export(
            practice_id=membership.practice_id, key=key, k=k, suppress=suppress
        )
    except research.ExportRefused as refused:
        check = research.export_check(research.course_rows(membership.practice_id, key), k)
        context = {"check": check, "refusal": str(refused), "suppress": suppress}
        return render(request, "research/export.html", context, status=409)
    _record(request, membership, rows, k)
    return _zip_response(rows)


@transaction.atomic
def _record(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    rows: research.ResearchExport,
    k: int,
) -> None:
    audit.record(
        actor=request.user,
        action=AuditEvent.Action.EXPORT,
        object_type=OBJECT_TYPE,
        practice_id=membership.practice_id,
        request=request,
        detail=(
            f"courses={len(rows.courses)} administrations={len(rows.administrations)} "
            f"k={k} suppressed={rows.suppressed_courses}"
        ),
    )


def _zip_response(rows: research.ResearchExport) -> FileResponse:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the response closes it
    research.write_zip(rows, spool)
    spool.seek(0)
    name = f"openipt-research-{timezone.localdate().isoformat()}.zip"
    response = FileResponse(
        spool, as_attachment=True, filename=name, content_type="application/zip"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
