"""Staff pages for the client's side: the intake queue, portal access, messages, diary."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openipt.accounts.models import User
from openipt.clients import accounts, consultation, diary, messaging
from openipt.clients.intake_forms import (
    BookForm,
    CloseForm,
    PortalInviteForm,
    PortalSharingForm,
    split_name,
)
from openipt.clients.models import ConsultationRequest
from openipt.clients.selectors import access_client, client_read_record
from openipt.clients.views import apply_errors, staff_required

GET_POST = require_http_methods(["GET", "POST"])


def _actor(request: HttpRequest) -> User:
    return cast("User", request.user)


def _bound(request: HttpRequest) -> Any:
    """The posted data on POST (even when empty, so that errors show), else ``None``."""
    return request.POST if request.method == "POST" else None


@login_required
@require_GET
def intake_list(request: HttpRequest) -> HttpResponse:
    page = consultation.open_requests(
        _actor(request), page=request.GET.get("page", 1), request=request
    )
    return render(request, "clients/intake/list.html", {"page": page})


@login_required
@GET_POST
def intake_detail(request: HttpRequest, request_uuid: str) -> HttpResponse:
    actor = _actor(request)
    item = consultation.access_consultation_request(actor, request_uuid, request=request)
    given, family = split_name(item.name)
    book = BookForm(
        request.POST if request.POST.get("action") == "book" else None,
        clinicians=consultation.triage_clinicians(actor),
        time_zone=item.practice.time_zone,
        initial={"legal_given_name": given, "legal_family_name": family},
    )
    close = CloseForm(request.POST if request.POST.get("action") == "close" else None)
    if item.status == ConsultationRequest.Status.OPEN and request.method == "POST":
        done = _book(request, item, book) if book.is_bound else _close(request, item, close)
        if done is not None:
            return done
    context = {"item": item, "book": book, "close": close}
    return render(request, "clients/intake/detail.html", context)


def _book(request: HttpRequest, item: ConsultationRequest, form: BookForm) -> HttpResponse | None:
    if not form.is_valid():
        return None
    try:
        client = consultation.consultation_book(
            actor=_actor(request), item=item, booking=form.booking(), request=request
        )
    except ValidationError as exc:
        apply_errors(form, exc)
        return None
    messages.success(request, _("Consultation booked and client record created."))
    if consultation.access_client_allowed(_actor(request), client):
        return redirect("clients:detail", client_uuid=client.uuid)
    return redirect("intake:list")


def _close(request: HttpRequest, item: ConsultationRequest, form: CloseForm) -> HttpResponse | None:
    if not form.is_valid():
        return None
    try:
        consultation.consultation_close(
            actor=_actor(request), item=item, reason=form.cleaned_data["reason"], request=request
        )
    except ValidationError as exc:
        apply_errors(form, exc)
        return None
    messages.success(request, _("Request closed."))
    return redirect("intake:list")


# --- A client's portal: invitation, sharing, messages, diary -----------------------------


@staff_required
@GET_POST
def portal_settings(request: HttpRequest, client_uuid: str) -> HttpResponse:
    actor = _actor(request)
    client = access_client(actor, client_uuid, write=True)
    invite = PortalInviteForm(
        request.POST if "email" in request.POST else None, initial={"email": client.email}
    )
    access = accounts.portal_access_of(client)
    if invite.is_bound and invite.is_valid():
        try:
            accounts.portal_invite(
                actor=actor, client=client, email=invite.cleaned_data["email"], request=request
            )
        except ValidationError as exc:
            apply_errors(invite, exc)
        else:
            messages.success(request, _("Invitation sent. It works once, for 7 days."))
            return redirect("clients:portal", client_uuid=client.uuid)
    context = {
        "client": client,
        "invite": invite,
        "access": access,
        "pending": accounts.pending_portal_invitations(client),
        "sharing": PortalSharingForm(
            initial={"share_progress": access.share_progress if access else False}
        ),
    }
    client_read_record(user=actor, client=client, request=request, detail="portal settings")
    return render(request, "clients/intake/portal.html", context)


@staff_required
@require_POST
def portal_sharing(request: HttpRequest, client_uuid: str) -> HttpResponse:
    client = access_client(_actor(request), client_uuid, write=True)
    form = PortalSharingForm(request.POST)
    form.is_valid()
    accounts.portal_sharing_set(
        actor=_actor(request),
        client=client,
        share_progress=bool(form.cleaned_data.get("share_progress")),
        request=request,
    )
    messages.success(request, _("Sharing saved."))
    return redirect("clients:portal", client_uuid=client.uuid)


@staff_required
@GET_POST
def client_messages(request: HttpRequest, client_uuid: str) -> HttpResponse:
    from openipt.portal.forms import MessageForm

    actor = _actor(request)
    client = access_client(actor, client_uuid)
    can_write = consultation.access_client_allowed(actor, client, write=True)
    form = MessageForm(_bound(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST":
        if not can_write:
            raise Http404
        if form.is_valid():
            try:
                messaging.message_send(
                    actor=actor,
                    client=client,
                    body=form.cleaned_data["body"],
                    attachments=request.FILES.getlist("attachments"),
                    request=request,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Message sent."))
                return redirect("clients:messages", client_uuid=client.uuid)
    thread = messaging.conversation(client)
    if can_write:
        messaging.messages_mark_read(reader=actor, client=client)
    client_read_record(user=actor, client=client, request=request, detail="messages")
    context = {"client": client, "thread": thread, "form": form, "can_write": can_write}
    return render(request, "clients/intake/messages.html", context)


@staff_required
@require_GET
def client_attachment(request: HttpRequest, client_uuid: str, attachment_uuid: str) -> HttpResponse:
    from openipt.portal.views import attachment_response

    client = access_client(_actor(request), client_uuid)
    found = messaging.access_attachment(client, attachment_uuid)
    client_read_record(
        user=_actor(request), client=client, request=request, detail="attachment downloaded"
    )
    # A streamed download; ``staff_required`` is typed for plain responses.
    return cast("HttpResponse", attachment_response(found))


@staff_required
@require_GET
def client_diary(request: HttpRequest, client_uuid: str) -> HttpResponse:
    client = access_client(_actor(request), client_uuid)
    entries = diary.diary_entries(client)
    client_read_record(user=_actor(request), client=client, request=request, detail="diary")
    return render(request, "clients/intake/diary.html", {"client": client, "entries": entries})
