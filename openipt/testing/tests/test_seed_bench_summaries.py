"""The benchmark seed ends with every course's summary row built (the caseload reads them)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from openipt.treatment.models import Course, CourseSummary

pytestmark = pytest.mark.django_db


def test_the_seed_ends_with_every_course_summarised():
    options = {"clinicians": 2, "supervisors": 1, "batch_size": 5, "long_course": 3}
    call_command(
        "seed_bench",
        clients=8,
        reference_date=dt.date(2026, 6, 1),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        **options,
    )
    assert Course.objects.count() > 8
    assert CourseSummary.objects.count() == Course.objects.count()
    assert CourseSummary.objects.filter(sessions_count__gt=0).exists()
    out = io.StringIO()
    call_command("rebuild_course_summaries", "--check", stdout=out)
    assert "Every course summary matches its records." in out.getvalue()
