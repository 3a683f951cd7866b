import io

import pytest
from django.core.management import call_command
from django.test import override_settings

from openipt.measures.models import RiskAlert
from openipt.testing.personas import make_personas


@pytest.mark.django_db
def test_periodic_runs_every_registered_task_once():
    out = io.StringIO()
    call_command("periodic", "--now", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "worker_heartbeat",
        "deliver_outbox",
        "forget_old_submissions",
        "reclaim_stalled_tasks",
        "checkpoint_audit_head",
        "send_weekly_staff_summaries",
        "escalate_overdue_alerts",
        "refresh_assignments",
        "send_due_reminders",
        "delete_expired_recordings",
        "delete_expired_exports",
    ]


IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.mark.django_db
@override_settings(TASKS=IMMEDIATE)
def test_periodic_enqueues_through_the_task_backend():
    make_personas()
    out = io.StringIO()
    call_command("periodic", stdout=out)
    assert out.getvalue().count("queued") == 11
    assert RiskAlert.objects.count() == 0
