"""A new maintenance course starts with its contract: the course guidance asks for it first,
and the contract page opens filled in with the course's plan (monthly sessions) and the
focus agreed for the earlier course, so that agreeing it takes one look and one save."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from openipt.care import guidance as guidance_lib
from openipt.treatment import services
from openipt.treatment.models import ContractVersion, Course
from openipt.treatment.tests.factories import make_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def maintenance(personas) -> Course:
    """Alice's concluded 12-session course with Dana (focus: a role dispute), then the
    maintenance course that follows it, started with the defaults."""
    alice = personas.alice
    earlier = make_course(alice, personas.dana, planned_sessions=12)
    services.contract_record(
        actor=alice, course=earlier,
        data=services.ContractData(
            planned_sessions=12, frequency="weekly", agreed_on=earlier.start_date,
            focus_areas=("role_dispute",),
        ),
    )  # fmt: skip
    earlier.refresh_from_db()
    services.course_conclude(
        actor=alice, course=earlier, version=earlier.version,
        data=services.ConclusionData(status=Course.Status.ENDED_EARLY, status_reason="Moved"),
    )  # fmt: skip
    return services.course_start_maintenance(
        actor=alice, previous=earlier, clinician=personas.membership(alice),
        data=services.MaintenanceData(start_date=timezone.localdate()),
    )  # fmt: skip


def test_the_guidance_asks_for_the_contract_first(maintenance):
    todo = guidance_lib.guidance_for(maintenance).todo
    assert todo[0].code == "init.contract"
    assert "how many sessions, how often" in todo[0].reason


def test_the_contract_page_opens_with_monthly_sessions_and_the_earlier_focus(
    alice_client, maintenance
):
    html = alice_client.get(reverse("treatment:contract", args=[maintenance.uuid])).content
    page = html.decode()
    assert "Record the maintenance contract" in page
    assert "monthly is usual" in page
    assert re.search(r'<option value="monthly"[^>]*selected', page)
    assert re.search(r'name="planned_sessions"[^>]*value="12"', page)
    assert re.search(r'value="role_dispute"[^>]*checked', page)


def test_saving_the_prefilled_contract_settles_the_first_step(alice_client, maintenance):
    url = reverse("treatment:contract", args=[maintenance.uuid])
    response = alice_client.post(
        url,
        {
            "planned_sessions": "12", "frequency": "monthly",
            "agreed_on": timezone.localdate().isoformat(), "focus_areas": ["role_dispute"],
            "goals_summary": "", "arrangements": "", "based_on": "0",
        },
    )  # fmt: skip
    assert response.status_code == 302
    contract = ContractVersion.objects.get(course=maintenance)
    assert (contract.planned_sessions, contract.frequency) == (12, "monthly")
    codes = {item.code for item in guidance_lib.guidance_for(maintenance).todo}
    assert "init.contract" not in codes
    # Once there is a contract the page offers a renegotiation, not the first agreement.
    assert "Record the maintenance contract" not in alice_client.get(url).content.decode()


def test_an_acute_course_without_a_contract_is_not_called_maintenance(alice_client, personas):
    course = make_course(personas.alice, personas.dana, planned_sessions=12)
    page = alice_client.get(reverse("treatment:contract", args=[course.uuid])).content.decode()
    assert "Record the contract" in page
    assert "Record the maintenance contract" not in page
    assert 'id="maintenance-contract-help"' not in page


def test_the_course_page_offers_the_maintenance_contract_first(alice_client, maintenance):
    """The course page's main button goes to the contract, not to "Record session 1"."""
    url = reverse("treatment:course-detail", args=[maintenance.uuid])
    page = alice_client.get(url).content.decode()
    contract = reverse("treatment:contract", args=[maintenance.uuid])
    assert f'<a class="button" href="{contract}">Record the maintenance contract</a>' in page
    assert "Record session 1" not in page
