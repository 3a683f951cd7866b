"""``manage.py load_demo``: a demo practice with clearly fictional clients (``make demo``).

Safe to run again: the practice, staff and clients are created once; each run sets fresh
passwords for the three demo accounts and prints them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from openipt.accounts.models import Membership, Practice, Supervision, User
from openipt.clients import services
from openipt.clients.models import ClientIdentifier
from openipt.clients.services import ClientData, IdentifierData

PRACTICE_NAME = "Demo Practice (fictional)"
CONSENT_VERSION = "DEMO-2024-1"


@dataclass(frozen=True)
class DemoStaff:
    key: str
    email: str
    name: str
    is_admin: bool
    is_supervisor: bool
    is_clinician: bool


STAFF = [
    DemoStaff("admin", "demo-admin@demo-practice.invalid", "Morgan Demo", True, False, True),
    DemoStaff(
        "supervisor", "demo-supervisor@demo-practice.invalid", "Sasha Demo", False, True, True
    ),
    DemoStaff(
        "clinician", "demo-clinician@demo-practice.invalid", "Riley Demo", False, False, True
    ),
]

# (given, family, preferred, pronouns, date of birth, language) — invented people.
CLIENTS = [
    ("Avery", "Demo-Alder", "", "they/them", dt.date(1988, 4, 12), "English"),
    ("Blake", "Demo-Birch", "", "he/him", dt.date(1975, 9, 3), "English"),
    ("Carmen", "Demo-Cedar", "Carmi", "she/her", dt.date(1992, 1, 27), "Spanish"),
    ("Devon", "Demo-Dogwood", "", "he/him", dt.date(2001, 6, 18), "English"),
    ("Elena", "Demo-Elm", "", "she/her", dt.date(1969, 11, 30), "Spanish"),
    ("Farid", "Demo-Fir", "", "he/him", dt.date(1984, 2, 9), "English"),
    ("Grace", "Demo-Ginkgo", "Gracie", "she/her", dt.date(1996, 8, 21), "English"),
    ("Hiro", "Demo-Hazel", "", "he/him", dt.date(1979, 5, 5), "English"),
    ("Imani", "Demo-Ivy", "", "she/her", dt.date(1990, 12, 14), "English"),
    ("Jonah", "Demo-Juniper", "", "he/him", dt.date(1958, 3, 22), "English"),
    ("Kai", "Demo-Kapok", "", "they/them", dt.date(2003, 10, 1), "English"),
    ("Lucia", "Demo-Larch", "Lu", "she/her", dt.date(1987, 7, 9), "Spanish"),
]


class Command(BaseCommand):
    help = "Load a demo practice with clearly fictional clients (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            practice = self._practice()
            staff, passwords = self._staff(practice)
            Supervision.objects.get_or_create(
                practice=practice,
                supervisor=staff["supervisor"],
                supervisee=staff["clinician"],
            )
            created = self._clients(practice, staff)
        self._report(practice, passwords, created)

    def _practice(self) -> Practice:
        practice, _ = Practice.objects.get_or_create(
            name=PRACTICE_NAME,
            defaults={
                "time_zone": "Europe/London",
                "crisis_information": (
                    "This is a demo practice with fictional records. In a real practice, "
                    "this says whom to call in an emergency."
                ),
            },
        )
        return practice

    def _staff(self, practice: Practice) -> tuple[dict[str, Membership], dict[str, str]]:
        memberships: dict[str, Membership] = {}
        passwords: dict[str, str] = {}
        for person in STAFF:
            user = User.objects.filter(email=person.email).first()
            if user is None:
                user = User.objects.create_user(person.email, None, full_name=person.name)
            membership, _ = Membership.objects.get_or_create(
                user=user,
                defaults={
                    "practice": practice,
                    "is_admin": person.is_admin,
                    "is_supervisor": person.is_supervisor,
                    "is_clinician": person.is_clinician,
                },
            )
            if membership.practice_id != practice.pk:
                raise CommandError(f"{person.email} already belongs to another practice.")
            passwords[person.email] = secrets.token_urlsafe(12)
            user.set_password(passwords[person.email])
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
            memberships[person.key] = membership
        return memberships, passwords

    def _clients(self, practice: Practice, staff: dict[str, Membership]) -> int:
        created = 0
        for number, (given, family, preferred, pronouns, born, language) in enumerate(
            CLIENTS, start=1
        ):
            record_number = f"DEMO-{number:03d}"
            if ClientIdentifier.objects.filter(
                practice=practice, system="practice", value=record_number
            ).exists():
                continue
            primary = staff["admin"] if number % 2 else staff["clinician"]
            client = services.client_create(
                actor=primary.user,
                data=ClientData(
                    legal_given_name=given,
                    legal_family_name=family,
                    preferred_name=preferred,
                    pronouns=pronouns,
                    date_of_birth=born,
                    preferred_language=language,
                    email=f"{given.lower()}@demo-client.invalid",
                    phone=f"555-01{number:02d}",
                ),
                identifiers=[IdentifierData("practice", record_number)],
            )
            if number % 4 == 0:
                services.care_team_add(
                    actor=primary.user, client=client, member=staff["supervisor"]
                )
            services.consent_record_add(
                actor=primary.user,
                client=client,
                kind="treatment",
                consented_on=timezone.localdate() - dt.timedelta(days=7 * number),
                text_version=CONSENT_VERSION,
                notes="Fictional demo record.",
            )
            created += 1
        return created

    def _report(self, practice: Practice, passwords: dict[str, str], created: int) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS(f"{PRACTICE_NAME} is ready."))
        out.write(f"  Clients created this run: {created} (demo clients in total: {len(CLIENTS)})")
        out.write("")
        out.write("Sign in at " + settings.OPENIPT_BASE_URL.rstrip("/") + "/accounts/login/")
        for person in STAFF:
            roles = ", ".join(Membership.objects.get(user__email=person.email).role_labels)
            out.write(f"  {person.email:<42} password: {passwords[person.email]}   ({roles})")
        out.write("")
        out.write(
            "Each account sets up an authenticator app (TOTP) on its first sign-in. "
            "Passwords are new on every run of `make demo`."
        )
        out.write(
            "First-run setup (/setup/) is closed while any practice exists: use the demo on "
            "a machine of its own, not on the database of a real practice."
        )
