"""The navigation's Alerts badge runs as a prepared query (openipt/accounts/prepared.py): it
must always equal the count built through the policy each time, for the responsible
clinician, the supervisor an alert was escalated to, and anyone else."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openipt.measures import selectors, services, tasks
from openipt.measures.models import Instrument, RiskAlert
from openipt.measures.tests.conftest import phq9_answers

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _built(user) -> int:
    return selectors.alerts_for(user).filter(status=RiskAlert.Status.OPEN).count()


def _raise(personas, course) -> None:
    services.administration_enter(
        actor=personas.alice, course=course,
        instrument=Instrument.objects.get(code="PHQ-9", practice__isnull=True),
        answers=phq9_answers("000000001"),
    )  # fmt: skip


def test_the_badge_equals_the_built_count_through_escalation_and_acknowledgement(personas, course):
    everyone = (personas.alice, personas.bob, personas.charlie, personas.adam)
    with time_machine.travel(T0, tick=False):
        _raise(personas, course)
        assert [selectors.open_alert_count(u) for u in everyone] == [1, 0, 0, 0]
        assert [selectors.open_alert_count(u) for u in everyone] == [_built(u) for u in everyone]
    with time_machine.travel(T0 + dt.timedelta(minutes=61), tick=False):
        assert tasks.escalate_overdue_alerts.call() == 1
        counts = [selectors.open_alert_count(u) for u in everyone]
        assert counts == [_built(u) for u in everyone] == [1, 1, 0, 0]
        services.alert_acknowledge(
            actor=personas.alice, alert=RiskAlert.objects.get(),
            acknowledgement=services.Acknowledgement(actions=["emergency"]),
        )  # fmt: skip
        assert [selectors.open_alert_count(u) for u in everyone] == [0, 0, 0, 0]


def test_the_badge_is_one_query(personas, course):
    _raise(personas, course)
    selectors.open_alert_count(personas.alice)
    with CaptureQueriesContext(connection) as queries:
        assert selectors.open_alert_count(personas.alice) == 1
    assert len(queries) == 1


def test_someone_without_a_staff_membership_has_no_alerts(personas, course):
    _raise(personas, course)
    from openipt.workspace.tests.matrix import portal_user

    assert selectors.open_alert_count(portal_user(personas.dana)) == 0
