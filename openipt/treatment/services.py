"""Every write to an IPT course. Each function is atomic, validates with ``full_clean`` and
writes its audit event in the same transaction.

Editable records carry a ``version`` (``openipt.core.versioning``): callers pass the version
they started from and a stale one is refused with ``EditConflict`` (docs/quality.md R2), so
nothing is overwritten silently.

What a write may change arrives as one of the frozen ``*Data`` classes below (the forms'
``to_data()`` builds them); only their fields are ever applied, so a form can never reach
other columns. An edit passes the whole record: ``XData.of(record)`` gives the current
values, ``dataclasses.replace`` changes some of them.

Permission is checked here as well as at the page's gate (docs/adr/0013-layers.md), so a
command, a task or the API is held to the same rule: every write by staff needs write
access to the client (``_require_write``: a place on the care team; a supervisor reads but
never writes), and the writes the portal makes need the client themself
(``_require_own_portal``). A refusal is ``PermissionDenied`` and nothing is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Self, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from openipt.accounts import policy
from openipt.accounts.models import Membership, User
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.core.versioning import EditConflict, lock_version, update_versioned
from openipt.treatment import formats, protocol
from openipt.treatment.models import (
    AREA_FIELDS,
    TECHNIQUE_FIELDS,
    Area,
    Audited,
    BetweenSessionTask,
    ContractVersion,
    CoSign,
    Course,
    Formulation,
    Goal,
    GoalRating,
    InventoryPerson,
    PhaseTaskStatus,
    ProblemArea,
    ProcessNote,
    Session,
    SessionAmendment,
    SessionReturn,
    Technique,
    TerminationRecord,
    TimelineEvent,
)
from openipt.treatment.summary import course_summary_create, course_summary_refresh

A = TypeVar("A", bound=Audited)
Action = AuditEvent.Action

# What each write may change -------------------------------------------------------------


@dataclass(frozen=True)
class RecordData:
    """The shared part of the ``*Data`` classes: building one from a saved record."""

    @classmethod
    def of(cls, record: models.Model) -> Self:
        """The record's current values, to start an edit from."""
        values = {f.name: getattr(record, f.name) for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _changes(data: RecordData) -> dict[str, object]:
    """The fields of ``data`` as model changes (tuples become the lists JSON fields hold)."""
    changes: dict[str, object] = {}
    for f in fields(data):
        value = getattr(data, f.name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        changes[f.name] = value
    return changes


@dataclass(frozen=True)
class CourseData(RecordData):
    """A new course. Empty ``planned_sessions`` and ``frequency`` take the format's usual."""

    format: str
    start_date: dt.date
    planned_sessions: int | None = None
    frequency: str = ""
    presenting_concerns: tuple[str, ...] = ()
    concerns_other: str = ""
    medication_status: str = Course.Medication.NOT_RECORDED
    prescriber: str = ""
    participants: tuple[str, ...] = ()
    participant_names: str = ""


@dataclass(frozen=True)
class CourseUpdateData(RecordData):
    """A course's details as edited; the number of sessions follows the contract."""

    start_date: dt.date
    frequency: str
    presenting_concerns: tuple[str, ...] = ()
    concerns_other: str = ""
    medication_status: str = Course.Medication.NOT_RECORDED
    prescriber: str = ""
    participants: tuple[str, ...] = ()
    participant_names: str = ""
    status: str = Course.Status.ASSESSMENT
    status_reason: str = ""


@dataclass(frozen=True)
class ConclusionData(RecordData):
    """Closing a course from its ending page: concluded, or ended early with a reason."""

    status: str
    status_reason: str = ""
    ended_on: dt.date | None = None


@dataclass(frozen=True)
class MaintenanceData(RecordData):
    """A maintenance course after an acute one. Empty fields take the format's usual."""

    start_date: dt.date
    planned_sessions: int | None = None
    frequency: str = ""


@dataclass(frozen=True)
class SessionData(RecordData):
    number: int
    starts_at: dt.datetime
    duration_minutes: int = 50
    attendance: str = Session.Attendance.ATTENDED
    phase_override: str = ""
    phase_override_reason: str = ""
    attendees: tuple[str, ...] = ()
    mood: int | None = None
    events_since_last: str = ""
    mood_event_link: str = ""
    focus: str = ""
    problem_area_work: str = ""
    techniques_used: tuple[str, ...] = ()
    tasks_reviewed: str = ""
    tasks_set: str = ""
    risk_check: str = Session.Risk.NOT_ASKED
    risk_notes: str = ""
    progress_note: str = ""


@dataclass(frozen=True)
class PersonData(RecordData):
    """One person of the interpersonal inventory."""

    name: str
    snapshot: str = InventoryPerson.Snapshot.START
    relationship: str = ""
    circle: int = InventoryPerson.Circle.MIDDLE
    contact_frequency: str = ""
    support: str = ""
    conflicts: str = ""
    expectations_met: str = ""
    expectations_unmet: str = ""
    satisfying: str = ""
    unsatisfying: str = ""
    wants_to_change: str = ""
    knows_about_difficulties: str = InventoryPerson.Knows.UNKNOWN


@dataclass(frozen=True)
class TimelineEventData(RecordData):
    date: dt.date
    kind: str
    description: str
    people: str = ""
    mood: int | None = None
    marks_symptom_onset: bool = False


@dataclass(frozen=True)
class ProblemAreaData(RecordData):
    """Focus choice, evidence and the area's own fields. Fields that do not belong to the
    area (a dispute partner on a grief area, say) are cleared when saved."""

    is_candidate: bool = True
    is_primary: bool = False
    is_secondary: bool = False
    evidence: str = ""
    deficits_rationale: str = ""
    other_person: InventoryPerson | None = None
    dispute_stage: str = ""
    mourning_progress: str = ""
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FormulationData(RecordData):
    text: str
    shared_on: dt.date | None = None
    client_agreement: str = ""
    amendment_text: str = ""


@dataclass(frozen=True)
class ContractData(RecordData):
    """One version of the treatment contract; a change after the first needs a reason."""

    planned_sessions: int
    frequency: str
    agreed_on: dt.date
    focus_areas: tuple[str, ...] = ()
    goals_summary: str = ""
    arrangements: str = ""
    client_agreed: bool = True
    reason: str = ""


@dataclass(frozen=True)
class GoalData(RecordData):
    text: str
    problem_area: ProblemArea | None = None


@dataclass(frozen=True)
class GoalRatingData(RecordData):
    rating: int
    rated_on: dt.date


@dataclass(frozen=True)
class TechniqueData(RecordData):
    """A technique record; details outside the kind's fields are dropped."""

    kind: str
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TerminationData(RecordData):
    raised_at_session: int | None = None
    gains: str = ""
    warning_signs: str = ""
    relapse_plan: str = ""
    relapse_contacts: str = ""
    next_step: str = ""
    next_step_reason: str = ""
    conclusion_summary: str = ""


@dataclass(frozen=True)
class TaskMarkData(RecordData):
    """A §3 phase task ticked: done, not applicable or deferred, with an optional note."""

    task_code: str
    status: str
    note: str = ""


# Who may write -------------------------------------------------------------------------


def _require_write(actor: User, client: Client) -> None:
    """``PermissionDenied`` unless ``actor`` is staff with write access to ``client``."""
    if not policy.can_access_client(policy.staff_membership(actor), client, write=True):
        raise PermissionDenied


def _require_own_portal(actor: User, client: Client) -> None:
    """``PermissionDenied`` unless ``actor`` is ``client`` themself, signed in to the portal:
    the rule of the portal's gate (``openipt.access.engagement.access_own_client``), asked
    of the database through the reverse relation ``Client.portal`` (engagement sits above
    treatment and is not imported)."""
    membership = policy.portal_membership(actor)
    if (
        membership is None
        or membership.practice_id != client.practice_id
        or client.status == Client.Status.ENTERED_IN_ERROR
        or not Client.objects.filter(pk=client.pk, portal__user=actor).exists()
    ):
        raise PermissionDenied


def _require_write_or_own_portal(actor: User, client: Client) -> None:
    """Staff need write access; a portal user must be the client themself."""
    if policy.portal_membership(actor) is not None:
        _require_own_portal(actor, client)
    else:
        _require_write(actor, client)


def _audit(
    actor: User,
    action: AuditEvent.Action,
    obj: models.Model,
    client: Client,
    request: HttpRequest | None,
    detail: str = "",
) -> None:
    audit.record(actor=actor, action=action, obj=obj, client=client, request=request, detail=detail)


def _create(
    model: type[A],
    *,
    actor: User,
    data: RecordData,
    client: Client,
    request: HttpRequest | None,
    **parent: models.Model,
) -> A:
    obj = model(**parent, **_changes(data), created_by=actor, updated_by=actor)
    obj.full_clean()
    obj.save()
    _audit(actor, Action.CREATE, obj, client, request)
    return obj


# Course ---------------------------------------------------------------------------------


@transaction.atomic
def course_create(
    *,
    actor: User,
    client: Client,
    clinician: Membership,
    data: CourseData,
    request: HttpRequest | None = None,
) -> Course:
    _require_write(actor, client)
    fmt = formats.get_format(data.format)
    changes = _changes(data)
    changes["planned_sessions"] = data.planned_sessions or fmt.default_sessions
    changes["frequency"] = data.frequency or fmt.frequency
    course = Course(
        client=client, clinician=clinician, created_by=actor, updated_by=actor, **changes
    )
    course.full_clean()
    course.save()
    _audit(actor, Action.CREATE, course, client, request)
    course_summary_create(course=course)
    return course


@transaction.atomic
def course_update(
    *,
    actor: User,
    course: Course,
    version: int,
    data: CourseUpdateData,
    request: HttpRequest | None = None,
) -> Course:
    """Edit a course. The number of sessions is not editable here: see ``contract_record``."""
    _require_write(actor, course.client)
    if data.status in CLOSING_STATUSES and data.status != course.status:
        raise ValidationError(
            {"status": _("Conclude the course, or end it early, from its ending page.")}
        )
    course = update_versioned(course, version=version, changes=_changes(data), updated_by=actor)
    _audit(actor, Action.UPDATE, course, course.client, request)
    return course


# Concluding a course and what follows it (docs/ipt.md §3, "Concluding a course") ----------

CLOSING_STATUSES = (Course.Status.CONCLUDED, Course.Status.ENDED_EARLY)


def termination_facts(record: TerminationRecord | None) -> protocol.Termination:
    """What the protocol needs from an ending record (the final measure comes from care,
    which knows the scores)."""
    if record is None:
        return protocol.Termination()
    return protocol.Termination(
        raised_at_session=record.raised_at_session,
        gains_reviewed=bool(record.gains.strip()),
        warning_signs=bool(record.warning_signs.strip()),
        relapse_plan=bool(record.relapse_plan.strip()),
        next_step=protocol.NextStep(record.next_step) if record.next_step else None,
        next_step_reason=record.next_step_reason,
    )


def conclusion_missing(course: Course) -> tuple[str, ...]:
    """The required ending items (task codes) this course has not recorded yet."""
    record = TerminationRecord.objects.filter(course=course).first()
    return protocol.conclusion_missing(formats.FormatCode(course.format), termination_facts(record))


def _check_conclusion(course: Course, data: ConclusionData, ended_on: dt.date) -> None:
    if not course.is_open:
        raise ValidationError(_("This course is already closed."))
    errors: dict[str, list[str]] = {}
    if data.status not in CLOSING_STATUSES:
        errors["status"] = [_("Choose whether the course was concluded or ended early.")]
    elif data.status == Course.Status.ENDED_EARLY and not data.status_reason.strip():
        errors["status_reason"] = [_("Say why the course ended early.")]
    elif data.status == Course.Status.CONCLUDED and conclusion_missing(course):
        errors["status"] = [
            _(
                "Record the gains, the early signs to watch for, the plan for them and the "
                "next step before concluding the course, or end it early instead."
            )
        ]
    if ended_on < course.start_date:
        errors["ended_on"] = [_("The course cannot end before it began.")]
    elif ended_on > timezone.localdate():
        errors["ended_on"] = [_("Give today's date or an earlier one.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def course_conclude(
    *,
    actor: User,
    course: Course,
    version: int,
    data: ConclusionData,
    request: HttpRequest | None = None,
) -> Course:
    """Close an open course: concluded once the required ending items are recorded
    (``protocol.CONCLUSION_REQUIRED``), or ended early with a reason. Its future
    appointments are the caller's to cancel, in the same transaction (scheduling sits
    above treatment)."""
    _require_write(actor, course.client)
    course = lock_version(course, version)
    ended_on = data.ended_on or timezone.localdate()
    _check_conclusion(course, data, ended_on)
    course.status, course.status_reason, course.ended_on = data.status, data.status_reason, ended_on
    course.version += 1
    course.updated_by = actor
    course.full_clean()
    course.save()
    _audit(actor, Action.UPDATE, course, course.client, request, detail=f"status {data.status}")
    return course


@transaction.atomic
def course_start_maintenance(
    *,
    actor: User,
    previous: Course,
    clinician: Membership,
    data: MaintenanceData,
    request: HttpRequest | None = None,
) -> Course:
    """Start maintenance IPT after ``previous`` (docs/ipt.md §2, ``ipt_m``): monthly unless
    told otherwise, linked through ``follows`` so that the baseline score, the warning signs
    and the relapse plan carry over. One maintenance course per acute course."""
    _require_write(actor, previous.client)
    previous = lock_version(previous, None)
    if not formats.get_format(previous.format).acute:
        raise ValidationError(_("A maintenance course follows an acute course."))
    if previous.status == Course.Status.ENTERED_IN_ERROR:
        raise ValidationError(_("This course was entered in error."))
    if Course.objects.filter(follows=previous).exists():
        raise ValidationError(_("A maintenance course already follows this course."))
    if data.start_date < previous.start_date:
        raise ValidationError({"start_date": _("Start on or after the earlier course began.")})
    fmt = formats.get_format(formats.FormatCode.IPT_M)
    course = Course(
        client=previous.client,
        clinician=clinician,
        format=fmt.code.value,
        start_date=data.start_date,
        planned_sessions=data.planned_sessions or fmt.default_sessions,
        frequency=data.frequency or fmt.frequency,
        presenting_concerns=previous.presenting_concerns,
        concerns_other=previous.concerns_other,
        medication_status=previous.medication_status,
        prescriber=previous.prescriber,
        status=Course.Status.ACTIVE,
        follows=previous,
        created_by=actor,
        updated_by=actor,
    )
    course.full_clean()
    course.save()
    _audit(actor, Action.CREATE, course, course.client, request, detail="maintenance")
    course_summary_create(course=course)
    return course


# Sessions -------------------------------------------------------------------------------


def _check_session(data: SessionData, course: Course) -> None:
    errors: dict[str, list[str]] = {}
    if data.starts_at and timezone.localdate(data.starts_at) < course.start_date:
        errors["starts_at"] = [
            _("This date is before the course began (%(date)s). Check the date.")
            % {"date": course.start_date.isoformat()}
        ]
    if data.number is not None and data.number > course.planned_sessions:
        errors["number"] = [
            _(
                "Session %(n)s is beyond the %(planned)s sessions agreed in the contract. "
                "Record the renegotiation of the contract first, then add this session."
            )
            % {"n": data.number, "planned": course.planned_sessions}
        ]
    if errors:
        raise ValidationError(errors)


def next_session_number(course: Course) -> int:
    last = course.sessions.aggregate(m=models.Max("number"))["m"]
    return 1 if last is None else int(last) + 1


@transaction.atomic
def session_create(
    *, actor: User, course: Course, data: SessionData, request: HttpRequest | None = None
) -> Session:
    _require_write(actor, course.client)
    course = lock_version(course, None)
    _check_session(data, course)
    session = _create(
        Session, actor=actor, data=data, client=course.client, request=request, course=course
    )
    course_summary_refresh(course_id=course.pk)
    return session


def _refuse_if_signed(session: Session) -> None:
    if session.is_signed:
        raise ValidationError(
            _(
                "This session record is signed and can no longer be edited. "
                "Add an amendment instead."
            )
        )


def _lock_unsigned(session: Session, version: int) -> Session:
    """The session again, locked; refused if signed, then if ``version`` is stale."""
    current = lock_version(session, None)
    _refuse_if_signed(current)
    if current.version != version:
        raise EditConflict()
    return current


@transaction.atomic
def session_update(
    *,
    actor: User,
    session: Session,
    version: int,
    data: SessionData,
    request: HttpRequest | None = None,
) -> Session:
    _require_write(actor, session.course.client)
    current = _lock_unsigned(session, version)
    _check_session(data, current.course)
    current = update_versioned(current, version=None, changes=_changes(data), updated_by=actor)
    _audit(actor, Action.UPDATE, current, current.course.client, request)
    course_summary_refresh(course_id=current.course_id)
    return current


@transaction.atomic
def session_sign(
    *, actor: User, session: Session, version: int, request: HttpRequest | None = None
) -> Session:
    """Sign and lock the note. A clinician in training signs too, and the note then awaits
    their supervisor's co-signature before it is final (docs/adr/0018-trainee-co-signature.md)."""
    _require_write(actor, session.course.client)
    current = _lock_unsigned(session, version)
    changes: dict[str, object] = {"signed_at": timezone.now(), "signed_by": actor}
    detail = "signed"
    if policy.is_in_training(policy.staff_membership(actor)):
        changes["cosign_status"] = CoSign.AWAITING
        detail = "signed, awaiting co-signature"
    current = update_versioned(current, version=None, changes=changes, updated_by=actor)
    _audit(actor, Action.UPDATE, current, current.course.client, request, detail=detail)
    course_summary_refresh(course_id=current.course_id)
    return current


@transaction.atomic
def session_amend(
    *, actor: User, session: Session, text: str, request: HttpRequest | None = None
) -> SessionAmendment:
    """Append an amendment to a signed note. On a note that needs a co-signature (returned,
    awaiting or already co-signed) the amendment sends it back to await co-signature: what a
    trainee adds reaches the client only once their supervisor has co-signed it."""
    _require_write(actor, session.course.client)
    current = lock_version(session, None)
    if not current.is_signed:
        raise ValidationError(_("Only a signed session is amended; edit this one directly."))
    if not text.strip():
        raise ValidationError({"text": _("Write the amendment.")})
    amendment = SessionAmendment(session=current, author=actor, text=text)
    amendment.full_clean()
    amendment.save()
    _audit(actor, Action.CREATE, amendment, session.course.client, request)
    if current.cosign_status:
        changes = {"cosign_status": CoSign.AWAITING, "cosigned_at": None, "cosigned_by": None}
        current = update_versioned(current, version=None, changes=changes, updated_by=actor)
        _audit(actor, Action.UPDATE, current, session.course.client, request,
               detail="amended, awaiting co-signature")  # fmt: skip
    # The caller's copy follows, so the page can say where the note went.
    session.cosign_status, session.version = current.cosign_status, current.version
    return amendment


# Co-signing a trainee's notes (docs/adr/0018-trainee-co-signature.md) ---------------------


def _lock_awaiting(actor: User, session: Session, version: int) -> Session:
    """The note again, locked, if ``actor`` is the supervisor who co-signs it and it awaits
    them at the version they saw; ``PermissionDenied``, ``ValidationError`` or
    ``EditConflict`` otherwise."""
    membership = policy.staff_membership(actor)
    current = lock_version(session, None)
    if not (
        policy.can_cosign(membership, current)
        and policy.can_access_client(membership, session.course.client)
    ):
        raise PermissionDenied
    if not current.awaits_cosignature:
        raise ValidationError(_("This note is not waiting for your co-signature."))
    if current.version != version:
        raise EditConflict(
            _(
                "The note has changed since you opened it (an amendment was added). "
                "Read it again before you decide."
            )
        )
    return current


@transaction.atomic
def session_cosign(
    *, actor: User, session: Session, version: int, request: HttpRequest | None = None
) -> Session:
    """The supervisor co-signs a trainee's note: it is final from now on."""
    current = _lock_awaiting(actor, session, version)
    changes = {
        "cosign_status": CoSign.COSIGNED,
        "cosigned_at": timezone.now(),
        "cosigned_by": actor,
    }
    current = update_versioned(current, version=None, changes=changes, updated_by=actor)
    _audit(actor, Action.UPDATE, current, session.course.client, request, detail="co-signed")
    return current


@transaction.atomic
def session_return(
    *,
    actor: User,
    session: Session,
    version: int,
    comment: str,
    request: HttpRequest | None = None,
) -> SessionReturn:
    """The supervisor returns a trainee's note with a comment; the trainee answers with an
    amendment, which sends the note back for co-signature."""
    current = _lock_awaiting(actor, session, version)
    if not comment.strip():
        raise ValidationError(
            {"comment": _("Write what the clinician should add or correct before you return it.")}
        )
    returned = SessionReturn(session=current, author=actor, comment=comment)
    returned.full_clean()
    returned.save()
    _audit(actor, Action.CREATE, returned, session.course.client, request)
    current = update_versioned(
        current, version=None, changes={"cosign_status": CoSign.RETURNED}, updated_by=actor
    )
    _audit(actor, Action.UPDATE, current, session.course.client, request,
           detail="returned with a comment")  # fmt: skip
    return returned


@sensitive_variables()  # error reports never show the note (S3)
@transaction.atomic
def process_note_save(
    *,
    actor: User,
    session: Session,
    version: int,
    text: str,
    request: HttpRequest | None = None,
) -> ProcessNote:
    """Create or update the actor's own private process note (docs/quality.md S3).

    The audit event names the note but never carries its text. A first note is saved from
    version 0; one per author and session (a unique constraint refuses a second).
    """
    _require_write(actor, session.course.client)
    note = ProcessNote.objects.filter(session=session, author=actor).first()
    if note is None:
        if version != 0:
            raise EditConflict()
        note = ProcessNote(
            session=session, author=actor, created_by=actor, updated_by=actor, text=text
        )
        note.full_clean()
        note.save()
        action = Action.CREATE
    else:
        note = update_versioned(note, version=version, changes={"text": text}, updated_by=actor)
        action = Action.UPDATE
    _audit(actor, action, note, session.course.client, request)
    return note


# Inventory and timeline -----------------------------------------------------------------


@transaction.atomic
def inventory_person_create(
    *, actor: User, course: Course, data: PersonData, request: HttpRequest | None = None
) -> InventoryPerson:
    _require_write(actor, course.client)
    person = _create(
        InventoryPerson,
        actor=actor,
        data=data,
        client=course.client,
        request=request,
        course=course,
    )
    course_summary_refresh(course_id=course.pk)
    return person


@transaction.atomic
def inventory_person_update(
    *,
    actor: User,
    person: InventoryPerson,
    version: int,
    data: PersonData,
    request: HttpRequest | None = None,
) -> InventoryPerson:
    _require_write(actor, person.course.client)
    person = update_versioned(person, version=version, changes=_changes(data), updated_by=actor)
    _audit(actor, Action.UPDATE, person, person.course.client, request)
    course_summary_refresh(course_id=person.course_id)
    return person


@transaction.atomic
def inventory_copy_to_end(
    *, actor: User, course: Course, request: HttpRequest | None = None
) -> int:
    """Start the end-of-course inventory from the start one, so the two can be compared."""
    _require_write(actor, course.client)
    if course.inventory.filter(snapshot=InventoryPerson.Snapshot.END).exists():
        raise ValidationError(_("The end-of-course inventory has already been started."))
    copied = 0
    for person in course.inventory.filter(snapshot=InventoryPerson.Snapshot.START):
        data = replace(PersonData.of(person), snapshot=InventoryPerson.Snapshot.END)
        _create(
            InventoryPerson,
            actor=actor,
            data=data,
            client=course.client,
            request=request,
            course=course,
        )
        copied += 1
    course_summary_refresh(course_id=course.pk)
    return copied


@transaction.atomic
def timeline_event_create(
    *, actor: User, course: Course, data: TimelineEventData, request: HttpRequest | None = None
) -> TimelineEvent:
    _require_write(actor, course.client)
    event = _create(
        TimelineEvent, actor=actor, data=data, client=course.client, request=request, course=course
    )
    course_summary_refresh(course_id=course.pk)
    return event


@transaction.atomic
def timeline_event_update(
    *,
    actor: User,
    event: TimelineEvent,
    version: int,
    data: TimelineEventData,
    request: HttpRequest | None = None,
) -> TimelineEvent:
    _require_write(actor, event.course.client)
    event = update_versioned(event, version=version, changes=_changes(data), updated_by=actor)
    _audit(actor, Action.UPDATE, event, event.course.client, request)
    course_summary_refresh(course_id=event.course_id)
    return event


# Problem areas, formulation, contract, goals --------------------------------------------


def _check_focus(course_id: int, pk: int | None, data: ProblemAreaData) -> None:
    """At most two focus areas and one primary (docs/ipt.md §4): a third is refused."""
    others = ProblemArea.objects.filter(course_id=course_id)
    if pk is not None:
        others = others.exclude(pk=pk)
    is_focus = data.is_primary or data.is_secondary
    if data.is_primary and data.is_secondary:
        raise ValidationError(
            {"is_secondary": _("An area is either the primary or the second focus.")}
        )
    if (
        is_focus
        and others.filter(models.Q(is_primary=True) | models.Q(is_secondary=True)).count() >= 2
    ):
        raise ValidationError(
            _(
                "A course can have at most two focus areas, and this course already has two. "
                "Take one of them out of focus before choosing another."
            )
        )
    if data.is_primary and others.filter(is_primary=True).exists():
        raise ValidationError(
            {
                "is_primary": _(
                    "Another area is already the primary focus; make this the second focus instead."
                )
            }
        )
    if data.is_secondary and not data.is_primary and others.filter(is_secondary=True).exists():
        raise ValidationError({"is_secondary": _("Another area is already the second focus.")})


def _area_changes(area: str, data: ProblemAreaData) -> dict[str, object]:
    """What is saved: the fields that belong to ``area``, its details cleaned."""
    changes = _changes(data)
    if area != Area.ROLE_DISPUTE:
        changes["other_person"], changes["dispute_stage"] = None, ""
    if area != Area.GRIEF:
        changes["mourning_progress"] = ""
    allowed = [key for key, _label in AREA_FIELDS[area]]
    changes["details"] = {k: str(data.details[k]) for k in allowed if data.details.get(k)}
    return changes


@transaction.atomic
def problem_area_create(
    *,
    actor: User,
    course: Course,
    area: str,
    data: ProblemAreaData,
    request: HttpRequest | None = None,
) -> ProblemArea:
    _require_write(actor, course.client)
    lock_version(course, None)
    if course.problem_areas.filter(area=area).exists():
        raise ValidationError({"area": _("This problem area is already recorded for the course.")})
    obj = ProblemArea(
        course=course, area=area, created_by=actor, updated_by=actor, **_area_changes(area, data)
    )
    _check_focus(course.pk, None, data)
    obj.full_clean()
    obj.save()
    _audit(actor, Action.CREATE, obj, course.client, request)
    course_summary_refresh(course_id=course.pk)
    return obj


@transaction.atomic
def problem_area_update(
    *,
    actor: User,
    problem_area: ProblemArea,
    version: int,
    data: ProblemAreaData,
    request: HttpRequest | None = None,
) -> ProblemArea:
    _require_write(actor, problem_area.course.client)
    lock_version(problem_area.course, None)
    current = lock_version(problem_area, version)
    _check_focus(current.course_id, current.pk, data)
    current = update_versioned(
        current, version=None, changes=_area_changes(current.area, data), updated_by=actor
    )
    _audit(actor, Action.UPDATE, current, current.course.client, request)
    course_summary_refresh(course_id=current.course_id)
    return current


@transaction.atomic
def formulation_save(
    *,
    actor: User,
    course: Course,
    version: int,
    data: FormulationData,
    request: HttpRequest | None = None,
) -> Formulation:
    _require_write(actor, course.client)
    existing = Formulation.objects.filter(course=course).first()
    if existing is None:
        if version != 0:
            raise EditConflict()
        formulation = _create(
            Formulation,
            actor=actor,
            data=data,
            client=course.client,
            request=request,
            course=course,
        )
        course_summary_refresh(course_id=course.pk)
        return formulation
    formulation = update_versioned(
        existing, version=version, changes=_changes(data), updated_by=actor
    )
    _audit(actor, Action.UPDATE, formulation, course.client, request)
    course_summary_refresh(course_id=course.pk)
    return formulation


CONTRACT_CONFLICT = gettext_lazy(
    "Someone else recorded a new version of the agreement while you were editing it. Yours "
    "has not been saved; it is still in the form below. Compare it with the latest version "
    "in the history, then save again."
)


@transaction.atomic
def contract_record(
    *,
    actor: User,
    course: Course,
    data: ContractData,
    based_on: int | None = None,
    request: HttpRequest | None = None,
) -> ContractVersion:
    """Record the contract, or renegotiate it: every change is a new version with a reason.

    ``based_on`` is the version number the form showed (0 for none); if another version
    was recorded since, the save is refused with ``EditConflict`` (the typing kept), so one
    person's renegotiation never silently replaces another's. The course's planned number
    of sessions and frequency follow the latest version.
    """
    _require_write(actor, course.client)
    course = lock_version(course, None)
    last = course.contracts.order_by("-number").first()
    if based_on is not None and (last.number if last else 0) != based_on:
        raise EditConflict(CONTRACT_CONFLICT)
    contract = ContractVersion(
        course=course,
        number=(last.number + 1) if last else 1,
        created_by=actor,
        updated_by=actor,
        **_changes(data),
    )
    contract.full_clean()
    contract.save()
    course.planned_sessions, course.frequency = contract.planned_sessions, contract.frequency
    if course.status == Course.Status.ASSESSMENT:
        course.status = Course.Status.ACTIVE
    course.version += 1
    course.updated_by = actor
    course.full_clean()
    course.save()
    _audit(actor, Action.CREATE, contract, course.client, request)
    course_summary_refresh(course_id=course.pk)
    return contract


@transaction.atomic
def goal_create(
    *, actor: User, course: Course, data: GoalData, request: HttpRequest | None = None
) -> Goal:
    _require_write(actor, course.client)
    return _create(
        Goal, actor=actor, data=data, client=course.client, request=request, course=course
    )


@transaction.atomic
def goal_rate(
    *,
    actor: User,
    goal: Goal,
    rating: int,
    rated_on: dt.date,
    session: Session | None = None,
    request: HttpRequest | None = None,
) -> GoalRating:
    _require_write_or_own_portal(actor, goal.course.client)
    obj = GoalRating(
        goal=goal,
        rating=rating,
        rated_on=rated_on,
        session=session,
        created_by=actor,
        updated_by=actor,
    )
    obj.full_clean()
    obj.save()
    _audit(actor, Action.CREATE, obj, goal.course.client, request)
    return obj


# Techniques, termination, phase tasks ---------------------------------------------------


@transaction.atomic
def technique_create(
    *,
    actor: User,
    session: Session,
    data: TechniqueData,
    request: HttpRequest | None = None,
) -> Technique:
    _require_write(actor, session.course.client)
    _refuse_if_signed(session)
    kind = data.kind
    allowed = [key for key, _label in TECHNIQUE_FIELDS.get(kind, [])]
    clean = {k: str(data.details[k]) for k in allowed if data.details.get(k)}
    obj = Technique(session=session, kind=kind, details=clean, created_by=actor, updated_by=actor)
    obj.full_clean()
    obj.save()
    if kind not in session.techniques_used:
        Session.objects.filter(pk=session.pk).update(
            techniques_used=[*session.techniques_used, kind]
        )
    _audit(actor, Action.CREATE, obj, session.course.client, request)
    course_summary_refresh(course_id=session.course_id)
    return obj


@transaction.atomic
def termination_save(
    *,
    actor: User,
    course: Course,
    version: int,
    data: TerminationData,
    request: HttpRequest | None = None,
) -> TerminationRecord:
    _require_write(actor, course.client)
    existing = TerminationRecord.objects.filter(course=course).first()
    if existing is None:
        if version != 0:
            raise EditConflict()
        created = _create(
            TerminationRecord,
            actor=actor,
            data=data,
            client=course.client,
            request=request,
            course=course,
        )
        course_summary_refresh(course_id=course.pk)
        return created
    record = update_versioned(existing, version=version, changes=_changes(data), updated_by=actor)
    _audit(actor, Action.UPDATE, record, course.client, request)
    course_summary_refresh(course_id=course.pk)
    return record


@transaction.atomic
def phase_task_set(
    *,
    actor: User,
    course: Course,
    data: TaskMarkData,
    request: HttpRequest | None = None,
) -> PhaseTaskStatus:
    _require_write(actor, course.client)
    obj, created = PhaseTaskStatus.objects.select_for_update().get_or_create(
        course=course,
        task_code=data.task_code,
        defaults={
            "status": data.status,
            "note": data.note,
            "created_by": actor,
            "updated_by": actor,
        },
    )
    if not created:
        obj.status, obj.note, obj.updated_by = data.status, data.note, actor
    obj.full_clean()
    obj.save()
    _audit(actor, Action.CREATE if created else Action.UPDATE, obj, course.client, request)
    course_summary_refresh(course_id=course.pk)
    return obj


# Between-session tasks ("Something to try this week") ------------------------------------

TASK_REVIEW_STATUSES = (BetweenSessionTask.Status.DONE, BetweenSessionTask.Status.NOT_DONE)


@transaction.atomic
def task_set(
    *, actor: User, session: Session, text: str, request: HttpRequest | None = None
) -> BetweenSessionTask:
    """The clinician sets something for the client to try before the next session."""
    _require_write(actor, session.course.client)
    _refuse_if_signed(lock_version(session, None))
    task = BetweenSessionTask(
        course=session.course,
        set_in_session=session,
        text=text.strip(),
        created_by=actor,
        updated_by=actor,
    )
    task.full_clean()
    task.save()
    _audit(actor, Action.CREATE, task, session.course.client, request)
    return task


TASK_MAX_LENGTH = 500


def _note_task(session: Session) -> BetweenSessionTask | None:
    return (
        BetweenSessionTask.objects.select_for_update()
        .filter(set_in_session=session)
        .order_by("created_at", "id")
        .first()
    )


@transaction.atomic
def task_save_for_session(
    *, actor: User, session: Session, text: str, request: HttpRequest | None = None
) -> BetweenSessionTask | None:
    """The task written in the session note, which is the task the client sees in the portal
    (one concept, not a second free text). The note's task is the first one set in the
    session: writing it creates it, changing it edits it while the note is unsigned, and
    clearing it takes it back, unless the client has already said how it went."""
    _require_write(actor, session.course.client)
    _refuse_if_signed(lock_version(session, None))
    text = text.strip()
    if len(text) > TASK_MAX_LENGTH:
        raise ValidationError(
            {"task": _("Keep it to %(n)s characters or fewer.") % {"n": TASK_MAX_LENGTH}}
        )
    task = _note_task(session)
    if task is None:
        return task_set(actor=actor, session=session, text=text, request=request) if text else None
    if not text:
        if task.status != BetweenSessionTask.Status.OPEN or task.client_note:
            raise ValidationError(
                {"task": _("The client has already said how this went, so it stays. You can "
                           "change its wording.")}
            )  # fmt: skip
        _audit(actor, Action.DELETE, task, session.course.client, request, detail="withdrawn")
        task.delete()
        return None
    if task.text == text:
        return task
    task = update_versioned(task, version=None, changes={"text": text}, updated_by=actor)
    _audit(actor, Action.UPDATE, task, session.course.client, request)
    return task


@transaction.atomic
def task_update_by_client(
    *,
    actor: User,
    client: Client,
    task: BetweenSessionTask,
    status: str,
    note: str = "",
    version: int,
    request: HttpRequest | None = None,
) -> BetweenSessionTask:
    """The client says how it went: done or not (yet), with an optional note. Only their own
    tasks (anything else is refused as if it did not exist)."""
    _require_own_portal(actor, client)
    current = (
        BetweenSessionTask.objects.select_for_update()
        .filter(pk=task.pk, course__client=client)
        .first()
    )
    if current is None:
        raise BetweenSessionTask.DoesNotExist
    if current.version != version:
        raise EditConflict()
    if status not in BetweenSessionTask.Status.values:
        raise ValidationError({"status": _("Choose one of the answers shown.")})
    current = update_versioned(
        current,
        version=None,
        changes={
            "status": status,
            "client_note": note.strip(),
            "client_updated_at": timezone.now(),
        },
        updated_by=actor,
    )
    _audit(actor, Action.UPDATE, current, client, request)
    return current


@transaction.atomic
def task_review(
    *,
    actor: User,
    task: BetweenSessionTask,
    session: Session,
    status: str,
    request: HttpRequest | None = None,
) -> BetweenSessionTask:
    """The clinician reviews a task from an earlier session in this one (done / not done)."""
    _require_write(actor, session.course.client)
    current = lock_version(task, None)
    _refuse_if_signed(lock_version(session, None))
    errors: dict[str, list[str]] = {}
    if current.course_id != session.course_id:
        errors["__all__"] = [_("That task belongs to another course.")]
    elif current.set_in_session.number >= session.number:
        errors["__all__"] = [_("Review a task in a later session than the one that set it.")]
    if status not in TASK_REVIEW_STATUSES:
        errors["status"] = [_("Choose done or not done.")]
    if errors:
        raise ValidationError(errors)
    current = update_versioned(
        current,
        version=None,
        changes={"status": status, "reviewed_in_session": session},
        updated_by=actor,
    )
    _audit(actor, Action.UPDATE, current, session.course.client, request)
    return current
