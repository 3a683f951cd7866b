"""Letters and reports from a course (docs/user/letters.md): the course's letters, writing
one (with a preview of the wording as it stands), the kept letter, its PDF, and the
practice's letter wording.

The views fetch through the ``openipt.access`` gates, call ``openipt.care.letters`` and
render or redirect. Reading a page records one read (the course gate, on a GET); the PDF is
audited as an export, or a print when opened to print, by the service that makes it.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from openipt.access.clients import audit_on_get
from openipt.access.treatment import access_course
from openipt.accounts import policy
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.accounts.selectors import access_practice_admin
from openipt.audit.services import record_read
from openipt.care import letters
from openipt.core.http import GET_POST, attempt, parse_uuid
from openipt.treatment.models import Course, Letter
from openipt.workspace.letter_forms import LetterForm, TemplateForm
from openipt.workspace.views.treatment._shared import page


def _kind(kind: str) -> str:
    if kind not in letters.Kind.values:
        raise Http404
    return kind


def _can_write(request: AuthenticatedHttpRequest, course: Course) -> bool:
    return policy.can_write_letters(policy.staff_membership(request.user), course.client)


def _letter(course: Course, letter_uuid: uuid_lib.UUID) -> Letter:
    letter = Letter.objects.filter(course=course, uuid=parse_uuid(letter_uuid)).first()
    if letter is None:
        raise Http404
    letter.course = course
    return letter


@login_required
@require_GET
def letter_list(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = access_course(request.user, course_uuid, audit=request, detail="letters")
    kinds = [
        (kind, label, letters.has_consent(course, kind), letters.consent_label(kind))
        for kind, label in letters.Kind.choices
    ]
    return page(
        request,
        "letters/list.html",
        course,
        "letters",
        letters=list(course.letters.select_related("created_by")),
        kinds=kinds,
        can_write_letters=_can_write(request, course),
    )


@login_required
@GET_POST
def letter_create(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, kind: str
) -> HttpResponse:
    kind = _kind(kind)
    course = access_course(
        request.user, course_uuid, write=True, audit=audit_on_get(request), detail="new letter"
    )
    if not _can_write(request, course):
        raise Http404
    name, address = letters.default_recipient(course, kind)
    form = LetterForm(
        request.POST or None, initial={"recipient_name": name, "recipient_address": address}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        made = attempt(
            form,
            lambda: letters.letter_create(
                actor=request.user, course=course, kind=kind,
                recipient_name=data["recipient_name"],
                recipient_address=data["recipient_address"], request=request,
            ),
        )  # fmt: skip
        if made.ok and made.value is not None:
            messages.success(request, _("Letter written. Check it, then download or print it."))
            return redirect("letters:detail", course.uuid, made.value.uuid)
    recipient = form["recipient_name"].value() or name or _("[the recipient's name]")
    return page(
        request,
        "letters/create.html",
        course,
        "letters",
        form=form,
        kind=kind,
        kind_label=letters.Kind(kind).label,
        consent=letters.has_consent(course, kind),
        consent_label=letters.consent_label(kind),
        preview=letters.draft(course, kind, recipient_name=str(recipient)),
    )


@login_required
@require_GET
def letter_detail(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, letter_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = access_course(request.user, course_uuid)
    letter = _letter(course, letter_uuid)
    record_read(request, course.client, letter, detail="letter")
    return page(
        request,
        "letters/detail.html",
        course,
        "letters",
        letter_page=letters.letter_page(letter),
        consent=letters.has_consent(course, letter.kind),
        consent_label=letters.consent_label(letter.kind),
        can_write_letters=_can_write(request, course),
    )


@login_required
@require_GET
def letter_pdf(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, letter_uuid: uuid_lib.UUID
) -> HttpResponse:
    """Download (or, with ``?print=1``, open to print): audited as an export or a print."""
    course = access_course(request.user, course_uuid, write=True)
    if not _can_write(request, course):
        raise Http404
    letter = _letter(course, letter_uuid)
    printing = request.GET.get("print") == "1"
    try:
        pdf = letters.letter_pdf(
            actor=request.user, letter=letter, printing=printing, request=request
        )
    except ValidationError as refusal:
        for message in refusal.messages:
            messages.error(request, message)
        return redirect("letters:detail", course.uuid, letter.uuid)
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "inline" if printing else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="letter-{letter.kind}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def template_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    admin = access_practice_admin(request.user)
    context = {"templates": letters.practice_templates(admin.practice_id)}
    return render(request, "letters/templates.html", context)


@login_required
@GET_POST
def template_edit(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    kind = _kind(kind)
    admin = access_practice_admin(request.user)
    form = TemplateForm(
        request.POST or None, initial={"body": letters.template_text(admin.practice_id, kind)}
    )
    if request.method == "POST" and form.is_valid():
        saved = attempt(
            form,
            lambda: letters.template_save(
                actor=request.user, admin=admin, kind=kind, body=form.cleaned_data["body"],
                request=request,
            ),
        )  # fmt: skip
        if saved.ok:
            messages.success(request, _("Letter wording saved."))
            return redirect("letters:templates")
    context = {
        "form": form,
        "kind": kind,
        "kind_label": letters.Kind(kind).label,
        "fields": list(letters.FIELDS.items()),
        "default": letters.DEFAULTS[kind],
    }
    return render(request, "letters/template_edit.html", context)
