"""URL-argument fillers for the permission matrix (tests/test_permission_matrix.py)."""

from __future__ import annotations

from typing import Any

from openipt.testing.personas import Personas


def dana_alert(p: Personas) -> dict[str, Any]:
    """A risk alert raised by a PHQ-9 of Dana's (item 9 answered 1), not yet escalated."""
    from openipt.measures import services
    from openipt.measures.models import Instrument, RiskAlert
    from openipt.measures.tests.conftest import phq9_answers
    from openipt.treatment.tests.factories import make_course

    course = make_course(p.alice, p.dana)
    services.administration_enter(
        actor=p.alice,
        course=course,
        instrument=Instrument.objects.get(code="PHQ-9", practice__isnull=True),
        answers=phq9_answers("000000001"),
    )
    return {"alert_uuid": RiskAlert.objects.get(client=p.dana).uuid}
