"""Consultation requests: the public front door and the practice's intake queue.

Anyone may ask for a confidential consultation (no account). Admins and clinicians of the
practice triage each request: book a consultation (which creates the client) or close it
with a reason. The requester's acknowledgement email never repeats what they wrote.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.http import Http404, HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from openipt.accounts import policy
from openipt.accounts.models import Membership, Practice
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.audit.services import client_address
from openipt.clients.models import Client
from openipt.clients.services import ClientData, client_create
from openipt.core import languages, outbox
from openipt.engagement.models import ConsultationRequest
from openipt.scheduling.models import Appointment
from openipt.scheduling.services import appointment_book

if TYPE_CHECKING:
    from openipt.accounts.models import User

RATE_LIMIT = 5  # requests per address ...
RATE_WINDOW_SECONDS = 3600  # ... per hour
REQUESTS_PER_PAGE = 25


@dataclass(frozen=True)
class ConsultationData:
    name: str
    email: str = ""
    phone: str = ""
    contact_times: str = ""
    preferred_times: str = ""
    reason: str = ""
    consent_to_contact: bool = False


def consultation_practice(practice_uuid: str | None = None) -> Practice:
    """The practice a public request goes to: the only one, or the one named by uuid."""
    if practice_uuid:
        try:
            key = uuid_lib.UUID(practice_uuid)
        except ValueError:
            raise Http404 from None
        practice = Practice.objects.filter(uuid=key).first()
    else:
        practices = list(Practice.objects.all()[:2])
        practice = practices[0] if len(practices) == 1 else None
    if practice is None:
        raise Http404
    return practice


def consultation_throttle(request: HttpRequest) -> bool:
    """Count one request from this address; ``False`` once it sent too many this hour."""
    key = "openipt:consultation:" + (client_address(request) or "unknown")
    if cache.add(key, 1, RATE_WINDOW_SECONDS):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, RATE_WINDOW_SECONDS)
        return True
    return count <= RATE_LIMIT


@transaction.atomic
def consultation_request_submit(
    *, practice: Practice, data: ConsultationData, request: HttpRequest | None = None
) -> ConsultationRequest:
    """File a public request in the practice's intake queue and acknowledge it by email."""
    if not data.consent_to_contact:
        raise ValidationError(
            {"consent_to_contact": _("Please agree that we may contact you.")}, code="required"
        )
    if not data.email.strip() and not data.phone.strip():
        raise ValidationError(
            {"email": _("Please give an email address or a phone number.")}, code="required"
        )
    item = ConsultationRequest(
        practice=practice,
        name=data.name.strip(),
        email=data.email.strip().lower(),
        phone=data.phone.strip(),
        contact_times=data.contact_times.strip(),
        preferred_times=data.preferred_times.strip(),
        reason=data.reason.strip(),
        consent_to_contact=True,
        language=languages.supported(translation.get_language()),
    )
    item.full_clean()
    item.save()
    audit.record(
        actor=None,
        action=AuditEvent.Action.CREATE,
        obj=item,
        practice_id=practice.pk,
        request=request,
    )
    if item.email:
        _acknowledge(item)
    return item


def _acknowledge(item: ConsultationRequest) -> None:
    """Only that the request arrived: nothing the person wrote is repeated."""
    context = {"name": item.name, "practice": item.practice.name}
    with languages.speaking(item.language):
        subject = render_to_string("clients/intake/email/ack_subject.txt", context).strip()
        body = render_to_string("clients/intake/email/ack_body.txt", context)
    outbox.queue_email(
        kind="consultation_ack", subject=subject, body=body, recipients=[item.email],
        practice_id=item.practice_id,
    )  # fmt: skip


# --- Staff: the intake queue ----------------------------------------------------------------


def triage_membership(user: User) -> Membership:
    """The user's membership if they may work through the intake queue, else ``Http404``."""
    membership = policy.staff_membership(user)
    if not policy.can_triage_consultations(membership):
        raise Http404
    assert membership is not None  # noqa: S101 - narrowed by the policy check above
    return membership


def may_triage(user: User) -> bool:
    return policy.can_triage_consultations(policy.staff_membership(user))


def open_requests(
    user: User, *, page: int | str = 1, request: HttpRequest | None = None
) -> Page[ConsultationRequest]:
    """One page of the practice's open requests, oldest first; audited as one read."""
    membership = triage_membership(user)
    qs = ConsultationRequest.objects.filter(
        practice_id=membership.practice_id, status=ConsultationRequest.Status.OPEN
    ).order_by("created_at", "pk")
    result = Paginator(qs, REQUESTS_PER_PAGE).get_page(page)
    if result.object_list:
        audit.record_list_read(
            request,
            actor=user,
            object_type="clients.consultationrequest_list",
            practice_id=membership.practice_id,
            detail=f"page {result.number}: {len(result.object_list)} requests shown",
        )
    return result


def _lock_open(actor: User, item: ConsultationRequest) -> ConsultationRequest:
    membership = policy.staff_membership(actor)
    if not policy.can_triage_consultations(membership) or (
        membership is not None and membership.practice_id != item.practice_id
    ):
        raise PermissionDenied
    fresh = ConsultationRequest.objects.select_for_update().get(pk=item.pk)
    if fresh.status != ConsultationRequest.Status.OPEN:
        raise ValidationError(_("Someone has already dealt with this request."), code="not_open")
    return fresh


@dataclass(frozen=True)
class Booking:
    legal_given_name: str
    legal_family_name: str
    date_of_birth: dt.date
    primary_clinician: Membership
    starts_at: dt.datetime | None = None
    duration_minutes: int = 50


@transaction.atomic
def consultation_book(
    *,
    actor: User,
    item: ConsultationRequest,
    booking: Booking,
    request: HttpRequest | None = None,
) -> Client:
    """Create the client from the request and, if a time is given, book the consultation."""
    fresh = _lock_open(actor, item)
    data = ClientData(
        legal_given_name=booking.legal_given_name,
        legal_family_name=booking.legal_family_name,
        date_of_birth=booking.date_of_birth,
        email=fresh.email,
        phone=fresh.phone,
        language=fresh.language,
    )
    client = client_create(
        actor=actor, data=data, primary_clinician=booking.primary_clinician, request=request
    )
    if booking.starts_at is not None:
        _book_appointment(actor, client, booking, booking.starts_at, request)
    fresh.status = ConsultationRequest.Status.BOOKED
    fresh.client = client
    fresh.triaged_by = actor
    fresh.triaged_at = timezone.now()
    fresh.full_clean()
    fresh.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=fresh,
        client=client,
        request=request,
        detail="open -> booked",
    )
    return client


def _book_appointment(
    actor: User,
    client: Client,
    booking: Booking,
    starts_at: dt.datetime,
    request: HttpRequest | None,
) -> None:
    if "openipt.scheduling" not in settings.INSTALLED_APPS:
        return
    appointment_book(
        actor=actor,
        client=client,
        clinician=booking.primary_clinician,
        starts_at=starts_at,
        duration_minutes=booking.duration_minutes,
        kind=Appointment.Kind.CONSULTATION,
        request=request,
    )


@transaction.atomic
def consultation_close(
    *, actor: User, item: ConsultationRequest, reason: str, request: HttpRequest | None = None
) -> ConsultationRequest:
    if not reason.strip():
        raise ValidationError(
            {"reason": _("Please say why you are closing this request.")}, code="required"
        )
    fresh = _lock_open(actor, item)
    fresh.status = ConsultationRequest.Status.CLOSED
    fresh.closed_reason = reason.strip()
    fresh.triaged_by = actor
    fresh.triaged_at = timezone.now()
    fresh.full_clean()
    fresh.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=fresh,
        practice_id=fresh.practice_id,
        request=request,
        detail="open -> closed",
    )
    return fresh


def triage_clinicians(user: User) -> list[Membership]:
    """Clinicians of the user's practice who can take on a new client."""
    membership = triage_membership(user)
    staff = (
        Membership.objects.filter(
            practice_id=membership.practice_id, is_active=True, is_clinician=True
        )
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return [m for m in staff if policy.can_be_on_care_team(m)]
