"""Reads of IPT courses as the clinician works with them: records, measures and the
client's side together, with the protocol's guidance. Always through the policy module.

One course and its records are reached through the gates in ``openipt.access.treatment``
(which also record the audited read); the selectors here take a course already reached, or
list the courses a user may see (the caseload, a client's courses).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.accounts.models import User
from openipt.care import guidance as guidance_lib
from openipt.care.glance import Glance, course_glances
from openipt.clients.models import Client
from openipt.clients.selectors import accessible_clients, can_write_client
from openipt.engagement.diary import diary_entries_since
from openipt.engagement.models import DiaryEntry
from openipt.measures import selectors as measure_selectors
from openipt.measures.models import Administration, RiskAlert
from openipt.measures.progress import CourseProgress, course_progress
from openipt.measures.scoring import change
from openipt.scheduling.models import Appointment
from openipt.scheduling.services import contract_tally
from openipt.scheduling.times import zone_for
from openipt.treatment import formats, protocol
from openipt.treatment import services as treatment_services
from openipt.treatment import summary as records_summary
from openipt.treatment.formats import PHASE_ORDER
from openipt.treatment.models import (
    BetweenSessionTask,
    Course,
    CourseSummary,
    Formulation,
    Goal,
    GoalRating,
    InventoryPerson,
    ProblemArea,
    Session,
    TerminationRecord,
    TimelineEvent,
)

# A maintenance course reads its baseline, warning signs and relapse plan from the course it
# follows (``guidance.carried_baseline``): this keeps that at no query of its own (and at no
# query at all when no course in the list follows another).
FOLLOWS_PREFETCH = Prefetch(
    "follows__administrations", queryset=measure_selectors.ADMINISTRATIONS_PREFETCH.queryset
)

COURSE_PREFETCH = (
    "sessions",
    "contracts",
    "inventory",
    "timeline",
    "task_statuses",
    Prefetch("problem_areas", queryset=ProblemArea.objects.select_related("other_person")),
    measure_selectors.ADMINISTRATIONS_PREFETCH,  # the depression measures guidance feeds in
    FOLLOWS_PREFETCH,
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


# What the course page reads in a few columns instead (``guidance.course_sessions`` and
# ``guidance.depression_results``): the prefetches that grow with the length of the course.
_LONG_PREFETCH = ("sessions", measure_selectors.ADMINISTRATIONS_PREFETCH)


def with_course_records(course: Course, *, sessions: bool = True) -> Course:
    """The course again, with every record the overview and the guidance need prefetched;
    without its sessions and depression scores when not ``sessions``."""
    prefetch = [p for p in COURSE_PREFETCH if sessions or p not in _LONG_PREFETCH]
    return (
        Course.objects.select_related(
            "client__practice",
            "clinician__user",
            "formulation",
            "termination",
            "follows__termination",
        )
        .prefetch_related(
            *prefetch,
            "followed_by",
            Prefetch(
                "goals",
                queryset=Goal.objects.select_related("problem_area").prefetch_related(
                    Prefetch("ratings", queryset=GoalRating.objects.order_by("rated_on", "id"))
                ),
            ),
        )
        .get(pk=course.pk)
    )


def course_phase_label(course: Course) -> str:
    """The phase a course is in, by its plain name, for the header of any course page: the
    phase of the latest held session, else of session 1 (one query)."""
    latest = (
        Session.objects.filter(
            course=course, attendance=Session.Attendance.ATTENDED, starts_at__lte=timezone.now()
        )
        .order_by("-number")
        .first()
    )
    if latest is not None:
        return guidance_lib.phase_label(guidance_lib.session_phase(course, latest))
    fmt = formats.get_format(course.format)
    return guidance_lib.phase_label(formats.phase_for_session(fmt, 1, course.planned_sessions))


# The course page ------------------------------------------------------------------------

OVERVIEW_SESSIONS = 24  # a maintenance course can run to hundreds: the page lists the latest
# ... and charts the scores of about the latest year of weekly sessions: more than any
# format plans (maintenance IPT: 36), so only a course longer than its format charts less.
CHART_SESSIONS = 52


@dataclass(frozen=True)
class CourseOverview:
    """Everything the course page shows."""

    course: Course  # with every record prefetched (``with_course_records``)
    can_write: bool
    guidance: guidance_lib.CourseGuidance  # with the page's next action (``guidance.action``)
    sessions: list[tuple[Session, str]]  # the sessions listed, each with its phase's label
    sessions_total: int
    latest: int  # the number of the latest session, 0 before the first
    focus_areas: list[ProblemArea]
    formulation: Formulation | None
    goals: list[Goal]
    people: list[InventoryPerson]  # the inventory at the start
    timeline: list[TimelineEvent]  # oldest first
    ending: Ending
    chart: CourseProgress  # the symptom measures of the latest ``CHART_SESSIONS`` sessions


@dataclass(frozen=True)
class Ending:
    """The course's ending and what links it to the courses before and after it."""

    record: TerminationRecord | None
    missing: tuple[str, ...]  # labels of the items required to conclude, not yet recorded
    follows: Course | None  # the acute course a maintenance course follows
    carried: protocol.MeasureResult | None  # the baseline score taken over from ``follows``
    latest_score: protocol.MeasureResult | None  # this course's latest depression score
    followed_by: Course | None  # the maintenance course that follows this one
    maintenance_offered: bool  # next step "maintenance", and no course follows yet
    today_session: Session | None  # a draft dated today, or the one for today's appointment
    today_appointment: Appointment | None  # a session booked today with no note yet
    to_book: int  # the contract's sessions not yet held or booked (0 without a contract)


def _today_appointment(course: Course) -> Appointment | None:
    """A session appointment of the course today (practice time) with no session yet."""
    zone = zone_for(course.client.practice)
    day = timezone.now().astimezone(zone).date()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    return (
        Appointment.objects.filter(
            course=course,
            kind=Appointment.Kind.SESSION,
            status__in=Appointment.OCCUPYING,
            session__isnull=True,
            starts_at__gte=start,
            starts_at__lt=start + dt.timedelta(days=1),
        )
        .order_by("starts_at")
        .first()
    )


def maintenance_offered(course: Course) -> bool:
    """Whether to offer "Start a maintenance course": an acute course whose chosen next step
    is maintenance and which no course follows yet (uses the ``followed_by`` prefetch)."""
    record = getattr(course, "termination", None)
    return (
        formats.get_format(course.format).acute
        and course.status != Course.Status.ENTERED_IN_ERROR
        and record is not None
        and record.next_step == TerminationRecord.NextStep.MAINTENANCE
        and not list(course.followed_by.all())
    )


def conclusion_missing_labels(course: Course) -> tuple[str, ...]:
    """The required ending items not yet recorded, as the task labels a clinician reads."""
    record = getattr(course, "termination", None)
    missing = protocol.conclusion_missing(
        formats.FormatCode(course.format), treatment_services.termination_facts(record)
    )
    return tuple(_(guidance_lib.TASKS_BY_CODE[code].label) for code in missing)


def course_ending(course: Course) -> Ending:
    """For a course fetched with ``with_course_records``: a fixed number of queries."""
    today = timezone.localdate()
    draft = next(
        (
            s
            for s in course.sessions.all()
            if not s.is_signed and timezone.localdate(s.starts_at) == today
        ),
        None,
    )
    return _ending(course, draft=draft, latest_score=guidance_lib.latest_measure(course))


def _todays_draft(
    course: Course, records: guidance_lib.CourseSessions, shown: list[Session]
) -> Session | None:
    """The first session dated today and not signed, found in the light rows; fetched
    only when it is not among the sessions the page lists."""
    today = timezone.localdate()
    number = next((r.number for r in records.records if not r.signed and r.on == today), None)
    if number is None:
        return None
    listed = next((s for s in shown if s.number == number), None)
    return listed or Session.objects.get(course=course, number=number)


def _ending(
    course: Course, *, draft: Session | None, latest_score: protocol.MeasureResult | None
) -> Ending:
    appointment = _today_appointment(course) if course.is_open else None
    tally = contract_tally(course) if course.is_open else None
    followers = list(course.followed_by.all())
    return Ending(
        record=getattr(course, "termination", None),
        missing=conclusion_missing_labels(course),
        follows=course.follows if course.follows_id else None,
        carried=guidance_lib.carried_baseline(course),
        latest_score=latest_score,
        followed_by=followers[0] if followers else None,
        maintenance_offered=maintenance_offered(course),
        today_session=draft,
        today_appointment=appointment,
        to_book=tally.to_book if tally and tally.contract else 0,
    )


def _number(session: Session) -> int:
    return session.number


def course_overview(user: User, course: Course, *, all_sessions: bool = False) -> CourseOverview:
    """The course page for a course reached (and its read audited) through
    ``openipt.access.treatment.access_course``: the latest sessions, or ``all_sessions``.
    A fixed number of queries whatever the size of the course."""
    course = with_course_records(course, sessions=False)
    # Every session and score in a few columns, for the guidance, the counts and the chart;
    # model instances only for the sessions listed.
    records = guidance_lib.course_sessions(course)
    measures = guidance_lib.depression_results(course)
    if all_sessions:
        shown = list(course.sessions.all())
    else:
        shown = sorted(course.sessions.order_by("-number")[:OVERVIEW_SESSIONS], key=_number)
    ending = _ending(
        course,
        draft=_todays_draft(course, records, shown),
        latest_score=guidance_lib.latest_of(measures),
    )
    guidance = guidance_lib.guidance_for(
        course,
        appointment_today=ending.today_appointment is not None,
        sessions=records,
        measures=measures,
    )
    return CourseOverview(
        course=course,
        can_write=can_write_client(user, course.client),
        guidance=guidance,
        sessions=[
            (s, guidance_lib.phase_label(guidance_lib.session_phase(course, s))) for s in shown
        ],
        sessions_total=len(records.records),
        latest=max((r.number for r in records.records), default=0),
        focus_areas=[a for a in course.problem_areas.all() if a.is_focus],
        formulation=getattr(course, "formulation", None),
        goals=list(course.goals.all()),
        people=[p for p in course.inventory.all() if p.snapshot == InventoryPerson.Snapshot.START],
        timeline=list(course.timeline.all()),
        ending=ending,
        chart=course_progress(
            course,
            sessions=records.held,
            held=guidance.sessions_held,  # the protocol's count is the chart's
            latest_sessions=CHART_SESSIONS,
        ),
    )


# The caseload ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseloadRow:
    course: Course
    latest_session: int
    guidance: guidance_lib.CourseGuidance
    risk_concerns: bool  # the latest session's risk check noted concerns
    # Next appointment, last session, latest score and its trend, open alert (issue 9 part 7).
    glance: Glance = field(default_factory=Glance)
    # The "not on track" signal (``measures.selectors.course_off_track``), from the summary.
    off_track: change.OffTrack | None = None

    @property
    def needs_attention(self) -> bool:
        return self.glance.open_alert or self.risk_concerns or bool(self.guidance.flag_count)

    @property
    def overdue_count(self) -> int:
        return sum(1 for item in self.guidance.due if str(item.severity) == "overdue")

    @property
    def risk_count(self) -> int:
        """Open risk alerts heading the guidance (``guidance.RISK``)."""
        return sum(1 for item in self.guidance.due if str(item.severity) == guidance_lib.RISK)

    @property
    def due_count(self) -> int:
        return sum(1 for item in self.guidance.due if str(item.severity) == "due")


_NO_APPOINTMENT = dt.datetime.max.replace(tzinfo=dt.UTC)
NO_GLANCE = Glance()


def _next_at(row: CaseloadRow) -> dt.datetime:
    upcoming = row.glance.next_appointment
    return upcoming.starts_at if upcoming else _NO_APPOINTMENT


def _by_name(row: CaseloadRow) -> tuple[str, str]:
    return (row.course.client.legal_family_name.lower(), row.course.client.legal_given_name.lower())


CASELOAD_SORTS = {
    "client": _by_name,
    "start": lambda r: r.course.start_date,
    "session": lambda r: (r.latest_session, r.course.planned_sessions),
    "phase": lambda r: (PHASE_ORDER[formats.Phase(r.guidance.phase)], -r.latest_session),
    # An open alert first, then risk concerns, then the most flags; ties by the next appointment.
    "flags": lambda r: (
        not r.glance.open_alert,
        not r.risk_concerns,
        -r.guidance.flag_count,
        _next_at(r),
        r.course.start_date,
    ),
    "next": lambda r: (_next_at(r), _by_name(r)),
}
CASELOAD_DEFAULT_SORT = "flags"


def _complete(summary: CourseSummary | None) -> bool:
    return (
        summary is not None
        and summary.measures is not None
        and summary.records.get("version") == records_summary.VERSION
    )


def summary_off_track(read: guidance_lib.SummaryRead, planned: int) -> change.OffTrack | None:
    """``measures.selectors.course_off_track`` from the course's summary."""
    results = read.own_measures
    if not results:
        return None
    code = results[0].instrument
    totals = [Decimal(str(r.total)) for r in results if r.instrument == code]
    today = timezone.localdate()
    held = max(  # ``measures.selectors.sessions_held``, from the sessions' local days
        (
            s.number
            for s in read.state.sessions
            if s.attendance is protocol.Attendance.ATTENDED and s.on is not None and s.on <= today
        ),
        default=0,
    )
    return change.off_track(
        change.rule_for(code), totals, sessions_held=held, planned_sessions=planned
    )


def summary_row(
    course: Course,
    summary: CourseSummary,
    previous: CourseSummary | None,
    *,
    open_alerts: list[RiskAlert],
    glance: Glance = NO_GLANCE,
) -> CaseloadRow:
    """One course of the caseload from its summary row (``previous``: the summary of the
    course it follows, for a maintenance course); no query."""
    read = guidance_lib.summary_read(course, summary, previous)
    return CaseloadRow(
        course,
        summary.latest_session_number,
        guidance_lib.guidance_of(read.state, open_alerts=open_alerts),
        risk_concerns=summary.latest_risk_check == Session.Risk.CONCERNS,
        glance=glance,
        off_track=summary_off_track(read, course.planned_sessions),
    )


def records_row(
    course: Course, *, open_alerts: list[RiskAlert], glance: Glance = NO_GLANCE
) -> CaseloadRow:
    """One course of the caseload from its records, fetched with ``COURSE_PREFETCH`` and its
    formulation and ending (no query): for a course whose summary row is not complete yet."""
    last = max(course.sessions.all(), key=lambda s: s.number, default=None)
    return CaseloadRow(
        course,
        last.number if last else 0,
        guidance_lib.guidance_for(course, open_alerts=open_alerts),
        risk_concerns=last is not None and last.risk_check == Session.Risk.CONCERNS,
        glance=glance,
        off_track=measure_selectors.course_off_track(course),
    )


def _previous_summary(course: Course) -> CourseSummary | None:
    return getattr(course.follows, "summary", None) if course.follows_id else None


def _summarised(course: Course) -> bool:
    """Whether the course (and the course it follows) has a complete summary row."""
    if not _complete(getattr(course, "summary", None)):
        return False
    return not course.follows_id or _complete(_previous_summary(course))


def caseload_rows(
    courses: list[Course], *, open_alerts: dict[int, list[RiskAlert]], glances: dict[int, Glance]
) -> list[CaseloadRow]:
    """The rows of these courses (fetched with ``summary`` and ``follows__summary``), in a
    fixed number of queries: from the summary rows, and for the few courses whose row is not
    complete yet (made before ``rebuild_course_summaries`` ran) from their records, all
    prefetched at once."""
    unsummarised = [course for course in courses if not _summarised(course)]
    if unsummarised:
        prefetch_related_objects(unsummarised, "formulation", "termination", *COURSE_PREFETCH)
    return [
        (
            summary_row(
                course,
                course.summary,
                _previous_summary(course),
                open_alerts=open_alerts.get(course.pk, []),
                glance=glances.get(course.pk, NO_GLANCE),
            )
            if _summarised(course)
            else records_row(
                course,
                open_alerts=open_alerts.get(course.pk, []),
                glance=glances.get(course.pk, NO_GLANCE),
            )
        )
        for course in courses
    ]


def caseload(
    user: User,
    *,
    sort: str = CASELOAD_DEFAULT_SORT,
    phase: str = "",
    course_format: str = "",
    flagged: bool = False,
) -> list[CaseloadRow]:
    """Open courses the user treats, with guidance and the columns of ``glance``; a fixed
    number of queries for any size: each course is read from its summary row
    (``treatment.CourseSummary``), not from its records."""
    courses = (
        _courses(user, write=True)
        .filter(status__in=[Course.Status.ASSESSMENT, Course.Status.ACTIVE])
        .select_related("client__practice", "summary", "follows__summary")
    )
    if course_format:
        courses = courses.filter(format=course_format)
    fetched = list(courses)
    glances = course_glances(user, [course.pk for course in fetched])
    alerts = measure_selectors.open_alerts_by_course(course.pk for course in fetched)
    rows = []
    for row in caseload_rows(fetched, open_alerts=alerts, glances=glances):
        if phase and row.guidance.phase != phase:
            continue
        if flagged and not row.needs_attention:
            continue
        rows.append(row)
    rows.sort(key=CASELOAD_SORTS.get(sort, CASELOAD_SORTS[CASELOAD_DEFAULT_SORT]))
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
