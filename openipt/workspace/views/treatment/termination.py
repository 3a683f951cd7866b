"""The ending of the course: gains, warning signs, the relapse plan and the next step.

The view fetches through the ``openipt.access`` gates, calls one service and renders or
redirects. Showing the page records one read: the gate does it on a GET (``audit_on_get``);
a POST that succeeds redirects and shows nothing.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from openipt.access.clients import audit_on_get
from openipt.access.treatment import access_course, access_termination
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.core.http import GET_POST, attempt
from openipt.treatment import forms, services
from openipt.workspace.views.treatment._shared import page


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
    return page(request, "treatment/termination.html", course, "termination", form=form)
