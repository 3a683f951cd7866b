"""The certification case portfolio of a concluded course (``openipt.care.portfolio``): a
preview page with a warning to check the free text for names, the PDF download (audited as
an export) and the supervisor's sign-off.

The course's clinician and their active supervisors reach these pages; everyone else gets
``Http404`` (``access_course_portfolio``).
"""

from __future__ import annotations

import uuid as uuid_lib

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from openipt.access.treatment import access_course_portfolio
from openipt.accounts import policy
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.audit.services import record_read
from openipt.care import portfolio as portfolio_lib
from openipt.core.http import attempt
from openipt.core.validators import PARAGRAPH
from openipt.treatment.models import Course
from openipt.workspace.views.treatment._shared import page

READ = "certification portfolio"


class SignOffForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Comment for the portfolio"),
        required=False,
        max_length=PARAGRAPH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _page(
    request: AuthenticatedHttpRequest, course: Course, form: SignOffForm | None = None
) -> HttpResponse:
    can_sign_off = policy.can_sign_off_portfolio(policy.staff_membership(request.user), course)
    return page(
        request,
        "treatment/portfolio.html",
        course,
        "overview",
        p=portfolio_lib.course_portfolio(course),
        can_sign_off=can_sign_off,
        form=form or SignOffForm(),
    )


@login_required
@require_GET
def course_portfolio(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = access_course_portfolio(request.user, course_uuid, audit=request, detail=READ)
    return _page(request, course)


@login_required
@require_GET
def course_portfolio_pdf(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID
) -> HttpResponse:
    """The portfolio as a PDF, for a concluded course; the download is the audited export."""
    course = access_course_portfolio(request.user, course_uuid)
    if not portfolio_lib.is_concluded(course):
        raise Http404
    context = {"p": portfolio_lib.course_portfolio(course)}
    html = render_to_string("treatment/portfolio_pdf.html", context, request=request)
    audit.record(
        actor=request.user,
        action=AuditEvent.Action.EXPORT,
        obj=course,
        client=course.client,
        request=request,
        detail="certification portfolio PDF",
    )
    response = HttpResponse(portfolio_lib.render_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="case-portfolio.pdf"'
    return response


@login_required
@require_POST
def course_portfolio_signoff(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = access_course_portfolio(request.user, course_uuid)
    if not policy.can_sign_off_portfolio(policy.staff_membership(request.user), course):
        raise Http404
    form = SignOffForm(request.POST)
    if form.is_valid():
        comment: str = form.cleaned_data["comment"]
        try:
            done = attempt(
                form,
                lambda: portfolio_lib.portfolio_sign_off(
                    actor=request.user, course=course, comment=comment, request=request
                ),
            )
        except PermissionDenied:
            raise Http404 from None
        if done.ok:
            messages.success(request, _("Portfolio signed off."))
            return redirect("treatment:course-portfolio", course.uuid)
    record_read(request, course.client, course, detail=READ)  # the page is shown again
    return _page(request, course, form)
