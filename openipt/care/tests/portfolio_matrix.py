"""URL-argument filler for the permission matrix (tests/test_permission_matrix.py): a
concluded course of Dana's with one held session and a person in its inventory, whose
certification portfolio Alice (the clinician) and Bob (her supervisor) may open."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openipt.testing.personas import Personas
from openipt.treatment.models import Course
from openipt.treatment.tests import factories


def concluded_course_of_dana(p: Personas) -> dict[str, Any]:
    course = factories.make_course(p.alice, p.dana)
    factories.make_session(p.alice, course, 1)
    factories.make_person(p.alice, course, "Sam")
    # Concluded as test data: the ending records the service asks for are not the point here.
    ended = factories.START + dt.timedelta(weeks=12)
    Course.objects.filter(pk=course.pk).update(status=Course.Status.CONCLUDED, ended_on=ended)
    return {"course_uuid": course.uuid}
