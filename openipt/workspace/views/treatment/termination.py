"""The ending of the course: gains, warning signs, the relapse plan and the next step; then
concluding the course (with its future appointments) and starting maintenance.

The views fetch through the ``openipt.access`` gates, call services and render or redirect.
Showing a page records one read: the gate does it on a GET (``audit_on_get``); a POST that
succeeds redirects and shows nothing.

Concluding spans two layers: treatment closes the course and scheduling cancels its
appointments. Treatment may not import scheduling, so this view calls both in one
transaction: a refusal from either leaves the course open and every appointment booked.
"""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from openipt.access.clients import audit_on_get
from openipt.access.treatment import access_course, access_termination
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.accounts.models import Membership
from openipt.accounts.policy import staff_membership
from openipt.care.selectors import course_ending, maintenance_offered, with_course_records
from openipt.core.http import GET_POST, attempt
from openipt.scheduling.services import appointments_cancel_future, course_future_appointments
from openipt.treatment import forms, services
from openipt.treatment.models import Course
from openipt.workspace.views.treatment._shared import page


def _conclude_form(course: Course, data: Any = None) -> forms.ConcludeForm:
    return forms.ConcludeForm(
        data,
        prefix="conclude",
        future_appointments=len(course_future_appointments(course)),
        offer_maintenance=maintenance_offered(course),
        initial={"ended_on": timezone.localdate(), "version": course.version},
    )


def _ending_page(
    request: AuthenticatedHttpRequest,
    course: Course,
    *,
    form: forms.TerminationForm,
    conclude_form: forms.ConcludeForm | None = None,
) -> HttpResponse:
    course = with_course_records(course)
    if conclude_form is None and course.is_open:
        conclude_form = _conclude_form(course)
    return page(
        request,
        "treatment/termination.html",
        course,
        "termination",
        form=form,
        conclude_form=conclude_form,
        ending=course_ending(course),
        future=course_future_appointments(course) if course.is_open else [],
    )


@login_required
@GET_POST
def termination(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    writing = request.method == "POST"
    course = access_course(request.user, course_uuid, write=writing, audit=audit_on_get(request))
    form = forms.TerminationForm(request.POST or None, instance=access_termination(course))
    if writing and form.is_valid():
        saved = attempt(
            form,
            lambda: services.termination_save(
                actor=request.user, course=course, version=form.edit_version(),
                data=form.to_data(), request=request,
            ),
        )  # fmt: skip
        if saved.ok:
            messages.success(request, _("Ending record saved."))
            return redirect("treatment:course-detail", course.uuid)
    return _ending_page(request, course, form=form)


def _conclude(
    request: AuthenticatedHttpRequest, course: Course, form: forms.ConcludeForm
) -> tuple[Course, int, Course | None]:
    """Close the course, cancel its future appointments and start maintenance, or nothing."""
    user = request.user
    with transaction.atomic():
        closed = services.course_conclude(
            actor=user, course=course, version=form.edit_version(), data=form.to_data(),
            request=request,
        )  # fmt: skip
        cancelled = 0
        if form.cancels:
            cancelled = appointments_cancel_future(
                actor=user, course=closed, reason=form.cleaned_data["cancel_reason"],
                request=request,
            )  # fmt: skip
        follow_on = None
        if form.starts_maintenance:
            follow_on = services.course_start_maintenance(
                actor=user, previous=closed, clinician=_clinician(request),
                data=services.MaintenanceData(start_date=timezone.localdate()), request=request,
            )  # fmt: skip
    return closed, cancelled, follow_on


def _clinician(request: AuthenticatedHttpRequest) -> Membership:
    membership = staff_membership(request.user)
    if membership is None:  # the write gate has let only staff through
        raise Http404
    return membership


@login_required
@require_POST
def course_conclude(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True)
    conclude_form = _conclude_form(course, request.POST)
    if conclude_form.is_valid():
        done = attempt(conclude_form, lambda: _conclude(request, course, conclude_form))
        if done.value is not None:
            _, cancelled, follow_on = done.value
            messages.success(request, _concluded_message(cancelled, follow_on))
            return redirect("treatment:course-detail", (follow_on or course).uuid)
    form = forms.TerminationForm(instance=access_termination(course))
    return _ending_page(request, course, form=form, conclude_form=conclude_form)


def _concluded_message(cancelled: int, follow_on: Course | None) -> str:
    parts = [_("The course is closed.")]
    if cancelled:
        parts.append(
            ngettext(
                "%(count)s future appointment was cancelled.",
                "%(count)s future appointments were cancelled.",
                cancelled,
            )
            % {"count": cancelled}
        )
    if follow_on is not None:
        parts.append(_("This is the new maintenance course."))
    return " ".join(parts)


@login_required
@GET_POST
def course_maintenance(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True, audit=audit_on_get(request))
    form = forms.MaintenanceForm(request.POST or None, initial={"start_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        started = attempt(
            form,
            lambda: services.course_start_maintenance(
                actor=request.user, previous=course, clinician=_clinician(request),
                data=form.to_data(), request=request,
            ),
        )  # fmt: skip
        if started.value is not None:
            messages.success(request, _("Maintenance course started."))
            return redirect("treatment:course-detail", started.value.uuid)
    course = with_course_records(course)
    return page(
        request,
        "treatment/maintenance.html",
        course,
        "termination",
        form=form,
        ending=course_ending(course),
    )
