"""The problem areas: candidates, the focus choice and each area's own work.

Each view fetches through the ``openipt.access`` gates, calls one service or selector and
renders or redirects. A page that shows client data records one read: the gate does it on a
GET (``audit_on_get``); a POST that succeeds redirects and shows nothing.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from openipt.access.clients import audit_on_get
from openipt.access.treatment import access_course, access_problem_area
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.core.http import GET_POST, attempt
from openipt.treatment import forms, services
from openipt.treatment.models import Area
from openipt.workspace.views.treatment._shared import page


@login_required
@GET_POST
def problem_areas(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    writing = request.method == "POST"
    course = access_course(request.user, course_uuid, write=writing, audit=audit_on_get(request))
    form = forms.ProblemAreaAddForm(request.POST or None)
    if writing and form.is_valid():
        added = attempt(
            form,
            lambda: services.problem_area_create(
                actor=request.user, course=course, area=form.area_code(), data=form.to_data(),
                request=request,
            ),
        )  # fmt: skip
        if added.ok:
            messages.success(request, _("Candidate problem area recorded."))
            return redirect("treatment:problem-areas", course.uuid)
    areas = course.problem_areas.select_related("other_person")
    return page(
        request, "treatment/problem_areas.html", course, "problem_areas", areas=areas, form=form
    )


@login_required
@GET_POST
def problem_area_detail(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, area_uuid: uuid_lib.UUID
) -> HttpResponse:
    writing = request.method == "POST"
    course = access_course(request.user, course_uuid, write=writing, audit=audit_on_get(request))
    area = access_problem_area(course, area_uuid)
    form = forms.ProblemAreaForm(request.POST or None, instance=area)
    if writing and form.is_valid():
        saved = attempt(
            form,
            lambda: services.problem_area_update(
                actor=request.user, problem_area=area, version=form.edit_version(),
                data=form.to_data(), request=request,
            ),
        )  # fmt: skip
        if saved.value is not None:
            messages.success(request, _("Problem area saved."))
            if (
                saved.value.area == Area.DEFICITS
                and saved.value.is_focus
                and not saved.value.deficits_rationale.strip()
            ):
                messages.warning(
                    request,
                    _(
                        "Interpersonal deficits is usually chosen only when no grief, dispute "
                        "or life change fits. Record why none of them applies."
                    ),
                )
            return redirect("treatment:problem-area", course.uuid, area.uuid)
    return page(
        request,
        "treatment/problem_area.html",
        course,
        "problem_areas",
        area=area,
        form=form,
        goals=area.goals.prefetch_related("ratings"),
    )
