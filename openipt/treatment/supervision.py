"""Supervision meeting notes and their follow-ups (docs/user/supervision.md).

A supervisor writes a note of a meeting with one or more of the people they actively
supervise (several for group supervision): the date, the cases talked about (courses of
those supervisees), what was agreed and the follow-ups each supervisee took away. The note
is a draft, seen by its supervisor alone, until they sign it; from then on it never
changes: a correction is an appended amendment, or a later meeting. Once signed, the
supervisees named read it and find their follow-ups on their home page until they mark
them done.

Every step is one call with its audit event in the same transaction. The audit detail is a
count or a state, never what was written. Linking a case is recorded against that client
when the note is signed, so the client's audit trail shows that their care was discussed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.accounts import policy
from openipt.accounts.models import Membership, User
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.core.versioning import lock_version
from openipt.treatment.models import (
    Course,
    SupervisionAmendment,
    SupervisionFollowUp,
    SupervisionMeeting,
)

FOLLOW_UP_MAX = 500


@dataclass(frozen=True)
class FollowUpData:
    supervisee: Membership
    text: str
    due_on: dt.date | None = None


@dataclass(frozen=True)
class MeetingData:
    held_on: dt.date
    supervisees: Sequence[Membership]
    cases: Sequence[Course] = ()
    agreed: str = ""
    follow_ups: Sequence[FollowUpData] = field(default_factory=tuple)


def _supervisor(actor: User) -> Membership:
    membership = policy.staff_membership(actor)
    if not policy.can_keep_supervision(membership):
        raise PermissionDenied
    return membership


def _validate(supervisor: Membership, data: MeetingData) -> None:
    """Supervisees are people the supervisor actively supervises; cases are open or closed
    courses of theirs; each follow-up belongs to one of them."""
    allowed = set(policy.supervisees_of(supervisor).values_list("pk", flat=True))
    chosen = {m.pk for m in data.supervisees}
    if not chosen:
        raise ValidationError({"supervisees": _("Choose who was supervised.")})
    if not chosen <= allowed:
        raise ValidationError({"supervisees": _("Choose only people you supervise at the moment.")})
    for case in data.cases:
        if case.clinician_id not in chosen or case.status == Course.Status.ENTERED_IN_ERROR:
            raise ValidationError(
                {"cases": _("Choose only cases of the people supervised in this meeting.")}
            )
    for follow_up in data.follow_ups:
        if follow_up.supervisee.pk not in chosen:
            raise ValidationError(
                {"follow_ups": _("Give each follow-up to someone supervised in this meeting.")}
            )
        if not follow_up.text.strip():
            raise ValidationError({"follow_ups": _("Say what each follow-up is.")})


def _write(meeting: SupervisionMeeting, actor: User, data: MeetingData) -> None:
    meeting.held_on = data.held_on
    meeting.agreed = data.agreed
    meeting.updated_by = actor
    meeting.full_clean(exclude=["supervisees", "cases"])
    meeting.save()
    meeting.supervisees.set(data.supervisees)
    meeting.cases.set(data.cases)
    # A draft's follow-ups are rewritten with it: nobody but its supervisor has seen them.
    meeting.follow_ups.all().delete()
    rows = [
        SupervisionFollowUp(
            meeting=meeting, supervisee=f.supervisee, text=f.text.strip()[:FOLLOW_UP_MAX],
            due_on=f.due_on, created_by=actor, updated_by=actor,
        )
        for f in data.follow_ups
    ]  # fmt: skip
    for row in rows:
        row.full_clean(exclude=["meeting"])
    SupervisionFollowUp.objects.bulk_create(rows)


def _detail(data: MeetingData) -> str:
    return (
        f"{len(data.supervisees)} supervisees, {len(data.cases)} cases, "
        f"{len(data.follow_ups)} follow-ups"
    )


@transaction.atomic
def supervision_meeting_create(
    *, actor: User, data: MeetingData, request: HttpRequest | None = None
) -> SupervisionMeeting:
    """A draft note of a supervision meeting, written by the actor as supervisor."""
    supervisor = _supervisor(actor)
    _validate(supervisor, data)
    meeting = SupervisionMeeting(
        supervisor=supervisor, held_on=data.held_on, created_by=actor, updated_by=actor
    )
    _write(meeting, actor, data)
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=meeting,
        practice_id=supervisor.practice_id, request=request, detail=_detail(data),
    )  # fmt: skip
    return meeting


@transaction.atomic
def supervision_meeting_update(
    *,
    actor: User,
    meeting: SupervisionMeeting,
    version: int,
    data: MeetingData,
    request: HttpRequest | None = None,
) -> SupervisionMeeting:
    """Change a draft, at the version it was opened at; a signed note never changes."""
    supervisor = _supervisor(actor)
    current = lock_version(meeting, version)
    if not policy.can_edit_supervision_meeting(supervisor, current):
        if current.supervisor_id == supervisor.pk:
            raise ValidationError(_("This note is signed, so it can no longer change."))
        raise PermissionDenied
    _validate(supervisor, data)
    current.version += 1
    _write(current, actor, data)
    audit.record(
        actor=actor, action=AuditEvent.Action.UPDATE, obj=current,
        practice_id=supervisor.practice_id, request=request, detail=_detail(data),
    )  # fmt: skip
    return current


@transaction.atomic
def supervision_meeting_sign(
    *,
    actor: User,
    meeting: SupervisionMeeting,
    version: int,
    request: HttpRequest | None = None,
) -> SupervisionMeeting:
    """Sign the draft: from now on its supervisees read it and see their follow-ups."""
    supervisor = _supervisor(actor)
    current = lock_version(meeting, version)
    if not policy.can_edit_supervision_meeting(supervisor, current):
        if current.supervisor_id == supervisor.pk:
            raise ValidationError(_("This note is already signed."))
        raise PermissionDenied
    # The people and cases are checked again: a supervision may have ended since the draft.
    data = MeetingData(
        held_on=current.held_on,
        supervisees=list(current.supervisees.all()),
        cases=list(current.cases.all()),
        follow_ups=[
            FollowUpData(f.supervisee, f.text)
            for f in current.follow_ups.select_related("supervisee")
        ],
    )
    _validate(supervisor, data)
    current.signed_at = timezone.now()
    current.signed_by = actor
    current.version += 1
    current.updated_by = actor
    current.save(update_fields=["signed_at", "signed_by", "version", "updated_by", "updated_at"])
    audit.record(
        actor=actor, action=AuditEvent.Action.UPDATE, obj=current,
        practice_id=supervisor.practice_id, request=request, detail="signed",
    )  # fmt: skip
    for case in Course.objects.filter(pk__in=[c.pk for c in data.cases]).select_related("client"):
        audit.record(
            actor=actor, action=AuditEvent.Action.UPDATE, obj=current, client=case.client,
            request=request, detail="course discussed in supervision",
        )  # fmt: skip
    return current


@transaction.atomic
def supervision_amendment_add(
    *,
    actor: User,
    meeting: SupervisionMeeting,
    text: str,
    request: HttpRequest | None = None,
) -> SupervisionAmendment:
    """Append a correction or addition to a signed note; the note itself stays as signed."""
    supervisor = _supervisor(actor)
    if not policy.can_amend_supervision_meeting(supervisor, meeting):
        raise PermissionDenied
    if not text.strip():
        raise ValidationError({"text": _("Write the amendment.")})
    amendment = SupervisionAmendment(meeting=meeting, author=actor, text=text.strip())
    amendment.full_clean()
    amendment.save()
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=amendment,
        practice_id=supervisor.practice_id, request=request, detail="amendment appended",
    )  # fmt: skip
    return amendment


@transaction.atomic
def supervision_follow_up_done(
    *,
    actor: User,
    follow_up: SupervisionFollowUp,
    request: HttpRequest | None = None,
) -> SupervisionFollowUp:
    """The supervisee marks their follow-up of a signed note done (doing it twice is one)."""
    membership = policy.staff_membership(actor)
    if membership is None or follow_up.supervisee_id != membership.pk:
        raise PermissionDenied
    current = SupervisionFollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if not policy.can_read_supervision_meeting(membership, current.meeting):
        raise PermissionDenied
    if current.done_at is not None:
        return current
    current.done_at = timezone.now()
    current.updated_by = actor
    current.save(update_fields=["done_at", "updated_by", "updated_at"])
    audit.record(
        actor=actor, action=AuditEvent.Action.UPDATE, obj=current,
        practice_id=membership.practice_id, request=request, detail="marked done",
    )  # fmt: skip
    return current


def open_follow_ups(membership: Membership | None) -> list[SupervisionFollowUp]:
    """The member's follow-ups of signed notes, not yet done, soonest due first."""
    if membership is None:
        return []
    rows = SupervisionFollowUp.objects.filter(
        supervisee=membership, done_at__isnull=True, meeting__signed_at__isnull=False
    ).select_related("meeting__supervisor__user")
    return list(rows.order_by("due_on", "meeting__held_on", "pk"))
