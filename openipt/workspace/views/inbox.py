"""The staff inbox (openipt/engagement/inbox.py): trainees' notes waiting for the member's
co-signature and the member's own notes returned by their supervisor, then new messages,
diary entries, task reports and completed questionnaires from the member's care-team
clients, newest first.

The list is one page naming clients, recorded as one list read. Opening an item is a POST
that marks it read (audited) and then sends the member to where it is read, which records
its own read; "mark read" and "mark all read" are POSTs that come back to the list.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from openipt.accounts import policy
from openipt.accounts.http import StaffRequest, staff_required
from openipt.audit import services as audit
from openipt.clients.models import Client
from openipt.core.http import parse_uuid
from openipt.engagement import inbox
from openipt.workspace.navigation import inbox_counts


def _require_inbox(request: StaffRequest) -> None:
    if not policy.can_see_inbox(request.membership):
        raise Http404


def _client_filter(request: StaffRequest, raw: str) -> Client | None:
    """The care-team client named by ``?client=``; anyone else's uuid is simply no client."""
    if not raw:
        return None
    try:
        wanted = parse_uuid(raw)
    except Http404:
        return None
    return inbox.care_team_clients(request.membership).filter(uuid=wanted).first()


def target_url(item: inbox.InboxItem) -> str:
    """Where an item is read in the workspace."""
    record = item.record
    if item.kind == inbox.COSIGN:
        return reverse("treatment:session-cosign", args=[record.course.uuid, record.uuid])
    if item.kind == inbox.RETURNED:
        args = [record.course.uuid, record.uuid]
        return reverse("treatment:session-detail", args=args) + "#cosign"
    if item.kind == inbox.MESSAGE:
        return reverse("clients:messages", args=[item.client.uuid])
    if item.kind == inbox.DIARY:
        return reverse("clients:diary", args=[item.client.uuid])
    if item.kind == inbox.TASK:
        args = [record.course.uuid, record.set_in_session.uuid]
        return reverse("treatment:session-detail", args=args) + "#tasks"
    if record.course is not None:
        return reverse("measures:course-measures", args=[record.course.uuid])
    return reverse("clients:detail", args=[item.client.uuid])


@staff_required
@require_GET
def inbox_list(request: StaffRequest) -> HttpResponse:
    _require_inbox(request)
    kind = request.GET.get("kind", "")
    kind = kind if kind in inbox.KINDS else ""
    client = _client_filter(request, request.GET.get("client", ""))
    items = inbox.inbox_items(request.membership, client=client, kind=kind or None)
    counts = (
        inbox.inbox_counts(request.membership, client=client) if client else inbox_counts(request)
    )
    if items or client is not None:
        audit.record_list_read(
            request, actor=request.user, practice_id=request.membership.practice_id,
            object_type="engagement.inbox", detail=f"{len(items)} items shown",
        )  # fmt: skip
    context = {
        "items": items, "counts": counts, "kind": kind, "client": client,
        "kinds": [(k, inbox.KIND_LABELS[k]) for k in inbox.KINDS], "limit": inbox.LIMIT,
    }  # fmt: skip
    return render(request, "inbox/list.html", context)


def _back(request: StaffRequest) -> str:
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
        return wanted
    return reverse("inbox:list")


def _mark(request: StaffRequest, kind: str, uuid: uuid_lib.UUID) -> inbox.InboxItem:
    _require_inbox(request)
    try:
        return inbox.inbox_item_mark_read(
            actor=request.user, kind=kind, item_uuid=uuid, request=request
        )
    except inbox.InboxItemNotFound as exc:
        raise Http404 from exc


@staff_required
@require_POST
def inbox_open(request: StaffRequest, kind: str, uuid: uuid_lib.UUID) -> HttpResponse:
    """Mark the item read and go where it is read."""
    return redirect(target_url(_mark(request, kind, uuid)))


@staff_required
@require_POST
def inbox_mark_read(request: StaffRequest, kind: str, uuid: uuid_lib.UUID) -> HttpResponse:
    _mark(request, kind, uuid)
    if request.htmx:
        return HttpResponse("")  # the row is removed in place
    messages.success(request, _("Marked as read."))
    return redirect(_back(request))


@staff_required
@require_POST
def inbox_mark_all_read(request: StaffRequest) -> HttpResponse:
    _require_inbox(request)
    client = _client_filter(request, request.POST.get("client", ""))
    marked = inbox.inbox_mark_all_read(actor=request.user, client=client, request=request)
    messages.success(
        request,
        _("%(n)s items marked as read.") % {"n": marked} if marked else _("Nothing was new."),
    )
    return redirect(_back(request))
