"""The clinician's caseload: open courses with their phase, what needs attention, the next
appointment, the last session and the latest score with its trend.

Showing it is one audited read of the list (names were shown), not of each client.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.care import selectors
from openipt.treatment.models import Format, Phase

CASELOAD_PAGE = 50


@login_required
@require_GET
def caseload(request: AuthenticatedHttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", selectors.CASELOAD_DEFAULT_SORT)
    if sort not in selectors.CASELOAD_SORTS:
        sort = selectors.CASELOAD_DEFAULT_SORT
    phase = request.GET.get("phase", "")
    course_format = request.GET.get("format", "")
    flagged = request.GET.get("flagged") == "1"
    audit.record(
        actor=request.user,
        action=AuditEvent.Action.READ,
        object_type="treatment.caseload",
        practice_id=request.membership.practice_id if request.membership else None,
        request=request,
    )
    rows = selectors.caseload(
        request.user,
        sort=sort,
        phase=phase if phase in Phase.values else "",
        course_format=course_format if course_format in Format.values else "",
        flagged=flagged,
    )
    page = Paginator(rows, CASELOAD_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "treatment/caseload.html",
        {
            "rows": page.object_list,
            "page": page,
            "query": query.urlencode(),
            "sort": sort,
            "phase": phase,
            "format": course_format,
            "flagged": flagged,
            "phases": Phase.choices,
            "formats": Format.choices,
            "sorts": [
                ("flags", _("Needs attention first")),
                ("next", _("Next appointment")),
                ("client", _("Client")),
                ("start", _("Start date")),
                ("session", _("Session")),
                ("phase", _("Phase")),
            ],
        },
    )
