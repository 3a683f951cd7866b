"""Who may do what: the one place where authorisation is decided.

Deny by default. Views never decide access themselves; they call the ``access_*``
selectors, which call these functions and raise ``Http404`` when the answer is no (a
person without access cannot even learn that a record exists).

Rules:
- Clinical access to a client comes only from an active place on the client's care team
  (read and write), from supervising an active care-team member (read only), or from an
  unexpired emergency ("break-glass") access opened with a stated reason (read only,
  reviewed by an administrator afterwards; docs/adr/0016-emergency-access.md).
- The admin role manages the practice, its staff and the audit log; it gives no clinical
  access by itself.
- Nothing crosses practices.
- Separation of duties: nobody changes their own roles or supervision; with more than one
  active administrator a clinical role or a supervision needs a second administrator, who
  neither asked for it nor gains from it (docs/adr/0015-separation-of-duties.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, TypeGuard, cast

from allauth.mfa.models import Authenticator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from openipt.accounts.models import Membership, RoleGrant, Supervision, User


class EmergencyAccessRecord(Protocol):
    """An emergency access as the policy sees one (``clients.EmergencyAccess``)."""

    @property
    def practice_id(self) -> int: ...

    @property
    def membership_id(self) -> int: ...


class ClientRecord(Protocol):
    """A client as the policy sees one. The policy sits with the memberships it decides for,
    below the apps whose records it guards, and reaches those records only through the
    relations that point at ``Membership`` (care-team rows, escalated alerts); it imports no
    app above accounts (docs/adr/0013-layers.md)."""

    @property
    def pk(self) -> int: ...

    @property
    def practice_id(self) -> int: ...


def active_membership(user: User | None) -> Membership | None:
    """The user's active membership, cached on the user object for the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, "_openipt_membership", False)
    if cached is not False:
        return cast("Membership | None", cached)
    # One query for the membership, its practice and whether the user has an authenticator
    # (the MFA gate asks next on every staff request; openipt/accounts/middleware.py).
    membership = (
        Membership.objects.select_related("practice")
        .filter(user=user, is_active=True)
        .annotate(
            user_has_totp=Exists(
                Authenticator.objects.filter(user=OuterRef("user"), type=Authenticator.Type.TOTP)
            )
        )
        .first()
    )
    # Cached on the user object for the rest of the request (attributes of ours).
    user._openipt_membership = membership  # type: ignore[attr-defined]
    if membership is not None:
        user._openipt_has_totp = membership.user_has_totp  # type: ignore[attr-defined]
    return membership


def staff_membership(user: User | None) -> Membership | None:
    membership = active_membership(user)
    if membership is None or membership.kind != Membership.Kind.STAFF:
        return None
    return membership


def can_manage_practice(membership: Membership | None) -> bool:
    return membership is not None and membership.is_staff_member and membership.is_admin


# Separation of duties (docs/adr/0015-separation-of-duties.md, docs/quality.md S16).


def can_change_staff_access(actor: Membership | None, target: Membership) -> bool:
    """Administrators change the roles and supervision of others in their practice, never
    their own."""
    return (
        can_manage_practice(actor)
        and actor is not None
        and actor.is_active
        and actor.practice_id == target.practice_id
        and actor.pk != target.pk
    )


def grants_need_second_admin(practice_id: int) -> bool:
    """With two or more active administrators, clinical roles and supervision wait for a
    second one; with one, there is nobody to ask, and the weekly summary is the check."""
    admins = Membership.objects.filter(
        practice_id=practice_id, kind=Membership.Kind.STAFF, is_admin=True, is_active=True
    )
    return admins.count() > 1


# Requests by which the person concerned loses access rather than gains it.
LOSING_KINDS = frozenset({RoleGrant.Kind.ADMIN_REMOVAL, RoleGrant.Kind.DEACTIVATION})


def can_decide_grant(actor: Membership | None, grant: RoleGrant, *, approve: bool) -> bool:
    """Any administrator of the practice may refuse (or withdraw) a request; approving it
    takes one who did not ask for it and does not gain by it (the administrator being
    removed may agree to their own removal)."""
    if not (
        can_manage_practice(actor)
        and actor is not None
        and actor.is_active
        and actor.practice_id == grant.practice_id
    ):
        return False
    if not approve:
        return True
    if actor.user_id == grant.requested_by_id:
        return False
    if grant.kind in LOSING_KINDS:  # the person concerned only loses power: they may agree
        return True
    return actor.pk not in {grant.membership_id, grant.supervisor_id}


def can_create_client(membership: Membership | None) -> bool:
    return (
        membership is not None
        and membership.is_staff_member
        and (membership.is_clinician or membership.is_admin)
    )


def can_be_on_care_team(membership: Membership | None) -> bool:
    return (
        membership is not None
        and membership.is_active
        and membership.is_staff_member
        and (membership.is_clinician or membership.is_supervisor or membership.is_admin)
    )


def _care_team_q(membership: Membership) -> Q:
    # ``pk IN (care-team subquery)`` lets the database start from the clinician's own
    # care-team rows instead of testing every client of the practice (bench/README.md).
    return Q(pk__in=membership.care_teams.filter(is_active=True).values("client_id"))


def _supervisees(membership: Membership) -> QuerySet[Membership]:
    """The active memberships this one actively supervises."""
    supervisee_ids = Supervision.objects.filter(
        supervisor=membership, is_active=True, supervisee__is_active=True
    ).values("supervisee_id")
    return Membership.objects.filter(pk__in=supervisee_ids)


def _supervised_q(membership: Membership) -> Q:
    return Q(
        pk__in=_supervisees(membership)
        .filter(care_teams__is_active=True)
        .values("care_teams__client_id")
    )


def _emergency_q(membership: Membership, at: dt.datetime | None) -> Q:
    # ``timezone.now`` at query time: an access ends when its clock does, mid-request included.
    unexpired = membership.emergency_accesses.filter(expires_at__gt=at or timezone.now())
    return Q(pk__in=unexpired.values("client_id"))


def _is_active_staff(membership: Membership | None) -> TypeGuard[Membership]:
    return membership is not None and membership.is_active and membership.is_staff_member


def client_access_q(
    membership: Membership | None, *, write: bool = False, at: dt.datetime | None = None
) -> Q:
    """A filter on ``Client`` matching exactly the clients this membership may reach (an
    emergency access counts while unexpired ``at`` that moment, by default now)."""
    if not _is_active_staff(membership):
        return Q(pk__in=[])
    q = _care_team_q(membership)
    if not write:
        if can_be_on_care_team(membership):  # an access ends with the role that opened it
            q |= _emergency_q(membership, at)
        if membership.is_supervisor:
            q |= _supervised_q(membership)
    return Q(practice_id=membership.practice_id) & q


def can_access_client(
    membership: Membership | None, client: ClientRecord, *, write: bool = False
) -> bool:
    """The same rule as ``client_access_q``, for one client already in hand."""
    if not _is_active_staff(membership) or membership.practice_id != client.practice_id:
        return False
    if membership.care_teams.filter(client_id=client.pk, is_active=True).exists():
        return True
    if write:
        return False
    unexpired = membership.emergency_accesses.filter(expires_at__gt=timezone.now())
    if can_be_on_care_team(membership) and unexpired.filter(client_id=client.pk).exists():
        return True
    return membership.is_supervisor and (
        _supervisees(membership)
        .filter(care_teams__is_active=True, care_teams__client_id=client.pk)
        .exists()
    )


def can_open_emergency_access(membership: Membership | None, client: ClientRecord) -> bool:
    """Break-glass is for active clinicians, supervisors and administrators of the client's
    practice who cannot read the record already (anyone who can does not need it)."""
    return (
        can_be_on_care_team(membership)
        and membership is not None
        and membership.practice_id == client.practice_id
        and not can_access_client(membership, client, write=False)
    )


def can_review_emergency_access(
    membership: Membership | None, access: EmergencyAccessRecord
) -> bool:
    """An administrator of the practice reviews emergency accesses; not their own while
    another administrator could (docs/adr/0015-separation-of-duties.md)."""
    if not (
        can_manage_practice(membership)
        and membership is not None
        and membership.is_active
        and membership.practice_id == access.practice_id
    ):
        return False
    return membership.pk != access.membership_id or not grants_need_second_admin(access.practice_id)


def alert_recipient_q(membership: Membership | None) -> Q:
    """A filter on ``measures.RiskAlert``: the alerts this membership must act on, as the
    responsible clinician or as a supervisor the alert was escalated to. Seeing the alert's
    clinical detail also needs read access to the client (``client_access_q``)."""
    if not _is_active_staff(membership):
        return Q(pk__in=[])
    escalated = Q(pk__in=membership.escalated_alerts.values("pk"))
    return Q(practice_id=membership.practice_id) & (Q(clinician=membership) | escalated)


def can_triage_consultations(membership: Membership | None) -> bool:
    """Admins and clinicians of a practice work through its consultation requests."""
    return (
        membership is not None
        and membership.is_active
        and membership.is_staff_member
        and (membership.is_admin or membership.is_clinician)
    )


def portal_membership(user: User | None) -> Membership | None:
    """The user's membership when they use the portal as a client; staff get ``None``."""
    membership = active_membership(user)
    if membership is None or membership.kind != Membership.Kind.CLIENT:
        return None
    return membership


# Navigation: which parts of the workspace a member has (openipt/workspace/navigation.py).


def can_see_dashboard(membership: Membership | None) -> bool:
    """Staff have the practice dashboard (clients have the portal)."""
    return membership is not None and membership.is_staff_member


def can_see_clients(membership: Membership | None) -> bool:
    """Clinicians, supervisors and administrators look clients up (access per client is
    still decided by ``client_access_q``)."""
    return (
        membership is not None
        and membership.is_staff_member
        and (membership.is_clinician or membership.is_supervisor or membership.is_admin)
    )


def can_see_caseload(membership: Membership | None) -> bool:
    """Clinicians have a caseload of their own IPT courses."""
    return membership is not None and membership.is_staff_member and membership.is_clinician


def can_see_clinical_columns(membership: Membership | None) -> bool:
    """Lists show next appointment, last session, latest score and alerts to clinicians and
    supervisors; the admin role by itself gives no clinical access, so an administrator's
    client list shows names and status only."""
    return can_see_caseload(membership) or can_see_alerts(membership)


def can_see_schedule(membership: Membership | None) -> bool:
    """Clinicians have a diary of their own appointments."""
    return membership is not None and membership.is_staff_member and membership.is_clinician


def can_see_alerts(membership: Membership | None) -> bool:
    """Clinicians and supervisors receive risk alerts (their own, or escalated to them)."""
    return (
        membership is not None
        and membership.is_staff_member
        and (membership.is_clinician or membership.is_supervisor)
    )


# Who has an inbox of what their care-team clients did in the portal
# (openipt/engagement/inbox.py); what it holds is still limited to their care teams.


def can_see_inbox(membership: Membership | None) -> bool:
    """Clinicians and supervisors have an inbox (as they receive alerts)."""
    return (
        membership is not None
        and membership.is_staff_member
        and (membership.is_clinician or membership.is_supervisor)
    )


# Co-signing a trainee's notes (docs/adr/0018-trainee-co-signature.md). A clinician in training
# under a supervisor (``Supervision.is_training``) signs as usual, and the note then waits for
# that supervisor's co-signature before it is final.


class SignedNote(Protocol):
    """A session note as the policy sees one (``treatment.Session``)."""

    @property
    def signed_by_id(self) -> int | None: ...


def is_in_training(membership: Membership | None) -> bool:
    """Whether this member's notes need a co-signature: they are in training under an active
    supervisor of their practice."""
    if not _is_active_staff(membership):
        return False
    return Supervision.objects.filter(
        supervisee=membership,
        is_active=True,
        is_training=True,
        supervisor__is_active=True,
        supervisor__is_supervisor=True,
        supervisor__practice_id=membership.practice_id,
    ).exists()


def _trainees(membership: Membership) -> QuerySet[Supervision]:
    """The active training supervisions in which this member is the supervisor."""
    return Supervision.objects.filter(
        supervisor=membership,
        is_active=True,
        is_training=True,
        supervisee__is_active=True,
        supervisee__practice_id=membership.practice_id,
    )


def cosigner_q(membership: Membership | None) -> Q:
    """A filter on ``treatment.Session``: the notes this member may co-sign, whatever their
    state: those signed by someone in training under them. Reading the note also needs read
    access to the client (``client_access_q``)."""
    if not _is_active_staff(membership) or not membership.is_supervisor:
        return Q(pk__in=[])
    return Q(signed_by_id__in=_trainees(membership).values("supervisee__user_id"))


def can_cosign(membership: Membership | None, note: SignedNote) -> bool:
    """Only the supervisor under whom the note's author is in training co-signs it (or returns
    it with a comment); not the author, another supervisor, or anyone outside the practice."""
    if not _is_active_staff(membership) or not membership.is_supervisor:
        return False
    if note.signed_by_id is None:
        return False
    return _trainees(membership).filter(supervisee__user_id=note.signed_by_id).exists()


def can_change_training(actor: Membership | None, supervision: Supervision) -> bool:
    """Administrators mark a supervisee as in training (or not) under a supervisor; nobody
    for a supervision of their own, as supervisor or supervisee."""
    return (
        can_change_staff_access(actor, supervision.supervisee)
        and actor is not None
        and actor.pk != supervision.supervisor_id
        and supervision.practice_id == actor.practice_id
    )


# The practice outcome dashboard (docs/measures.md "Practice outcomes"): counts and rates over
# many courses, never one client's record. Administrators see the whole practice; a supervisor
# sees the courses of the clinicians they actively supervise; nobody else sees it.


def can_see_outcomes(membership: Membership | None) -> TypeGuard[Membership]:
    return _is_active_staff(membership) and (membership.is_admin or membership.is_supervisor)


def outcome_clinicians_q(membership: Membership | None) -> Q:
    """A filter on ``Membership``: the clinicians whose courses the dashboard may count."""
    if not can_see_outcomes(membership):
        return Q(pk__in=[])
    practice = Q(practice_id=membership.practice_id, kind=Membership.Kind.STAFF)
    if membership.is_admin:
        return practice
    return practice & Q(pk__in=_supervisees(membership).values("pk"))


def outcome_courses_q(membership: Membership | None) -> Q:
    """A filter on ``treatment.Course`` matching the courses the dashboard may count."""
    if not can_see_outcomes(membership):
        return Q(pk__in=[])
    practice = Q(clinician__practice_id=membership.practice_id)
    if membership.is_admin:
        return practice
    return practice & Q(clinician_id__in=_supervisees(membership).values("pk"))


# Research export (docs/adr/0019-research-export.md): de-identified rows of the whole
# practice, for its administrators only.


def can_export_research(membership: Membership | None) -> TypeGuard[Membership]:
    return _is_active_staff(membership) and membership.is_admin


# Fidelity ratings (docs/adr/0020-fidelity-ratings.md): the therapist rates their own session
# and each of their active supervisors may rate it too, blind to the other's answers.


class RatedCourse(Protocol):
    """The course of a rated session as the policy sees it (``treatment.Course``)."""

    @property
    def clinician_id(self) -> int: ...


class RatedSession(Protocol):
    """A session as the fidelity policy sees one (``treatment.Session``)."""

    @property
    def course(self) -> RatedCourse: ...


def is_session_therapist(membership: Membership | None, session: RatedSession) -> bool:
    """The member is the responsible clinician of the session's course."""
    return (
        _is_active_staff(membership)
        and membership.is_clinician
        and membership.pk == session.course.clinician_id
    )


def can_rate_fidelity(membership: Membership | None, session: RatedSession) -> bool:
    """The session's therapist (a self-rating) or an active supervisor of that therapist in
    the same practice; nobody else: not another supervisor, not an administrator as such, not
    another practice, not the client."""
    return is_session_therapist(membership, session) or _supervises_clinician(
        membership, session.course
    )


# The certification case portfolio of a concluded course (openipt/care/portfolio.py): the
# course's clinician and their active supervisors see it; only such a supervisor signs it off.


def _supervises_clinician(membership: Membership | None, course: RatedCourse) -> bool:
    if not _is_active_staff(membership) or not membership.is_supervisor:
        return False
    return (
        _supervisees(membership)
        .filter(pk=course.clinician_id, practice_id=membership.practice_id)
        .exists()
    )


def can_see_portfolio(membership: Membership | None, course: RatedCourse) -> bool:
    """The course's clinician, or an active supervisor of that clinician in the same
    practice; not another supervisor, an administrator as such, another practice or the
    client."""
    if _is_active_staff(membership) and membership.pk == course.clinician_id:
        return True
    return _supervises_clinician(membership, course)


def can_sign_off_portfolio(membership: Membership | None, course: RatedCourse) -> bool:
    """Only an active supervisor of the course's clinician signs the portfolio off (never
    the clinician, even one who is also a supervisor)."""
    if membership is not None and membership.pk == course.clinician_id:
        return False
    return _supervises_clinician(membership, course)


# Supervision records and the supervisor's workspace (docs/user/supervision.md): a supervisor
# writes notes of meetings with the people they actively supervise; a note is read by its
# supervisor and, once signed, by the supervisees it names; nobody else.


class SupervisionRecord(Protocol):
    """A supervision meeting note as the policy sees one (``treatment.SupervisionMeeting``)."""

    @property
    def pk(self) -> int: ...

    @property
    def supervisor_id(self) -> int: ...

    @property
    def signed_at(self) -> object: ...


def can_keep_supervision(membership: Membership | None) -> TypeGuard[Membership]:
    """An active supervisor: writes supervision notes and has the supervisor's workspace."""
    return _is_active_staff(membership) and membership.is_supervisor


def supervisees_of(membership: Membership | None) -> QuerySet[Membership]:
    """The active staff members this member actively supervises in their own practice."""
    if not can_keep_supervision(membership):
        return Membership.objects.none()
    return _supervisees(membership).filter(
        practice_id=membership.practice_id, kind=Membership.Kind.STAFF
    )


def can_edit_supervision_meeting(membership: Membership | None, meeting: SupervisionRecord) -> bool:
    """The supervisor who wrote it, while it is a draft."""
    return (
        can_keep_supervision(membership)
        and meeting.supervisor_id == membership.pk
        and meeting.signed_at is None
    )


def can_amend_supervision_meeting(
    membership: Membership | None, meeting: SupervisionRecord
) -> bool:
    """The supervisor who wrote and signed it."""
    return (
        can_keep_supervision(membership)
        and meeting.supervisor_id == membership.pk
        and meeting.signed_at is not None
    )


def supervision_meetings_q(membership: Membership | None) -> Q:
    """A filter on ``treatment.SupervisionMeeting``: the notes this member may read. Its
    supervisor reads it, drafts included; a supervisee reads the signed notes naming them."""
    if not _is_active_staff(membership):
        return Q(pk__in=[])
    own = Q(supervisor_id=membership.pk) if membership.is_supervisor else Q(pk__in=[])
    named = Q(signed_at__isnull=False, pk__in=membership.supervision_meetings.values("pk"))
    return Q(supervisor__practice_id=membership.practice_id) & (own | named)


def can_read_supervision_meeting(membership: Membership | None, meeting: SupervisionRecord) -> bool:
    """The same rule as ``supervision_meetings_q``, for one note already in hand."""
    if not _is_active_staff(membership):
        return False
    if membership.is_supervisor and meeting.supervisor_id == membership.pk:
        return True
    return (
        meeting.signed_at is not None
        and membership.supervision_meetings.filter(pk=meeting.pk).exists()
    )


# Session recordings (docs/adr/0021-session-recordings.md): the therapist of the session and
# their active supervisors in the same practice play them; nobody else reaches them at all.


def can_access_recording(membership: Membership | None, session: RatedSession) -> bool:
    """The session's therapist or an active supervisor of that therapist in the same practice:
    not another supervisor, not an administrator as such, not another practice, not the
    client."""
    return can_rate_fidelity(membership, session)


def can_upload_recording(membership: Membership | None, session: RatedSession) -> bool:
    """Only the session's therapist uploads its recording (and records or withdraws the
    consent to it)."""
    return is_session_therapist(membership, session)


def can_review_recording(membership: Membership | None, session: RatedSession) -> bool:
    """A supervisor of the therapist comments on a recording and marks it reviewed."""
    return can_access_recording(membership, session) and not is_session_therapist(
        membership, session
    )


# Letters and reports (docs/user/letters.md).


def can_write_letters(membership: Membership | None, client: ClientRecord) -> bool:
    """Letters about a client are written, downloaded and printed by the clinicians on the
    client's care team. A supervisor reads them (through course read access) but writes
    none; an administrator as such writes none either."""
    return (
        _is_active_staff(membership)
        and membership.is_clinician
        and can_access_client(membership, client, write=True)
    )


def can_edit_letter_templates(membership: Membership | None) -> bool:
    """The practice's letter wording is the practice's to manage."""
    return can_manage_practice(membership)


# SMART apps (openipt/api/smart.py, docs/smart.md).


def can_manage_apps(membership: Membership | None) -> bool:
    """A practice's administrators register, list and disable its SMART apps."""
    return can_manage_practice(membership)


def approvable_apps_q(membership: Membership | None) -> Q:
    """A filter on SMART apps (anything with ``practice_id`` and ``disabled_at``): those the
    member may approve — their own practice's, while enabled. Another practice's app is as
    good as unknown."""
    if membership is None or not membership.is_active:
        return Q(pk__in=[])
    return Q(practice_id=membership.practice_id, disabled_at__isnull=True)
