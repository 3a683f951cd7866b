"""The client portal. Every page starts from the signed-in client's own record."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import update_wrapper
from typing import Any, Concatenate, ParamSpec
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from openipt.access.engagement import access_attachment, access_own_client
from openipt.accounts.forms import LanguageForm
from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.accounts.models import User
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.audit.services import record_read
from openipt.clients.models import Client
from openipt.core import languages
from openipt.core.http import GET_POST, attempt, download_response, posted
from openipt.engagement import accounts as portal_accounts
from openipt.engagement import diary, messaging
from openipt.engagement.forms import MessageForm
from openipt.engagement.models import PortalAccess
from openipt.fhir import bundle as fhir_bundle
from openipt.fhir import everything as fhir_everything
from openipt.fhir import search as fhir_search
from openipt.measures import services as measures
from openipt.measures.models import Administration, RiskAlert
from openipt.measures.progress import course_progress
from openipt.measures.selectors import current_safety_plan
from openipt.portal import selectors
from openipt.portal.forms import (
    DiaryForm,
    GoalRatingForm,
    TaskUpdateForm,
    question_form,
)
from openipt.treatment import services as treatment

P = ParamSpec("P")


@dataclass(frozen=True)
class Own:
    """The signed-in client, their record and their portal settings."""

    user: User
    client: Client
    access: PortalAccess


def portal_page(
    view: Callable[Concatenate[AuthenticatedHttpRequest, Own, P], HttpResponseBase],
) -> Callable[Concatenate[AuthenticatedHttpRequest, P], HttpResponseBase]:
    """Signed-in portal clients only (anyone else: 404); passes their own record."""

    def wrapper(
        request: AuthenticatedHttpRequest, /, *args: P.args, **kwargs: P.kwargs
    ) -> HttpResponseBase:
        client, access = access_own_client(request.user)
        return view(request, Own(request.user, client, access), *args, **kwargs)

    update_wrapper(wrapper, view)
    return login_required(wrapper)


def _render(
    request: AuthenticatedHttpRequest, own: Own, template: str, context: dict[str, Any]
) -> HttpResponse:
    context |= {"own": own, "practice": own.client.practice}
    return render(request, f"portal/{template}", context)


@portal_page
@require_GET
def home(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    context = {
        "appointments": selectors.upcoming_appointments(own.client),
        "due": measures.assignments_in_client_language(
            actor=own.user,
            administrations=selectors.questionnaires_due(own.client),
            request=request,
        ),
        "unread": messaging.unread_count(own.client, for_client=True),
    }
    record_read(request, own.client, detail="portal home")
    return _render(request, own, "home.html", context)


@portal_page
@require_GET
def questionnaires(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    due = measures.assignments_in_client_language(
        actor=own.user, administrations=selectors.questionnaires_due(own.client), request=request
    )
    record_read(request, own.client, detail="portal questionnaires")
    return _render(request, own, "questionnaires.html", {"due": due})


@portal_page
@GET_POST
def questionnaire(
    request: AuthenticatedHttpRequest, own: Own, administration_uuid: UUID
) -> HttpResponse:
    """One question per screen; each answer is saved on the server (on the assignment) as
    soon as it is sent, so it survives signing out or changing device."""
    administration = measures.assignment_in_client_language(
        actor=own.user,
        administration=selectors.own_administration(own.client, administration_uuid),
        request=request,
    )
    if request.method == "GET" and administration.status == Administration.Status.COMPLETED:
        return _thanks(request, own, administration)
    if administration.status not in selectors.OPEN_ADMINISTRATION:
        messages.info(request, _("Thank you — we already have your answers to this one."))
        return redirect("portal:questionnaires")
    items = administration.instrument.parsed.items
    draft: dict[str, str] = dict(administration.draft_answers or {})
    step = _step(request, items, draft)
    if step >= len(items):
        return _review(request, own, administration, draft)
    item = items[step]
    data = request.POST if request.method == "POST" else None
    form = question_form(item, data, initial={"answer": draft.get(item.link_id)})
    if request.method == "POST" and form.is_valid():
        draft[item.link_id] = form.cleaned_data["answer"]
        try:
            measures.administration_save_progress(
                actor=own.user, administration=administration, answers=draft, request=request
            )
        except ValidationError:
            messages.info(request, _("Thank you — we already have your answers to this one."))
            return redirect("portal:questionnaires")
        return redirect(f"{request.path}?step={step + 2}")
    record_read(request, own.client, administration, detail="portal questionnaire")
    context = {"administration": administration, "item": item, "form": form,
               "number": step + 1, "total": len(items)}  # fmt: skip
    return _render(request, own, "question.html", context)


def _step(request: HttpRequest, items: Any, draft: dict[str, str]) -> int:
    """The 0-based question to show: the one asked for, else the first unanswered."""
    first_open = next((i for i, item in enumerate(items) if item.link_id not in draft), len(items))
    try:
        asked = int(request.GET.get("step", "")) - 1
    except ValueError:
        return first_open
    return max(0, min(asked, first_open))


def _review(
    request: AuthenticatedHttpRequest, own: Own, administration: Any, draft: dict[str, str]
) -> HttpResponse:
    items = administration.instrument.parsed.items
    if request.method == "POST" and request.POST.get("action") == "submit":
        try:
            measures.administration_complete(
                actor=own.user, administration=administration, answers=draft, request=request
            )
        except ValidationError:
            messages.info(request, _("Thank you — we already have your answers to this one."))
            return redirect("portal:questionnaires")
        # The confirmation is the questionnaire's own address once it is complete, so a
        # reload or the back button shows it again (and the crisis contacts with it).
        return redirect("portal:questionnaire", administration.uuid)
    rows = [(i + 1, item, _display(item, draft.get(item.link_id))) for i, item in enumerate(items)]
    record_read(request, own.client, administration, detail="portal questionnaire review")
    context = {"administration": administration, "rows": rows, "total": len(items)}
    return _render(request, own, "question_review.html", context)


def _thanks(
    request: AuthenticatedHttpRequest, own: Own, administration: Administration
) -> HttpResponse:
    """After the answers are sent. When they raised a risk alert (docs/measures.md §7) the
    page leads with the practice's crisis contacts and the client's safety plan, and says
    when their clinician will see the answers; otherwise it is an ordinary thank-you."""
    alert = (
        RiskAlert.objects.filter(administration=administration)
        .select_related("clinician__user")
        .first()
    )
    context: dict[str, Any] = {"administration": administration, "alert": alert}
    if alert is not None:
        context |= {
            "clinician_name": alert.clinician.user.get_full_name(),
            "has_plan": current_safety_plan(own.client) is not None,
        }
    record_read(request, own.client, administration, detail="portal questionnaire sent")
    return _render(request, own, "questionnaire_thanks.html", context)


def _display(item: Any, code: str | None) -> str:
    return next((o.display for o in item.options if o.code == code), "—")


@portal_page
@require_GET
def tasks(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    context = {
        "tasks": selectors.own_tasks(own.client),
        "sessions": selectors.tasks_from_sessions(own.client),  # older free-text tasks
    }
    record_read(request, own.client, detail="portal tasks")
    return _render(request, own, "tasks.html", context)


@portal_page
@GET_POST
def task(request: AuthenticatedHttpRequest, own: Own, task_uuid: UUID) -> HttpResponse:
    """One task on its own screen: say how it went and, if you like, add a note."""
    found = selectors.own_task(own.client, task_uuid)
    initial = {"status": found.status, "note": found.client_note, "version": found.version}
    form = TaskUpdateForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = attempt(
            form,
            lambda: treatment.task_update_by_client(
                actor=own.user,
                client=own.client,
                task=found,
                request=request,
                status=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
                version=form.cleaned_data["version"],
            ),
        )
        if saved.ok:
            messages.success(request, _("Thank you — saved. Your clinician will see it."))
            return redirect("portal:tasks")
    record_read(request, own.client, found, detail="portal task")
    return _render(request, own, "task.html", {"task": found, "form": form})


@portal_page
@require_GET
def diary_list(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    entries = diary.diary_entries(own.client)
    record_read(request, own.client, detail="portal diary")
    return _render(request, own, "diary.html", {"entries": entries})


@portal_page
@GET_POST
def diary_new(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    form = DiaryForm(posted(request), initial={"entry_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        written = attempt(
            form,
            lambda: diary.diary_entry_create(
                actor=own.user, client=own.client, data=form.to_data(), request=request
            ),
        )
        if written.ok:
            messages.success(request, _("Saved in your diary."))
            return redirect("portal:diary")
    return _render(request, own, "diary_form.html", {"form": form})


@portal_page
@require_GET
def goals(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    rows = [
        (goal, GoalRatingForm(prefix=str(goal.uuid))) for goal in selectors.own_goals(own.client)
    ]
    record_read(request, own.client, detail="portal goals")
    return _render(request, own, "goals.html", {"rows": rows})


@portal_page
@require_POST
def goal_rate(request: AuthenticatedHttpRequest, own: Own, goal_uuid: UUID) -> HttpResponse:
    goal = selectors.own_goal(own.client, goal_uuid)
    form = GoalRatingForm(request.POST, prefix=str(goal.uuid))
    if form.is_valid():
        treatment.goal_rate(
            actor=own.user,
            goal=goal,
            rating=form.cleaned_data["rating"],
            rated_on=timezone.localdate(),
            request=request,
        )
        messages.success(request, _("Thank you. Your rating is saved."))
    else:
        messages.error(request, _("Please choose a number from 0 to 10."))
    return redirect("portal:goals")


@portal_page
@require_GET
def progress(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    if not own.access.share_progress:
        raise Http404
    course = selectors.current_course(own.client)
    result = course_progress(course) if course is not None else None
    record_read(request, own.client, detail="portal progress")
    return _render(request, own, "progress.html", {"progress": result})


@portal_page
@GET_POST
def conversation(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    form = MessageForm(posted(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        sent = attempt(
            form,
            lambda: messaging.message_send(
                actor=own.user,
                client=own.client,
                body=form.cleaned_data["body"],
                attachments=request.FILES.getlist("attachments"),
                request=request,
            ),
        )
        if sent.ok:
            messages.success(request, _("Your message has been sent."))
            return redirect("portal:messages")
    thread = messaging.conversation(own.client)
    messaging.messages_mark_read(reader=own.user, client=own.client)
    record_read(request, own.client, detail="portal messages")
    return _render(request, own, "messages.html", {"thread": thread, "form": form})


@portal_page
@require_GET
def attachment(
    request: AuthenticatedHttpRequest, own: Own, attachment_uuid: UUID
) -> HttpResponseBase:
    found = access_attachment(
        own.client, attachment_uuid, audit=request, detail="attachment downloaded"
    )
    return download_response(found.file, found.original_name, found.content_type)


@portal_page
@require_GET
def safety_plan(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    plan = current_safety_plan(own.client)
    record_read(request, own.client, plan, detail="portal safety plan")
    return _render(request, own, "safety_plan.html", {"plan": plan})


@portal_page
@require_GET
def help_now(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    return _render(request, own, "help.html", {})


def _record_context(own: Own) -> dict[str, Any]:
    completed = (
        Administration.objects.filter(client=own.client, status=Administration.Status.COMPLETED)
        .select_related("instrument")
        .order_by("completed_at")[:200]
    )
    return {
        "goals": selectors.own_goals(own.client),
        "completed": list(completed),
        "entries": diary.diary_entries(own.client, limit=500),
        "plan": current_safety_plan(own.client),
        "appointments": selectors.upcoming_appointments(own.client, limit=20),
        "notes": selectors.shared_session_notes(own.client),
        "printed_at": timezone.now(),
    }


@portal_page
@require_GET
def my_record(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    """The client's own record as a page, with a PDF download."""
    context = _record_context(own)
    record_read(request, own.client, detail="portal record")
    return _render(request, own, "record.html", context)


@portal_page
@require_GET
def my_record_pdf(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    """The same record as a PDF (WeasyPrint; nothing is fetched from outside)."""
    from weasyprint import HTML

    context = _record_context(own) | {"own": own, "practice": own.client.practice}
    html = render_to_string("portal/record_pdf.html", context, request=request)
    audit.record(
        actor=own.user,
        action=AuditEvent.Action.EXPORT,
        obj=own.client,
        client=own.client,
        request=request,
        detail="portal record PDF",
    )
    pdf = HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="my-record.pdf"'
    return response


@portal_page
@require_GET
def my_record_fhir(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    """The whole record as a FHIR Bundle (the API's ``$everything``), to take to another
    health app or service: the right of access in the format health systems read."""
    reader = fhir_search.reader_for(own.user)
    resources = list(fhir_everything.everything(reader, own.client))
    base = request.build_absolute_uri("/fhir")
    bundle = fhir_bundle.collection(base=base, resources=resources)
    audit.record(
        actor=own.user,
        action=AuditEvent.Action.EXPORT,
        obj=own.client,
        client=own.client,
        request=request,
        detail="portal record FHIR",
    )
    response = HttpResponse(
        json.dumps(bundle, ensure_ascii=False, indent=1),
        content_type="application/fhir+json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="my-record.fhir.json"'
    return response


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError("external resources are not fetched")


@portal_page
@GET_POST
def language(request: AuthenticatedHttpRequest, own: Own) -> HttpResponse:
    """The client chooses the language of their portal and of what is sent to them."""
    form = LanguageForm(
        request.POST or None, browser_choice=False, initial={"language": own.client.language}
    )
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["language"]
        saved = attempt(
            form,
            lambda: portal_accounts.portal_language_set(
                actor=request.user, language=chosen, request=request
            ),
        )
        if saved.ok:
            with languages.speaking(chosen):
                messages.success(request, _("Saved. Your portal now uses this language."))
            return redirect("portal:language")
    return _render(request, own, "language.html", {"form": form})
