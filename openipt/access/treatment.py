"""Gates to the IPT course and its records.

``access_course`` reaches a course through the policy (``write``: the user may change it;
supervisors read their supervisees' courses but never change them). The child gates take
the course (or session) already reached that way and fetch one of its records. Every gate
answers ``Http404`` when there is nothing to reach, so a person without access cannot learn
that a record exists. With ``audit=request`` a gate records the one audited read of the
page (``openipt.audit.services.record_read``); without it, it records nothing.
"""

from __future__ import annotations

import uuid as uuid_lib
from typing import TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from openipt.accounts.models import User
from openipt.audit.services import record_read
from openipt.clients.selectors import accessible_clients
from openipt.core.http import parse_uuid
from openipt.treatment.models import (
    BetweenSessionTask,
    Course,
    Formulation,
    Goal,
    InventoryPerson,
    ProblemArea,
    ProcessNote,
    Session,
    TerminationRecord,
    TimelineEvent,
)

UUIDLike = str | uuid_lib.UUID  # from a URL (converted) or a form (text)


def courses_for(user: User, *, write: bool = False) -> QuerySet[Course]:
    """Exactly the courses ``user`` may read (or, with ``write``, change)."""
    return Course.objects.filter(client__in=accessible_clients(user, write=write))


def access_course(
    user: User,
    course_uuid: UUIDLike,
    *,
    write: bool = False,
    audit: HttpRequest | None = None,
    detail: str = "",
) -> Course:
    """The course with this UUID if ``user`` may reach it (``write``: change it)."""
    course = (
        courses_for(user, write=write)
        .select_related("client", "clinician__user")
        .filter(uuid=parse_uuid(course_uuid))
        .first()
    )
    if course is None:
        raise Http404
    if audit is not None:
        record_read(audit, course.client, course, detail=detail, actor=user)
    return course


def _read(course: Course, obj: Model, audit: HttpRequest | None, detail: str) -> None:
    if audit is not None:
        record_read(audit, course.client, obj, detail=detail)


# A record that belongs to one course: a session, problem area, goal, person or event.
R = TypeVar("R", Session, ProblemArea, Goal, InventoryPerson, TimelineEvent)
# The course's one formulation or ending record.
S = TypeVar("S", Formulation, TerminationRecord)


def _course_record(
    rows: QuerySet[R], course: Course, record_uuid: UUIDLike, audit: HttpRequest | None, detail: str
) -> R:
    record = rows.filter(course=course, uuid=parse_uuid(record_uuid)).first()
    if record is None:
        raise Http404
    record.course = course
    _read(course, record, audit, detail)
    return record


def _course_single(
    rows: QuerySet[S], course: Course, audit: HttpRequest | None, detail: str
) -> S | None:
    record = rows.filter(course=course).first()
    if record is not None:
        record.course = course
    _read(course, record or course, audit, detail)
    return record


def access_session(
    course: Course, session_uuid: UUIDLike, *, audit: HttpRequest | None = None, detail: str = ""
) -> Session:
    """A session of the course."""
    return _course_record(Session.objects.all(), course, session_uuid, audit, detail)


def access_task(
    session: Session, task_uuid: UUIDLike, *, audit: HttpRequest | None = None, detail: str = ""
) -> BetweenSessionTask:
    """A between-session task of the session's course (set in this session or another)."""
    task = (
        BetweenSessionTask.objects.filter(course_id=session.course_id, uuid=parse_uuid(task_uuid))
        .select_related("set_in_session")
        .first()
    )
    if task is None:
        raise Http404
    _read(session.course, task, audit, detail)
    return task


def access_process_note(
    user: User, session: Session, *, audit: HttpRequest | None = None, detail: str = ""
) -> ProcessNote | None:
    """The user's own process note on the session, if they wrote one; nobody else's is ever
    returned (docs/quality.md S3). With ``audit``, the read is recorded: of the note, or of the
    course while there is no note yet."""
    note = ProcessNote.objects.filter(session=session, author=user).first()
    if audit is not None:
        record_read(audit, session.course.client, note or session.course, detail=detail, actor=user)
    return note


def access_problem_area(
    course: Course, area_uuid: UUIDLike, *, audit: HttpRequest | None = None, detail: str = ""
) -> ProblemArea:
    """A problem area of the course, with its dispute partner."""
    areas = ProblemArea.objects.select_related("other_person")
    return _course_record(areas, course, area_uuid, audit, detail)


def access_goal(
    course: Course, goal_uuid: UUIDLike, *, audit: HttpRequest | None = None, detail: str = ""
) -> Goal:
    """A goal of the course."""
    return _course_record(Goal.objects.all(), course, goal_uuid, audit, detail)


def access_person(
    course: Course, person_uuid: UUIDLike, *, audit: HttpRequest | None = None, detail: str = ""
) -> InventoryPerson:
    """A person of the course's interpersonal inventory."""
    return _course_record(InventoryPerson.objects.all(), course, person_uuid, audit, detail)


def access_event(
    course: Course, event_uuid: UUIDLike, *, audit: HttpRequest | None = None, detail: str = ""
) -> TimelineEvent:
    """An event of the course's timeline."""
    return _course_record(TimelineEvent.objects.all(), course, event_uuid, audit, detail)


def access_formulation(
    course: Course, *, audit: HttpRequest | None = None, detail: str = ""
) -> Formulation | None:
    """The course's formulation, if written. With ``audit``, the read is recorded: of the
    formulation, or of the course while there is none."""
    return _course_single(Formulation.objects.all(), course, audit, detail)


def access_termination(
    course: Course, *, audit: HttpRequest | None = None, detail: str = ""
) -> TerminationRecord | None:
    """The course's ending record, if begun. With ``audit``, the read is recorded: of the
    record, or of the course while there is none."""
    return _course_single(TerminationRecord.objects.all(), course, audit, detail)
