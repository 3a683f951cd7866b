"""The dashboard: counts and links by role, in a small fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from openipt.accounts.models import Membership
from openipt.scheduling import services as scheduling
from openipt.testing.personas import count_queries
from openipt.treatment.tests.factories import make_course

pytestmark = pytest.mark.django_db


def stat(html: str, label: str) -> int:
    """The number shown in front of a dashboard label."""
    match = re.search(rf'stat__number">(\d+)</span>\s*<span class="stat__label">{label}', html)
    assert match, f"no count for {label!r}"
    return int(match.group(1))


@time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False)
def test_clinician_sees_caseload_todays_appointments_and_alerts(client, personas):
    make_course(personas.alice, personas.dana)
    alice = Membership.objects.get(user=personas.alice)
    for day in (0, 1):  # today counts, tomorrow does not
        scheduling.appointment_book(
            actor=personas.alice,
            client=personas.dana,
            clinician=alice,
            starts_at=timezone.now() + dt.timedelta(days=day, hours=5),
        )
    client.force_login(personas.alice)
    html = client.get(reverse("core:home")).content.decode()
    assert stat(html, "open course on your caseload") == 1
    assert stat(html, "appointment today") == 1
    assert stat(html, "open risk alerts") == 0
    assert reverse("treatment:caseload") in html
    assert reverse("scheduling:week") in html
    assert reverse("audit:report") not in html  # not an administrator


def test_admin_sees_practice_figures_not_clinical_work(client, personas):
    client.force_login(personas.adam)
    html = client.get(reverse("core:home")).content.decode()
    assert stat(html, "active staff members") == 3
    assert stat(html, "open alerts in the practice") == 0
    assert reverse("audit:report") in html
    assert "Your work" not in html  # Adam has no caseload of his own


def test_current_section_is_marked_in_the_navigation(client, personas):
    client.force_login(personas.alice)
    html = client.get(reverse("clients:list")).content.decode()
    assert re.search(r'<a href="/clients/" aria-current="page">', html)
    assert html.count("aria-current") == 1


def statements(ctx) -> int:
    """Queries, not counting the savepoint markers around the session save."""
    return sum(1 for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"])


@pytest.mark.parametrize("persona", ["alice", "adam"])
def test_dashboard_query_count_is_small_and_constant(client, personas, persona):
    client.force_login(getattr(personas, persona))
    client.get(reverse("core:home"))
    with count_queries() as few:
        client.get(reverse("core:home"))
    alice = Membership.objects.get(user=personas.alice)
    make_course(personas.alice, personas.dana)
    for hours in (1, 2, 3):
        scheduling.appointment_book(
            actor=personas.alice,
            client=personas.dana,
            clinician=alice,
            starts_at=timezone.now() + dt.timedelta(days=1, hours=hours),
        )
    with count_queries() as more:
        client.get(reverse("core:home"))
    assert statements(more) == statements(few)
    # Session, user, membership, authenticator, first-run check, the counts, alert badge,
    # session save: the dashboard adds one query per role to the shell.
    assert statements(few) <= 8, [q["sql"] for q in few.captured_queries]
