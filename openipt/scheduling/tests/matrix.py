"""URL-argument fillers for the permission matrix (tests/test_permission_matrix.py):
records of Alice's practice, made through the real services."""

from __future__ import annotations

from typing import Any

from openipt.scheduling import services
from openipt.scheduling.tests.conftest import make_course, utc
from openipt.testing.personas import Personas


def dana_appointment(p: Personas) -> dict[str, Any]:
    appointment = services.appointment_book(
        actor=p.alice, client=p.dana, clinician=p.membership(p.alice),
        starts_at=utc(2027, 3, 2, 10, 0), kind="consultation",
    )  # fmt: skip
    return {"uuid": appointment.uuid}


def dana_course(p: Personas) -> dict[str, Any]:
    return {"course_uuid": make_course(p).uuid}


def bogus_feed_token(p: Personas) -> dict[str, Any]:
    return {"token": "not-a-real-token"}
