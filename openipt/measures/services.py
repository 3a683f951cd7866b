"""Every write of the measures app."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from openipt.accounts import policy
from openipt.accounts.models import Membership
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import CareTeamMember, Client
from openipt.core import outbox
from openipt.core.versioning import EditConflict
from openipt.measures import reminders, selectors
from openipt.measures.models import Administration, Instrument, RiskAlert, SafetyPlan
from openipt.measures.scoring import AnswerError, ScoreResult, parse_questionnaire_json, score
from openipt.measures.summary import (
    course_score_added,
    course_summary_rebuild,
)
from openipt.treatment import services as treatment_services

if TYPE_CHECKING:
    from django.http import HttpRequest

    from openipt.accounts.models import Practice, User
    from openipt.treatment.models import BetweenSessionTask, Course, Session

MAX_IMPORT_BYTES = 1_000_000


def _import_problems(
    *, practice: Practice, file_content: str | bytes, licence_confirmed: bool
) -> tuple[list[str], Instrument | None]:
    problems: list[str] = []
    if not licence_confirmed:
        problems.append(_("Confirm that your practice holds a licence to use this questionnaire."))
    if len(file_content) > MAX_IMPORT_BYTES:
        return [*problems, _("The file is larger than 1 MB.")], None
    outcome = parse_questionnaire_json(file_content)
    problems.extend(outcome.errors)
    definition = outcome.definition
    if definition is None:
        return problems, None
    # A built-in original's code is reserved; a built-in translation's (PHQ-9-es) is not:
    # the practice's own licensed copy of it then takes its place (selectors.instruments_for).
    builtin = Instrument.objects.filter(
        practice__isnull=True, code=definition.code, same_as=""
    ).exists()
    if builtin:
        problems.append(
            _("%(code)s is a built-in instrument code; choose another code.")
            % {"code": definition.code}
        )
    duplicate = Instrument.objects.filter(
        practice=practice, code=definition.code, version=definition.version
    ).exists()
    if duplicate:
        problems.append(
            _("Version %(version)s of %(code)s has already been imported.")
            % {"version": definition.version, "code": definition.code}
        )
    instrument = Instrument(
        code=definition.code,
        version=definition.version,
        title=definition.title[:200],
        url=definition.url,
        source=Instrument.Source.IMPORTED,
        practice=practice,
        definition=json.loads(file_content),
        same_as=definition.same_as,
    )
    return problems, instrument


@transaction.atomic
def instrument_import(
    *, actor: User, practice: Practice, file_content: str | bytes, licence_confirmed: bool
) -> Instrument:
    """Validate a practice-supplied FHIR Questionnaire and store it, or store nothing.

    Raises ``ValidationError`` listing every problem found; ``PermissionDenied`` when the
    actor does not manage this practice.
    """
    membership = policy.staff_membership(actor)
    if (
        membership is None
        or membership.practice_id != practice.pk
        or not policy.can_manage_practice(membership)
    ):
        raise PermissionDenied
    problems, instrument = _import_problems(
        practice=practice, file_content=file_content, licence_confirmed=licence_confirmed
    )
    if problems or instrument is None:
        raise ValidationError(problems)
    instrument.licence_confirmed_by = actor
    instrument.licence_confirmed_at = timezone.now()
    instrument.full_clean()
    instrument.save()
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=instrument, practice_id=practice.pk
    )
    return instrument


# --- Administrations ----------------------------------------------------------------------


def _require_write(actor: User, client: Client) -> None:
    if not policy.can_access_client(policy.staff_membership(actor), client, write=True):
        raise PermissionDenied


def _check_instrument(instrument: Instrument, client: Client) -> None:
    usable = instrument.is_active and instrument.practice_id in (None, client.practice_id)
    if not usable:
        raise ValidationError({"instrument": _("This questionnaire is not available here.")})


def _scored(instrument: Instrument, answers: Mapping[str, str | None]) -> ScoreResult:
    try:
        return score(instrument.parsed, answers)
    except AnswerError as error:
        raise ValidationError({"answers": str(error)}) from error


def _store_result(administration: Administration, result: ScoreResult) -> None:
    administration.total = None if result.total is None else Decimal(result.total)
    administration.band = result.band or ""
    administration.flags = list(result.flags)
    administration.notices = list(result.notices)
    administration.prorated = result.prorated
    administration.scoring_version = result.scoring_version
    administration.status = Administration.Status.COMPLETED
    administration.completed_at = timezone.now()


@dataclass(frozen=True)
class EntryData:
    """One questionnaire as entered by the clinician: linkId -> option code (``None``: not
    answered), and the day it was completed (``None``: the session's day, else today)."""

    answers: Mapping[str, str | None]
    completed_on: dt.date | None = None


def _completed_at(completed_on: dt.date | None, session: Session | None) -> dt.datetime:
    """When the questionnaire was completed, for charts, tables and the opening review. On
    the session's own day it takes the session's time (so the score belongs to that session
    and not to the next one's opening review); an earlier day, entered late, keeps its date."""
    now = timezone.now()
    session_day = timezone.localdate(session.starts_at) if session is not None else None
    day = completed_on or session_day or timezone.localdate(now)
    if day > timezone.localdate(now):
        raise ValidationError({"completed_on": _("The date completed cannot be in the future.")})
    if session is not None and day == session_day:
        return session.starts_at
    if day == timezone.localdate(now):
        return now
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


def administration_enter(
    *,
    actor: User,
    course: Course,
    instrument: Instrument,
    answers: Mapping[str, str | None],
    session: Session | None = None,
    completed_on: dt.date | None = None,
    request: HttpRequest | None = None,
    then: Callable[[Administration], None] | None = None,
) -> Administration:
    """Score a questionnaire completed in session and store it, with a risk alert in the same
    transaction when a critical item is answered. ``answers`` maps linkId to option code;
    ``completed_on`` is the day it was filled in (default: the session's day, else today).

    Every check, read and the scoring come first; then one write transaction holds the
    record, its audit event, the alert with its audit event and email, and ``then`` (the
    caller's own write about the same submission: the one-time form token). On SQLite the
    write lock is taken at that transaction's start, so it is held for the writes only."""
    administration = _entry_checked(
        actor=actor, course=course, instrument=instrument, answers=answers, session=session,
        completed_on=completed_on,
    )  # fmt: skip
    alert = _alert_checked(administration) if administration.flags else None
    # Without a savepoint: inside a caller's transaction (the session note) a failure here
    # undoes the caller's whole change, as it should.
    with transaction.atomic(savepoint=False):
        administration.save(force_insert=True)
        audit.record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            obj=administration,
            client=administration.client,
            request=request,
        )
        if alert is not None:
            _alert_save(alert, actor=actor, request=request)
        # Known now, so that whoever asks next (the entry page's redirect) asks no query.
        Administration.risk_alert.related.set_cached_value(administration, alert)
        course_score_added(administration=administration, new_row=True)
        if then is not None:
            then(administration)
    return administration


def _entry_checked(
    *,
    actor: User,
    course: Course,
    instrument: Instrument,
    answers: Mapping[str, str | None],
    session: Session | None,
    completed_on: dt.date | None,
) -> Administration:
    """The record ``administration_enter`` stores, checked and scored but not saved."""
    client = course.client
    _require_write(actor, client)
    _check_instrument(instrument, client)
    if session is not None and session.course_id != course.pk:
        raise ValidationError({"session": _("That session belongs to another course.")})
    completed_at = _completed_at(completed_on, session)
    result = _scored(instrument, answers)
    administration = Administration(
        client=client,
        course=course,
        session=session,
        instrument=instrument,
        mode=Administration.Mode.CLINICIAN_ENTERED,
        answers=dict(answers),
        entered_by=actor,
    )
    _store_result(administration, result)
    administration.completed_at = completed_at
    _validate_new(administration, held=ENTRY_HELD)
    return administration


#: The related rows ``administration_enter`` is given, already read by the caller.
ENTRY_HELD = ("client", "course", "session", "instrument", "entered_by")


def _validate_new(row: Administration | RiskAlert, *, held: Iterable[str]) -> None:
    """``full_clean`` for a new row built here from related rows in hand: every field's
    validators and ``clean`` run, without three kinds of query that cannot fail. One per
    foreign key in ``held`` (the rows were just read, and the database refuses a missing
    one at INSERT); the uniqueness of a fresh random UUID; and the check constraints, whose
    columns this module sets itself (the database enforces them at INSERT all the same)."""
    row.full_clean(exclude=list(held), validate_unique=False, validate_constraints=False)


# --- The session note: the session record and its questionnaires together ----------------


@dataclass(frozen=True)
class SessionMeasure:
    """A questionnaire entered in the session note. ``key`` names it in a refusal (the
    entry form's prefix), so the page can show the message next to that questionnaire."""

    key: str
    instrument: Instrument
    entry: EntryData


@dataclass(frozen=True)
class SessionNote:
    """Everything the session note saves at once: the record, the client's task and the
    questionnaires given in the session; ``sign`` signs it in the same transaction."""

    data: treatment_services.SessionData
    task: str = ""
    measures: tuple[SessionMeasure, ...] = ()
    reviews: tuple[tuple[BetweenSessionTask, str], ...] = ()  # earlier tasks: done / not done
    sign: bool = False


def _enter_measures(
    *,
    actor: User,
    session: Session,
    measures: Iterable[SessionMeasure],
    request: HttpRequest | None,
) -> list[Administration]:
    entered = []
    for measure in measures:
        try:
            entered.append(
                administration_enter(
                    actor=actor,
                    course=session.course,
                    instrument=measure.instrument,
                    answers=measure.entry.answers,
                    session=session,
                    completed_on=measure.entry.completed_on,
                    request=request,
                )
            )
        except ValidationError as error:
            raise ValidationError(
                {f"{measure.key}-{name}": errors for name, errors in _named(error).items()}
            ) from error
    return entered


def _named(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            name: list(ValidationError(errs).messages) for name, errs in error.error_dict.items()
        }
    return {"__all__": list(error.messages)}


@transaction.atomic
def session_note_save(
    *,
    actor: User,
    course: Course,
    note: SessionNote,
    session: Session | None = None,
    version: int = 0,
    request: HttpRequest | None = None,
) -> Session:
    """Save the session note in one transaction: the session record (created when
    ``session`` is ``None``), the task the client sees in the portal, the reviews of earlier
    tasks, the questionnaires
    with their scores and any risk alert (as ``administration_enter`` raises it), and the
    signature when asked. Any refusal leaves everything as it was."""
    if session is None:
        session = treatment_services.session_create(
            actor=actor, course=course, data=note.data, request=request
        )
    else:
        session = treatment_services.session_update(
            actor=actor, session=session, version=version, data=note.data, request=request
        )
    treatment_services.task_save_for_session(
        actor=actor, session=session, text=note.task, request=request
    )
    for task, status in note.reviews:
        treatment_services.task_review(
            actor=actor, task=task, session=session, status=status, request=request
        )
    _enter_measures(actor=actor, session=session, measures=note.measures, request=request)
    if note.sign:
        session = session_note_sign(
            actor=actor, session=session, version=session.version, request=request
        )
    course_summary_rebuild(course_id=session.course_id)
    return session


@transaction.atomic
def session_note_sign(
    *, actor: User, session: Session, version: int, request: HttpRequest | None = None
) -> Session:
    """Sign a session note. A note whose questionnaires raised a critical item is signed
    only with its risk check recorded (docs/measures.md §7)."""
    flagged = Administration.objects.filter(
        session=session, status=Administration.Status.COMPLETED
    ).exclude(flags=[])
    if session.risk_check == session.Risk.NOT_ASKED and flagged.exists():
        raise ValidationError(
            {
                "risk_check": _(
                    "A questionnaire in this session raised a critical item. Record the risk "
                    "check before signing."
                )
            }
        )
    return treatment_services.session_sign(
        actor=actor, session=session, version=version, request=request
    )


def _status_for(due_on: dt.date) -> str:
    today = timezone.localdate()
    return Administration.Status.DUE if due_on <= today else Administration.Status.ASSIGNED


@transaction.atomic
def administration_assign(
    *,
    actor: User,
    client: Client,
    instrument: Instrument,
    due_on: dt.date,
    course: Course | None = None,
    request: HttpRequest | None = None,
    in_client_language: bool = True,
) -> Administration:
    """Ask the client to complete a questionnaire by ``due_on`` (delivered by the portal).

    The client is sent the version in their own language (``Client.language``) when the
    practice has one: the Spanish PHQ-9 for a client who reads Spanish, whichever version
    was chosen. ``in_client_language=False`` sends the chosen version as it is."""
    _require_write(actor, client)
    _check_instrument(instrument, client)
    if in_client_language:
        instrument = selectors.language_version(
            instrument, client.language, practice_id=client.practice_id
        )
    if instrument.parsed.clinician_rated:
        # A clinician-rated scale (HAM-D-17) is scored by the clinician from an interview;
        # a client cannot fill it in alone (docs/measures.md §1).
        raise ValidationError(
            {
                "instrument": _(
                    "%(title)s is rated by a clinician in an interview, so it cannot be sent "
                    "to a client to fill in. Enter it yourself from the session instead."
                )
                % {"title": instrument.title}
            }
        )
    if course is not None and course.client_id != client.pk:
        raise ValidationError({"course": _("That course belongs to another client.")})
    administration = Administration(
        client=client,
        course=course,
        instrument=instrument,
        mode=Administration.Mode.CLIENT_COMPLETED,
        status=_status_for(due_on),
        due_on=due_on,
        assigned_by=actor,
    )
    administration.full_clean()
    administration.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=administration,
        client=client,
        request=request,
    )
    reminders.plan_for_administration(administration)
    return administration


OPEN_STATUSES = (Administration.Status.ASSIGNED, Administration.Status.DUE)


def _draft_problems(administration: Administration, answers: Mapping[str, str | None]) -> str:
    definition = administration.instrument.parsed
    for link_id, code in answers.items():
        item = definition.item(link_id)
        if item is None or (code is not None and item.option_for_code(str(code)) is None):
            return _("Choose one of the answers shown.")
    return ""


@transaction.atomic
def administration_save_progress(
    *,
    actor: User,
    administration: Administration,
    answers: Mapping[str, str | None],
    request: HttpRequest | None = None,
) -> Administration:
    """Keep the client's answers so far on the assignment (linkId -> option code), so that
    they survive signing out or changing device. Only known questions and answers are kept;
    the portal calls this after checking the assignment is the client's own."""
    locked = Administration.objects.select_for_update(of=("self",)).select_related(
        "client", "instrument"
    )
    administration = locked.get(pk=administration.pk)
    if administration.status not in OPEN_STATUSES:
        raise ValidationError(_("This questionnaire can no longer be completed."))
    problem = _draft_problems(administration, answers)
    if problem:
        raise ValidationError({"answers": problem})
    administration.draft_answers = {str(k): v for k, v in answers.items()}
    administration.draft_saved_at = timezone.now()
    administration.full_clean()  # the version is the record's: a draft does not change it
    administration.save(update_fields=["draft_answers", "draft_saved_at", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=administration,
        client=administration.client,
        request=request,
        detail="answers saved so far",
    )
    return administration


def assignments_in_client_language(
    *, actor: User, administrations: Iterable[Administration], request: HttpRequest | None = None
) -> list[Administration]:
    """``assignment_in_client_language`` for each (the portal's list of questionnaires)."""
    rows = list(administrations)
    clients = {c.pk: c for c in Client.objects.filter(pk__in={r.client_id for r in rows})}
    for row in rows:
        row.client = clients[row.client_id]  # one query for the list, not one per row
    return [
        assignment_in_client_language(actor=actor, administration=row, request=request)
        for row in rows
    ]


def assignment_in_client_language(
    *, actor: User, administration: Administration, request: HttpRequest | None = None
) -> Administration:
    """An open assignment moved to the version in the client's language, when the practice
    has one and the answers saved so far fit it (the translations share the original's
    questions and answer codes); otherwise, or when it already is, unchanged and no write.
    A client who changes their language after a questionnaire was sent is offered it in the
    new one. The version answered stays on the record: the administration's instrument."""
    if administration.status not in OPEN_STATUSES:
        return administration
    current, client = administration.instrument, administration.client
    wanted = selectors.language_version(current, client.language, practice_id=client.practice_id)
    if wanted.pk == current.pk:
        return administration
    return _move_to_version(
        actor=actor, administration=administration, instrument=wanted, request=request
    )


@transaction.atomic
def _move_to_version(
    *,
    actor: User,
    administration: Administration,
    instrument: Instrument,
    request: HttpRequest | None,
) -> Administration:
    locked = Administration.objects.select_for_update(of=("self",)).select_related(
        "client", "instrument"
    )
    row = locked.get(pk=administration.pk)
    if row.status not in OPEN_STATUSES or row.instrument_id != administration.instrument_id:
        return row
    row.instrument = instrument
    if _draft_problems(row, row.draft_answers or {}):
        return locked.get(pk=administration.pk)  # the answers so far belong to the other one
    row.version += 1
    row.full_clean()
    row.save(update_fields=["instrument", "version", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=row,
        client=row.client,
        request=request,
        detail=f"offered in {instrument.language}: {instrument.code}",
    )
    return row


@transaction.atomic
def administration_complete(
    *,
    actor: User,
    administration: Administration,
    answers: Mapping[str, str | None],
    request: HttpRequest | None = None,
) -> Administration:
    """The client's answers to an assignment (the portal calls this after its own checks)."""
    locked = Administration.objects.select_for_update(of=("self",)).select_related(
        "client", "course", "instrument"
    )
    administration = locked.get(pk=administration.pk)
    if administration.status not in OPEN_STATUSES:
        raise ValidationError(_("This questionnaire can no longer be completed."))
    result = _scored(administration.instrument, answers)
    administration.answers = dict(answers)
    administration.draft_answers = {}
    administration.draft_saved_at = None
    administration.entered_by = actor
    administration.version += 1
    _store_result(administration, result)
    administration.full_clean()
    administration.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=administration,
        client=administration.client,
        request=request,
        detail="completed",
    )
    if result.flags:
        _alert_raise(administration=administration, actor=actor, request=request)
    reminders.cancel_for_administration(administration)
    course_score_added(administration=administration, new_row=False)
    return administration


def administrations_refresh_status(*, today: dt.date | None = None) -> tuple[int, int]:
    """Assignments whose day has come become due; those left undone for
    ``OPENIPT_ASSIGNMENT_EXPIRY_DAYS`` after it expire. Returns (now due, expired)."""
    today = today or timezone.localdate()
    cutoff = today - dt.timedelta(days=settings.OPENIPT_ASSIGNMENT_EXPIRY_DAYS)
    Status = Administration.Status
    changes = (
        (Status.EXPIRED, {"status__in": [Status.ASSIGNED, Status.DUE], "due_on__lt": cutoff}),
        (Status.DUE, {"status": Status.ASSIGNED, "due_on__lte": today}),
    )
    counts = []
    for new_status, lookup in changes:
        ids = list(Administration.objects.filter(**lookup).values_list("pk", flat=True))
        for pk in ids:
            _administration_set_status(pk=pk, status=new_status, lookup=lookup)
        counts.append(len(ids))
    return counts[1], counts[0]


@transaction.atomic
def _administration_set_status(*, pk: int, status: str, lookup: dict[str, object]) -> None:
    row = (
        Administration.objects.select_for_update()
        .select_related("client")
        .filter(pk=pk, **lookup)
        .first()
    )
    if row is None:  # changed meanwhile (completed, or already moved on)
        return
    row.status = status
    row.version += 1
    row.save(update_fields=["status", "version", "updated_at"])
    audit.record(
        actor=None, action=AuditEvent.Action.UPDATE, obj=row, client=row.client, detail=status
    )
    if status == Administration.Status.EXPIRED:
        reminders.cancel_for_administration(row)


# --- Risk alerts ----------------------------------------------------------------------------


def _responsible_clinician(administration: Administration) -> Membership:
    course = administration.course
    if course is not None:
        return course.clinician
    primary = (
        CareTeamMember.objects.select_related("member__user")
        .filter(client=administration.client, role=CareTeamMember.Role.PRIMARY, is_active=True)
        .first()
    )
    if primary is None:
        raise ValidationError(_("This client has no responsible clinician to alert."))
    return primary.member


def _alert_email(*, recipients: list[str], alert_uuid: str, practice_id: int) -> None:
    """Deliberately free of clinical detail: no client, no instrument, no answer."""
    link = settings.OPENIPT_BASE_URL.rstrip("/") + reverse(
        "measures:alert-detail", args=[alert_uuid]
    )
    subject = _("An alert needs your attention in OpenIPT")
    body = _("An alert needs your attention in OpenIPT. Sign in to see it:\n\n%(link)s\n") % {
        "link": link
    }
    outbox.queue_email(
        kind="risk_alert", subject=subject, body=body, recipients=recipients,
        practice_id=practice_id,
    )  # fmt: skip


def _queue_alert_email(members: Iterable[Membership], alert: RiskAlert) -> None:
    """Queued with the alert (the worker sends it once the alert is committed)."""
    recipients = [m.user.email for m in members if m.user.is_active]
    if recipients:
        _alert_email(
            recipients=recipients, alert_uuid=str(alert.uuid), practice_id=alert.practice_id
        )


def _alert_raise(
    *, administration: Administration, actor: User | None, request: HttpRequest | None
) -> RiskAlert:
    alert = _alert_checked(administration)
    _alert_save(alert, actor=actor, request=request)
    return alert


def _alert_checked(administration: Administration) -> RiskAlert:
    """The alert a flagged record raises, built and checked but not saved: its responsible
    clinician (with their user, for the email) is read here, before any write."""
    clinician = _responsible_clinician(administration)
    alert = RiskAlert(
        administration=administration,
        client=administration.client,
        course=administration.course,
        clinician=clinician,
        practice_id=administration.client.practice_id,
        flags=list(administration.flags),
        raised_at=timezone.now(),
    )
    _validate_new(alert, held=ALERT_HELD)
    return alert


#: The related rows of a new alert, all in hand (the record is saved just before it).
ALERT_HELD = ("administration", "client", "course", "clinician", "practice")


def _alert_save(alert: RiskAlert, *, actor: User | None, request: HttpRequest | None) -> None:
    """Inside the record's transaction: the alert, its audit event and the queued email."""
    alert.save(force_insert=True)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=alert,
        client=alert.client,
        request=request,
    )
    _queue_alert_email([alert.clinician], alert)


@dataclass(frozen=True)
class Acknowledgement:
    actions: tuple[str, ...]
    note: str = ""


@transaction.atomic
def alert_acknowledge(
    *,
    actor: User,
    alert: RiskAlert,
    acknowledgement: Acknowledgement,
    request: HttpRequest | None = None,
) -> RiskAlert:
    """Record what was done about an alert, by whom and when; it is then closed."""
    membership = policy.staff_membership(actor)
    mine = RiskAlert.objects.filter(policy.alert_recipient_q(membership), pk=alert.pk)
    alert = mine.select_for_update().first() or _deny()
    errors = _acknowledgement_errors(acknowledgement)
    if alert.status != RiskAlert.Status.OPEN:
        errors.setdefault("__all__", []).append(_("This alert has already been acknowledged."))
    if errors:
        raise ValidationError(errors)
    alert.status = RiskAlert.Status.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = actor
    alert.actions = list(acknowledgement.actions)
    alert.note = acknowledgement.note.strip()
    alert.full_clean()
    alert.save()
    audit.record(
        actor=actor,
        action=AuditEvent.Action.UPDATE,
        obj=alert,
        client=alert.client,
        request=request,
        detail="acknowledged: " + ",".join(alert.actions),
    )
    return alert


def _deny() -> RiskAlert:
    raise PermissionDenied


def _acknowledgement_errors(ack: Acknowledgement) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    known = set(RiskAlert.Action.values)
    if not ack.actions:
        errors["actions"] = [_("Choose at least one thing that was done.")]
    elif not set(ack.actions) <= known:
        errors["actions"] = [_("Choose from the listed actions.")]
    if RiskAlert.Action.OTHER in ack.actions and not ack.note.strip():
        errors["note"] = [_("Describe what was done when you choose “Other”.")]
    return errors


def alerts_escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Escalate each open alert older than ``OPENIPT_ALERT_ESCALATION_MINUTES`` to the
    responsible clinician's active supervisors, once. Returns how many were escalated."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.OPENIPT_ALERT_ESCALATION_MINUTES)
    due = RiskAlert.objects.filter(
        status=RiskAlert.Status.OPEN, escalated_at__isnull=True, raised_at__lte=cutoff
    ).values_list("pk", flat=True)
    return sum(_alert_escalate(pk=pk, now=now) for pk in list(due))


@transaction.atomic
def _alert_escalate(*, pk: int, now: dt.datetime) -> bool:
    alert = (
        RiskAlert.objects.select_for_update()
        .select_related("client")
        .filter(pk=pk, status=RiskAlert.Status.OPEN, escalated_at__isnull=True)
        .first()
    )
    if alert is None:  # acknowledged or escalated by another worker meanwhile
        return False
    supervisors = list(
        Membership.objects.select_related("user").filter(
            supervisions_given__supervisee_id=alert.clinician_id,
            supervisions_given__is_active=True,
            is_active=True,
            practice_id=alert.practice_id,
        )
    )
    alert.escalated_at = now
    alert.save(update_fields=["escalated_at", "updated_at"])
    alert.escalated_to.add(*supervisors)
    detail = f"escalated to {len(supervisors)} supervisor(s)"
    audit.record(
        actor=None, action=AuditEvent.Action.UPDATE, obj=alert, client=alert.client, detail=detail
    )
    _queue_alert_email(supervisors, alert)
    return True


# --- Safety plans ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyPlanData:
    """The six parts of a safety plan as written (``SafetyPlanForm.to_data``)."""

    warning_signs: str = ""
    coping_strategies: str = ""
    distractions: str = ""
    people_to_ask: str = ""
    professionals: str = ""
    safer_environment: str = ""


SAFETY_PLAN_CONFLICT = gettext_lazy(
    "Someone else saved a new version of this safety plan while you were editing it. Yours "
    "has not been saved; it is still in the form below. Compare it with the latest version, "
    "then save again."
)


@transaction.atomic
def safety_plan_save(
    *,
    actor: User,
    client: Client,
    data: SafetyPlanData,
    based_on: int | None = None,
    request: HttpRequest | None = None,
) -> SafetyPlan:
    """Save the client's safety plan as a new version; earlier versions stay as they were.

    ``based_on`` is the version the form showed (0: none); if another was saved since, the
    save is refused with ``EditConflict`` and the typing is kept.
    """
    _require_write(actor, client)
    Client.objects.select_for_update().filter(pk=client.pk).first()  # serialise numbering
    last = SafetyPlan.objects.filter(client=client).order_by("-number").first()
    if based_on is not None and (last.number if last else 0) != based_on:
        raise EditConflict(SAFETY_PLAN_CONFLICT)
    plan = SafetyPlan(
        client=client,
        number=(last.number + 1) if last else 1,
        author=actor,
        **{name: getattr(data, name).strip() for name in SafetyPlan.FIELDS},
    )
    if not any(getattr(plan, name) for name in SafetyPlan.FIELDS):
        raise ValidationError(_("Write at least one part of the plan."))
    plan.full_clean()
    plan.save()
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=plan, client=client, request=request
    )
    return plan
