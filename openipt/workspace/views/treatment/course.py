"""Starting a course, its overview page, its details and the phase-task marks.

Each view fetches through the ``openipt.access`` gates, calls one service or selector and
renders or redirects. A page that shows client data records one read: the gate does it on a
GET (``audit_on_get``); a POST that succeeds redirects and shows nothing.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from openipt.access.clients import access_client, audit_on_get
from openipt.access.treatment import access_course
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.accounts.policy import staff_membership
from openipt.audit.services import record_read
from openipt.care import guidance as guidance_lib
from openipt.care.selectors import client_courses, course_overview, with_course_records
from openipt.core.http import GET_POST, attempt
from openipt.treatment import charts, forms, services
from openipt.workspace.views.treatment._shared import MARK_STATUSES, page


@login_required
@GET_POST
def course_create(request: AuthenticatedHttpRequest, client_uuid: uuid_lib.UUID) -> HttpResponse:
    user = request.user
    client = access_client(
        user, client_uuid, write=True, audit=audit_on_get(request), detail="course start"
    )
    clinician = staff_membership(user)
    if clinician is None:  # access_client has let only staff through
        raise Http404
    form = forms.CourseForm(request.POST or None, initial={"start_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        started = attempt(
            form,
            lambda: services.course_create(
                actor=user, client=client, clinician=clinician, data=form.to_data(),
                request=request,
            ),
        )  # fmt: skip
        if started.value is not None:
            messages.success(request, _("Course started."))
            return redirect("treatment:course-detail", started.value.uuid)
    # A course already open for this client comes first: starting another is the exception.
    open_courses = [c for c in client_courses(user, client) if c.is_open]
    return render(
        request,
        "treatment/course_form.html",
        {"form": form, "client": client, "open_courses": open_courses},
    )


@login_required
@require_GET
def course_detail(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = access_course(request.user, course_uuid, audit=request)
    overview = course_overview(
        request.user, course, all_sessions=request.GET.get("sessions") == "all"
    )
    return page(
        request,
        "treatment/course_detail.html",
        overview.course,
        "overview",
        can_write=overview.can_write,
        guidance=overview.guidance,
        sessions=overview.sessions,
        sessions_total=overview.sessions_total,
        latest=overview.latest,
        focus_areas=overview.focus_areas,
        formulation=overview.formulation,
        goals=overview.goals,
        circle=charts.closeness_circle_svg(
            overview.people, title=_("Closeness circle"), ident="circle"
        ),
        people=overview.people,
        timeline=charts.timeline_svg(
            overview.timeline, title=_("Mood and events over time"), ident="timeline"
        ),
        ending=overview.ending,
        progress=overview.chart,
        mark_statuses=MARK_STATUSES,
        phase_label=overview.guidance.phase_label,
    )


@login_required
@GET_POST
def course_update(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True, audit=audit_on_get(request))
    form = forms.CourseUpdateForm(request.POST or None, instance=course)
    if request.method == "POST" and form.is_valid():
        saved = attempt(
            form,
            lambda: services.course_update(
                actor=request.user, course=course, version=form.edit_version(),
                data=form.to_data(), request=request,
            ),
        )  # fmt: skip
        if saved.ok:
            messages.success(request, _("Course details saved."))
            return redirect("treatment:course-detail", course.uuid)
    return page(
        request,
        "treatment/form_page.html",
        course,
        "overview",
        form=form,
        heading=_("Course details"),
    )


@login_required
@require_POST
def task_mark(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True)
    form = forms.TaskMarkForm(request.POST)
    if form.is_valid():
        services.phase_task_set(
            actor=request.user, course=course, data=form.to_data(), request=request
        )
        if not request.htmx:
            messages.success(request, _("Task marked."))
    elif not request.htmx:
        messages.error(request, _("The task could not be marked; choose a status."))
    if not request.htmx:
        return redirect("treatment:course-detail", course.uuid)
    # The guidance block again, in place: it shows the course's records, so it is a read.
    course = with_course_records(course, sessions=False)
    record_read(request, course.client, course, actor=request.user)
    guidance = guidance_lib.guidance_for(
        course,
        sessions=guidance_lib.course_sessions(course),
        measures=guidance_lib.depression_results(course),
    )
    return render(
        request,
        "treatment/_guidance_block.html",
        {"course": course, "can_write": True, "guidance": guidance, "mark_statuses": MARK_STATUSES},
    )
