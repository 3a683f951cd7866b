"""Every write to an IPT course. Each function is atomic, validates with ``full_clean`` and
writes its audit event in the same transaction.

Editable records carry a ``version``: callers pass the version they started from and a stale
one is refused with ``EditConflict`` (QUALITY.md R2), so nothing is overwritten silently.

``data`` arguments are the cleaned data of the matching form; only the field names listed
in the ``*_FIELDS`` tuples below are ever applied, so a form can never reach other columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from openipt.accounts.models import Membership, User
from openipt.audit import services as audit
from openipt.clients.models import Client
from openipt.treatment import formats
from openipt.treatment.models import (
    AREA_FIELDS,
    TECHNIQUE_FIELDS,
    Area,
    BetweenSessionTask,
    ContractVersion,
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
    Technique,
    TerminationRecord,
    TimelineEvent,
)

M = TypeVar("M", bound=models.Model)

COURSE_FIELDS = (
    "format",
    "start_date",
    "frequency",
    "presenting_concerns",
    "concerns_other",
    "medication_status",
    "prescriber",
    "participants",
    "participant_names",
)
COURSE_UPDATE_FIELDS = (*COURSE_FIELDS[1:], "status", "status_reason")
SESSION_FIELDS = (
    "number",
    "starts_at",
    "duration_minutes",
    "attendance",
    "phase_override",
    "phase_override_reason",
    "attendees",
    "mood",
    "events_since_last",
    "mood_event_link",
    "focus",
    "problem_area_work",
    "techniques_used",
    "tasks_reviewed",
    "tasks_set",
    "risk_check",
    "risk_notes",
    "progress_note",
)
PERSON_FIELDS = (
    "snapshot",
    "name",
    "relationship",
    "circle",
    "contact_frequency",
    "support",
    "conflicts",
    "expectations_met",
    "expectations_unmet",
    "satisfying",
    "unsatisfying",
    "wants_to_change",
    "knows_about_difficulties",
)
TIMELINE_FIELDS = ("date", "kind", "description", "people", "mood", "marks_symptom_onset")
PROBLEM_AREA_FIELDS = (
    "is_candidate",
    "is_primary",
    "is_secondary",
    "evidence",
    "deficits_rationale",
    "other_person",
    "dispute_stage",
    "mourning_progress",
    "details",
)
FORMULATION_FIELDS = ("text", "shared_on", "client_agreement", "amendment_text")
CONTRACT_FIELDS = (
    "planned_sessions",
    "frequency",
    "focus_areas",
    "goals_summary",
    "arrangements",
    "agreed_on",
    "client_agreed",
    "reason",
)
TERMINATION_FIELDS = (
    "raised_at_session",
    "gains",
    "warning_signs",
    "relapse_plan",
    "relapse_contacts",
    "next_step",
    "next_step_reason",
    "conclusion_summary",
)


class EditConflict(ValidationError):
    """Someone else saved the record after this edit began (QUALITY.md R2)."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "Someone else saved this record while you were editing it. Your changes have "
                "not been saved; they are still in the form below. Open the record again to "
                "see the latest version, then re-apply your changes."
            ),
            code="conflict",
        )


def _apply(obj: models.Model, data: Mapping[str, Any], fields: Iterable[str]) -> None:
    for name in fields:
        if name in data:
            setattr(obj, name, data[name])


def _lock(obj: M) -> M:
    return type(obj)._default_manager.select_for_update().get(pk=obj.pk)  # type: ignore[no-any-return]


def _update_versioned(
    obj: M, *, actor: User, version: int, data: Mapping[str, Any], fields: Iterable[str]
) -> M:
    current = _lock(obj)
    if current.version != version:  # type: ignore[attr-defined]
        raise EditConflict()
    _apply(current, data, fields)
    current.version += 1  # type: ignore[attr-defined]
    current.updated_by = actor  # type: ignore[attr-defined]
    current.full_clean()
    current.save()
    return current


def _audit(
    actor: User, action: str, obj: models.Model, client: Client, request: HttpRequest | None
) -> None:
    audit.record(actor=actor, action=action, obj=obj, client=client, request=request)


# Course ---------------------------------------------------------------------------------


@transaction.atomic
def course_create(
    *,
    actor: User,
    client: Client,
    clinician: Membership,
    data: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> Course:
    fmt = formats.get_format(data["format"])
    course = Course(client=client, clinician=clinician, created_by=actor, updated_by=actor)
    _apply(course, data, COURSE_FIELDS)
    course.planned_sessions = data.get("planned_sessions") or fmt.default_sessions
    course.frequency = data.get("frequency") or fmt.frequency
    course.full_clean()
    course.save()
    _audit(actor, "create", course, client, request)
    return course


@transaction.atomic
def course_update(
    *,
    actor: User,
    course: Course,
    version: int,
    data: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> Course:
    """Edit a course. The number of sessions is not editable here: see ``contract_record``."""
    course = _update_versioned(
        course, actor=actor, version=version, data=data, fields=COURSE_UPDATE_FIELDS
    )
    _audit(actor, "update", course, course.client, request)
    return course


# Sessions -------------------------------------------------------------------------------


def _check_session(session: Session, course: Course) -> None:
    errors: dict[str, list[str]] = {}
    if session.starts_at and timezone.localdate(session.starts_at) < course.start_date:
        errors["starts_at"] = [
            _("This date is before the course began (%(date)s). Check the date.")
            % {"date": course.start_date.isoformat()}
        ]
    if session.number is not None and session.number > course.planned_sessions:
        errors["number"] = [
            _(
                "Session %(n)s is beyond the %(planned)s sessions agreed in the contract. "
                "Record the renegotiation of the contract first, then add this session."
            )
            % {"n": session.number, "planned": course.planned_sessions}
        ]
    if errors:
        raise ValidationError(errors)


def next_session_number(course: Course) -> int:
    last = course.sessions.aggregate(m=models.Max("number"))["m"]
    return 1 if last is None else last + 1


@transaction.atomic
def session_create(
    *, actor: User, course: Course, data: Mapping[str, Any], request: HttpRequest | None = None
) -> Session:
    course = _lock(course)
    session = Session(course=course, created_by=actor, updated_by=actor)
    _apply(session, data, SESSION_FIELDS)
    _check_session(session, course)
    session.full_clean()
    session.save()
    _audit(actor, "create", session, course.client, request)
    return session


def _refuse_if_signed(session: Session) -> None:
    if session.is_signed:
        raise ValidationError(
            _(
                "This session record is signed and can no longer be edited. "
                "Add an amendment instead."
            )
        )


@transaction.atomic
def session_update(
    *,
    actor: User,
    session: Session,
    version: int,
    data: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> Session:
    current = _lock(session)
    _refuse_if_signed(current)
    if current.version != version:
        raise EditConflict()
    _apply(current, data, SESSION_FIELDS)
    _check_session(current, current.course)
    current.version += 1
    current.updated_by = actor
    current.full_clean()
    current.save()
    _audit(actor, "update", current, current.course.client, request)
    return current


@transaction.atomic
def session_sign(
    *, actor: User, session: Session, version: int, request: HttpRequest | None = None
) -> Session:
    current = _lock(session)
    _refuse_if_signed(current)
    if current.version != version:
        raise EditConflict()
    current.signed_at = timezone.now()
    current.signed_by = actor
    current.version += 1
    current.updated_by = actor
    current.full_clean()
    current.save()
    audit.record(
        actor=actor,
        action="update",
        obj=current,
        client=current.course.client,
        request=request,
        detail="signed",
    )
    return current


@transaction.atomic
def session_amend(
    *, actor: User, session: Session, text: str, request: HttpRequest | None = None
) -> SessionAmendment:
    if not session.is_signed:
        raise ValidationError(_("Only a signed session is amended; edit this one directly."))
    if not text.strip():
        raise ValidationError({"text": _("Write the amendment.")})
    amendment = SessionAmendment(session=session, author=actor, text=text)
    amendment.full_clean()
    amendment.save()
    _audit(actor, "create", amendment, session.course.client, request)
    return amendment


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
    """Create or update the actor's own private process note (QUALITY.md S3).

    The audit event names the note but never carries its text.
    """
    note = ProcessNote.objects.select_for_update().filter(session=session, author=actor).first()
    if note is None:
        if version != 0:
            raise EditConflict()
        note = ProcessNote(
            session=session, author=actor, created_by=actor, updated_by=actor, text=text
        )
        action = "create"
    else:
        if note.version != version:
            raise EditConflict()
        note.text, note.version, note.updated_by = text, note.version + 1, actor
        action = "update"
    note.full_clean()
    note.save()
    _audit(actor, action, note, session.course.client, request)
    return note


# Inventory and timeline -----------------------------------------------------------------


def _create(
    obj: M,
    *,
    actor: User,
    data: Mapping[str, Any],
    fields: Iterable[str],
    client: Client,
    request: HttpRequest | None,
) -> M:
    _apply(obj, data, fields)
    obj.created_by = obj.updated_by = actor  # type: ignore[attr-defined]
    obj.full_clean()
    obj.save()
    _audit(actor, "create", obj, client, request)
    return obj


@transaction.atomic
def inventory_person_create(
    *, actor: User, course: Course, data: Mapping[str, Any], request: HttpRequest | None = None
) -> InventoryPerson:
    return _create(
        InventoryPerson(course=course),
        actor=actor,
        data=data,
        fields=PERSON_FIELDS,
        client=course.client,
        request=request,
    )


@transaction.atomic
def inventory_person_update(
    *,
    actor: User,
    person: InventoryPerson,
    version: int,
    data: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> InventoryPerson:
    person = _update_versioned(
        person, actor=actor, version=version, data=data, fields=PERSON_FIELDS
    )
    _audit(actor, "update", person, person.course.client, request)
    return person


@transaction.atomic
def inventory_copy_to_end(
    *, actor: User, course: Course, request: HttpRequest | None = None
) -> int:
    """Start the end-of-course inventory from the start one, so the two can be compared."""
    if course.inventory.filter(snapshot=InventoryPerson.Snapshot.END).exists():
        raise ValidationError(_("The end-of-course inventory has already been started."))
    copied = 0
    for person in course.inventory.filter(snapshot=InventoryPerson.Snapshot.START):
        data = {name: getattr(person, name) for name in PERSON_FIELDS}
        data["snapshot"] = InventoryPerson.Snapshot.END
        inventory_person_create(actor=actor, course=course, data=data, request=request)
        copied += 1
    return copied


@transaction.atomic
def timeline_event_create(
    *, actor: User, course: Course, data: Mapping[str, Any], request: HttpRequest | None = None
) -> TimelineEvent:
    return _create(
        TimelineEvent(course=course),
        actor=actor,
        data=data,
        fields=TIMELINE_FIELDS,
        client=course.client,
        request=request,
    )


@transaction.atomic
def timeline_event_update(
    *,
    actor: User,
    event: TimelineEvent,
    version: int,
    data: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> TimelineEvent:
    event = _update_versioned(
        event, actor=actor, version=version, data=data, fields=TIMELINE_FIELDS
    )
    _audit(actor, "update", event, event.course.client, request)
    return event


# Problem areas, formulation, contract, goals --------------------------------------------


def _check_focus(area: ProblemArea) -> None:
    """At most two focus areas and one primary (IPT.md §4): a third is refused."""
    others = ProblemArea.objects.filter(course_id=area.course_id).exclude(pk=area.pk)
    if area.is_primary and area.is_secondary:
        raise ValidationError(
            {"is_secondary": _("An area is either the primary or the second focus.")}
        )
    if (
        area.is_focus
        and others.filter(models.Q(is_primary=True) | models.Q(is_secondary=True)).count() >= 2
    ):
        raise ValidationError(
            _(
                "A course can have at most two focus areas, and this course already has two. "
                "Take one of them out of focus before choosing another."
            )
        )
    if area.is_primary and others.filter(is_primary=True).exists():
        raise ValidationError(
            {
                "is_primary": _(
                    "Another area is already the primary focus; make this the second focus instead."
                )
            }
        )
    if area.is_secondary and not area.is_primary and others.filter(is_secondary=True).exists():
        raise ValidationError({"is_secondary": _("Another area is already the second focus.")})


def _clean_details(area: str, details: Mapping[str, Any] | None) -> dict[str, str]:
    allowed = [key for key, _label in AREA_FIELDS[area]]
    return {k: str(details[k]) for k in allowed if details and details.get(k)}


def _save_area(area: ProblemArea) -> None:
    if area.area != Area.ROLE_DISPUTE:
        area.other_person, area.dispute_stage = None, ""
    if area.area != Area.GRIEF:
        area.mourning_progress = ""
    area.details = _clean_details(area.area, area.details)
    _check_focus(area)
    area.full_clean()
    area.save()


@transaction.atomic
def problem_area_create(
    *,
    actor: User,
    course: Course,
    area: str,
    data: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> ProblemArea:
    _lock(course)
    if course.problem_areas.filter(area=area).exists():
        raise ValidationError({"area": _("This problem area is already recorded for the course.")})
    obj = ProblemArea(course=course, area=area, created_by=actor, updated_by=actor)
    _apply(obj, data, PROBLEM_AREA_FIELDS)
    _save_area(obj)
    _audit(actor, "create", obj, course.client, request)
    return obj


@transaction.atomic
def problem_area_update(
    *,
    actor: User,
    problem_area: ProblemArea,
    version: int,
    data: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> ProblemArea:
    _lock(problem_area.course)
    current = _lock(problem_area)
    if current.version != version:
        raise EditConflict()
    _apply(current, data, PROBLEM_AREA_FIELDS)
    current.version += 1
    current.updated_by = actor
    _save_area(current)
    _audit(actor, "update", current, current.course.client, request)
    return current


@transaction.atomic
def formulation_save(
    *,
    actor: User,
    course: Course,
    version: int,
    data: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> Formulation:
    existing = Formulation.objects.filter(course=course).first()
    if existing is None:
        if version != 0:
            raise EditConflict()
        return _create(
            Formulation(course=course),
            actor=actor,
            data=data,
            fields=FORMULATION_FIELDS,
            client=course.client,
            request=request,
        )
    formulation = _update_versioned(
        existing, actor=actor, version=version, data=data, fields=FORMULATION_FIELDS
    )
    _audit(actor, "update", formulation, course.client, request)
    return formulation


@transaction.atomic
def contract_record(
    *, actor: User, course: Course, data: Mapping[str, Any], request: HttpRequest | None = None
) -> ContractVersion:
    """Record the contract, or renegotiate it: every change is a new version with a reason.

    The course's planned number of sessions and frequency follow the latest version.
    """
    course = _lock(course)
    last = course.contracts.order_by("-number").first()
    contract = ContractVersion(
        course=course, number=(last.number + 1) if last else 1, created_by=actor, updated_by=actor
    )
    _apply(contract, data, CONTRACT_FIELDS)
    if last is None:
        contract.reason = contract.reason or ""
    contract.full_clean()
    contract.save()
    course.planned_sessions, course.frequency = contract.planned_sessions, contract.frequency
    if course.status == Course.Status.ASSESSMENT:
        course.status = Course.Status.ACTIVE
    course.version += 1
    course.updated_by = actor
    course.full_clean()
    course.save()
    _audit(actor, "create", contract, course.client, request)
    return contract


@transaction.atomic
def goal_create(
    *, actor: User, course: Course, data: Mapping[str, Any], request: HttpRequest | None = None
) -> Goal:
    return _create(
        Goal(course=course),
        actor=actor,
        data=data,
        fields=("problem_area", "text"),
        client=course.client,
        request=request,
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
    _audit(actor, "create", obj, goal.course.client, request)
    return obj


# Techniques, termination, phase tasks ---------------------------------------------------


@transaction.atomic
def technique_create(
    *,
    actor: User,
    session: Session,
    kind: str,
    details: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> Technique:
    _refuse_if_signed(session)
    allowed = [key for key, _label in TECHNIQUE_FIELDS.get(kind, [])]
    clean = {k: str(details[k]) for k in allowed if details.get(k)}
    obj = Technique(session=session, kind=kind, details=clean, created_by=actor, updated_by=actor)
    obj.full_clean()
    obj.save()
    if kind not in session.techniques_used:
        Session.objects.filter(pk=session.pk).update(
            techniques_used=[*session.techniques_used, kind]
        )
    _audit(actor, "create", obj, session.course.client, request)
    return obj


@transaction.atomic
def termination_save(
    *,
    actor: User,
    course: Course,
    version: int,
    data: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> TerminationRecord:
    existing = TerminationRecord.objects.filter(course=course).first()
    if existing is None:
        if version != 0:
            raise EditConflict()
        return _create(
            TerminationRecord(course=course),
            actor=actor,
            data=data,
            fields=TERMINATION_FIELDS,
            client=course.client,
            request=request,
        )
    record = _update_versioned(
        existing, actor=actor, version=version, data=data, fields=TERMINATION_FIELDS
    )
    _audit(actor, "update", record, course.client, request)
    return record


@transaction.atomic
def phase_task_set(
    *,
    actor: User,
    course: Course,
    task_code: str,
    status: str,
    note: str = "",
    request: HttpRequest | None = None,
) -> PhaseTaskStatus:
    obj, created = PhaseTaskStatus.objects.select_for_update().get_or_create(
        course=course,
        task_code=task_code,
        defaults={"status": status, "note": note, "created_by": actor, "updated_by": actor},
    )
    if not created:
        obj.status, obj.note, obj.updated_by = status, note, actor
    obj.full_clean()
    obj.save()
    _audit(actor, "create" if created else "update", obj, course.client, request)
    return obj


# Between-session tasks ("Something to try this week") ------------------------------------

TASK_REVIEW_STATUSES = (BetweenSessionTask.Status.DONE, BetweenSessionTask.Status.NOT_DONE)


@transaction.atomic
def task_set(
    *, actor: User, session: Session, text: str, request: HttpRequest | None = None
) -> BetweenSessionTask:
    """The clinician sets something for the client to try before the next session."""
    _refuse_if_signed(_lock(session))
    task = BetweenSessionTask(
        course=session.course,
        set_in_session=session,
        text=text.strip(),
        created_by=actor,
        updated_by=actor,
    )
    task.full_clean()
    task.save()
    _audit(actor, "create", task, session.course.client, request)
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
    current.status = status
    current.client_note = note.strip()
    current.client_updated_at = timezone.now()
    current.updated_by = actor
    current.version += 1
    current.full_clean()
    current.save()
    _audit(actor, "update", current, client, request)
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
    current = _lock(task)
    _refuse_if_signed(_lock(session))
    errors: dict[str, list[str]] = {}
    if current.course_id != session.course_id:
        errors["__all__"] = [_("That task belongs to another course.")]
    elif current.set_in_session.number >= session.number:
        errors["__all__"] = [_("Review a task in a later session than the one that set it.")]
    if status not in TASK_REVIEW_STATUSES:
        errors["status"] = [_("Choose done or not done.")]
    if errors:
        raise ValidationError(errors)
    current.status = status
    current.reviewed_in_session = session
    current.updated_by = actor
    current.version += 1
    current.full_clean()
    current.save()
    _audit(actor, "update", current, session.course.client, request)
    return current
