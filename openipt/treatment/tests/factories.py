"""Deterministic builders for treatment tests, all through the services (so audited)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from openipt.accounts.models import Membership, User
from openipt.clients.models import Client
from openipt.treatment import services
from openipt.treatment.models import Course, InventoryPerson, Session

START = dt.date(2026, 1, 5)


def make_course(actor: User, client: Client, **data: Any) -> Course:
    data.setdefault("format", "ipt")
    data.setdefault("start_date", START)
    return services.course_create(
        actor=actor,
        client=client,
        clinician=Membership.objects.get(user=actor),
        data=services.CourseData(**data),
    )


def session_at(number: int, *, days: int | None = None) -> dt.datetime:
    day = START + dt.timedelta(days=7 * (number - 1) if days is None else days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))


def make_session(actor: User, course: Course, number: int, **data: Any) -> Session:
    data.setdefault("number", number)
    data.setdefault("starts_at", session_at(number))
    return services.session_create(actor=actor, course=course, data=services.SessionData(**data))


def make_person(
    actor: User, course: Course, name: str, circle: int = 1, **data: Any
) -> InventoryPerson:
    return services.inventory_person_create(
        actor=actor, course=course, data=services.PersonData(name=name, circle=circle, **data)
    )
