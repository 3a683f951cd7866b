"""Supervision: the supervisor's workspace, supervision meeting notes and their follow-ups
(docs/user/supervision.md).

The workspace and the note forms are for active supervisors, about the people they
actively supervise; a note is read by its supervisor and, once signed, by the supervisees
it names; everyone else gets 404 (``openipt.access.treatment.access_supervision_meeting``).
Each page records one audited read.
"""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from openipt.access.treatment import (
    access_follow_up,
    access_supervision_meeting,
    courses_for,
)
from openipt.accounts import policy
from openipt.accounts.http import StaffRequest, staff_required
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.care.supervision import supervisor_workspace
from openipt.core.http import GET_POST, attempt, posted
from openipt.core.versioning import EditConflict
from openipt.treatment import supervision as services
from openipt.treatment.models import SupervisionMeeting
from openipt.treatment.supervision_forms import SupervisionAmendmentForm, SupervisionMeetingForm


def _list_read(request: StaffRequest, object_type: str, detail: str) -> None:
    audit.record_list_read(
        request, actor=request.user, practice_id=request.membership.practice_id,
        object_type=object_type, detail=detail,
    )  # fmt: skip


def _supervisor(request: StaffRequest) -> None:
    if not policy.can_keep_supervision(request.membership):
        raise Http404


@staff_required
@require_GET
def workspace(request: StaffRequest) -> HttpResponse:
    """A supervisor's supervisees with their panels, and for anyone supervised the signed
    notes of their own supervision."""
    membership = request.membership
    is_supervisor = policy.can_keep_supervision(membership)
    if not (is_supervisor or membership.is_clinician):
        raise Http404
    board = supervisor_workspace(request.user, membership) if is_supervisor else None
    own = list(
        SupervisionMeeting.objects.filter(
            policy.supervision_meetings_q(membership), supervisees=membership
        )
        .select_related("supervisor__user")
        .order_by("-held_on", "-pk")[:20]
    )
    shown = sum(len(p.caseload) for p in board.panels) if board else 0
    _list_read(request, "treatment.supervision", f"{shown} courses shown")
    return render(
        request,
        "supervision/workspace.html",
        {"board": board, "own_meetings": own, "follow_ups": services.open_follow_ups(membership)},
    )


def _form_page(
    request: StaffRequest, form: SupervisionMeetingForm, meeting: SupervisionMeeting | None
) -> HttpResponse:
    return render(request, "supervision/meeting_form.html", {"form": form, "meeting": meeting})


@staff_required
@GET_POST
def meeting_create(request: StaffRequest) -> HttpResponse:
    _supervisor(request)
    today = timezone.localdate()
    form = SupervisionMeetingForm(posted(request), supervisor=request.membership, today=today)
    if request.method == "POST" and form.is_valid():
        data = form.to_data()
        saved = attempt(
            form,
            lambda: services.supervision_meeting_create(
                actor=request.user, data=data, request=request
            ),
        )
        if saved.ok and saved.value is not None:
            messages.success(request, _("The note is saved as a draft. Sign it when it is ready."))
            return redirect("supervision:meeting-detail", saved.value.uuid)
    _list_read(request, "treatment.supervision", "cases offered for a supervision note")
    return _form_page(request, form, None)


@staff_required
@GET_POST
def meeting_edit(request: StaffRequest, meeting_uuid: uuid_lib.UUID) -> HttpResponse:
    meeting = access_supervision_meeting(request.user, meeting_uuid, edit=True, audit=request)
    today = timezone.localdate()
    form = SupervisionMeetingForm(
        posted(request), supervisor=request.membership, meeting=meeting, today=today
    )
    if request.method == "POST" and form.is_valid():
        data, version = form.to_data(), form.cleaned_data["version"]
        saved = attempt(
            form,
            lambda: services.supervision_meeting_update(
                actor=request.user, meeting=meeting, version=version, data=data,
                request=request,
            ),
        )  # fmt: skip
        if saved.ok:
            messages.success(request, _("The draft is saved."))
            return redirect("supervision:meeting-detail", meeting.uuid)
    return _form_page(request, form, meeting)


def _detail_page(
    request: StaffRequest, meeting: SupervisionMeeting, amend: SupervisionAmendmentForm | None
) -> HttpResponse:
    membership = request.membership
    cases = list(meeting.cases.select_related("client", "clinician__user"))
    readable = set(
        courses_for(request.user).filter(pk__in=[c.pk for c in cases]).values_list("pk", flat=True)
    )
    follow_ups = list(meeting.follow_ups.select_related("supervisee__user"))
    context: dict[str, Any] = {
        "meeting": meeting,
        "supervisees": list(meeting.supervisees.select_related("user")),
        "cases": [(case, case.pk in readable) for case in cases],
        "follow_ups": follow_ups,
        "amendments": list(meeting.amendments.select_related("author")),
        "is_author": meeting.supervisor_id == membership.pk,
        "can_edit": policy.can_edit_supervision_meeting(membership, meeting),
        "can_amend": policy.can_amend_supervision_meeting(membership, meeting),
        "amend_form": amend or SupervisionAmendmentForm(),
        "me": membership,
    }
    return render(request, "supervision/meeting_detail.html", context)


@staff_required
@require_GET
def meeting_detail(request: StaffRequest, meeting_uuid: uuid_lib.UUID) -> HttpResponse:
    meeting = access_supervision_meeting(request.user, meeting_uuid, audit=request)
    return _detail_page(request, meeting, None)


@staff_required
@require_POST
def meeting_sign(request: StaffRequest, meeting_uuid: uuid_lib.UUID) -> HttpResponse:
    meeting = access_supervision_meeting(request.user, meeting_uuid, edit=True)
    try:
        version = int(request.POST.get("version", ""))
        services.supervision_meeting_sign(
            actor=request.user, meeting=meeting, version=version, request=request
        )
    except ValueError:
        messages.error(request, _("The page was out of date. Check the note and sign again."))
    except EditConflict as conflict:
        messages.error(request, " ".join(conflict.messages))
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, _("The note is signed. The people supervised can now read it."))
    return redirect("supervision:meeting-detail", meeting.uuid)


@staff_required
@require_POST
def meeting_amend(request: StaffRequest, meeting_uuid: uuid_lib.UUID) -> HttpResponse:
    meeting = access_supervision_meeting(request.user, meeting_uuid)
    if not policy.can_amend_supervision_meeting(request.membership, meeting):
        raise Http404
    form = SupervisionAmendmentForm(request.POST)
    if form.is_valid():
        text = form.cleaned_data["text"]
        saved = attempt(
            form,
            lambda: services.supervision_amendment_add(
                actor=request.user, meeting=meeting, text=text, request=request
            ),
        )
        if saved.ok:
            messages.success(request, _("The amendment is added."))
            return redirect("supervision:meeting-detail", meeting.uuid)
    # Refused: the page is shown again with the typing kept, and that is a read.
    audit.record(
        actor=request.user, action=AuditEvent.Action.READ, obj=meeting,
        practice_id=request.membership.practice_id, request=request,
    )  # fmt: skip
    return _detail_page(request, meeting, form)


@staff_required
@require_POST
def follow_up_done(request: StaffRequest, follow_up_uuid: uuid_lib.UUID) -> HttpResponse:
    follow_up = access_follow_up(request.user, follow_up_uuid)
    services.supervision_follow_up_done(actor=request.user, follow_up=follow_up, request=request)
    messages.success(request, _("Marked done."))
    if request.POST.get("back") == "meeting":
        return redirect("supervision:meeting-detail", follow_up.meeting.uuid)
    return redirect("core:home")
