"""Staff pages for the client's side: the intake queue, portal access, messages, diary."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from openipt.access.clients import access_client, audit_on_get
from openipt.access.engagement import access_attachment, access_consultation_request
from openipt.accounts import policy
from openipt.accounts.http import AuthenticatedHttpRequest, StaffRequest, staff_required
from openipt.audit.services import record_read
from openipt.core.http import GET_POST, attempt, download_response, posted
from openipt.engagement import accounts, consultation, diary, messaging
from openipt.engagement.forms import MessageForm
from openipt.engagement.intake_forms import (
    BookForm,
    CloseForm,
    PortalInviteForm,
    PortalSharingForm,
    split_name,
)
from openipt.engagement.models import ConsultationRequest


@login_required
@require_GET
def intake_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    page = consultation.open_requests(
        request.user, page=request.GET.get("page", 1), request=request
    )
    return render(request, "clients/intake/list.html", {"page": page})


@login_required
@GET_POST
def intake_detail(request: AuthenticatedHttpRequest, request_uuid: UUID) -> HttpResponse:
    item = access_consultation_request(request.user, request_uuid, audit=request)
    given, family = split_name(item.name)
    book = BookForm(
        request.POST if request.POST.get("action") == "book" else None,
        clinicians=consultation.triage_clinicians(request.user),
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


def _book(
    request: AuthenticatedHttpRequest, item: ConsultationRequest, form: BookForm
) -> HttpResponse | None:
    if not form.is_valid():
        return None
    booked = attempt(
        form,
        lambda: consultation.consultation_book(
            actor=request.user, item=item, booking=form.to_data(), request=request
        ),
    )
    if booked.value is None:
        return None
    messages.success(request, _("Consultation booked and client record created."))
    membership = policy.staff_membership(request.user)
    if policy.can_access_client(membership, booked.value, write=False):
        return redirect("clients:detail", client_uuid=booked.value.uuid)
    return redirect("intake:list")


def _close(
    request: AuthenticatedHttpRequest, item: ConsultationRequest, form: CloseForm
) -> HttpResponse | None:
    if not form.is_valid():
        return None
    closed = attempt(
        form,
        lambda: consultation.consultation_close(
            actor=request.user, item=item, reason=form.cleaned_data["reason"], request=request
        ),
    )
    if not closed.ok:
        return None
    messages.success(request, _("Request closed."))
    return redirect("intake:list")


# --- A client's portal: invitation, sharing, messages, diary -----------------------------


@staff_required
@GET_POST
def portal_settings(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(
        request.user, client_uuid, write=True, audit=audit_on_get(request), detail="portal settings"
    )
    invite = PortalInviteForm(
        request.POST if "email" in request.POST else None, initial={"email": client.email}
    )
    access = accounts.portal_access_of(client)
    if invite.is_bound and invite.is_valid():
        sent = attempt(
            invite,
            lambda: accounts.portal_invite(
                actor=request.user,
                client=client,
                email=invite.cleaned_data["email"],
                request=request,
            ),
        )
        if sent.ok:
            messages.success(request, _("Invitation sent. It works once, for 7 days."))
            return redirect("clients:portal", client_uuid=client.uuid)
    if request.method == "POST":  # refused: the page shows the record again
        record_read(request, client, detail="portal settings")
    context = {
        "client": client,
        "invite": invite,
        "access": access,
        "pending": accounts.pending_portal_invitations(client),
        # Without crisis contacts the page explains why no invitation can go out yet.
        "portal_ready": accounts.practice_ready_for_portal(client.practice),
        "can_manage_practice": policy.can_manage_practice(request.membership),
        "sharing": PortalSharingForm(
            initial={"share_progress": access.share_progress if access else False}
        ),
    }
    return render(request, "clients/intake/portal.html", context)


@staff_required
@require_POST
def portal_sharing(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(request.user, client_uuid, write=True)
    form = PortalSharingForm(request.POST)
    form.is_valid()
    accounts.portal_sharing_set(
        actor=request.user,
        client=client,
        share_progress=bool(form.cleaned_data.get("share_progress")),
        request=request,
    )
    messages.success(request, _("Sharing saved."))
    return redirect("clients:portal", client_uuid=client.uuid)


@staff_required
@GET_POST
def client_messages(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(
        request.user, client_uuid, audit=audit_on_get(request), detail="messages"
    )
    can_write = policy.can_access_client(request.membership, client, write=True)
    form = MessageForm(posted(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST":
        if not can_write:
            raise Http404
        if form.is_valid():
            sent = attempt(
                form,
                lambda: messaging.message_send(
                    actor=request.user,
                    client=client,
                    body=form.cleaned_data["body"],
                    attachments=request.FILES.getlist("attachments"),
                    request=request,
                ),
            )
            if sent.ok:
                messages.success(request, _("Message sent."))
                return redirect("clients:messages", client_uuid=client.uuid)
        # Refused: the page shows the conversation again.
        record_read(request, client, detail="messages")
    thread = messaging.conversation(client)
    if can_write:
        messaging.messages_mark_read(reader=request.user, client=client)
    context = {"client": client, "thread": thread, "form": form, "can_write": can_write}
    return render(request, "clients/intake/messages.html", context)


@staff_required
@require_GET
def client_attachment(
    request: StaffRequest, client_uuid: UUID, attachment_uuid: UUID
) -> HttpResponseBase:
    client = access_client(request.user, client_uuid)
    found = access_attachment(client, attachment_uuid)
    # Recorded as a read of the client's record (as it always was), once the file is found.
    record_read(request, client, detail="attachment downloaded")
    return download_response(found.file, found.original_name, found.content_type)


@staff_required
@require_GET
def client_diary(request: StaffRequest, client_uuid: UUID) -> HttpResponse:
    client = access_client(request.user, client_uuid, audit=request, detail="diary")
    entries = diary.diary_entries(client)
    return render(request, "clients/intake/diary.html", {"client": client, "entries": entries})
