"""Reads of IPT courses, always through the policy module.

``access_*`` functions raise ``Http404`` when the user may not reach the record (a person
without access cannot learn that it exists). Writes need ``write=True``: supervisors read
their supervisees' courses but never change them.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from openipt.accounts.models import User
from openipt.accounts.policy import client_access_q, staff_membership
from openipt.audit import services as audit
from openipt.clients.models import Client
from openipt.measures import selectors as measure_selectors
from openipt.treatment import formats
from openipt.treatment import guidance as guidance_lib
from openipt.treatment.formats import PHASE_ORDER
from openipt.treatment.models import (
    BetweenSessionTask,
    Course,
    Formulation,
    Goal,
    GoalRating,
    ProblemArea,
    ProcessNote,
    Session,
)

COURSE_PREFETCH = (
    "sessions",
    "contracts",
    "inventory",
    "timeline",
    "task_statuses",
    Prefetch("problem_areas", queryset=ProblemArea.objects.select_related("other_person")),
    measure_selectors.ADMINISTRATIONS_PREFETCH,  # the depression measures guidance feeds in
)


def accessible_clients(user: User, *, write: bool = False) -> QuerySet[Client]:
    return Client.objects.filter(client_access_q(staff_membership(user), write=write))


def courses_for(user: User, *, write: bool = False) -> QuerySet[Course]:
    return Course.objects.filter(client__in=accessible_clients(user, write=write))


def access_client(user: User, client_uuid: uuid_lib.UUID, *, write: bool = False) -> Client:
    client = accessible_clients(user, write=write).filter(uuid=client_uuid).first()
    if client is None:
        raise Http404
    return client


def access_course(user: User, course_uuid: uuid_lib.UUID, *, write: bool = False) -> Course:
    course = (
        courses_for(user, write=write)
        .select_related("client", "clinician__user")
        .filter(uuid=course_uuid)
        .first()
    )
    if course is None:
        raise Http404
    return course


def access_session(course: Course, session_uuid: uuid_lib.UUID) -> Session:
    """A session of a course the caller has already reached with ``access_course``."""
    session = Session.objects.filter(course=course, uuid=session_uuid).first()
    if session is None:
        raise Http404
    session.course = course
    return session


def access_process_note(user: User, session: Session) -> ProcessNote | None:
    """The user's own process note on a session; nobody else's is ever returned (S3)."""
    return ProcessNote.objects.filter(session=session, author=user).first()


def formulation_agreed(course: Course) -> bool:
    return Formulation.objects.filter(course=course).exclude(client_agreement="").exists()


def client_courses(user: User, client: Client) -> list[Course]:
    """The courses of one client that the user may read (for the client page), newest first."""
    return list(
        courses_for(user)
        .filter(client=client)
        .select_related("clinician__user")
        .order_by("-start_date")
    )


def record_read(
    user: User, obj: Any, course: Course, request: HttpRequest | None, detail: str = ""
) -> None:
    """One audit event per read of client data (fails closed: an error fails the read)."""
    audit.record(
        actor=user, action="read", obj=obj, client=course.client, request=request, detail=detail
    )


def with_course_records(course: Course) -> Course:
    """The course again, with every record the overview and the guidance need prefetched."""
    return (
        Course.objects.select_related("client", "clinician__user", "formulation", "termination")
        .prefetch_related(
            *COURSE_PREFETCH,
            Prefetch(
                "goals",
                queryset=Goal.objects.select_related("problem_area").prefetch_related(
                    Prefetch("ratings", queryset=GoalRating.objects.order_by("rated_on", "id"))
                ),
            ),
        )
        .get(pk=course.pk)
    )


@dataclass(frozen=True)
class CaseloadRow:
    course: Course
    latest_session: int
    guidance: guidance_lib.CourseGuidance
    risk_concerns: bool  # the latest session's risk check noted concerns

    @property
    def needs_attention(self) -> bool:
        return self.risk_concerns or bool(self.guidance.flag_count)


CASELOAD_SORTS = {
    "client": lambda r: (
        r.course.client.legal_family_name.lower(),
        r.course.client.legal_given_name.lower(),
    ),
    "start": lambda r: r.course.start_date,
    "session": lambda r: (r.latest_session, r.course.planned_sessions),
    "phase": lambda r: (PHASE_ORDER[formats.Phase(r.guidance.phase)], -r.latest_session),
    "flags": lambda r: (not r.risk_concerns, -r.guidance.flag_count, r.course.start_date),
}


def caseload(
    user: User,
    *,
    sort: str = "client",
    phase: str = "",
    course_format: str = "",
    flagged: bool = False,
) -> list[CaseloadRow]:
    """Open courses the user treats, with guidance; a fixed number of queries for any size."""
    courses = (
        courses_for(user, write=True)
        .filter(status__in=[Course.Status.ASSESSMENT, Course.Status.ACTIVE])
        .select_related("client", "formulation", "termination")
        .prefetch_related(*COURSE_PREFETCH)
    )
    if course_format:
        courses = courses.filter(format=course_format)
    rows = []
    for course in courses:
        last = max(course.sessions.all(), key=lambda s: s.number, default=None)
        row = CaseloadRow(
            course,
            last.number if last else 0,
            guidance_lib.guidance_for(course),
            risk_concerns=last is not None and last.risk_check == Session.Risk.CONCERNS,
        )
        if phase and row.guidance.phase != phase:
            continue
        if flagged and not row.needs_attention:
            continue
        rows.append(row)
    rows.sort(key=CASELOAD_SORTS.get(sort, CASELOAD_SORTS["client"]))
    return rows


# Opening review: what happened since the last session -------------------------------------


@dataclass(frozen=True)
class OpeningReview:
    """For the start of a session: the client's diary and questionnaires since the previous
    session, and the tasks set before it that are still to review. A fixed number of
    queries, whatever the number of entries. The caller records the read (the session's)."""

    previous: Session | None
    diary: list[Any]
    scores: list[NewScore]
    tasks_to_review: list[BetweenSessionTask]


@dataclass(frozen=True)
class NewScore:
    administration: Any
    band_label: str


def _band_label(administration: Any) -> str:
    bands = administration.instrument.parsed.bands
    return next((b.label for b in bands if b.code == administration.band), administration.band)


def _since(course: Course, previous: Session | None) -> dt.datetime:
    if previous is not None:
        return previous.starts_at
    return timezone.make_aware(dt.datetime.combine(course.start_date, dt.time.min))


def opening_review(course: Course, session: Session | None) -> OpeningReview:
    """``session`` is the one being viewed or edited, or ``None`` for a new one (then
    everything up to now counts). For an existing session, only what happened before it
    ended counts, so an old session keeps showing what was new at the time."""
    from openipt.clients.diary import diary_entries_since
    from openipt.measures.models import Administration

    earlier = Session.objects.filter(course=course)
    if session is not None:
        earlier = earlier.filter(number__lt=session.number)
    previous = earlier.order_by("-number").first()
    since = _since(course, previous)
    until = None
    if session is not None:
        until = session.starts_at + dt.timedelta(minutes=session.duration_minutes)
    diary = [
        e
        for e in diary_entries_since(course.client, since)
        if until is None or e.created_at <= until
    ]
    scores = Administration.objects.filter(
        client=course.client, status=Administration.Status.COMPLETED, completed_at__gt=since
    )
    if until is not None:
        scores = scores.filter(completed_at__lte=until)
    return OpeningReview(
        previous=previous,
        diary=diary,
        scores=[
            NewScore(row, _band_label(row))
            for row in scores.select_related("instrument").order_by("completed_at")[:50]
        ],
        tasks_to_review=tasks_to_review(course, session),
    )


def tasks_to_review(course: Course, session: Session | None) -> list[BetweenSessionTask]:
    """Tasks set in earlier sessions and not yet reviewed (or reviewed in this session)."""
    tasks = BetweenSessionTask.objects.filter(course=course).select_related("set_in_session")
    if session is None:
        tasks = tasks.filter(reviewed_in_session__isnull=True)
    else:
        tasks = tasks.filter(set_in_session__number__lt=session.number).filter(
            Q(reviewed_in_session__isnull=True) | Q(reviewed_in_session=session)
        )
    return list(tasks.order_by("set_in_session__number", "created_at")[:50])


def access_task(session: Session, task_uuid: uuid_lib.UUID) -> BetweenSessionTask:
    """A task of the course of a session the caller has already reached."""
    task = (
        BetweenSessionTask.objects.filter(course_id=session.course_id, uuid=task_uuid)
        .select_related("set_in_session")
        .first()
    )
    if task is None:
        raise Http404
    return task
