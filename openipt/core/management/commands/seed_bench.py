"""Build the synthetic benchmark practice used by ``bench/run.py``.

Everything here is fictional and deterministic for a given ``--seed``: the same command on
an empty database always yields the same people, dates and identifiers (only UUIDs, times
and the TOTP secrets differ). Rows are written with ``bulk_create`` in batches; each client
gets one audit "create" event through ``openipt.audit.services.record`` so that the hash
chain stays valid.

Audit rows can never be deleted, so the command refuses to run into a database that
already holds any practice: use a fresh database file (see bench/README.md).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from openipt.accounts.models import Membership, Practice, Supervision, User
from openipt.audit.services import record
from openipt.clients.models import CareTeamMember, Client, ClientIdentifier, ConsentRecord
from openipt.clients.services import search_name_for

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


class Command(BaseCommand):
    help = "Create the synthetic benchmark practice (use a fresh database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clients", type=int, required=True, help="number of clients")
        parser.add_argument("--clinicians", type=int, default=50)
        parser.add_argument("--supervisors", type=int, default=5)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        clients, clinicians = options["clients"], options["clinicians"]
        supervisors, batch_size = options["supervisors"], options["batch_size"]
        if clients < 0 or clinicians < 1 or supervisors < 0 or batch_size < 1:
            raise CommandError("--clients must be >= 0, --clinicians and --batch-size >= 1.")
        started = time.perf_counter()
        progress = Progress(clients, "Clients")
        # One transaction: a failure part-way leaves nothing behind to block a retry.
        with transaction.atomic():
            _refuse_unless_fresh()
            rng = random.Random(options["seed"])  # noqa: S311 (synthetic data, not secrets)
            practice, staff, supervisor_list = _create_staff(clinicians, supervisors)
            done = 0
            while done < clients:
                size = min(batch_size, clients - done)
                _create_client_batch(rng, practice, staff, start=done, size=size)
                done += size
                progress.update(done)
        progress.finish()
        summary = Summary(
            clients=clients,
            clinicians=len(staff),
            supervisors=len(supervisor_list),
            audit_events=clients,
            seconds=time.perf_counter() - started,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{PRACTICE_NAME}: {summary.clients} clients, {summary.clinicians} clinicians, "
                f"{summary.supervisors} supervisors, {summary.audit_events} audit events "
                f"in {summary.seconds:.1f} s."
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
) -> None:
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
        record(actor=primary.user, action="create", obj=client, client=client, detail=AUDIT_DETAIL)


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
