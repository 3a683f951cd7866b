"""Shared by the FHIR API tests: tokens made as the token endpoint makes them (hashed at
rest, with their launch context), a full record for Dana, and R4 validation of what the
API answers."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from oauth2_provider.models import AccessToken

from openipt.api import smart
from openipt.api.models import TokenContext
from openipt.measures import services as measures
from openipt.measures.models import Administration, Instrument
from openipt.scheduling import services as scheduling
from openipt.testing.personas import Personas
from openipt.treatment import services as treatment
from openipt.treatment.tests.factories import make_course, make_session

CANARY = "PROCESS-NOTE-CANARY-7f3a"
#: Elements R4B added to our resources that an R4 server must not send (ADR 4).
R4B_ONLY = ("CodeableReference",)


def bearer(user, scope: str, *, patient=None, expires_in: int = 3600) -> dict[str, str]:
    """The Authorization header of a fresh token for ``user`` with ``scope``."""
    app = smart.app_register(
        actor=_admin_of(user),
        name=f"Test app {secrets.token_hex(3)}",
        redirect_uris=["https://app.example.test/callback"],
        confidential=False,
    ).app
    raw = secrets.token_urlsafe(30)
    token = AccessToken(
        user=user,
        application=app.application,
        scope=scope,
        expires=timezone.now() + dt.timedelta(seconds=expires_in),
        token="",
    )
    token._raw_token = raw  # hashed at rest, as DOT stores it
    token.save()
    TokenContext.objects.create(access_token=token, patient=patient)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _admin_of(user):
    from openipt.accounts.models import Membership

    membership = Membership.objects.filter(user=user).select_related("practice").first()
    admin = (
        Membership.objects.filter(practice=membership.practice, is_admin=True, kind="staff")
        .select_related("user")
        .first()
    )
    if admin is not None:
        return admin.user
    from openipt.testing.personas import make_staff

    return make_staff(
        membership.practice,
        f"admin-{secrets.token_hex(3)}@example.test",
        "Practice Admin",
        admin=True,
        clinician=False,
    )


@dataclass(frozen=True)
class Record:
    course: Any
    session: Any
    phq9: Administration
    goal: Any
    appointment: Any


def phq9() -> Instrument:
    return Instrument.objects.get(code="PHQ-9", practice__isnull=True)


PHQ9_MILD = {str(n): "LA6569-3" if n <= 6 else "LA6568-5" for n in range(1, 10)}


def dana_record(p: Personas) -> Record:
    """Dana's course with a contract, a held session (with a private process note holding
    the canary), a PHQ-9, a goal with a rating and a booked appointment."""
    course = make_course(p.alice, p.dana, planned_sessions=12)
    session = make_session(p.alice, course, 1, attendance="attended")
    treatment.process_note_save(actor=p.alice, session=session, version=0, text=CANARY)
    treatment.contract_record(
        actor=p.alice,
        course=course,
        data=treatment.ContractData(
            planned_sessions=12, frequency="weekly", agreed_on=course.start_date,
            focus_areas=("role_transition",),
        ),
    )  # fmt: skip
    administration = measures.administration_enter(
        actor=p.alice, course=course, instrument=phq9(), answers=PHQ9_MILD, session=session
    )
    goal = treatment.goal_create(
        actor=p.alice, course=course, data=treatment.GoalData(text="Meet a friend each week")
    )
    treatment.goal_rate(actor=p.alice, goal=goal, rating=4, rated_on=course.start_date)
    appointment = scheduling.appointment_book(
        actor=p.alice,
        client=p.dana,
        clinician=p.membership(p.alice),
        starts_at=timezone.now() + dt.timedelta(days=7),
        course=course,
    )
    return Record(course, session, administration, goal, appointment)


def fhir_json(response) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    body: dict[str, Any] = json.loads(response.content)
    return body


def valid_r4(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, after the R4B models accept it (and it uses no R4B-only type)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    text = json.dumps(resource)
    for name in R4B_ONLY:
        assert name not in text
    if resource["resourceType"] == "Bundle":
        for entry in resource.get("entry", []):
            valid_r4(entry["resource"])
    return resource
