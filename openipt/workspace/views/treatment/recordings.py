"""Session recordings under consent (docs/adr/0021-session-recordings.md): the course's
consent to recording, a session's recordings (upload and list), one recording with the
supervisor's time-stamped comments, and the audio itself, unsealed as it streams.

Only the session's therapist and their supervisors reach these pages; everyone else gets
``Http404`` from the gates in ``openipt.access.treatment``.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from openipt.access.clients import audit_on_get
from openipt.access.treatment import (
    access_recording,
    access_recording_consent,
    access_session_recordings,
)
from openipt.accounts import policy
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.audit.services import record_read
from openipt.core.http import GET_POST, attempt, posted
from openipt.treatment import recordings as recordings_lib
from openipt.treatment.models import Recording
from openipt.treatment.recording_forms import (
    RecordingCommentForm,
    RecordingConsentForm,
    RecordingUploadForm,
)
from openipt.workspace.views.treatment._shared import page

CONSENT_READ = "consent to recording"
LIST_READ = "session recordings"
RECORDING_READ = "session recording"
AUDIO_READ = "session recording played"


@login_required
@GET_POST
def recording_consent(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = access_recording_consent(
        request.user, course_uuid, audit=audit_on_get(request), detail=CONSENT_READ
    )
    current = recordings_lib.active_consent(course)
    form = RecordingConsentForm(posted(request) if current is None else None)
    if request.method == "POST":
        if current is not None and request.POST.get("action") == "withdraw":
            count = recordings_lib.recording_consent_withdraw(
                actor=request.user, course=course, request=request
            )
            messages.success(
                request,
                _("Consent withdrawn. %(count)s recording(s) deleted.") % {"count": count},
            )
            return redirect("treatment:recording-consent", course.uuid)
        if current is None and form.is_valid():
            saved = attempt(
                form,
                lambda: recordings_lib.recording_consent_give(
                    actor=request.user,
                    course=course,
                    consented_on=form.cleaned_data["consented_on"],
                    text_version=form.cleaned_data["text_version"],
                    request=request,
                ),
            )
            if saved.ok:
                messages.success(request, _("Consent to recording is saved."))
                return redirect("treatment:recording-consent", course.uuid)
        record_read(request, course.client, course, detail=CONSENT_READ)
    return page(
        request, "treatment/recording_consent.html", course, "sessions", consent=current, form=form
    )


@login_required
@GET_POST
def session_recordings(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    session = access_session_recordings(
        request.user, course_uuid, session_uuid, audit=audit_on_get(request), detail=LIST_READ
    )
    course = session.course
    can_upload = policy.can_upload_recording(request.membership, session)
    consent = recordings_lib.active_consent(course)
    form = RecordingUploadForm(posted(request), request.FILES or None) if can_upload else None
    if request.method == "POST":
        if form is None:
            return HttpResponse(status=404)
        if form.is_valid():
            saved = attempt(
                form,
                lambda: recordings_lib.recording_upload(
                    actor=request.user,
                    session=session,
                    upload=form.cleaned_data["file"],
                    request=request,
                ),
            )
            if saved.ok:
                messages.success(request, _("The recording is uploaded and stored encrypted."))
                return redirect("treatment:session-recordings", course.uuid, session.uuid)
        record_read(request, course.client, session, detail=LIST_READ)
    rows = Recording.objects.filter(session=session).select_related("uploaded_by")
    return page(
        request,
        "treatment/recordings.html",
        course,
        "sessions",
        session=session,
        recordings=list(rows),
        consent=consent,
        form=form,
        can_upload=can_upload,
        max_mb=recordings_lib.max_bytes() // (1024 * 1024),
    )


@login_required
@GET_POST
def recording_detail(
    request: AuthenticatedHttpRequest,
    course_uuid: uuid_lib.UUID,
    session_uuid: uuid_lib.UUID,
    recording_uuid: uuid_lib.UUID,
) -> HttpResponse:
    recording = access_recording(
        request.user,
        course_uuid,
        session_uuid,
        recording_uuid,
        audit=audit_on_get(request),
        detail=RECORDING_READ,
    )
    session = recording.session
    course = session.course
    can_review = policy.can_review_recording(request.membership, session)
    items = recordings_lib.rating_item_choices(session)
    form = None
    if can_review:
        wants_comment = request.method == "POST" and request.POST.get("action") != "reviewed"
        form = RecordingCommentForm(request.POST if wants_comment else None, items=items)
    if request.method == "POST":
        if not can_review or form is None:
            return HttpResponse(status=404)
        if request.POST.get("action") == "reviewed":
            recordings_lib.recording_mark_reviewed(
                actor=request.user, recording=recording, request=request
            )
            messages.success(request, _("Marked as reviewed."))
            return redirect("treatment:recording-detail", course.uuid, session.uuid, recording.uuid)
        if form.is_valid():
            data = form.to_data()
            saved = attempt(
                form,
                lambda: recordings_lib.recording_comment_add(
                    actor=request.user, recording=recording, data=data, request=request
                ),
                field_map={"at_seconds": "at"},
            )
            if saved.ok:
                messages.success(request, _("Your comment is saved."))
                return redirect(
                    "treatment:recording-detail", course.uuid, session.uuid, recording.uuid
                )
        record_read(request, course.client, recording, detail=RECORDING_READ)
    labels = dict(items)
    comments = [
        (comment, labels.get(comment.rating_item_code, comment.rating_item_code))
        for comment in recording.comments.select_related("author")
    ]
    return page(
        request,
        "treatment/recording_detail.html",
        course,
        "sessions",
        session=session,
        recording=recording,
        comments=comments,
        form=form,
        can_review=can_review,
    )


@login_required
@require_GET
def recording_audio(
    request: AuthenticatedHttpRequest,
    course_uuid: uuid_lib.UUID,
    session_uuid: uuid_lib.UUID,
    recording_uuid: uuid_lib.UUID,
) -> StreamingHttpResponse:
    recording = access_recording(
        request.user, course_uuid, session_uuid, recording_uuid, audit=request, detail=AUDIO_READ
    )
    response = StreamingHttpResponse(
        recordings_lib.plaintext_chunks(recording),
        content_type=recordings_lib.content_type(recording),
    )
    response["Content-Length"] = str(recording.size)
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response
