"""Build the synthetic benchmark practice used by ``bench/run.py``.

Everything here is fictional and deterministic for a given ``--seed``: the same command on
an empty database always yields the same people, dates and identifiers (only UUIDs, times
and the TOTP secrets differ). Rows are written with ``bulk_create`` in batches; each client
gets one audit "create" event through ``openipt.audit.services.record`` so that the hash
chain stays valid.

Each client also gets IPT courses (about 1.2 per client), their sessions, a five-person
interpersonal inventory per course and a PHQ-9 at every other attended session, scored by the
real scoring code (``--no-courses`` skips all of this). ``--long-course N`` gives the first
client (``BENCH-000001``) one maintenance course of N sessions, the stress case for the
course overview. Audited in the seed: one "create" event per client and one per course.
Sessions, inventory people and administrations are bulk rows without their own events (a
real practice would have one each; writing ~250,000 chained events would make the seed take
far longer and would not change what the benchmarked pages read). Being bulk rows, they pass
by the services that keep each course's summary row current, so the seed ends by building
every summary (``rebuild_course_summaries``), as the caseload reads them.

Audit rows can never be deleted, so the command refuses to run into a database that
already holds any practice: use a fresh database file (see bench/README.md).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from openipt.accounts.models import Membership, Practice, Supervision, User
from openipt.audit.models import AuditEvent
from openipt.audit.services import record
from openipt.clients.models import CareTeamMember, Client, ClientIdentifier, ConsentRecord
from openipt.clients.services import search_name_for
from openipt.measures.models import Administration, Instrument
from openipt.measures.scoring import ScoreResult, answers_from_entries, score
from openipt.measures.summary import summaries_rebuild
from openipt.treatment.models import Course, Format, InventoryPerson
from openipt.treatment.models import Session as CourseSession

PRACTICE_NAME = "Benchmark Practice (synthetic)"
EMAIL_DOMAIN = "bench.invalid"
CONSENT_TEXT_VERSION = "bench-1"
AUDIT_DETAIL = "synthetic benchmark seed"
CONSENT_FROM = dt.date(2023, 1, 1)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Plainly invented names: common given names and made-up family names.
GIVEN_NAMES = _words(
    """Ada Alex Amir Ana Ben Bea Cai Chloe Dev Dora Eli Emma Finn Fatima Gus Grace Hana Hugo
    Ivan Iris Jae Jun Kai Kira Leo Lena Mia Malik Nia Noor Omar Olga Pia Priya Quinn Rosa
    Ravi Sam Sara Tariq Tess Uma Vic Vera Wes Wen Xia Yara Yusuf Zoe"""
)
FAMILY_STEMS = _words(
    """Ash Birch Brook Cedar Clay Dale Elm Fern Field Ford Glen Hale Heath Holt Lake Lark Marsh
    Moss Oak Pike Reed Ridge Rowan Sand Shaw Stone Thorn Vale Wells Wood"""
)
FAMILY_SUFFIXES = ("", "by", "croft", "ley", "more", "ton", "well", "wick")
PRONOUNS = ("", "she/her", "he/him", "they/them")
LANGUAGES = ("English", "English", "English", "Spanish", "Polish", "Urdu")


@dataclass(frozen=True)
class Summary:
    clients: int
    clinicians: int
    supervisors: int
    audit_events: int
    seconds: float
    courses: int = 0
    sessions: int = 0
    inventory: int = 0
    administrations: int = 0


class Progress:
    """A plain ``\\r`` progress bar on stderr, shown only when stderr is a terminal."""

    def __init__(self, total: int, label: str, *, stream: Any = None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / self.total)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total}")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _analyse() -> None:
    """Fresh planner statistics for the rows just written: without them PostgreSQL plans
    the benchmark's queries blind (autovacuum may not have run yet). SQLite's ANALYZE
    feeds its planner too (sqlite_stat1)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


class Command(BaseCommand):
    help = "Create the synthetic benchmark practice (use a fresh database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clients", type=int, required=True, help="number of clients")
        parser.add_argument("--clinicians", type=int, default=50)
        parser.add_argument("--supervisors", type=int, default=5)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument(
            "--long-course",
            type=int,
            default=1000,
            help="sessions in the first client's long course (0 for none)",
        )
        parser.add_argument(
            "--no-courses", action="store_true", help="clients only: no courses or measures"
        )
        parser.add_argument(
            "--reference-date",
            type=dt.date.fromisoformat,
            default=None,
            help="the 'today' that course dates count back from (default: today)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        clients, clinicians = options["clients"], options["clinicians"]
        supervisors, batch_size = options["supervisors"], options["batch_size"]
        long_course = options["long_course"]
        if clients < 0 or clinicians < 1 or supervisors < 0 or batch_size < 1 or long_course < 0:
            raise CommandError(
                "--clients and --long-course must be >= 0, --clinicians and --batch-size >= 1."
            )
        started = time.perf_counter()
        progress = Progress(clients, "Clients")
        courses = None
        if not options["no_courses"]:
            today = options["reference_date"] or timezone.localdate()
            courses = CourseSeeder(options["seed"], today=today, long_course=long_course)
        # One transaction: a failure part-way leaves nothing behind to block a retry.
        with transaction.atomic():
            _refuse_unless_fresh()
            rng = random.Random(options["seed"])  # noqa: S311 (synthetic data, not secrets)
            practice, staff, supervisor_list = _create_staff(clinicians, supervisors)
            done = 0
            while done < clients:
                size = min(batch_size, clients - done)
                batch = _create_client_batch(rng, practice, staff, start=done, size=size)
                if courses is not None:
                    courses.add(batch, start=done)
                done += size
                progress.update(done)
        progress.finish()
        # The rows above are bulk rows, written past the services that keep each course's
        # summary (the caseload's read) current: build them all now.
        summaries_rebuild()
        _analyse()
        counts = courses.counts if courses is not None else CourseCounts()
        summary = Summary(
            clients=clients,
            clinicians=len(staff),
            supervisors=len(supervisor_list),
            audit_events=clients + counts.courses,
            seconds=time.perf_counter() - started,
            courses=counts.courses,
            sessions=counts.sessions,
            inventory=counts.inventory,
            administrations=counts.administrations,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{PRACTICE_NAME}: {summary.clients} clients, {summary.clinicians} clinicians, "
                f"{summary.supervisors} supervisors, {summary.courses} courses, "
                f"{summary.sessions} sessions, {summary.inventory} inventory people, "
                f"{summary.administrations} administrations, {summary.audit_events} audit "
                f"events in {summary.seconds:.1f} s."
            )
        )
        self.stdout.write(
            f"Staff sign-in addresses: clinician001@{EMAIL_DOMAIN} … and "
            f"supervisor01@{EMAIL_DOMAIN} …; they have no usable password "
            "(bench/run.py opens sessions directly)."
        )


def _refuse_unless_fresh() -> None:
    if Practice.objects.filter(name=PRACTICE_NAME).exists():
        raise CommandError(
            f"{PRACTICE_NAME!r} already exists in this database. Audit rows can never be "
            "deleted, so it cannot be rebuilt in place: use a fresh database file (for "
            "example OPENIPT_VAR_DIR=var/bench-new) or a new DATABASE_URL."
        )
    if Practice.objects.exists():
        raise CommandError(
            "This database already holds a practice. The benchmark writes permanent audit "
            "rows, so it runs only on a fresh database (for example OPENIPT_VAR_DIR=var/bench "
            "or a new DATABASE_URL)."
        )


def _create_staff(
    clinicians: int, supervisors: int
) -> tuple[Practice, list[Membership], list[Membership]]:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    practice = Practice.objects.create(name=PRACTICE_NAME, time_zone="UTC")
    specs = [
        (f"clinician{i:03d}", f"Clinician {i:03d} (synthetic)", False)
        for i in range(1, clinicians + 1)
    ]
    specs += [
        (f"supervisor{i:02d}", f"Supervisor {i:02d} (synthetic)", True)
        for i in range(1, supervisors + 1)
    ]
    users = User.objects.bulk_create(
        [
            User(email=f"{local}@{EMAIL_DOMAIN}", full_name=name, password=make_password(None))
            for local, name, _ in specs
        ]
    )
    memberships = Membership.objects.bulk_create(
        [
            Membership(
                user=user,
                practice=practice,
                kind=Membership.Kind.STAFF,
                is_clinician=True,
                is_supervisor=is_supervisor,
            )
            for user, (_, _, is_supervisor) in zip(users, specs, strict=True)
        ]
    )
    for user in users:
        TOTP.activate(user, generate_totp_secret())
    staff, supervisor_list = memberships[:clinicians], memberships[clinicians:]
    Supervision.objects.bulk_create(
        [
            Supervision(
                practice=practice,
                supervisor=supervisor_list[i % len(supervisor_list)],
                supervisee=membership,
            )
            for i, membership in enumerate(staff)
        ]
        if supervisor_list
        else []
    )
    return practice, staff, supervisor_list


def _create_client_batch(
    rng: random.Random, practice: Practice, staff: list[Membership], *, start: int, size: int
) -> list[tuple[Client, Membership]]:
    primaries = [staff[(start + i) % len(staff)] for i in range(size)]
    clients = Client.objects.bulk_create(
        [_synthetic_client(rng, practice, primary.user) for primary in primaries]
    )
    ClientIdentifier.objects.bulk_create(
        ClientIdentifier(
            practice=practice,
            client=client,
            system=ClientIdentifier.System.PRACTICE,
            value=f"BENCH-{start + i + 1:06d}",
        )
        for i, client in enumerate(clients)
    )
    CareTeamMember.objects.bulk_create(
        CareTeamMember(
            client=client, member=primary, role=CareTeamMember.Role.PRIMARY, added_by=primary.user
        )
        for client, primary in zip(clients, primaries, strict=True)
    )
    ConsentRecord.objects.bulk_create(
        ConsentRecord(
            client=client,
            kind=ConsentRecord.Kind.TREATMENT,
            consented_on=CONSENT_FROM + dt.timedelta(days=rng.randint(0, 1000)),
            text_version=CONSENT_TEXT_VERSION,
            recorded_by=primary.user,
        )
        for client, primary in zip(clients, primaries, strict=True)
    )
    for client, primary in zip(clients, primaries, strict=True):
        record(
            actor=primary.user,
            action=AuditEvent.Action.CREATE,
            obj=client,
            client=client,
            detail=AUDIT_DETAIL,
        )
    return list(zip(clients, primaries, strict=True))


def _synthetic_client(rng: random.Random, practice: Practice, primary: User) -> Client:
    given = rng.choice(GIVEN_NAMES)
    family = rng.choice(FAMILY_STEMS) + rng.choice(FAMILY_SUFFIXES)
    preferred = rng.choice(GIVEN_NAMES) if rng.random() < 0.1 else ""
    born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 68 * 365))
    client = Client(
        practice=practice,
        legal_given_name=given,
        legal_family_name=family,
        preferred_name=preferred,
        pronouns=rng.choice(PRONOUNS),
        date_of_birth=born,
        email=f"{given}.{family}.{rng.randint(1000, 9999)}@example.invalid".lower(),
        preferred_language=rng.choice(LANGUAGES),
        created_by=primary,
        updated_by=primary,
    )
    client.search_name = search_name_for(client)
    return client


# --- Courses, sessions, inventories and questionnaires ----------------------------------

RELATIONSHIPS = _words(
    """Partner Mother Father Sister Brother Friend Colleague Son Daughter Neighbour Manager
    Cousin Grandmother Flatmate"""
)
CONTACT = ("daily", "weekly", "monthly", "rarely")
# (format, share in percent, lowest and highest planned number of sessions)
FORMAT_MIX = (
    (Format.IPT, 75, 12, 16),
    (Format.IPT_B, 10, 8, 8),
    (Format.IPT_A, 10, 12, 12),
    (Format.IPC, 5, 6, 6),
)
# Status of a client's latest course, in percent; an earlier course is always concluded.
STATUS_MIX = (
    (Course.Status.CONCLUDED, 70),
    (Course.Status.ENDED_EARLY, 8),
    (Course.Status.ACTIVE, 18),
    (Course.Status.ASSESSMENT, 4),
)
SECOND_COURSE_EVERY = 5  # every fifth client had an earlier course: ~1.2 courses per client
MEASURE_EVERY = 2  # a PHQ-9 at every other attended session (odd session numbers)
INVENTORY_SIZE = 5
MEASURE_CODE = "PHQ-9"
SESSION_TEXT = "Synthetic benchmark record: no real person or event."


@dataclass
class CourseCounts:
    courses: int = 0
    sessions: int = 0
    inventory: int = 0
    administrations: int = 0


@dataclass(frozen=True)
class _Plan:
    client: Client
    clinician: Membership
    course: Course
    sessions_held: int
    baseline: int  # PHQ-9 total at the start
    improvement: float  # share of the baseline gone by the planned end (negative: worse)


def _weighted(rng: random.Random, options: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return rng.choices(options, weights=[option[1] for option in options])[0]


class CourseSeeder:
    """Adds courses and everything under them for each batch of clients.

    Uses its own random stream, so the clients themselves are the same with or without
    courses. Dates count back from ``today``: the same seed and reference date give the
    same practice.
    """

    def __init__(self, seed: int, *, today: dt.date, long_course: int) -> None:
        self.rng = random.Random(f"{seed}:courses")  # noqa: S311 (synthetic data)
        self.today = today
        self.long_course = long_course
        self.counts = CourseCounts()
        self.instrument = Instrument.objects.get(practice__isnull=True, code=MEASURE_CODE)
        self._scores: dict[tuple[int, ...], tuple[dict[str, str | None], ScoreResult]] = {}

    def add(self, batch: list[tuple[Client, Membership]], *, start: int) -> None:
        plans: list[_Plan] = []
        for offset, (client, clinician) in enumerate(batch):
            index = start + offset
            if index == 0 and self.long_course:
                plans.append(self._long_plan(client, clinician))
                continue
            latest = self._plan(client, clinician, earlier_than=None)
            if index % SECOND_COURSE_EVERY == 0:
                plans.append(self._plan(client, clinician, earlier_than=latest.course.start_date))
            plans.append(latest)
        Course.objects.bulk_create([plan.course for plan in plans])
        for plan in plans:
            record(
                actor=plan.clinician.user,
                action=AuditEvent.Action.CREATE,
                obj=plan.course,
                client=plan.client,
                detail=AUDIT_DETAIL,
            )
        sessions = CourseSession.objects.bulk_create(
            [session for plan in plans for session in self._sessions(plan)], batch_size=2000
        )
        by_course: dict[int, list[CourseSession]] = {}
        for session in sessions:
            by_course.setdefault(session.course_id, []).append(session)
        people = InventoryPerson.objects.bulk_create(
            [person for plan in plans for person in self._inventory(plan)], batch_size=2000
        )
        administrations = Administration.objects.bulk_create(
            [
                administration
                for plan in plans
                for administration in self._administrations(plan, by_course.get(plan.course.pk, []))
            ],
            batch_size=2000,
        )
        self.counts.courses += len(plans)
        self.counts.sessions += len(sessions)
        self.counts.inventory += len(people)
        self.counts.administrations += len(administrations)

    def _plan(
        self, client: Client, clinician: Membership, *, earlier_than: dt.date | None
    ) -> _Plan:
        rng = self.rng
        fmt, _share, low, high = _weighted(rng, FORMAT_MIX)
        planned = rng.randint(low, high)
        status = Course.Status.CONCLUDED if earlier_than else _weighted(rng, STATUS_MIX)[0]
        if status == Course.Status.CONCLUDED:
            held = planned
        elif status == Course.Status.ENDED_EARLY:
            held = rng.randint(2, planned - 2)
        elif status == Course.Status.ACTIVE:
            held = rng.randint(1, planned - 1)
        else:
            held = rng.randint(0, 1)
        if earlier_than is not None:
            start = earlier_than - dt.timedelta(days=rng.randint(400, 900))
        elif status in (Course.Status.ACTIVE, Course.Status.ASSESSMENT):
            start = self.today - dt.timedelta(days=7 * max(held - 1, 0) + rng.randint(1, 6))
        else:
            start = self.today - dt.timedelta(days=rng.randint(7 * held + 30, 1100))
        course = self._course(client, clinician, fmt, planned, start, status)
        return _Plan(client, clinician, course, held, rng.randint(10, 22), rng.uniform(-0.15, 0.9))

    def _long_plan(self, client: Client, clinician: Membership) -> _Plan:
        """Maintenance IPT, weekly for years: more sessions than the course form allows
        (200), on purpose, as the stress case for one course's pages."""
        n = self.long_course
        start = self.today - dt.timedelta(days=7 * (n - 1) + 1)
        course = self._course(client, clinician, Format.IPT_M, n, start, Course.Status.ACTIVE)
        return _Plan(client, clinician, course, n, 16, 0.6)

    def _course(
        self,
        client: Client,
        clinician: Membership,
        fmt: str,
        planned: int,
        start: dt.date,
        status: str,
    ) -> Course:
        user = clinician.user
        return Course(
            client=client,
            clinician=clinician,
            format=fmt,
            planned_sessions=planned,
            start_date=start,
            status=status,
            status_reason="Synthetic: stopped early." if status == "ended_early" else "",
            presenting_concerns=[self.rng.choice(["depression", "depression", "anxiety", "grief"])],
            medication_status=self.rng.choice(Course.Medication.values),
            created_by=user,
            updated_by=user,
        )

    def _sessions(self, plan: _Plan) -> list[CourseSession]:
        rng, course, user = self.rng, plan.course, plan.clinician.user
        closed = course.status in (Course.Status.CONCLUDED, Course.Status.ENDED_EARLY)
        hour = 9 + rng.randint(0, 8)
        sessions = []
        for number in range(1, plan.sessions_held + 1):
            day = course.start_date + dt.timedelta(days=7 * (number - 1))
            starts = dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)
            attended = number == 1 or rng.random() < 0.92
            signed = closed or number < plan.sessions_held
            sessions.append(
                CourseSession(
                    course=course,
                    number=number,
                    starts_at=starts,
                    attendance=(
                        CourseSession.Attendance.ATTENDED
                        if attended
                        else rng.choice(CourseSession.Attendance.values[1:])
                    ),
                    attendees=["client"] if attended else [],
                    mood=self._mood(plan, number) if attended else None,
                    events_since_last=SESSION_TEXT if attended else "",
                    focus=SESSION_TEXT if attended else "",
                    tasks_set=SESSION_TEXT if attended else "",
                    risk_check=(
                        CourseSession.Risk.NO_CONCERNS if attended else CourseSession.Risk.NOT_ASKED
                    ),
                    progress_note=SESSION_TEXT if attended else "",
                    signed_at=starts + dt.timedelta(hours=2) if signed else None,
                    signed_by=user if signed else None,
                    created_by=user,
                    updated_by=user,
                )
            )
        return sessions

    def _progress(self, plan: _Plan, number: int) -> float:
        share = number / max(plan.course.planned_sessions, 1)
        return plan.baseline * (1 - plan.improvement * share)

    def _mood(self, plan: _Plan, number: int) -> int:
        mood = 10 - round(self._progress(plan, number) / 2.7) + self.rng.randint(-1, 1)
        return min(max(mood, 0), 10)

    def _inventory(self, plan: _Plan) -> list[InventoryPerson]:
        rng, user = self.rng, plan.clinician.user
        relationships = rng.sample(RELATIONSHIPS, INVENTORY_SIZE)
        return [
            InventoryPerson(
                course=plan.course,
                name=rng.choice(GIVEN_NAMES),
                relationship=relationship,
                circle=rng.choice(InventoryPerson.Circle.values),
                contact_frequency=rng.choice(CONTACT),
                support=SESSION_TEXT,
                knows_about_difficulties=rng.choice(InventoryPerson.Knows.values),
                created_by=user,
                updated_by=user,
            )
            for relationship in relationships
        ]

    def _administrations(self, plan: _Plan, sessions: list[CourseSession]) -> list[Administration]:
        rows = []
        for session in sessions:
            if session.attendance != CourseSession.Attendance.ATTENDED:
                continue
            if session.number % MEASURE_EVERY != 1 and session.number != len(sessions):
                continue
            target = round(self._progress(plan, session.number) + self.rng.gauss(0, 1.5))
            answers, result = self._scored(self._entries(target))
            rows.append(
                Administration(
                    client=plan.client,
                    course=plan.course,
                    session=session,
                    instrument=self.instrument,
                    mode=Administration.Mode.CLINICIAN_ENTERED,
                    status=Administration.Status.COMPLETED,
                    answers=answers,
                    total=None if result.total is None else Decimal(result.total),
                    band=result.band or "",
                    flags=list(result.flags),
                    notices=list(result.notices),
                    prorated=result.prorated,
                    scoring_version=result.scoring_version,
                    completed_at=session.starts_at + dt.timedelta(minutes=15),
                    entered_by=plan.clinician.user,
                )
            )
        return rows

    def _entries(self, target: int) -> tuple[int, ...]:
        """Item answers adding up to ``target``; the self-harm item (the last) stays 0, so
        the seed raises no risk alerts."""
        items = len(self.instrument.parsed.scored_items)
        entries = [0] * items
        for _ in range(min(max(target, 0), 3 * (items - 1))):
            entries[self.rng.choice([i for i in range(items - 1) if entries[i] < 3])] += 1
        return tuple(entries)

    def _scored(self, entries: tuple[int, ...]) -> tuple[dict[str, str | None], ScoreResult]:
        if entries not in self._scores:
            definition = self.instrument.parsed
            answers = answers_from_entries(definition, list(entries))
            self._scores[entries] = (answers, score(definition, answers))
        answers, result = self._scores[entries]
        return dict(answers), result
