"""The supervisor's workspace (docs/user/supervision.md): for each person the member actively
supervises, their open caseload with phase and flags, the sessions waiting for the member's
co-signature or fidelity rating, the member's recent fidelity ratings of their sessions, and
their outcomes over the last year.

Only the member's own supervisees (``policy.supervisees_of``) are shown, and a fixed number
of queries is run whatever the number of supervisees or courses: the caseload is built as
``selectors.caseload`` builds it, over the supervisees' courses at once; outcomes come from
the practice outcome dashboard grouped by clinician (``outcomes.practice_outcomes``), with
its small-cell suppression. Fidelity ratings keep their blindness: beside the member's own
rating of a session the therapist's self-rating is shown only when the member has rated.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from openipt.accounts import policy
from openipt.accounts.models import Membership, Supervision, User
from openipt.care import outcomes
from openipt.care.glance import course_glances
from openipt.care.selectors import CASELOAD_SORTS, CaseloadRow, caseload_rows
from openipt.engagement.inbox import notes_to_cosign
from openipt.measures import selectors as measure_selectors
from openipt.treatment import fidelity
from openipt.treatment.models import Course, FidelityRating, Session, SupervisionMeeting

RATING_WINDOW = dt.timedelta(days=60)  # attended sessions this recent are offered for rating
RATINGS_SHOWN = 8
TO_RATE_SHOWN = 5
OUTCOME_PERIOD = dt.timedelta(days=365)
MEETINGS_SHOWN = 10


@dataclass(frozen=True)
class RatingPoint:
    session: Session
    supervisor_overall: int
    supervisor_label: str
    therapist_overall: int | None  # None: the therapist has not rated it
    therapist_label: str
    scale_max: int


@dataclass(frozen=True)
class SuperviseePanel:
    supervisee: Membership
    is_training: bool
    caseload: list[CaseloadRow]
    to_cosign: list[Session]
    to_rate: list[Session]
    to_rate_count: int
    ratings: list[RatingPoint]  # oldest first, the latest ``RATINGS_SHOWN``
    outcome: outcomes.MeasureRates | None

    @property
    def flagged_count(self) -> int:
        return sum(1 for row in self.caseload if row.needs_attention)


@dataclass(frozen=True)
class Workspace:
    panels: list[SuperviseePanel]
    meetings: list[SupervisionMeeting]
    outcome_from: dt.date
    outcome_to: dt.date


def _caseload(user: User, supervisee_ids: list[int]) -> dict[int, list[CaseloadRow]]:
    # As the caseload: each course from its summary row (``treatment.CourseSummary``).
    courses = list(
        Course.objects.filter(
            clinician_id__in=supervisee_ids,
            status__in=[Course.Status.ASSESSMENT, Course.Status.ACTIVE],
        ).select_related("client__practice", "summary", "follows__summary")
    )
    glances = course_glances(user, [course.pk for course in courses])
    alerts = measure_selectors.open_alerts_by_course(course.pk for course in courses)
    rows: dict[int, list[CaseloadRow]] = defaultdict(list)
    for course, row in zip(
        courses, caseload_rows(courses, open_alerts=alerts, glances=glances), strict=True
    ):
        rows[course.clinician_id].append(row)
    for found in rows.values():
        found.sort(key=CASELOAD_SORTS["flags"])
    return rows


def _to_rate(user: User, supervisee_ids: list[int]) -> QuerySet[Session]:
    """Attended, signed sessions of the last ``RATING_WINDOW`` the member has not rated."""
    rated = FidelityRating.objects.filter(session_id=OuterRef("pk"), rater=user)
    return (
        Session.objects.filter(
            course__clinician_id__in=supervisee_ids,
            attendance=Session.Attendance.ATTENDED,
            signed_at__isnull=False,
            starts_at__gte=timezone.now() - RATING_WINDOW,
        )
        .exclude(course__status=Course.Status.ENTERED_IN_ERROR)
        .exclude(Exists(rated))
        .select_related("course__client")
        .order_by("-starts_at", "-pk")
    )


def _ratings(user: User, supervisee_ids: list[int]) -> dict[int, list[RatingPoint]]:
    own = list(
        FidelityRating.objects.filter(rater=user, session__course__clinician_id__in=supervisee_ids)
        .select_related("session__course__client")
        .order_by("session__starts_at", "pk")
    )
    # The therapist's self-ratings of the sessions the member has rated (visible once both are
    # saved, as on the session's own page).
    selves = {
        r.session_id: r
        for r in FidelityRating.objects.filter(
            session_id__in=[r.session_id for r in own], role=FidelityRating.Role.THERAPIST
        )
    }
    points: dict[int, list[RatingPoint]] = defaultdict(list)
    for rating in own:
        scale = fidelity.scale_for(rating.scale_code, rating.scale_version)
        top = max((a.value for a in scale.overall_anchors), default=0)
        mine = selves.get(rating.session_id)
        points[rating.session.course.clinician_id].append(
            RatingPoint(
                rating.session,
                rating.overall,
                scale.overall_label(rating.overall),
                mine.overall if mine else None,
                scale.overall_label(mine.overall) if mine else "",
                top,
            )
        )
    return {key: found[-RATINGS_SHOWN:] for key, found in points.items()}


def _outcomes(membership: Membership) -> tuple[dt.date, dt.date, dict[str, outcomes.GroupRow]]:
    today = timezone.localdate()
    start = today - OUTCOME_PERIOD
    filters = outcomes.OutcomeFilters(date_from=start, date_to=today, group_by="clinician")
    board = outcomes.practice_outcomes(
        membership, filters, clinicians=outcomes.outcome_clinicians(membership)
    )
    return start, today, {row.key: row for row in board.groups}


def supervisor_workspace(user: User, membership: Membership) -> Workspace:
    """The workspace of an active supervisor (``policy.can_keep_supervision``)."""
    if not policy.can_keep_supervision(membership):
        raise PermissionError("supervisor workspace")
    relations = list(
        Supervision.objects.filter(
            supervisor=membership, is_active=True, supervisee__in=policy.supervisees_of(membership)
        )
        .select_related("supervisee__user")
        .order_by("supervisee__user__full_name", "pk")
    )
    ids = [r.supervisee_id for r in relations]
    caseloads = _caseload(user, ids) if ids else {}
    to_cosign: dict[int, list[Session]] = defaultdict(list)
    to_rate: dict[int, list[Session]] = defaultdict(list)
    ratings = _ratings(user, ids) if ids else {}
    if ids:
        cosign = notes_to_cosign(membership).filter(course__clinician_id__in=ids)
        for s in cosign.select_related("course__client").order_by("signed_at", "pk"):
            to_cosign[s.course.clinician_id].append(s)
        for s in _to_rate(user, ids):
            to_rate[s.course.clinician_id].append(s)
    start, end, groups = _outcomes(membership)
    panels = []
    for relation in relations:
        key = relation.supervisee_id
        group = groups.get(str(key))
        panels.append(
            SuperviseePanel(
                supervisee=relation.supervisee,
                is_training=relation.is_training,
                caseload=caseloads.get(key, []),
                to_cosign=to_cosign.get(key, []),
                to_rate=to_rate.get(key, [])[:TO_RATE_SHOWN],
                to_rate_count=len(to_rate.get(key, [])),
                ratings=ratings.get(key, []),
                outcome=group.outcome if group else None,
            )
        )
    meetings = list(
        SupervisionMeeting.objects.filter(supervisor=membership)
        .prefetch_related("supervisees__user")
        .order_by("-held_on", "-pk")[:MEETINGS_SHOWN]
    )
    return Workspace(panels, meetings, start, end)
