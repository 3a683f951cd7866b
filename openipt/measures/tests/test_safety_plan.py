"""Slice 3: the client's safety plan, versioned, edited by clinicians with write access."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.measures import services
from openipt.measures.models import SafetyPlan

pytestmark = pytest.mark.django_db


def _url(personas, name="measures:safety-plan"):
    return reverse(name, args=[personas.dana.uuid])


def test_each_save_adds_a_version_and_history_shows_them_all(alice_client, personas):
    alice_client.post(_url(personas), {"warning_signs": "Not sleeping", "coping_strategies": ""})
    alice_client.post(
        _url(personas), {"warning_signs": "Not sleeping; skipping meals", "people_to_ask": "Sam"}
    )
    versions = list(SafetyPlan.objects.order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].warning_signs == "Not sleeping"  # the old version is unchanged
    page = alice_client.get(_url(personas)).content.decode()
    assert "Version 2" in page
    assert "skipping meals" in page
    history = alice_client.get(_url(personas, "measures:safety-plan-history")).content.decode()
    assert "Version 1" in history
    assert "Version 2" in history
    assert "Sam" in history
    creates = AuditEvent.objects.filter(object_type="measures.safetyplan", action="create")
    assert creates.count() == 2


def test_a_plan_opened_before_another_version_was_saved_is_refused_and_kept(alice_client, personas):
    """Alice and a colleague open version 1; the second save must not undo the first."""
    alice_client.post(_url(personas), {"warning_signs": "Not sleeping", "based_on": 0})
    opened = alice_client.get(_url(personas)).context["form"]["based_on"].value()
    assert opened == 1
    first = {"warning_signs": "Not sleeping", "people_to_ask": "Sam", "based_on": 1}
    assert alice_client.post(_url(personas), first).status_code == 302

    stale = {"warning_signs": "Skipping meals", "based_on": 1}
    refused = alice_client.post(_url(personas), stale)

    html = refused.content.decode()
    assert "Someone else saved a new version of this safety plan" in html
    assert "Skipping meals" in html  # the typing is kept
    assert SafetyPlan.objects.count() == 2
    assert SafetyPlan.objects.order_by("-number").first().people_to_ask == "Sam"


def test_an_empty_plan_is_refused_and_nothing_is_saved(alice_client, personas):
    page = alice_client.post(_url(personas), {"warning_signs": "  "}).content.decode()
    assert "Write at least one part of the plan." in page
    assert not SafetyPlan.objects.exists()


def test_supervisor_reads_but_cannot_edit(client, personas):
    services.safety_plan_save(
        actor=personas.alice,
        client=personas.dana,
        data=services.SafetyPlanData(professionals="GP: 01234"),
    )
    client.force_login(personas.bob)
    page = client.get(_url(personas)).content.decode()
    assert "GP: 01234" in page
    assert "<textarea" not in page
    assert client.post(_url(personas), {"warning_signs": "x"}).status_code == 404
    with pytest.raises(PermissionDenied):
        services.safety_plan_save(
            actor=personas.bob,
            client=personas.dana,
            data=services.SafetyPlanData(warning_signs="x"),
        )
    assert SafetyPlan.objects.count() == 1


@pytest.mark.parametrize("who", ["charlie", "adam"])
def test_no_clinical_access_means_404(client, personas, who):
    client.force_login(getattr(personas, who))
    assert client.get(_url(personas)).status_code == 404
    assert client.get(_url(personas, "measures:safety-plan-history")).status_code == 404


def test_reading_the_plan_is_audited(alice_client, personas):
    before = AuditEvent.objects.filter(action="read").count()
    alice_client.get(_url(personas))
    assert AuditEvent.objects.filter(action="read").count() == before + 1


def test_service_refuses_an_empty_plan(personas):
    with pytest.raises(ValidationError):
        services.safety_plan_save(
            actor=personas.alice, client=personas.dana, data=services.SafetyPlanData()
        )
