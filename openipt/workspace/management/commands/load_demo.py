"""``manage.py load_demo``: a demo practice with clearly fictional clients (``make demo``).

The practice, its three staff and one client per scenario (``demo/scenarios.py``) are made
through the real services, so the records are audited and checked like any others and the
audit chain is verified at the end. Dates count from the day the command runs, in the
practice's time zone: there are appointments today and this week.

Run it on a database of its own. It refuses a database that holds any other practice
(the demo's audit rows could never be removed from it). Running it again adds nothing that
is already there: each scenario is made once, and each run sets fresh passwords for the
demo accounts and prints them. Every address is at example.org or example.com, names
reserved for examples that receive no mail, so the emails the demo queues reach nobody.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from openipt.accounts import practice_settings
from openipt.accounts import services as account_services
from openipt.accounts.models import Membership, Practice, User
from openipt.audit.verify import verify_chain
from openipt.clients.models import ClientIdentifier
from openipt.engagement.models import ConsultationRequest, PortalAccess
from openipt.measures.summary import summaries_rebuild
from openipt.workspace.management.demo.crisis import DEMO_CRISIS_SETTINGS
from openipt.workspace.management.demo.kit import Clinic
from openipt.workspace.management.demo.scenarios import SCENARIOS, Scenario, intake_request
from openipt.workspace.management.demo.training import training_records

PRACTICE_NAME = "Demo Practice (fictional)"
TIME_ZONE = "Europe/London"


@dataclass(frozen=True)
class DemoStaff:
    key: str
    email: str
    name: str
    is_admin: bool
    is_supervisor: bool
    is_clinician: bool


ADMIN = DemoStaff("admin", "demo-admin@example.org", "Morgan Demo-Admin", True, False, False)
SUPERVISOR = DemoStaff(
    "supervisor", "demo-supervisor@example.org", "Sasha Demo-Supervisor", False, True, True
)
CLINICIAN = DemoStaff(
    "clinician", "demo-clinician@example.org", "Riley Demo-Clinician", False, False, True
)
STAFF = [CLINICIAN, SUPERVISOR, ADMIN]


class Command(BaseCommand):
    help = "Load a demo practice with clearly fictional clients (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        passwords = {person.email: secrets.token_urlsafe(12) for person in STAFF}
        portal_password = secrets.token_urlsafe(12)
        with transaction.atomic():
            practice, new = self._practice(passwords[ADMIN.email])
            staff = self._staff(practice, passwords, {ADMIN.email} if new else set())
            clinic = Clinic(practice, staff["clinician"], staff["supervisor"], staff["admin"])
            created = self._scenarios(clinic, portal_password)
            training_records(clinic)
            if not ConsultationRequest.objects.filter(practice=practice).exists():
                intake_request(clinic)
            portal_email = self._portal_password(practice, portal_password)
            # Some demo records are dated after their service ran (past sessions and scores):
            # the caseload's summary rows are made from what is stored in the end.
            summaries_rebuild()
        result = verify_chain()
        if not result.intact:
            raise CommandError(f"The audit chain does not verify: {result.broken}")
        self._report(created, passwords, portal_email, portal_password, result.checked)

    def _practice(self, admin_password: str) -> tuple[Practice, bool]:
        """The demo practice and whether it was made just now."""
        practice = Practice.objects.filter(name=PRACTICE_NAME).first()
        if practice is None:
            if Practice.objects.exists():
                raise CommandError(
                    "This database already holds a practice. The demo writes permanent audit "
                    "rows, so it runs only on a database of its own, for example "
                    "OPENIPT_VAR_DIR=var/demo make demo (then OPENIPT_VAR_DIR=var/demo make run)."
                )
            admin = account_services.practice_setup(
                practice_name=PRACTICE_NAME,
                time_zone=TIME_ZONE,
                full_name=ADMIN.name,
                email=ADMIN.email,
                password=admin_password,
                sees_clients=False,
            )
            practice = Membership.objects.get(user=admin).practice
            return self._crisis_contacts(admin, practice), True
        if not Membership.objects.filter(practice=practice, user__email=ADMIN.email).exists():
            raise CommandError(
                f"{PRACTICE_NAME!r} here was made by an earlier version of the demo. Load the "
                "new one into a fresh database, for example OPENIPT_VAR_DIR=var/demo make demo."
            )
        if not practice.has_crisis_contacts:  # a demo loaded before it had them
            practice = self._crisis_contacts(User.objects.get(email=ADMIN.email), practice)
        return practice, False

    def _crisis_contacts(self, admin: User, practice: Practice) -> Practice:
        """The demo's fictional crisis lines, set as an administrator sets them; clients are
        invited to the portal only once they are there."""
        return practice_settings.practice_crisis_settings_update(
            actor=admin, practice=practice, settings=DEMO_CRISIS_SETTINGS, version=None
        )

    def _staff(
        self, practice: Practice, passwords: dict[str, str], fresh: set[str]
    ) -> dict[str, User]:
        """The clinician and the supervisor join by invitation, as real staff do; the
        administrator then makes the supervisor the clinician's supervisor."""
        admin = User.objects.get(email=ADMIN.email)
        users = {"admin": admin}
        for person in (CLINICIAN, SUPERVISOR):
            user = User.objects.filter(email=person.email).first()
            if user is None:
                fresh.add(person.email)
                _invitation, token = account_services.invitation_create(
                    actor=admin,
                    practice=practice,
                    email=person.email,
                    full_name=person.name,
                    is_admin=person.is_admin,
                    is_supervisor=person.is_supervisor,
                    is_clinician=person.is_clinician,
                )
                user = account_services.invitation_accept(
                    token=token, full_name=person.name, password=passwords[person.email]
                )
            users[person.key] = user
        clinician = Membership.objects.get(user=users["clinician"])
        supervisor = Membership.objects.get(user=users["supervisor"])
        if not clinician.supervisions_received.filter(
            supervisor=supervisor, is_active=True
        ).exists():
            account_services.staff_update(
                actor=admin,
                membership=clinician,
                is_admin=False,
                is_supervisor=False,
                is_clinician=True,
                supervisors=[supervisor],
            )
        for user in users.values():
            if user.email in fresh:  # made just now, with this password
                continue
            user.set_password(passwords[user.email])
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
        return users

    def _scenarios(self, clinic: Clinic, portal_password: str) -> list[Scenario]:
        created = []
        for scenario in SCENARIOS:
            if ClientIdentifier.objects.filter(
                practice=clinic.practice, system="practice", value=scenario.spec.record
            ).exists():
                continue
            client = clinic.client(scenario.spec, consented=-130)
            password = portal_password if scenario.portal else secrets.token_urlsafe(16)
            scenario.build(clinic, client, password)
            created.append(scenario)
        return created

    def _portal_password(self, practice: Practice, password: str) -> str:
        spec = next(s.spec for s in SCENARIOS if s.portal)
        access = PortalAccess.objects.select_related("user").get(
            client__practice=practice, client__identifiers__value=spec.record
        )
        assert access.user is not None  # noqa: S101 - the scenario made the account
        access.user.set_password(password)
        access.user.save(update_fields=["password"])
        return access.user.email

    def _report(
        self,
        created: list[Scenario],
        passwords: dict[str, str],
        portal_email: str,
        portal_password: str,
        events: int,
    ) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS(f"{PRACTICE_NAME} is ready."))
        made = {s.spec.record for s in created}
        for scenario in SCENARIOS:
            spec = scenario.spec
            state = "added now" if spec.record in made else "already there"
            name = f"{spec.given} {spec.family}"
            out.write(f"  {name:<20} {scenario.story} ({state})")
        out.write(f"  Audit chain verified: {events} events, intact.")
        out.write("")
        out.write("Sign in at " + settings.OPENIPT_BASE_URL.rstrip("/") + "/accounts/login/")
        for person in STAFF:
            roles = ", ".join(Membership.objects.get(user__email=person.email).role_labels)
            out.write(f"  {person.email:<30} password: {passwords[person.email]}   ({roles})")
        out.write(f"  {portal_email:<30} password: {portal_password}   (client portal)")
        out.write("")
        out.write(
            "Staff accounts set up an authenticator app (TOTP) on their first sign-in: scan "
            "the code the page shows with any authenticator app. The portal account needs "
            "no app. Passwords are new on every run of `make demo`."
        )
        out.write(
            "Start with the clinician: today's calendar, Blake's session note and Carmen's "
            "alert. The demo runs on a database of its own, never a real practice's."
        )
        out.write(
            "Devon's concluded course has a letter to his GP, a short session recording, "
            "fidelity ratings and a signed supervision note: sign in as the supervisor to "
            "see them from the other side."
        )
