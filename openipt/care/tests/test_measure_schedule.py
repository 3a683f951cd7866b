"""The practice's measurement schedule ("PHQ-9 and GAD-7 at least every fourth session"):
off by default, turned on by an administrator on the practice settings page (audited), and
then followed by the course guidance."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client as HttpClient
from django.urls import reverse

from openipt.accounts.models import Practice
from openipt.accounts.practice_settings import practice_measure_schedule_update
from openipt.audit.models import AuditEvent
from openipt.care import guidance
from openipt.care.selectors import with_course_records
from openipt.core.versioning import CONFLICT_MESSAGE
from openipt.testing.personas import Personas
from openipt.treatment.models import Course
from openipt.treatment.tests import factories

pytestmark = pytest.mark.django_db


def _course_with_three_sessions(personas: Personas) -> Course:
    course = factories.make_course(personas.alice, personas.dana)
    for number in (1, 2, 3):
        factories.make_session(personas.alice, course, number, attendance="attended")
    return with_course_records(course)


def _schedule_codes(course: Course) -> set[str]:
    shown = guidance.guidance_for(with_course_records(course))
    return {item.code for item in shown.todo if item.code.startswith("schedule.")}


def test_off_by_default_and_the_guidance_asks_for_nothing_extra(personas):
    assert personas.practice.measure_every_fourth_session is False
    course = _course_with_three_sessions(personas)
    assert guidance.course_state(course).measure_every is None
    assert _schedule_codes(course) == set()


def test_an_administrator_turns_it_on_and_the_guidance_follows(personas):
    http = HttpClient()
    http.force_login(personas.adam)
    url = reverse("accounts:practice-settings")
    page = http.get(url).content.decode()
    assert "Ask for PHQ-9 and GAD-7 at least every fourth session" in page
    version = Practice.objects.get(pk=personas.practice.pk).version
    response = http.post(
        url, {"measure_schedule": "1", "every_fourth_session": "on", "version": version}
    )
    assert response.status_code == 302
    practice = Practice.objects.get(pk=personas.practice.pk)
    assert practice.measure_every_fourth_session is True
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.ADMIN, detail="measurement schedule on"
    ).exists()
    course = _course_with_three_sessions(personas)
    assert guidance.course_state(course).measure_every == guidance.SCHEDULE_EVERY
    # Three sessions held with no PHQ-9 or GAD-7: both are due at session 4.
    assert _schedule_codes(course) == {"schedule.PHQ-9", "schedule.GAD-7"}


def test_a_stale_form_keeps_the_setting_and_says_why(personas):
    http = HttpClient()
    http.force_login(personas.adam)
    response = http.post(
        reverse("accounts:practice-settings"),
        {"measure_schedule": "1", "every_fourth_session": "on", "version": 0},
    )
    assert response.status_code == 200
    assert str(CONFLICT_MESSAGE) in response.content.decode().replace("&#x27;", "'")
    assert Practice.objects.get(pk=personas.practice.pk).measure_every_fourth_session is False


def test_only_an_administrator_changes_it(personas):
    with pytest.raises(PermissionDenied):
        practice_measure_schedule_update(
            actor=personas.alice, practice=personas.practice, every_fourth_session=True,
            version=personas.practice.version,
        )  # fmt: skip
    with pytest.raises(PermissionDenied):
        practice_measure_schedule_update(
            actor=personas.charlie, practice=personas.practice, every_fourth_session=True,
            version=personas.practice.version,
        )  # fmt: skip
    assert Practice.objects.get(pk=personas.practice.pk).measure_every_fourth_session is False
