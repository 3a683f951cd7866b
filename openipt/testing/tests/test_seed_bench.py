from __future__ import annotations

import datetime as dt
import io

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import CommandError, call_command
from django.db import transaction

from openipt.accounts.models import Membership, Practice, Supervision
from openipt.accounts.policy import client_access_q
from openipt.audit.models import AuditEvent
from openipt.audit.verify import verify_chain
from openipt.clients.models import CareTeamMember, Client, ClientIdentifier, ConsentRecord
from openipt.measures.models import Administration, RiskAlert
from openipt.measures.scoring import score
from openipt.testing.management.commands.seed_bench import PRACTICE_NAME, Progress
from openipt.treatment.models import Course, InventoryPerson, Session

pytestmark = pytest.mark.django_db


REFERENCE = dt.date(2026, 6, 1)


def seed(clients: int = 12, **options: object) -> str:
    out = io.StringIO()
    options = {
        "clinicians": 4,
        "supervisors": 2,
        "batch_size": 5,
        "long_course": 0,
        "reference_date": REFERENCE,
        **options,
    }
    call_command("seed_bench", clients=clients, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def snapshot() -> list[tuple[object, ...]]:
    clients = Client.objects.order_by("id").values_list(
        "legal_given_name",
        "legal_family_name",
        "date_of_birth",
        "identifiers__value",
        "care_team__member__user__email",
    )
    courses = Course.objects.order_by("id").values_list(
        "client__legal_family_name", "format", "status", "start_date", "planned_sessions"
    )
    sessions = Session.objects.order_by("id").values_list("number", "starts_at", "mood")
    people = InventoryPerson.objects.order_by("id").values_list("name", "relationship", "circle")
    scores = Administration.objects.order_by("id").values_list("session__number", "total", "band")
    return [*clients, *courses, *sessions, *people, *scores]


def test_builds_a_practice_where_every_client_has_a_primary_identifier_and_consent():
    output = seed(clients=12)

    practice = Practice.objects.get(name=PRACTICE_NAME)
    clients = Client.objects.filter(practice=practice)
    assert clients.count() == 12
    assert "12 clients, 4 clinicians, 2 supervisors" in output
    for client in clients:
        client.full_clean()
        primary = CareTeamMember.objects.get(client=client, is_active=True)
        assert primary.role == CareTeamMember.Role.PRIMARY
        assert (
            ClientIdentifier.objects.filter(client=client, value__startswith="BENCH-").count() == 1
        )
        assert ConsentRecord.objects.filter(client=client, kind="treatment").count() == 1
    assert (
        ClientIdentifier.objects.filter(practice=practice).values("value").distinct().count() == 12
    )


def test_staff_can_reach_the_pages_behind_mfa_and_supervisors_see_their_supervisees_clients():
    seed(clients=12)

    staff = Membership.objects.filter(practice__name=PRACTICE_NAME)
    assert staff.count() == 6
    totp_users = Authenticator.objects.filter(type=Authenticator.Type.TOTP).values("user_id")
    assert staff.exclude(user_id__in=totp_users).count() == 0
    clinician = staff.get(user__email="clinician001@bench.invalid")
    assert Client.objects.filter(client_access_q(clinician)).count() == 3  # 12 over 4
    supervisor = staff.get(user__email="supervisor01@bench.invalid")
    assert Supervision.objects.filter(supervisor=supervisor).count() == 2
    assert Client.objects.filter(client_access_q(supervisor)).count() == 6


def test_each_client_has_a_create_event_and_the_audit_chain_verifies():
    seed(clients=12)

    events = list(AuditEvent.objects.order_by("id"))
    created = {
        e.client_id for e in events if e.action == "create" and e.object_type == "clients.client"
    }
    assert created == set(Client.objects.values_list("id", flat=True))
    result = verify_chain()
    assert result.intact
    assert result.checked == len(events)


def test_same_seed_gives_the_same_practice() -> None:
    class Rollback(Exception):
        pass

    def seed_then_roll_back() -> None:
        with transaction.atomic():
            seed(clients=8, seed=7)
            first.extend(snapshot())
            raise Rollback

    first: list[tuple[object, ...]] = []
    with pytest.raises(Rollback):
        seed_then_roll_back()
    assert Client.objects.count() == 0
    seed(clients=8, seed=7)
    assert snapshot() == first
    assert len(first) > 8 * 10  # clients plus their courses, sessions, people and scores


def test_refuses_to_run_twice_into_the_same_database():
    seed(clients=3)

    with pytest.raises(CommandError, match="fresh database"):
        seed(clients=3)
    assert Client.objects.count() == 3


def test_refuses_a_database_that_holds_a_real_practice(personas):
    with pytest.raises(CommandError, match="fresh database"):
        seed(clients=3)
    assert not Practice.objects.filter(name=PRACTICE_NAME).exists()


def test_courses_have_sessions_inventories_and_scored_questionnaires():
    output = seed(clients=10)

    courses = Course.objects.all()
    assert courses.count() == 12  # one each, and an earlier one for every fifth client
    assert "12 courses" in output
    for course in courses.select_related("client", "clinician"):
        primary = CareTeamMember.objects.get(client=course.client, role="primary")
        assert course.clinician_id == primary.member_id  # treated by their own clinician
        numbers = list(course.sessions.values_list("number", flat=True))
        assert numbers == list(range(1, len(numbers) + 1))
        assert len(numbers) <= course.planned_sessions
        if course.status == Course.Status.CONCLUDED:
            assert len(numbers) == course.planned_sessions
        assert course.inventory.count() == 5
        first = course.sessions.first()
        assert first is None or first.starts_at.date() >= course.start_date
    assert Course.objects.filter(status__in=["active", "assessment"]).exists()
    phq9 = Administration.objects.select_related("instrument", "session")
    assert phq9.count() > 0
    for administration in phq9:
        assert administration.instrument.code == "PHQ-9"
        assert administration.session.course_id == administration.course_id
        assert administration.session.attendance == "attended"
        result = score(administration.instrument.parsed, administration.answers)
        assert administration.total == result.total
        assert administration.band == result.band
        assert administration.flags == []
    assert not RiskAlert.objects.exists()


def test_every_course_has_a_create_event_and_the_chain_still_verifies():
    seed(clients=10, long_course=30)

    events = AuditEvent.objects.filter(action="create", object_type="treatment.course")
    assert set(events.values_list("object_id", flat=True)) == {
        str(u) for u in Course.objects.values_list("uuid", flat=True)
    }
    assert verify_chain().intact


def test_the_long_course_belongs_to_the_first_client():
    seed(clients=6, long_course=40)

    long_course = Course.objects.get(client__identifiers__value="BENCH-000001")
    assert long_course.sessions.count() == 40
    assert long_course.planned_sessions == 40
    assert long_course.status == Course.Status.ACTIVE
    assert long_course.administrations.count() >= 15  # every other attended session
    assert long_course.sessions.order_by("-number").first().starts_at.date() <= REFERENCE


def test_no_courses_leaves_only_the_clients():
    output = seed(clients=5, no_courses=True)

    assert Client.objects.count() == 5
    assert not Course.objects.exists()
    assert "0 courses" in output


def test_progress_bar_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = Progress(10, "Clients", stream=stream)
        bar.update(5)
        bar.update(10)
        bar.finish()
    assert "\rClients [" in tty.getvalue()
    assert tty.getvalue().rstrip().endswith("10/10")
    assert pipe.getvalue() == ""


def test_the_seed_ends_with_fresh_planner_statistics():
    """ANALYZE after the bulk rows: PostgreSQL records when, SQLite fills sqlite_stat1."""
    from django.db import connection

    seed(clients=5)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE relname = 'treatment_session'"
            )
        else:
            cursor.execute("SELECT count(*) > 0 FROM sqlite_stat1")
        assert cursor.fetchone()[0]
