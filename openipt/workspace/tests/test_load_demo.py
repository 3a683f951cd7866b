from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from openipt.accounts.models import Membership, Practice
from openipt.clients.models import Client, ConsentRecord

pytestmark = pytest.mark.django_db


def run() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_load_demo_is_idempotent_and_prints_working_passwords():
    run()
    output = run()
    practice = Practice.objects.get(name="Demo Practice (fictional)")
    clients = Client.objects.filter(practice=practice)
    assert clients.count() == 12
    assert all("Demo" in c.legal_family_name for c in clients)
    assert all(c.care_team.filter(role="primary", is_active=True).exists() for c in clients)
    assert ConsentRecord.objects.filter(client__practice=practice).count() == 12
    assert Membership.objects.filter(practice=practice).count() == 3
    assert "Clients created this run: 0" in output
    printed = dict(re.findall(r"(\S+@demo-practice\.invalid)\s+password: (\S+)", output))
    assert len(printed) == 3
    for email, password in printed.items():
        assert authenticate(email=email, password=password) is not None
    assert "authenticator" in output
