"""``manage.py load_demo``: every scenario with the records that make its pages worth
opening, the audit chain intact, a second run adding nothing, working sign-in details."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from openipt.accounts.models import Membership, Practice, Supervision
from openipt.audit.models import AuditEvent
from openipt.audit.verify import verify_chain
from openipt.clients.models import Client, ConsentRecord
from openipt.engagement.models import ConsultationRequest, DiaryEntry, Message, PortalAccess
from openipt.measures.models import Administration, RiskAlert, SafetyPlan
from openipt.measures.progress import course_progress
from openipt.scheduling.models import Appointment
from openipt.scheduling.times import zone_for
from openipt.treatment import recordings
from openipt.treatment.models import (
    BetweenSessionTask,
    Course,
    FidelityRating,
    Letter,
    PortfolioSignOff,
    Recording,
    Session,
    SupervisionMeeting,
)
from openipt.workspace.management.commands.load_demo import PRACTICE_NAME, STAFF

pytestmark = pytest.mark.django_db

SIGN_IN = re.compile(r"(\S+@example\.(?:org|com))\s+password: (\S+)")


def run() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def client(record: str) -> Client:
    return Client.objects.get(identifiers__value=record)


def courses(record: str) -> list[Course]:
    return list(Course.objects.filter(client=client(record)).order_by("start_date"))


def phq9_by_session(course: Course) -> list[tuple[int, int]]:
    rows = Administration.objects.filter(
        course=course, instrument__code="PHQ-9", session__isnull=False
    ).order_by("session__number")
    return [(row.session.number, int(row.total or 0)) for row in rows if row.session]


def check_people(practice: Practice) -> None:
    clients = Client.objects.filter(practice=practice)
    assert clients.count() == 7
    assert all(c.legal_family_name.startswith("Demo-") for c in clients)
    assert all(c.email.endswith("@example.com") for c in clients)
    consents = ConsentRecord.objects.filter(client__practice=practice)
    assert consents.filter(kind=ConsentRecord.Kind.TREATMENT).count() == 7
    staff = Membership.objects.filter(practice=practice, kind=Membership.Kind.STAFF)
    assert sorted(m.user.email for m in staff) == sorted(p.email for p in STAFF)
    assert Supervision.objects.filter(
        supervisor__user__email="demo-supervisor@example.org",
        supervisee__user__email="demo-clinician@example.org",
        is_active=True,
    ).exists()
    assert "demo practice" in practice.crisis_information.lower()


def check_assessment() -> None:
    [course] = courses("DEMO-101")
    assert course.status == Course.Status.ASSESSMENT
    assert course.sessions.count() == 1
    assert phq9_by_session(course) == [(1, 16)]
    assert course.inventory.exists()
    assert course.timeline.exists()
    assert course.problem_areas.filter(is_candidate=True).exists()
    assert not course.contracts.exists()


def check_role_dispute() -> None:
    [course] = courses("DEMO-102")
    assert course.status == Course.Status.ACTIVE
    assert course.format == "ipt"
    scores = [total for _n, total in phq9_by_session(course)]
    assert len(scores) == 6
    assert all(a > b for a, b in itertools.pairwise(scores))
    sessions = list(course.sessions.all())
    assert [s.number for s in sessions] == [1, 2, 3, 4, 5, 6]
    assert all(s.is_signed for s in sessions)
    # Weekly: each PHQ-9 is dated on its own session's day, a week apart.
    dates = [
        a.completed_at for a in Administration.objects.filter(course=course, session__isnull=False)
    ]
    assert [s.starts_at for s in sessions] == sorted(d for d in dates if d is not None)
    area = course.problem_areas.get(is_primary=True)
    assert area.area == "role_dispute"
    assert area.other_person is not None
    assert course.formulation.is_agreed
    assert course.contracts.count() == 1
    assert course.goals.count() == 2
    assert all(g.ratings.exists() for g in course.goals.all())
    assert course.between_tasks.filter(status=BetweenSessionTask.Status.DONE).count() == 2
    assert course.between_tasks.exclude(client_note="").count() == 2
    who = client("DEMO-102")
    assert Message.objects.filter(client=who, from_client=True).count() == 2
    assert Message.objects.filter(client=who, from_client=False).count() == 2
    assert Message.objects.filter(client=who, from_client=True, read_at__isnull=True).count() == 1
    assert Message.objects.filter(client=who, from_client=False, read_at__isnull=True).count() == 0
    assert DiaryEntry.objects.filter(client=who).count() == 4
    done = Administration.objects.get(client=who, instrument__code="WHO-5")
    assert done.mode == Administration.Mode.CLIENT_COMPLETED
    assert done.total is not None
    due = Administration.objects.get(client=who, instrument__code="GAD-7")
    assert due.status == Administration.Status.DUE
    access = PortalAccess.objects.get(client=who)
    assert access.user is not None
    assert access.share_progress
    assert SafetyPlan.objects.filter(client=who).exists()


def check_grief() -> None:
    [course] = courses("DEMO-103")
    assert course.problem_areas.get(is_primary=True).area == "grief"
    alert = RiskAlert.objects.get(course=course)
    assert alert.status == RiskAlert.Status.OPEN
    assert alert.flags
    assert alert.administration.mode == Administration.Mode.CLIENT_COMPLETED
    assert SafetyPlan.objects.filter(client=course.client).exists()
    assert course.between_tasks.filter(status=BetweenSessionTask.Status.NOT_DONE).exists()
    assert Message.objects.filter(client=course.client, read_at__isnull=True).exists()


def check_concluded_and_maintenance() -> None:
    acute, maintenance = courses("DEMO-104")
    assert acute.status == Course.Status.CONCLUDED
    assert acute.sessions.count() == 12
    assert acute.termination.next_step == "maintenance"
    assert acute.termination.relapse_plan
    assert acute.inventory.filter(snapshot="end").exists()
    [phq9] = [i for i in course_progress(acute).instruments if i.code == "PHQ-9"]
    assert phq9.summary.baseline == 18
    assert phq9.summary.latest == 4
    assert phq9.summary.reliable_improvement
    assert phq9.summary.remission
    assert maintenance.format == "ipt_m"
    assert maintenance.status == Course.Status.ACTIVE
    assert maintenance.follows == acute
    assert maintenance.sessions.count() == 1


def check_adolescent_brief_and_referral() -> None:
    [teen] = courses("DEMO-105")
    assert teen.format == "ipt_a"
    assert "parent" in teen.participants
    assert any("parent" in s.attendees for s in teen.sessions.all())
    [brief] = courses("DEMO-106")
    assert brief.format == "ipt_b"
    assert brief.sessions.filter(number=0).exists()
    assert brief.sessions.filter(signed_at__isnull=True).count() == 1
    assert brief.termination.raised_at_session == 5
    assert courses("DEMO-107") == []
    assert Appointment.objects.filter(
        client=client("DEMO-107"), kind=Appointment.Kind.CONSULTATION
    ).exists()
    assert ConsultationRequest.objects.filter(status=ConsultationRequest.Status.OPEN).count() == 1


def check_this_week(practice: Practice) -> None:
    zone = zone_for(practice)
    today = timezone.localtime(timezone.now(), zone).date()
    booked = Appointment.objects.filter(status=Appointment.Status.BOOKED)
    days = {timezone.localtime(a.starts_at, zone).date() for a in booked}
    assert {today, today + dt.timedelta(days=1), today + dt.timedelta(days=2)} <= days
    assert booked.filter(starts_at__date__lte=today + dt.timedelta(days=1)).count() >= 3
    attended = Appointment.objects.filter(status=Appointment.Status.ATTENDED)
    assert attended.exists()
    assert all(a.session_id for a in attended)
    assert Session.objects.filter(course__client__practice=practice).count() == attended.count()


def check_training() -> None:
    """Devon's concluded course: a letter to his GP with consent to send it, a sealed
    recording with a supervisor's comment, both fidelity ratings, a signed supervision note
    with a follow-up for the clinician; the portfolio is left for the supervisor to sign off."""
    acute = next(c for c in courses("DEMO-104") if c.status == Course.Status.CONCLUDED)
    supervisor = Membership.objects.get(user__email="demo-supervisor@example.org")
    clinician = Membership.objects.get(user__email="demo-clinician@example.org")
    letter = Letter.objects.get(course=acute)
    assert letter.kind == "end_of_treatment"
    assert "Demo-GP" in letter.recipient_name
    assert "Devon" in letter.body
    assert ConsentRecord.objects.filter(
        client=acute.client, kind=ConsentRecord.Kind.SHARE_REFERRER
    ).exists()
    recording = Recording.objects.get(session__course=acute)
    assert recordings.active_consent(acute) is not None
    plain = b"".join(recordings.plaintext_chunks(recording))
    assert plain[:4] == b"RIFF"
    assert len(plain) > 8000 * 2
    assert recording.comments.get().author == supervisor.user
    roles = set(
        FidelityRating.objects.filter(session=recording.session).values_list("role", flat=True)
    )
    assert roles == {FidelityRating.Role.THERAPIST, FidelityRating.Role.SUPERVISOR}
    meeting = SupervisionMeeting.objects.get(supervisor=supervisor)
    assert meeting.is_signed
    assert list(meeting.supervisees.all()) == [clinician]
    assert list(meeting.cases.all()) == [acute]
    assert meeting.follow_ups.get().supervisee == clinician
    assert not PortfolioSignOff.objects.filter(course=acute).exists()  # left to the supervisor


def test_load_demo_builds_every_scenario_and_runs_again_without_duplicates():
    first = run()
    practice = Practice.objects.get(name=PRACTICE_NAME)
    check_people(practice)
    check_assessment()
    check_role_dispute()
    check_grief()
    check_concluded_and_maintenance()
    check_adolescent_brief_and_referral()
    check_this_week(practice)
    check_training()
    assert verify_chain().intact
    assert "Audit chain verified" in first

    counts = (Client.objects.count(), Session.objects.count(), Appointment.objects.count())
    made = [Letter, Recording, FidelityRating, SupervisionMeeting, ConsentRecord]
    training = [model.objects.count() for model in made]
    events = AuditEvent.objects.count()
    second = run()
    assert (Client.objects.count(), Session.objects.count(), Appointment.objects.count()) == counts
    assert AuditEvent.objects.count() == events
    assert [model.objects.count() for model in made] == training
    assert "(added now)" not in second
    assert second.count("(already there)") == 7
    printed = dict(SIGN_IN.findall(second))
    assert set(printed) == {p.email for p in STAFF} | {"blake.demo-birch@example.com"}
    for email, password in printed.items():
        assert authenticate(email=email, password=password) is not None
    assert "authenticator" in second


def test_load_demo_refuses_a_database_with_another_practice():
    Practice.objects.create(name="A real practice", time_zone="Europe/London")
    with pytest.raises(CommandError, match="database of its own"):
        run()
    assert not Practice.objects.filter(name=PRACTICE_NAME).exists()
