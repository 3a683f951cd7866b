"""Test personas shared by every suite.

Clinician Alice treats client Dana; supervisor Bob supervises Alice; clinician Charlie is
in another practice and must see nothing of Alice's. Adam administers Alice's practice and
has no clinical access of his own. Staff personas have an enrolled authenticator (TOTP) so
that ``client.force_login`` reaches pages behind the MFA requirement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from openipt.accounts.models import Membership, Practice, Supervision, User
from openipt.clients.models import Client
from openipt.clients.services import ClientData, client_create

PASSWORD = "correct horse battery staple 42"  # noqa: S105 - test persona only
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - test persona only


@dataclass(frozen=True)
class Personas:
    practice: Practice
    other_practice: Practice
    alice: User
    bob: User
    charlie: User
    adam: User
    dana: Client
    erin: Client  # Charlie's client in the other practice

    def membership(self, user: User) -> Membership:
        return Membership.objects.get(user=user)


def enrol_totp(user: User, secret: str = TOTP_SECRET) -> None:
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(user, secret)


def make_staff(
    practice: Practice,
    email: str,
    name: str,
    *,
    admin: bool = False,
    supervisor: bool = False,
    clinician: bool = True,
    mfa: bool = True,
) -> User:
    user = User.objects.create_user(email, PASSWORD, full_name=name)
    Membership.objects.create(
        user=user,
        practice=practice,
        is_admin=admin,
        is_supervisor=supervisor,
        is_clinician=clinician,
    )
    if mfa:
        enrol_totp(user)
    return user


def make_client(
    practice: Practice, primary: User, *, given: str, family: str, **fields: Any
) -> Client:
    """A client created through the real service, with ``primary`` as primary clinician."""
    fields.setdefault("date_of_birth", dt.date(1990, 5, 17))
    data = ClientData(legal_given_name=given, legal_family_name=family, **fields)
    return client_create(actor=primary, practice=practice, data=data)


def make_personas() -> Personas:
    practice = Practice.objects.create(name="Riverside Practice", time_zone="Europe/London")
    other = Practice.objects.create(name="Hilltop Practice", time_zone="America/New_York")
    alice = make_staff(practice, "alice@riverside.test", "Alice Clinician")
    bob = make_staff(practice, "bob@riverside.test", "Bob Supervisor", supervisor=True)
    adam = make_staff(practice, "adam@riverside.test", "Adam Admin", admin=True, clinician=False)
    charlie = make_staff(other, "charlie@hilltop.test", "Charlie Clinician")
    Supervision.objects.create(
        practice=practice,
        supervisor=Membership.objects.get(user=bob),
        supervisee=Membership.objects.get(user=alice),
    )
    dana = make_client(practice, alice, given="Dana", family="Example")
    erin = make_client(other, charlie, given="Erin", family="Sample")
    return Personas(practice, other, alice, bob, charlie, adam, dana, erin)


def give_crisis_contacts(practice: Practice) -> None:
    """Give the practice a crisis line (a fictional number from the UK range kept for drama),
    as a practice must have before its clients can be invited to the portal. Written straight
    to the row, leaving ``version`` alone so tests that then save the settings stay current."""
    lines = [{"name": "Riverside crisis team", "number": "020 7946 0123", "hours": "Every day"}]
    Practice.objects.filter(pk=practice.pk).update(crisis_lines=lines)
    practice.crisis_lines = lines


@contextmanager
def count_queries() -> Iterator[CaptureQueriesContext]:
    """Capture the queries run inside the block: ``len(ctx)`` is the count."""
    with CaptureQueriesContext(connection) as ctx:
        yield ctx


def query_count(fn: Callable[[], object]) -> int:
    with count_queries() as ctx:
        fn()
    return len(ctx)
