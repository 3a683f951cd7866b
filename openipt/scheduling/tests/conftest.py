from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from openipt.accounts.models import Membership
from openipt.clients.models import Client
from openipt.scheduling.models import Appointment
from openipt.testing.personas import Personas
from openipt.treatment import services as treatment
from openipt.treatment.models import Course

LONDON_10 = dt.time(10, 0)


@dataclass(frozen=True)
class World:
    p: Personas
    course: Course

    @property
    def alice_m(self) -> Membership:
        return self.p.membership(self.p.alice)

    @property
    def dana(self) -> Client:
        return self.p.dana


def make_course(p: Personas, *, sessions: int = 4, frequency: str = "weekly") -> Course:
    course = treatment.course_create(
        actor=p.alice,
        client=p.dana,
        clinician=p.membership(p.alice),
        data=treatment.CourseData(format="ipt", start_date=dt.date(2026, 1, 5)),
    )
    treatment.contract_record(
        actor=p.alice,
        course=course,
        data=treatment.ContractData(
            planned_sessions=sessions,
            frequency=frequency,
            agreed_on=dt.date(2026, 1, 12),
            client_agreed=True,
        ),
    )
    course.refresh_from_db()
    return course


@pytest.fixture
def world(personas: Personas) -> World:
    Client.objects.filter(pk=personas.dana.pk).update(email="dana@example.test")
    personas.dana.refresh_from_db()
    return World(personas, make_course(personas))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def book(w: World, starts_at: dt.datetime, **kw: Any) -> Appointment:
    from openipt.scheduling import services

    kw.setdefault("course", w.course)
    return services.appointment_book(
        actor=w.p.alice, client=w.dana, clinician=w.alice_m, starts_at=starts_at, **kw
    )
