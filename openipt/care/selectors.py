"""Reads of IPT courses as the clinician works with them: records, measures and the
client's side together, with the protocol's guidance. Always through the policy module.

One course and its records are reached through the gates in ``openipt.access.treatment``
(which also record the audited read); the selectors here take a course already reached, or
list the courses a user may see (the caseload, a client's courses).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from openipt.accounts.models import User
from openipt.care import guidance as guidance_lib
from openipt.clients.models import Client
from openipt.clients.selectors import accessible_clients, can_write_client
from openipt.engagement.diary import diary_entries_since
from openipt.engagement.models import DiaryEntry
from openipt.measures import selectors as measure_selectors
from openipt.measures.models import Administration
from openipt.treatment import formats
from openipt.treatment.formats import PHASE_ORDER
from openipt.treatment.models import (
    BetweenSessionTask,
    Course,
    Formulation,
    Goal,
    GoalRating,
    InventoryPerson,
    ProblemArea,
    Session,
    TimelineEvent,
)
from openipt.treatment.protocol import TaskSpec

COURSE_PREFETCH = (
    "sessions",
    "contracts",
    "inventory",
    "timeline",
    "task_statuses",
    Prefetch("problem_areas", queryset=ProblemArea.objects.select_related("other_person")),
    measure_selectors.ADMINISTRATIONS_PREFETCH,  # the depression measures guidance feeds in
)


def _courses(user: User, *, write: bool = False) -> QuerySet[Course]:
    # The same scope as ``openipt.access.treatment.courses_for``, which this layer sits below.
    return Course.objects.filter(client__in=accessible_clients(user, write=write))


def formulation_agreed(course: Course) -> bool:
    return Formulation.objects.filter(course=course).exclude(client_agreement="").exists()


def client_courses(user: User, client: Client) -> list[Course]:
    """The courses of one client that the user may read (for the client page), newest first."""
    return list(
        _courses(user)
        .filter(client=client)
        .select_related("clinician__user")
        .order_by("-start_date")
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


# The course page ------------------------------------------------------------------------

OVERVIEW_SESSIONS = 24  # a maintenance course can run to hundreds: the page lists the latest


@dataclass(frozen=True)
class CourseOverview:
    """Everything the course page shows."""

    course: Course  # with every record prefetched (``with_course_records``)
    can_write: bool
    guidance: guidance_lib.CourseGuidance
    sessions: list[tuple[Session, str]]  # the sessions listed, each with its phase's label
    sessions_total: int
    latest: int  # the number of the latest session, 0 before the first
    focus_areas: list[ProblemArea]
    formulation: Formulation | None
    goals: list[Goal]
    people: list[InventoryPerson]  # the inventory at the start
    timeline: list[TimelineEvent]  # oldest first
    checklist: list[tuple[TaskSpec, str]]  # the phase's tasks, each with its mark


def course_overview(user: User, course: Course, *, all_sessions: bool = False) -> CourseOverview:
    """The course page for a course reached (and its read audited) through
    ``openipt.access.treatment.access_course``: the latest sessions, or ``all_sessions``.
    A fixed number of queries whatever the size of the course."""
    course = with_course_records(course)
    guidance = guidance_lib.guidance_for(course)
    sessions = sorted(course.sessions.all(), key=lambda s: (s.number, s.starts_at))
    shown = sessions if all_sessions else sessions[-OVERVIEW_SESSIONS:]
    return CourseOverview(
        course=course,
        can_write=can_write_client(user, course.client),
        guidance=guidance,
        sessions=[
            (s, guidance_lib.phase_label(guidance_lib.session_phase(course, s))) for s in shown
        ],
        sessions_total=len(sessions),
        latest=max((s.number for s in sessions), default=0),
        focus_areas=[a for a in course.problem_areas.all() if a.is_focus],
        formulation=getattr(course, "formulation", None),
        goals=list(course.goals.all()),
        people=[p for p in course.inventory.all() if p.snapshot == InventoryPerson.Snapshot.START],
        timeline=list(course.timeline.all()),
        checklist=guidance_lib.task_checklist(course, guidance.phase),
    )


# The caseload ---------------------------------------------------------------------------


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
        _courses(user, write=True)
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
    diary: list[DiaryEntry]
    scores: list[NewScore]
    tasks_to_review: list[BetweenSessionTask]


@dataclass(frozen=True)
class NewScore:
    administration: Administration
    band_label: str


def _band_label(administration: Administration) -> str:
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
