"""Fidelity ratings of a session (docs/adr/0020-fidelity-ratings.md): the therapist's
self-rating and their supervisor's, each made blind to the other; once both are saved, the
page shows both and how far they agree.

One page per session: the rating form while the rater may still change their rating, the
comparison once the other side has rated too. What another rater answered reaches the page
only through ``fidelity.fidelity_page``, which hands it out after the reader's own rating is
saved.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from openipt.access.clients import audit_on_get
from openipt.access.treatment import access_session_to_rate
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.audit.services import record_read
from openipt.care import guidance as guidance_lib
from openipt.core.http import GET_POST, attempt, posted
from openipt.treatment import fidelity
from openipt.treatment.fidelity_forms import FidelityRatingForm
from openipt.treatment.models import Session
from openipt.workspace.views.treatment._shared import page

READ = "fidelity ratings"


@login_required
@GET_POST
def session_fidelity(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    session = access_session_to_rate(
        request.user, course_uuid, session_uuid, audit=audit_on_get(request), detail=READ
    )
    course = session.course
    view = fidelity.fidelity_page(user=request.user, session=session)
    held = session.attendance == Session.Attendance.ATTENDED
    form = None
    if held and not view.comparisons:
        phase = guidance_lib.session_phase(course, session)
        form = FidelityRatingForm(posted(request), scale=view.scale, rating=view.own, phase=phase)
        if request.method == "POST" and form.is_valid():
            data = form.to_data()
            version: int = form.cleaned_data["version"]
            saved = attempt(
                form,
                lambda: fidelity.fidelity_rating_save(
                    actor=request.user, session=session, version=version, data=data,
                    request=request,
                ),
            )  # fmt: skip
            if saved.ok:
                messages.success(request, _("Your rating is saved."))
                return redirect("treatment:session-fidelity", course.uuid, session.uuid)
    if request.method == "POST":  # refused: the page is shown again, and that is a read
        record_read(request, course.client, session, detail=READ)
    return page(
        request,
        "treatment/fidelity.html",
        course,
        "sessions",
        session=session,
        view=view,
        form=form,
        held=held,
        is_therapist=view.role == fidelity.Role.THERAPIST,
    )
