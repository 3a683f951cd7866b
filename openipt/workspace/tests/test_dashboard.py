"""The dashboard of staff without a calendar of their own: counts and links by role, in a
small fixed number of queries. A clinician's home is the calendar (test_calendar.py)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from openipt.accounts.models import Membership
from openipt.testing.personas import count_queries, make_staff

pytestmark = pytest.mark.django_db


def stat(html: str, label: str) -> int:
    """The number shown in front of a dashboard label."""
    match = re.search(rf'stat__number">(\d+)</span>\s*<span class="stat__label">{label}', html)
    assert match, f"no count for {label!r}"
    return int(match.group(1))


def test_admin_sees_practice_figures_not_clinical_work(client, personas):
    client.force_login(personas.adam)
    html = client.get(reverse("core:home")).content.decode()
    assert stat(html, "active staff members") == 3
    assert stat(html, "open alerts in the practice") == 0
    assert reverse("audit:report") in html
    assert "Your work" not in html  # Adam has no caseload of his own
    assert '<table class="cal">' not in html


def test_a_supervisor_without_clients_sees_their_alerts(client, personas):
    sam = make_staff(
        personas.practice, "sam@riverside.test", "Sam Supervisor", supervisor=True, clinician=False
    )
    client.force_login(sam)
    html = client.get(reverse("core:home")).content.decode()
    assert stat(html, "open risk alerts") == 0
    assert '<table class="cal">' not in html


def test_current_section_is_marked_in_the_navigation(client, personas):
    client.force_login(personas.alice)
    html = client.get(reverse("clients:list")).content.decode()
    assert re.search(r'<a href="/clients/" aria-current="page">', html)
    assert html.count("aria-current") == 1


def statements(ctx) -> int:
    """Queries, not counting the savepoint markers around the session save."""
    return sum(1 for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"])


def test_dashboard_query_count_is_small(client, personas):
    client.force_login(personas.adam)
    client.get(reverse("core:home"))
    with count_queries() as few:
        client.get(reverse("core:home"))
    assert Membership.objects.get(user=personas.adam).is_admin
    # Session, user, membership, authenticator, first-run check, the counts, session save:
    # the dashboard adds one query per role to the shell.
    assert statements(few) <= 8, [q["sql"] for q in few.captured_queries]
