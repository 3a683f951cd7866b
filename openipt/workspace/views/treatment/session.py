"""Sessions: recording, the session page with its opening review and tasks, signing,
amendments, technique records and the author's private process note.

Each view fetches through the ``openipt.access`` gates, calls one service or selector and
renders or redirects. A page that shows client data records one read: the gate does it on a
GET (``audit_on_get``); a POST that succeeds redirects and shows nothing.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from openipt.access.clients import audit_on_get
from openipt.access.treatment import (
    access_course,
    access_process_note,
    access_session,
    access_session_to_cosign,
    access_task,
)
from openipt.accounts import policy
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.audit.services import record_read
from openipt.care import guidance as guidance_lib
from openipt.care import selectors
from openipt.core.http import GET_POST, attempt, posted
from openipt.measures import services as measure_services
from openipt.treatment import forms, services
from openipt.treatment import recordings as recordings_lib
from openipt.treatment.models import TECHNIQUE_FIELDS, Course, Phase, Session, Technique
from openipt.workspace.views.treatment import _note as note_lib
from openipt.workspace.views.treatment._shared import page

SESSION_READ = "with opening review"  # the session page shows the opening review too


@login_required
@GET_POST
def session_create(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True, audit=audit_on_get(request))
    initial = {"number": services.next_session_number(course), "starts_at": timezone.localtime()}
    form = forms.SessionForm(posted(request), initial=initial, instance=Session(course=course))
    return _note(request, course, None, form)


@login_required
@require_GET
def session_detail(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = access_course(request.user, course_uuid)
    session = access_session(course, session_uuid, audit=request, detail=SESSION_READ)
    return _session_page(request, course, session)


def _session_page(
    request: AuthenticatedHttpRequest,
    course: Course,
    session: Session,
    task_form: forms.TaskForm | None = None,
    cosign_form: forms.CoSignForm | None = None,
) -> HttpResponse:
    """The session page, with the opening review (diary and scores since the previous
    session), the scores entered in the session and between-session tasks, and, for the
    supervisor of a trainee, the co-signature form. The caller has recorded the read (one
    covers all of it)."""
    can_cosign = session.awaits_cosignature and policy.can_cosign(request.membership, session)
    if can_cosign and cosign_form is None:
        cosign_form = forms.CoSignForm(initial={"version": session.version})
    phase = guidance_lib.session_phase(course, session)
    review = selectors.opening_review(course, session)
    return page(
        request,
        "treatment/session_detail.html",
        course,
        "sessions",
        session=session,
        review=review,
        review_scores=note_lib.review_scores(review, session),
        session_scores=note_lib.session_scores(session),
        tasks_given=list(session.tasks_given.all()),
        task_form=task_form or forms.TaskForm(),
        review_form=forms.TaskReviewForm(),
        phase=guidance_lib.phase_label(phase),
        formulation_missing=phase == Phase.MIDDLE and not selectors.formulation_agreed(course),
        amendments=session.amendments.select_related("author"),
        techniques=session.technique_records.all(),
        technique_kinds=Technique.Kind.choices,
        amend_form=forms.AmendmentForm(),
        returns=session.returns.select_related("author"),
        cosign_form=cosign_form if can_cosign else None,
        can_rate_fidelity=policy.can_rate_fidelity(request.membership, session),
        recordings=recordings_lib.session_panel(request.membership, session),
    )


def _session_url(course: Course, session: Session) -> str:
    return reverse("treatment:session-detail", args=[course.uuid, session.uuid])


@login_required
@GET_POST
def session_update(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True, audit=audit_on_get(request))
    session = access_session(course, session_uuid)
    if session.is_signed:
        messages.info(request, _("This session is signed. Add an amendment instead of editing it."))
        return redirect("treatment:session-detail", course.uuid, session.uuid)
    return _note(request, course, session, forms.SessionForm(posted(request), instance=session))


def _note(
    request: AuthenticatedHttpRequest,
    course: Course,
    session: Session | None,
    form: forms.SessionForm,
) -> HttpResponse:
    """The session note, one page in the order a session runs (docs/ipt.md §6): the opening
    review, the questionnaires due, the record, the client's task, the risk check, signing.
    Saving stays on the note; "Save and sign" ends on the signed note."""
    review = selectors.opening_review(course, session)
    entries = note_lib.entries_for(request, course, session)
    if request.method == "POST" and all([form.is_valid(), *[e.form.is_valid() for e in entries]]):
        note = note_lib.note_from(request, form, entries, review.tasks_to_review)
        saved = note_lib.save(request, course, session, form, entries, note)
        if saved is not None:
            return note_lib.after_save(request, course, saved, note)
    if request.method == "POST":  # refused: the note is shown again, and that is a read
        record_read(request, course.client, session or course, detail=SESSION_READ)
    return page(
        request, "treatment/session_form.html", course, "sessions",
        form=form, session=session, review=review, entries=entries,
        **note_lib.page_context(course, session, review),
    )  # fmt: skip


@login_required
@require_POST
def task_create(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    """Set something for the client to try before the next session."""
    course = access_course(request.user, course_uuid, write=True)
    session = access_session(course, session_uuid)
    form = forms.TaskForm(request.POST)
    if form.is_valid():
        text: str = form.cleaned_data["text"]
        set_ = attempt(
            form,
            lambda: services.task_set(
                actor=request.user, session=session, text=text, request=request
            ),
        )
        if set_.ok:
            messages.success(request, _("Saved. The client sees it in their portal."))
            return redirect(_session_url(course, session) + "#tasks")
    # Refused: the session page again, with the typing kept; it shows the record.
    record_read(request, course.client, session, detail=SESSION_READ)
    return _session_page(request, course, session, task_form=form)


@login_required
@require_POST
def task_review(
    request: AuthenticatedHttpRequest,
    course_uuid: uuid_lib.UUID,
    session_uuid: uuid_lib.UUID,
    task_uuid: uuid_lib.UUID,
) -> HttpResponse:
    """Record, in this session, how a task set in an earlier one went."""
    course = access_course(request.user, course_uuid, write=True)
    session = access_session(course, session_uuid)
    task = access_task(session, task_uuid)
    form = forms.TaskReviewForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Choose done or not done."))
        services.task_review(actor=request.user, task=task, session=session,
                             status=form.cleaned_data["status"], request=request)  # fmt: skip
        messages.success(request, _("Task review saved."))
    except ValidationError as exc:  # shown as a message: the form is a pair of buttons
        messages.error(request, " ".join(exc.messages))
    return redirect(_session_url(course, session) + "#review")


@login_required
@require_POST
def session_sign(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True)
    session = access_session(course, session_uuid)
    try:
        version = int(request.POST.get("version", ""))
        signed = measure_services.session_note_sign(
            actor=request.user, session=session, version=version, request=request
        )
        if signed.awaits_cosignature:
            messages.success(request, _(note_lib.AWAITING_MESSAGE))
        else:
            messages.success(
                request, _("Session signed. It can no longer be edited; add amendments instead.")
            )
    except ValueError:
        messages.error(request, _("The session could not be signed. Please try again."))
    except ValidationError as exc:  # shown as a message: signing is a single button
        messages.error(request, " ".join(exc.messages))
    return redirect("treatment:session-detail", course.uuid, session.uuid)


@login_required
@GET_POST
def session_cosign(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    """The supervisor's review of a trainee's note: the session page with the co-signature
    form; "Co-sign" makes the note final, "Return with a comment" sends it back to the
    trainee (docs/adr/0018-trainee-co-signature.md)."""
    session = access_session_to_cosign(
        request.user, course_uuid, session_uuid, audit=audit_on_get(request), detail=SESSION_READ
    )
    course = session.course
    if request.method == "GET" and not session.awaits_cosignature:
        return _session_page(request, course, session)
    form = forms.CoSignForm(posted(request), initial={"version": session.version})
    if request.method == "POST" and form.is_valid():
        done = attempt(form, lambda: _cosign_decision(request, session, form))
        if done.ok:
            return redirect("treatment:session-detail", course.uuid, session.uuid)
    if request.method == "POST":  # refused: the note is shown again, and that is a read
        record_read(request, course.client, session, detail=SESSION_READ)
    return _session_page(request, course, session, cosign_form=form)


def _cosign_decision(
    request: AuthenticatedHttpRequest, session: Session, form: forms.CoSignForm
) -> object:
    version: int = form.cleaned_data["version"]
    if "return" in request.POST:
        returned = services.session_return(
            actor=request.user, session=session, version=version,
            comment=form.cleaned_data["comment"], request=request,
        )  # fmt: skip
        messages.success(request, _("Note returned. The clinician sees your comment."))
        return returned
    cosigned = services.session_cosign(
        actor=request.user, session=session, version=version, request=request
    )
    messages.success(request, _("Note co-signed. It is now part of the client's record."))
    return cosigned


@login_required
@GET_POST
def session_amend(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True, audit=audit_on_get(request))
    session = access_session(course, session_uuid)
    form = forms.AmendmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        text: str = form.cleaned_data["text"]
        amended = attempt(
            form,
            lambda: services.session_amend(
                actor=request.user, session=session, text=text, request=request
            ),
        )
        if amended.ok and session.awaits_cosignature:
            messages.success(
                request, _("Amendment added. The note goes back to your supervisor to co-sign.")
            )
            return redirect("treatment:session-detail", course.uuid, session.uuid)
        if amended.ok:
            messages.success(request, _("Amendment added."))
            return redirect("treatment:session-detail", course.uuid, session.uuid)
    return page(
        request,
        "treatment/form_page.html",
        course,
        "sessions",
        form=form,
        heading=_("Amend session %(n)s") % {"n": session.number},
    )


@sensitive_variables()
@sensitive_post_parameters()
@login_required
@GET_POST
def process_note(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    """The author's private process note. Nobody else's note is ever fetched (S3). The read
    recorded is the note's (the course's while there is none)."""
    course = access_course(request.user, course_uuid, write=True)
    session = access_session(course, session_uuid)
    note = access_process_note(request.user, session, audit=audit_on_get(request))
    initial = {"version": note.version if note else 0, "text": note.text if note else ""}
    form = forms.ProcessNoteForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        text: str = form.cleaned_data["text"]
        saved = attempt(
            form,
            lambda: services.process_note_save(
                actor=request.user, session=session, version=form.edit_version(), text=text,
                request=request,
            ),
        )  # fmt: skip
        if saved.ok:
            messages.success(request, _("Private note saved."))
            return redirect("treatment:process-note", course.uuid, session.uuid)
    return page(
        request, "treatment/process_note.html", course, "sessions", form=form, session=session
    )


@login_required
@GET_POST
def technique_create(
    request: AuthenticatedHttpRequest,
    course_uuid: uuid_lib.UUID,
    session_uuid: uuid_lib.UUID,
    kind: str,
) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True, audit=audit_on_get(request))
    session = access_session(course, session_uuid)
    if kind not in TECHNIQUE_FIELDS:
        raise Http404
    form = forms.TechniqueForm(request.POST or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        saved = attempt(
            form,
            lambda: services.technique_create(
                actor=request.user, session=session, data=form.to_data(), request=request
            ),
        )
        if saved.ok:
            messages.success(request, _("Technique record saved."))
            return redirect("treatment:session-detail", course.uuid, session.uuid)
    label = Technique.Kind(kind).label
    return page(request, "treatment/form_page.html", course, "sessions", form=form, heading=label)
