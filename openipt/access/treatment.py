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
from collections.abc import Callable
from typing import TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from openipt.accounts import policy
from openipt.accounts.models import Membership, User
from openipt.audit.models import AuditEvent
from openipt.audit.services import record, record_read
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
    Recording,
    Session,
    SupervisionFollowUp,
    SupervisionMeeting,
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


def _session_allowed(
    user: User,
    course_uuid: UUIDLike,
    session_uuid: UUIDLike,
    allowed: Callable[[Membership | None, Session], bool],
    audit: HttpRequest | None,
    detail: str,
) -> Session:
    """A session of a course ``user`` may read, which the policy rule ``allowed`` lets them
    reach; ``Http404`` otherwise. The read is audited when ``audit`` is given."""
    course = access_course(user, course_uuid)
    session = access_session(course, session_uuid)
    if not allowed(policy.staff_membership(user), session):
        raise Http404
    _read(course, session, audit, detail)
    return session


def access_session_to_cosign(
    user: User,
    course_uuid: UUIDLike,
    session_uuid: UUIDLike,
    *,
    audit: HttpRequest | None = None,
    detail: str = "",
) -> Session:
    """A session note ``user`` co-signs (or returns with a comment): one of a course they may
    read, signed by a clinician in training under them (docs/adr/0018-trainee-co-signature.md).
    The author, another supervisor, another practice and the client get ``Http404``, whatever
    state the note is in."""
    return _session_allowed(user, course_uuid, session_uuid, policy.can_cosign, audit, detail)


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


def access_session_to_rate(
    user: User,
    course_uuid: UUIDLike,
    session_uuid: UUIDLike,
    *,
    audit: HttpRequest | None = None,
    detail: str = "",
) -> Session:
    """A session ``user`` may rate for fidelity (docs/adr/0020-fidelity-ratings.md): one of a
    course they may read, whose therapist is them or someone they actively supervise. Another
    supervisor, the administrator, another practice and the client get ``Http404``."""
    return _session_allowed(
        user, course_uuid, session_uuid, policy.can_rate_fidelity, audit, detail
    )


def access_course_portfolio(
    user: User,
    course_uuid: UUIDLike,
    *,
    audit: HttpRequest | None = None,
    detail: str = "",
) -> Course:
    """A course whose certification case portfolio ``user`` may see (openipt/care/portfolio.py):
    one they may read, treated by them or by a clinician they actively supervise. Another
    supervisor, the administrator, another practice and the client get ``Http404``."""
    course = access_course(user, course_uuid)
    if not policy.can_see_portfolio(policy.staff_membership(user), course):
        raise Http404
    _read(course, course, audit, detail)
    return course


def access_supervision_meeting(
    user: User,
    meeting_uuid: UUIDLike,
    *,
    edit: bool = False,
    audit: HttpRequest | None = None,
) -> SupervisionMeeting:
    """A supervision meeting note ``user`` may read (``edit``: change, while a draft): its
    supervisor, or once signed a supervisee it names. Another supervisor, another practice,
    the administrator as such and the client get ``Http404``. With ``audit`` the read is
    recorded against the note (it is about staff; the clients of its cases are recorded when
    it is signed)."""
    membership = policy.staff_membership(user)
    meeting = (
        SupervisionMeeting.objects.filter(policy.supervision_meetings_q(membership))
        .select_related("supervisor__user", "signed_by")
        .filter(uuid=parse_uuid(meeting_uuid))
        .first()
    )
    if meeting is None or not policy.can_read_supervision_meeting(membership, meeting):
        raise Http404
    if edit and not policy.can_edit_supervision_meeting(membership, meeting):
        raise Http404
    if audit is not None:
        record(
            actor=user, action=AuditEvent.Action.READ, obj=meeting,
            practice_id=meeting.supervisor.practice_id, request=audit,
        )  # fmt: skip
    return meeting


def access_follow_up(user: User, follow_up_uuid: UUIDLike) -> SupervisionFollowUp:
    """One of ``user``'s own follow-ups of a signed supervision note; anyone else's is
    ``Http404``."""
    membership = policy.staff_membership(user)
    follow_up = (
        SupervisionFollowUp.objects.filter(supervisee=membership, meeting__signed_at__isnull=False)
        .select_related("meeting")
        .filter(uuid=parse_uuid(follow_up_uuid))
        .first()
    )
    if membership is None or follow_up is None:
        raise Http404
    return follow_up


# Session recordings (docs/adr/0021-session-recordings.md) --------------------------------


def access_session_recordings(
    user: User,
    course_uuid: UUIDLike,
    session_uuid: UUIDLike,
    *,
    audit: HttpRequest | None = None,
    detail: str = "",
) -> Session:
    """A session whose recordings ``user`` may reach: one of a course they may read, whose
    therapist is them or someone they actively supervise. Another supervisor, the
    administrator, another practice and the client get ``Http404``."""
    return _session_allowed(
        user, course_uuid, session_uuid, policy.can_access_recording, audit, detail
    )


def access_recording(
    user: User,
    course_uuid: UUIDLike,
    session_uuid: UUIDLike,
    recording_uuid: UUIDLike,
    *,
    audit: HttpRequest | None = None,
    detail: str = "",
) -> Recording:
    """One recording of such a session, not yet deleted; otherwise ``Http404``."""
    session = access_session_recordings(user, course_uuid, session_uuid)
    recording = Recording.objects.filter(
        session=session, uuid=parse_uuid(recording_uuid), deleted_at__isnull=True
    ).first()
    if recording is None:
        raise Http404
    recording.session = session
    _read(session.course, recording, audit, detail)
    return recording


def access_recording_consent(
    user: User, course_uuid: UUIDLike, *, audit: HttpRequest | None = None, detail: str = ""
) -> Course:
    """A course whose consent to recording ``user`` records or withdraws: its responsible
    clinician, with write access. Everyone else gets ``Http404``."""
    course = access_course(user, course_uuid, write=True)
    membership = policy.staff_membership(user)
    if membership is None or not membership.is_clinician or membership.pk != course.clinician_id:
        raise Http404
    _read(course, course, audit, detail)
    return course
