"""The course's records: the interpersonal inventory, the timeline, the formulation, the
contract and the goals.

Each view fetches through the ``openipt.access`` gates, calls one service or selector and
renders or redirects. A page that shows client data records one read: the gate does it on a
GET (``audit_on_get``); a POST that succeeds redirects and shows nothing.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from openipt.access.clients import audit_on_get
from openipt.access.treatment import (
    access_course,
    access_event,
    access_formulation,
    access_goal,
    access_person,
)
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.core.http import GET_POST, attempt
from openipt.treatment import charts, forms, services
from openipt.treatment.models import Course, Goal, InventoryPerson, TimelineEvent
from openipt.workspace.views.treatment._shared import page

# Inventory ------------------------------------------------------------------------------


@login_required
@require_GET
def inventory(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = access_course(request.user, course_uuid, audit=request)
    people = list(course.inventory.all())
    start = [p for p in people if p.snapshot == InventoryPerson.Snapshot.START]
    end = [p for p in people if p.snapshot == InventoryPerson.Snapshot.END]
    return page(
        request,
        "treatment/inventory.html",
        course,
        "inventory",
        start=start,
        end=end,
        start_svg=charts.closeness_circle_svg(
            start, title=_("Closeness circle at the start"), ident="circle-start"
        ),
        end_svg=charts.closeness_circle_svg(
            end, title=_("Closeness circle at the end"), ident="circle-end"
        )
        if end
        else None,
    )


@login_required
@GET_POST
def person_create(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True, audit=audit_on_get(request))
    form = forms.PersonForm(request.POST or None, instance=InventoryPerson(course=course))
    if request.method == "POST" and form.is_valid():
        added = attempt(
            form,
            lambda: services.inventory_person_create(
                actor=request.user, course=course, data=form.to_data(), request=request
            ),
        )
        if added.ok:
            messages.success(request, _("Person added to the inventory."))
            return redirect("treatment:inventory", course.uuid)
    return page(
        request,
        "treatment/form_page.html",
        course,
        "inventory",
        form=form,
        heading=_("Add a person"),
    )


@login_required
@GET_POST
def person_update(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, person_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True, audit=audit_on_get(request))
    person = access_person(course, person_uuid)
    form = forms.PersonForm(request.POST or None, instance=person)
    if request.method == "POST" and form.is_valid():
        saved = attempt(
            form,
            lambda: services.inventory_person_update(
                actor=request.user, person=person, version=form.edit_version(),
                data=form.to_data(), request=request,
            ),
        )  # fmt: skip
        if saved.ok:
            messages.success(request, _("Inventory updated."))
            return redirect("treatment:inventory", course.uuid)
    return page(
        request, "treatment/form_page.html", course, "inventory", form=form, heading=person.name
    )


@login_required
@require_POST
def inventory_copy(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True)
    try:
        services.inventory_copy_to_end(actor=request.user, course=course, request=request)
        messages.success(request, _("End-of-course inventory started from the first one."))
    except ValidationError as exc:  # shown as a message: the copy is a single button
        messages.error(request, " ".join(exc.messages))
    return redirect("treatment:inventory", course.uuid)


# Timeline -------------------------------------------------------------------------------


@login_required
@require_GET
def timeline(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = access_course(request.user, course_uuid, audit=request)
    events = list(course.timeline.all())
    return page(
        request,
        "treatment/timeline.html",
        course,
        "timeline",
        events=events,
        chart=charts.timeline_svg(events, title=_("Mood and events over time"), ident="timeline"),
    )


@login_required
@GET_POST
def event_create(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True, audit=audit_on_get(request))
    form = forms.TimelineForm(request.POST or None, instance=TimelineEvent(course=course))
    if request.method == "POST" and form.is_valid():
        added = attempt(
            form,
            lambda: services.timeline_event_create(
                actor=request.user, course=course, data=form.to_data(), request=request
            ),
        )
        if added.ok:
            messages.success(request, _("Event added to the timeline."))
            return redirect("treatment:timeline", course.uuid)
    return page(
        request,
        "treatment/form_page.html",
        course,
        "timeline",
        form=form,
        heading=_("Add an event"),
    )


@login_required
@GET_POST
def event_update(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, event_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True, audit=audit_on_get(request))
    event = access_event(course, event_uuid)
    form = forms.TimelineForm(request.POST or None, instance=event)
    if request.method == "POST" and form.is_valid():
        saved = attempt(
            form,
            lambda: services.timeline_event_update(
                actor=request.user, event=event, version=form.edit_version(),
                data=form.to_data(), request=request,
            ),
        )  # fmt: skip
        if saved.ok:
            messages.success(request, _("Timeline updated."))
            return redirect("treatment:timeline", course.uuid)
    return page(
        request, "treatment/form_page.html", course, "timeline", form=form, heading=_("Edit event")
    )


# Formulation, contract, goals -----------------------------------------------------------


@login_required
@GET_POST
def formulation(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    writing = request.method == "POST"
    course = access_course(request.user, course_uuid, write=writing, audit=audit_on_get(request))
    existing = access_formulation(course)
    form = forms.FormulationForm(request.POST or None, instance=existing)
    if writing and form.is_valid():
        saved = attempt(
            form,
            lambda: services.formulation_save(
                actor=request.user, course=course, version=form.edit_version(),
                data=form.to_data(), request=request,
            ),
        )  # fmt: skip
        if saved.ok:
            messages.success(request, _("Formulation saved."))
            return redirect("treatment:course-detail", course.uuid)
    return page(
        request,
        "treatment/formulation.html",
        course,
        "formulation",
        form=form,
        formulation=existing,
    )


@login_required
@GET_POST
def contract(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    writing = request.method == "POST"
    course = access_course(request.user, course_uuid, write=writing, audit=audit_on_get(request))
    versions = list(course.contracts.order_by("-number"))
    latest = versions[0] if versions else None
    # A maintenance course's first contract starts from its own plan (monthly sessions,
    # unless the clinician chose otherwise when starting it) and the earlier course's focus.
    maintenance = latest is None and course.follows is not None
    if latest is not None:
        focus = list(latest.focus_areas)
    elif course.follows is not None:
        focus = _focus_of(course.follows)
    else:
        focus = [a.area for a in course.problem_areas.all() if a.is_focus]
    initial = {
        "planned_sessions": course.planned_sessions,
        "frequency": course.frequency,
        "agreed_on": timezone.localdate(),
        "focus_areas": focus,
        "goals_summary": latest.goals_summary if latest else "",
        "arrangements": latest.arrangements if latest else "",
        "based_on": latest.number if latest else 0,
    }
    form = forms.ContractForm(request.POST or None, initial=initial)
    if writing and form.is_valid():
        recorded = attempt(
            form,
            lambda: services.contract_record(
                actor=request.user,
                course=course,
                data=form.to_data(),
                request=request,
                based_on=form.cleaned_data.get("based_on"),
            ),
        )
        if recorded.ok:
            messages.success(request, _("Agreement recorded."))
            return redirect("treatment:contract", course.uuid)
    return page(
        request,
        "treatment/contract.html",
        course,
        "contract",
        form=form,
        versions=versions,
        latest=latest,
        maintenance=maintenance,
    )


def _focus_of(course: Course) -> list[str]:
    """The course's focus: its latest contract's, else the problem areas chosen as focus."""
    last = course.contracts.order_by("-number").first()
    if last is not None:
        return list(last.focus_areas)
    return [a.area for a in course.problem_areas.all() if a.is_focus]


@login_required
@GET_POST
def goals(request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    writing = request.method == "POST"
    course = access_course(request.user, course_uuid, write=writing, audit=audit_on_get(request))
    form = forms.GoalForm(request.POST or None, course=course, instance=Goal(course=course))
    if writing and form.is_valid():
        added = attempt(
            form,
            lambda: services.goal_create(
                actor=request.user, course=course, data=form.to_data(), request=request
            ),
        )
        if added.ok:
            messages.success(request, _("Goal added."))
            return redirect("treatment:goals", course.uuid)
    items = course.goals.select_related("problem_area").prefetch_related("ratings")
    return page(
        request,
        "treatment/goals.html",
        course,
        "goals",
        form=form,
        goals=items,
        rating_form=forms.GoalRatingForm(initial={"rated_on": timezone.localdate()}),
    )


@login_required
@require_POST
def goal_rate(
    request: AuthenticatedHttpRequest, course_uuid: uuid_lib.UUID, goal_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = access_course(request.user, course_uuid, write=True)
    goal = access_goal(course, goal_uuid)
    form = forms.GoalRatingForm(request.POST)
    if form.is_valid():
        rating = form.to_data()
        services.goal_rate(actor=request.user, goal=goal, rating=rating.rating,
                           rated_on=rating.rated_on, request=request)  # fmt: skip
        messages.success(request, _("Rating recorded."))
    else:
        messages.error(request, _("Give a rating from 0 to 10 and a date."))
    return redirect("treatment:goals", course.uuid)
