"""Clinician pages for the IPT course. Each view: parse a form, fetch with ``access_*``, call
one service or selector, render or redirect. Reads and writes are audited in the services and
``selectors.record_read``."""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Callable
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from openipt.accounts.policy import staff_membership
from openipt.audit import services as audit
from openipt.treatment import charts, forms, selectors, services
from openipt.treatment import guidance as guidance_lib
from openipt.treatment.models import (
    TECHNIQUE_FIELDS,
    Area,
    Course,
    Format,
    Goal,
    InventoryPerson,
    Phase,
    PhaseTaskStatus,
    ProblemArea,
    Session,
    Technique,
    TimelineEvent,
)

GET_POST = require_http_methods(["GET", "POST"])
CASELOAD_PAGE = 50
MARK_STATUSES = PhaseTaskStatus.Status.choices


def _user(request: HttpRequest) -> Any:
    return request.user


def _attempt(form: django_forms.BaseForm, action: Callable[[], object]) -> bool:
    """Run a service; on refusal, put its messages next to the fields and keep the input."""
    try:
        action()
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc)
        return False
    return True


def _client_url(course: Course) -> str:
    try:
        return reverse("clients:detail", args=[course.client.uuid])
    except NoReverseMatch:
        return ""


def _page(
    request: HttpRequest, template: str, course: Course, section: str, **extra: Any
) -> HttpResponse:
    can_write = selectors.courses_for(_user(request), write=True).filter(pk=course.pk).exists()
    context = {
        "course": course,
        "section": section,
        "can_write": can_write,
        "client_url": _client_url(course),
        **extra,
    }
    return render(request, template, context)


def _read(request: HttpRequest, course_uuid: uuid_lib.UUID, obj: Any = None) -> Course:
    course = selectors.access_course(_user(request), course_uuid)
    selectors.record_read(_user(request), obj or course, course, request)
    return course


def _write(request: HttpRequest, course_uuid: uuid_lib.UUID, *, audit_get: bool = True) -> Course:
    """A course the user may change. Showing its edit form is a read, audited once."""
    course = selectors.access_course(_user(request), course_uuid, write=True)
    if audit_get and request.method == "GET":
        selectors.record_read(_user(request), course, course, request)
    return course


# Course ---------------------------------------------------------------------------------


@login_required
@GET_POST
def course_create(request: HttpRequest, client_uuid: uuid_lib.UUID) -> HttpResponse:
    client = selectors.access_client(_user(request), client_uuid, write=True)
    form = forms.CourseForm(request.POST or None, initial={"start_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        membership = staff_membership(_user(request))
        result: list[Course] = []
        if _attempt(
            form,
            lambda: result.append(
                services.course_create(
                    actor=_user(request),
                    client=client,
                    clinician=membership,  # type: ignore[arg-type]
                    data=form.cleaned_data,
                    request=request,
                )
            ),
        ):
            messages.success(request, _("Course started."))
            return redirect("treatment:course-detail", result[0].uuid)
    return render(request, "treatment/course_form.html", {"form": form, "client": client})


OVERVIEW_SESSIONS = 24


@login_required
@require_http_methods(["GET"])
def course_detail(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = selectors.with_course_records(_read(request, course_uuid))
    guidance = guidance_lib.guidance_for(course)
    people = [p for p in course.inventory.all() if p.snapshot == InventoryPerson.Snapshot.START]
    sessions = sorted(course.sessions.all(), key=lambda s: (s.number, s.starts_at))
    # A maintenance course can run to hundreds of sessions: the overview lists the latest.
    shown = sessions if request.GET.get("sessions") == "all" else sessions[-OVERVIEW_SESSIONS:]
    return _page(
        request,
        "treatment/course_detail.html",
        course,
        "overview",
        guidance=guidance,
        sessions=[
            (s, guidance_lib.phase_label(guidance_lib.session_phase(course, s))) for s in shown
        ],
        sessions_total=len(sessions),
        latest=max((s.number for s in sessions), default=0),
        focus_areas=[a for a in course.problem_areas.all() if a.is_focus],
        formulation=getattr(course, "formulation", None),
        goals=list(course.goals.all()),
        circle=charts.closeness_circle_svg(people, title=_("Closeness circle"), ident="circle"),
        people=people,
        timeline=charts.timeline_svg(
            list(course.timeline.all()), title=_("Mood and events over time"), ident="timeline"
        ),
        checklist=guidance_lib.task_checklist(course, guidance.phase),
        mark_statuses=MARK_STATUSES,
    )


@login_required
@GET_POST
def course_update(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = _write(request, course_uuid)
    form = forms.CourseUpdateForm(request.POST or None, instance=course)
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.course_update(
                actor=_user(request),
                course=course,
                version=form.cleaned_data["version"],
                data=form.cleaned_data,
                request=request,
            ),
        )
    ):
        messages.success(request, _("Course details saved."))
        return redirect("treatment:course-detail", course.uuid)
    return _page(
        request,
        "treatment/form_page.html",
        course,
        "overview",
        form=form,
        heading=_("Course details"),
    )


@login_required
@require_POST
def task_mark(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = _write(request, course_uuid)
    form = forms.TaskMarkForm(request.POST)
    if form.is_valid():
        services.phase_task_set(
            actor=_user(request), course=course, request=request, **form.cleaned_data
        )
        if not request.htmx:  # type: ignore[attr-defined]
            messages.success(request, _("Task marked."))
    elif not request.htmx:  # type: ignore[attr-defined]
        messages.error(request, _("The task could not be marked; choose a status."))
    if request.htmx:  # type: ignore[attr-defined]
        course = selectors.with_course_records(course)
        selectors.record_read(_user(request), course, course, request)
        guidance = guidance_lib.guidance_for(course)
        return render(
            request,
            "treatment/_guidance_block.html",
            {
                "course": course,
                "can_write": True,
                "guidance": guidance,
                "checklist": guidance_lib.task_checklist(course, guidance.phase),
                "mark_statuses": MARK_STATUSES,
            },
        )
    return redirect("treatment:course-detail", course.uuid)


# Sessions -------------------------------------------------------------------------------


@login_required
@GET_POST
def session_create(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = _write(request, course_uuid)
    initial = {"number": services.next_session_number(course), "starts_at": timezone.localtime()}
    form = forms.SessionForm(request.POST or None, initial=initial, instance=Session(course=course))
    result: list[Session] = []
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: result.append(
                services.session_create(
                    actor=_user(request), course=course, data=form.cleaned_data, request=request
                )
            ),
        )
    ):
        messages.success(request, _("Session saved."))
        return redirect("treatment:session-detail", course.uuid, result[0].uuid)
    review = selectors.opening_review(course, None)
    return _page(
        request, "treatment/session_form.html", course, "sessions",
        form=form, previous=review.previous, review=review,
    )  # fmt: skip


@login_required
@require_http_methods(["GET"])
def session_detail(
    request: HttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = selectors.access_course(_user(request), course_uuid)
    session = selectors.access_session(course, session_uuid)
    return _session_page(request, course, session)


def _session_page(
    request: HttpRequest,
    course: Course,
    session: Session,
    task_form: forms.TaskForm | None = None,
) -> HttpResponse:
    """The session page, with the opening review (diary and scores since the previous
    session) and between-session tasks; one audited read covers all of it."""
    selectors.record_read(_user(request), session, course, request, detail="with opening review")
    phase = guidance_lib.session_phase(course, session)
    return _page(
        request,
        "treatment/session_detail.html",
        course,
        "sessions",
        session=session,
        review=selectors.opening_review(course, session),
        tasks_given=list(session.tasks_given.all()),
        task_form=task_form or forms.TaskForm(),
        review_form=forms.TaskReviewForm(),
        phase=guidance_lib.phase_label(phase),
        formulation_missing=phase == Phase.MIDDLE and not selectors.formulation_agreed(course),
        amendments=session.amendments.select_related("author"),
        techniques=session.technique_records.all(),
        technique_kinds=Technique.Kind.choices,
        amend_form=forms.AmendmentForm(),
    )


@login_required
@GET_POST
def session_update(
    request: HttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = _write(request, course_uuid)
    session = selectors.access_session(course, session_uuid)
    if session.is_signed:
        messages.info(request, _("This session is signed. Add an amendment instead of editing it."))
        return redirect("treatment:session-detail", course.uuid, session.uuid)
    form = forms.SessionForm(request.POST or None, instance=session)
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.session_update(
                actor=_user(request),
                session=session,
                version=form.cleaned_data["version"],
                data=form.cleaned_data,
                request=request,
            ),
        )
    ):
        messages.success(request, _("Session saved."))
        return redirect("treatment:session-detail", course.uuid, session.uuid)
    review = selectors.opening_review(course, session)
    return _page(
        request, "treatment/session_form.html", course, "sessions",
        form=form, session=session, previous=review.previous, review=review,
    )  # fmt: skip


@login_required
@require_POST
def task_create(
    request: HttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    """Set something for the client to try before the next session."""
    course = _write(request, course_uuid)
    session = selectors.access_session(course, session_uuid)
    form = forms.TaskForm(request.POST)
    done = form.is_valid() and _attempt(
        form,
        lambda: services.task_set(
            actor=_user(request), session=session, text=form.cleaned_data["text"], request=request
        ),
    )
    if not done:
        return _session_page(request, course, session, task_form=form)
    messages.success(request, _("Saved. The client sees it in their portal."))
    return redirect(_session_url(course, session) + "#tasks")


@login_required
@require_POST
def task_review(
    request: HttpRequest,
    course_uuid: uuid_lib.UUID,
    session_uuid: uuid_lib.UUID,
    task_uuid: uuid_lib.UUID,
) -> HttpResponse:
    """Record, in this session, how a task set in an earlier one went."""
    course = _write(request, course_uuid)
    session = selectors.access_session(course, session_uuid)
    task = selectors.access_task(session, task_uuid)
    form = forms.TaskReviewForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Choose done or not done."))
        services.task_review(actor=_user(request), task=task, session=session,
                             status=form.cleaned_data["status"], request=request)  # fmt: skip
        messages.success(request, _("Task review saved."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_session_url(course, session) + "#review")


def _session_url(course: Course, session: Session) -> str:
    return reverse("treatment:session-detail", args=[course.uuid, session.uuid])


@login_required
@require_POST
def session_sign(
    request: HttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = _write(request, course_uuid)
    session = selectors.access_session(course, session_uuid)
    try:
        version = int(request.POST.get("version", ""))
        services.session_sign(
            actor=_user(request), session=session, version=version, request=request
        )
        messages.success(
            request, _("Session signed. It can no longer be edited; add amendments instead.")
        )
    except ValueError:
        messages.error(request, _("The session could not be signed. Please try again."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("treatment:session-detail", course.uuid, session.uuid)


@login_required
@GET_POST
def session_amend(
    request: HttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = _write(request, course_uuid)
    session = selectors.access_session(course, session_uuid)
    form = forms.AmendmentForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.session_amend(
                actor=_user(request),
                session=session,
                text=form.cleaned_data["text"],
                request=request,
            ),
        )
    ):
        messages.success(request, _("Amendment added."))
        return redirect("treatment:session-detail", course.uuid, session.uuid)
    return _page(
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
    request: HttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID
) -> HttpResponse:
    """The author's private process note. Nobody else's note is ever fetched (S3)."""
    course = _write(request, course_uuid, audit_get=False)
    session = selectors.access_session(course, session_uuid)
    note = selectors.access_process_note(_user(request), session)
    initial = {"version": note.version if note else 0, "text": note.text if note else ""}
    form = forms.ProcessNoteForm(request.POST or None, initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.process_note_save(
                actor=_user(request),
                session=session,
                version=form.cleaned_data["version"],
                text=form.cleaned_data["text"],
                request=request,
            ),
        )
    ):
        messages.success(request, _("Private note saved."))
        return redirect("treatment:process-note", course.uuid, session.uuid)
    if request.method == "GET":
        selectors.record_read(_user(request), note or course, course, request)
    return _page(
        request, "treatment/process_note.html", course, "sessions", form=form, session=session
    )


@login_required
@GET_POST
def technique_create(
    request: HttpRequest, course_uuid: uuid_lib.UUID, session_uuid: uuid_lib.UUID, kind: str
) -> HttpResponse:
    course = _write(request, course_uuid)
    session = selectors.access_session(course, session_uuid)
    if kind not in TECHNIQUE_FIELDS:
        raise Http404
    form = forms.TechniqueForm(request.POST or None, kind=kind)
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.technique_create(
                actor=_user(request),
                session=session,
                kind=kind,
                details=form.cleaned_data,
                request=request,
            ),
        )
    ):
        messages.success(request, _("Technique record saved."))
        return redirect("treatment:session-detail", course.uuid, session.uuid)
    label = Technique.Kind(kind).label
    return _page(request, "treatment/form_page.html", course, "sessions", form=form, heading=label)


# Inventory and timeline -----------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def inventory(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = _read(request, course_uuid)
    people = list(course.inventory.all())
    start = [p for p in people if p.snapshot == InventoryPerson.Snapshot.START]
    end = [p for p in people if p.snapshot == InventoryPerson.Snapshot.END]
    return _page(
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
def person_create(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = _write(request, course_uuid)
    form = forms.PersonForm(request.POST or None, instance=InventoryPerson(course=course))
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.inventory_person_create(
                actor=_user(request), course=course, data=form.cleaned_data, request=request
            ),
        )
    ):
        messages.success(request, _("Person added to the inventory."))
        return redirect("treatment:inventory", course.uuid)
    return _page(
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
    request: HttpRequest, course_uuid: uuid_lib.UUID, person_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = _write(request, course_uuid)
    person = InventoryPerson.objects.filter(course=course, uuid=person_uuid).first()
    if person is None:
        raise Http404
    form = forms.PersonForm(request.POST or None, instance=person)
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.inventory_person_update(
                actor=_user(request),
                person=person,
                version=form.cleaned_data["version"],
                data=form.cleaned_data,
                request=request,
            ),
        )
    ):
        messages.success(request, _("Inventory updated."))
        return redirect("treatment:inventory", course.uuid)
    return _page(
        request, "treatment/form_page.html", course, "inventory", form=form, heading=person.name
    )


@login_required
@require_POST
def inventory_copy(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = _write(request, course_uuid)
    try:
        services.inventory_copy_to_end(actor=_user(request), course=course, request=request)
        messages.success(request, _("End-of-course inventory started from the first one."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("treatment:inventory", course.uuid)


@login_required
@require_http_methods(["GET"])
def timeline(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = _read(request, course_uuid)
    events = list(course.timeline.all())
    return _page(
        request,
        "treatment/timeline.html",
        course,
        "timeline",
        events=events,
        chart=charts.timeline_svg(events, title=_("Mood and events over time"), ident="timeline"),
    )


@login_required
@GET_POST
def event_create(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = _write(request, course_uuid)
    form = forms.TimelineForm(request.POST or None, instance=TimelineEvent(course=course))
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.timeline_event_create(
                actor=_user(request), course=course, data=form.cleaned_data, request=request
            ),
        )
    ):
        messages.success(request, _("Event added to the timeline."))
        return redirect("treatment:timeline", course.uuid)
    return _page(
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
    request: HttpRequest, course_uuid: uuid_lib.UUID, event_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = _write(request, course_uuid)
    event = TimelineEvent.objects.filter(course=course, uuid=event_uuid).first()
    if event is None:
        raise Http404
    form = forms.TimelineForm(request.POST or None, instance=event)
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.timeline_event_update(
                actor=_user(request),
                event=event,
                version=form.cleaned_data["version"],
                data=form.cleaned_data,
                request=request,
            ),
        )
    ):
        messages.success(request, _("Timeline updated."))
        return redirect("treatment:timeline", course.uuid)
    return _page(
        request, "treatment/form_page.html", course, "timeline", form=form, heading=_("Edit event")
    )


# Problem areas, formulation, contract, goals, termination --------------------------------


@login_required
@GET_POST
def problem_areas(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    if request.method == "POST":
        course = _write(request, course_uuid)
    else:
        course = _read(request, course_uuid)
    form = forms.ProblemAreaAddForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.problem_area_create(
                actor=_user(request),
                course=course,
                area=form.cleaned_data["area"],
                data={"evidence": form.cleaned_data["evidence"]},
                request=request,
            ),
        )
    ):
        messages.success(request, _("Candidate problem area recorded."))
        return redirect("treatment:problem-areas", course.uuid)
    areas = course.problem_areas.select_related("other_person")
    return _page(
        request, "treatment/problem_areas.html", course, "problem_areas", areas=areas, form=form
    )


@login_required
@GET_POST
def problem_area_detail(
    request: HttpRequest, course_uuid: uuid_lib.UUID, area_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = (
        _write(request, course_uuid) if request.method == "POST" else _read(request, course_uuid)
    )
    area = (
        ProblemArea.objects.filter(course=course, uuid=area_uuid)
        .select_related("other_person")
        .first()
    )
    if area is None:
        raise Http404
    form = forms.ProblemAreaForm(request.POST or None, instance=area)
    saved: list[ProblemArea] = []
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: saved.append(
                services.problem_area_update(
                    actor=_user(request),
                    problem_area=area,
                    version=form.cleaned_data["version"],
                    data=form.service_data(),
                    request=request,
                )
            ),
        )
    ):
        messages.success(request, _("Problem area saved."))
        if (
            saved[0].area == Area.DEFICITS
            and saved[0].is_focus
            and not saved[0].deficits_rationale.strip()
        ):
            messages.warning(
                request,
                _(
                    "Interpersonal deficits is usually chosen only when no grief, dispute or life "
                    "change fits. Record why none of them applies."
                ),
            )
        return redirect("treatment:problem-area", course.uuid, area.uuid)
    return _page(
        request,
        "treatment/problem_area.html",
        course,
        "problem_areas",
        area=area,
        form=form,
        goals=area.goals.prefetch_related("ratings"),
    )


@login_required
@GET_POST
def formulation(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = (
        _write(request, course_uuid) if request.method == "POST" else _read(request, course_uuid)
    )
    existing = getattr(course, "formulation", None)
    form = forms.FormulationForm(request.POST or None, instance=existing)
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.formulation_save(
                actor=_user(request),
                course=course,
                version=form.cleaned_data["version"],
                data=form.cleaned_data,
                request=request,
            ),
        )
    ):
        messages.success(request, _("Formulation saved."))
        return redirect("treatment:course-detail", course.uuid)
    return _page(
        request,
        "treatment/formulation.html",
        course,
        "formulation",
        form=form,
        formulation=existing,
    )


@login_required
@GET_POST
def contract(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = (
        _write(request, course_uuid) if request.method == "POST" else _read(request, course_uuid)
    )
    versions = list(course.contracts.order_by("-number"))
    latest = versions[0] if versions else None
    initial = {
        "planned_sessions": course.planned_sessions,
        "frequency": course.frequency,
        "agreed_on": timezone.localdate(),
        "focus_areas": latest.focus_areas
        if latest
        else [a.area for a in course.problem_areas.all() if a.is_focus],
        "goals_summary": latest.goals_summary if latest else "",
        "arrangements": latest.arrangements if latest else "",
    }
    form = forms.ContractForm(request.POST or None, initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.contract_record(
                actor=_user(request), course=course, data=form.cleaned_data, request=request
            ),
        )
    ):
        messages.success(request, _("Agreement recorded."))
        return redirect("treatment:contract", course.uuid)
    return _page(
        request,
        "treatment/contract.html",
        course,
        "contract",
        form=form,
        versions=versions,
        latest=latest,
    )


@login_required
@GET_POST
def goals(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = (
        _write(request, course_uuid) if request.method == "POST" else _read(request, course_uuid)
    )
    form = forms.GoalForm(request.POST or None, course=course, instance=Goal(course=course))
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.goal_create(
                actor=_user(request), course=course, data=form.cleaned_data, request=request
            ),
        )
    ):
        messages.success(request, _("Goal added."))
        return redirect("treatment:goals", course.uuid)
    items = course.goals.select_related("problem_area").prefetch_related("ratings")
    return _page(
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
    request: HttpRequest, course_uuid: uuid_lib.UUID, goal_uuid: uuid_lib.UUID
) -> HttpResponse:
    course = _write(request, course_uuid)
    goal = Goal.objects.filter(course=course, uuid=goal_uuid).first()
    if goal is None:
        raise Http404
    form = forms.GoalRatingForm(request.POST)
    if form.is_valid():
        services.goal_rate(actor=_user(request), goal=goal, request=request, **form.cleaned_data)
        messages.success(request, _("Rating recorded."))
    else:
        messages.error(request, _("Give a rating from 0 to 10 and a date."))
    return redirect("treatment:goals", course.uuid)


@login_required
@GET_POST
def termination(request: HttpRequest, course_uuid: uuid_lib.UUID) -> HttpResponse:
    course = (
        _write(request, course_uuid) if request.method == "POST" else _read(request, course_uuid)
    )
    existing = getattr(course, "termination", None)
    form = forms.TerminationForm(request.POST or None, instance=existing)
    if (
        request.method == "POST"
        and form.is_valid()
        and _attempt(
            form,
            lambda: services.termination_save(
                actor=_user(request),
                course=course,
                version=form.cleaned_data["version"],
                data=form.cleaned_data,
                request=request,
            ),
        )
    ):
        messages.success(request, _("Ending record saved."))
        return redirect("treatment:course-detail", course.uuid)
    return _page(request, "treatment/termination.html", course, "termination", form=form)


# Caseload -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def caseload(request: HttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", "client")
    phase = request.GET.get("phase", "")
    course_format = request.GET.get("format", "")
    flagged = request.GET.get("flagged") == "1"
    audit.record(
        actor=_user(request),
        action="read",
        object_type="treatment.caseload",
        practice_id=getattr(getattr(request, "membership", None), "practice_id", None),
        request=request,
    )
    rows = selectors.caseload(
        _user(request),
        sort=sort,
        phase=phase if phase in Phase.values else "",
        course_format=course_format if course_format in Format.values else "",
        flagged=flagged,
    )
    page = Paginator(rows, CASELOAD_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "treatment/caseload.html",
        {
            "rows": page.object_list,
            "page": page,
            "query": query.urlencode(),
            "sort": sort,
            "phase": phase,
            "format": course_format,
            "flagged": flagged,
            "phases": Phase.choices,
            "formats": Format.choices,
            "sorts": [
                ("client", _("Client")),
                ("start", _("Start date")),
                ("session", _("Session")),
                ("phase", _("Phase")),
                ("flags", _("Needs attention first")),
            ],
        },
    )
