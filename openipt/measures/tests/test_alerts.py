"""Slice 2: risk alerts — raised at once, emailed without clinical detail, acknowledged,
escalated to the supervisor when left too long (time-controlled)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from openipt.accounts.models import Membership, Supervision
from openipt.audit.models import AuditEvent
from openipt.core import outbox
from openipt.measures import services, tasks
from openipt.measures.models import Administration, Instrument, RiskAlert
from openipt.measures.tests.conftest import phq9_answers

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _enter(personas, course, digits="000000001", code="PHQ-9", answers=None):
    instrument = Instrument.objects.get(code=code, practice__isnull=True)
    return services.administration_enter(
        actor=personas.alice, course=course, instrument=instrument,
        answers=answers if answers is not None else phq9_answers(digits),
    )  # fmt: skip


def test_phq9_item_9_raises_an_alert_for_the_responsible_clinician(personas, course):
    row = _enter(personas, course, "000000001")
    alert = RiskAlert.objects.get()
    assert alert.administration == row
    assert alert.flags == ["self_harm_item"]
    assert alert.clinician == Membership.objects.get(user=personas.alice)
    assert alert.status == "open"
    assert AuditEvent.objects.filter(object_type="measures.riskalert", action="create").count() == 1


def test_no_alert_without_a_critical_answer_even_with_a_high_total(personas, course):
    _enter(personas, course, "333333330")
    assert not RiskAlert.objects.exists()


def test_the_alert_stands_even_when_the_form_has_no_total(personas, course):
    row = _enter(personas, course, "------2-2")
    assert row.total is None
    assert RiskAlert.objects.filter(administration=row).exists()


def test_hamd_item_3_raises_an_alert(personas, course):
    hamd = Instrument.objects.get(code="HAM-D-17").parsed
    from openipt.measures.scoring import answers_from_entries

    answers = answers_from_entries(hamd, [0, 0, 2] + [0] * 14)
    _enter(personas, course, code="HAM-D-17", answers=answers)
    assert RiskAlert.objects.get().flags == ["suicide_item"]


def test_the_email_is_sent_after_commit_and_holds_no_clinical_detail(
    personas, course, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _enter(personas, course, "000000003")
        assert not mail.outbox  # nothing leaves before the transaction commits
    assert callbacks
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@riverside.test"]
    assert message.subject == "An alert needs your attention in OpenIPT"
    alert = RiskAlert.objects.get()
    assert f"/alerts/{alert.uuid}/" in message.body
    for secret in ("Dana", "Example", "PHQ", "self", "9", "harm"):
        assert secret not in message.subject + message.body.replace(str(alert.uuid), "")


def test_an_alert_shows_at_once_in_the_navigation_and_on_entry(alice_client, personas, course):
    url = reverse("measures:administration-create", args=[course.uuid]) + "?instrument=PHQ-9"
    response = alice_client.post(url, {"quick": "000000001"}, follow=True)
    page = response.content.decode()
    assert "A risk alert was raised" in page
    assert 'badge badge--danger">1<' in page
    assert "Acknowledge: what was done?" in page


def test_acknowledging_records_what_was_done_by_whom_and_when(alice_client, personas, course):
    _enter(personas, course)
    alert = RiskAlert.objects.get()
    url = reverse("measures:alert-detail", args=[alert.uuid])
    page = alice_client.post(url, {"actions": ["other"], "note": ""}).content.decode()
    assert "Describe what was done" in page
    response = alice_client.post(url, {"actions": ["risk_assessment", "safety_plan"]})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    assert alert.acknowledged_by == personas.alice
    assert alert.actions == ["risk_assessment", "safety_plan"]
    assert alert.acknowledged_at
    event = AuditEvent.objects.filter(object_type="measures.riskalert", action="update").get()
    assert event.detail == "acknowledged: risk_assessment,safety_plan"
    page = alice_client.get(reverse("measures:alerts")).content.decode()
    assert 'badge badge--danger">1<' not in page


def test_an_alert_is_acknowledged_once(personas, course):
    _enter(personas, course)
    alert = RiskAlert.objects.get()
    ack = services.Acknowledgement(actions=("risk_assessment",))
    services.alert_acknowledge(actor=personas.alice, alert=alert, acknowledgement=ack)
    with pytest.raises(ValidationError):
        services.alert_acknowledge(actor=personas.alice, alert=alert, acknowledgement=ack)


def test_others_cannot_see_or_acknowledge_an_alert(client, personas, course):
    _enter(personas, course)
    alert = RiskAlert.objects.get()
    url = reverse("measures:alert-detail", args=[alert.uuid])
    for user in (personas.bob, personas.charlie, personas.adam):  # Bob: not escalated yet
        client.force_login(user)
        assert client.get(url).status_code == 404
        ack = services.Acknowledgement(actions=("other",), note="x")
        with pytest.raises(PermissionDenied):
            services.alert_acknowledge(actor=user, alert=alert, acknowledgement=ack)
        assert "Dana" not in client.get(reverse("measures:alerts")).content.decode()


@override_settings(OPENIPT_ALERT_ESCALATION_MINUTES=60)
def test_an_unacknowledged_alert_reaches_the_supervisor_once(
    client, personas, course, django_capture_on_commit_callbacks
):
    with time_machine.travel(T0, tick=False):
        _enter(personas, course)
    alert = RiskAlert.objects.get()
    with time_machine.travel(T0 + dt.timedelta(minutes=59), tick=False):
        assert tasks.escalate_overdue_alerts.call() == 0
    outbox.deliver_due()  # the clinician's own alert email, queued with the alert
    mail.outbox.clear()
    with (
        time_machine.travel(T0 + dt.timedelta(minutes=61), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert tasks.escalate_overdue_alerts.call() == 1
        assert tasks.escalate_overdue_alerts.call() == 0  # idempotent
    alert.refresh_from_db()
    assert list(alert.escalated_to.all()) == [Membership.objects.get(user=personas.bob)]
    assert [m.to for m in mail.outbox] == [["bob@riverside.test"]]
    assert "Dana" not in mail.outbox[0].body
    client.force_login(personas.bob)
    page = client.get(reverse("measures:alerts")).content.decode()
    assert "Dana" in page
    assert "Escalated" in page
    response = client.post(
        reverse("measures:alert-detail", args=[alert.uuid]), {"actions": ["emergency"]}
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == personas.bob


def test_an_acknowledged_alert_never_escalates(personas, course):
    with time_machine.travel(T0, tick=False):
        _enter(personas, course)
        ack = services.Acknowledgement(actions=("risk_assessment",))
        services.alert_acknowledge(
            actor=personas.alice, alert=RiskAlert.objects.get(), acknowledgement=ack
        )
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        assert services.alerts_escalate_overdue() == 0


def test_without_an_active_supervisor_the_escalation_is_recorded_once(personas, course):
    Supervision.objects.update(is_active=False)
    with time_machine.travel(T0, tick=False):
        _enter(personas, course)
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        assert services.alerts_escalate_overdue() == 1
        assert services.alerts_escalate_overdue() == 0
    alert = RiskAlert.objects.get()
    assert alert.escalated_at is not None
    assert not alert.escalated_to.exists()


def test_the_periodic_command_escalates(personas, course):
    with time_machine.travel(T0, tick=False):
        _enter(personas, course)
    out = io.StringIO()
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        call_command("periodic", "--now", stdout=out)
    assert "escalate_overdue_alerts: 1" in out.getvalue()
    assert RiskAlert.objects.get().escalated_at is not None


def test_admins_see_counts_and_ages_but_no_client(client, personas, course):
    _enter(personas, course)
    client.force_login(personas.adam)
    page = client.get(reverse("measures:practice-alerts")).content.decode()
    assert "Alice Clinician" in page
    assert "Dana" not in page
    assert "PHQ" not in page
    client.force_login(personas.alice)
    assert client.get(reverse("measures:practice-alerts")).status_code == 404


def test_a_client_completed_form_without_a_course_alerts_the_primary_clinician(personas, course):
    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    assigned = services.administration_assign(
        actor=personas.alice, client=personas.dana, instrument=phq9, due_on=T0.date()
    )
    services.administration_complete(
        actor=personas.alice, administration=assigned, answers=phq9_answers("000000002")
    )
    alert = RiskAlert.objects.get()
    assert alert.course is None
    assert alert.clinician.user == personas.alice
    assert Administration.objects.get().status == "completed"


def test_an_open_alert_is_the_first_thing_the_course_guidance_shows(alice_client, personas, course):
    """Until someone acknowledges it, the alert heads "What is due next" on the course page
    and the caseload, links to the alert, and cannot be marked away like a task."""
    _enter(personas, course)
    alert = RiskAlert.objects.get()
    course_url = reverse("treatment:course-detail", args=[course.uuid])
    page = alice_client.get(course_url).content.decode()
    due = page[page.index('id="due-heading"') :]
    first = due[due.index("<li") : due.index("</li>")]
    assert "Risk: respond first" in first
    assert "PHQ-9 on" in first
    assert "nobody has responded to yet" in first
    assert reverse("measures:alert-detail", args=[alert.uuid]) in first
    assert "Mark done" not in first
    caseload = alice_client.get(reverse("treatment:caseload")).content.decode()
    assert "Risk: respond first" in caseload
    assert 'badge badge--danger">1 risk alert</span>' in caseload  # the row's summary says so

    ack = services.Acknowledgement(actions=("risk_assessment",))
    services.alert_acknowledge(actor=personas.alice, alert=alert, acknowledgement=ack)
    assert "Risk: respond first" not in alice_client.get(course_url).content.decode()
