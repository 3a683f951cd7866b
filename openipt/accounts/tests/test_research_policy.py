"""Who may make the practice's research export (docs/adr/0019-research-export.md)."""

from __future__ import annotations

import pytest

from openipt.accounts import policy
from openipt.accounts.models import Membership

pytestmark = pytest.mark.django_db


def test_active_administrators_only(personas):
    member = personas.membership
    adam = member(personas.adam)
    assert policy.can_export_research(adam)
    for user in (personas.alice, personas.bob, personas.charlie):
        assert not policy.can_export_research(member(user))
    assert not policy.can_export_research(None)
    adam.is_active = False
    assert not policy.can_export_research(adam)
    assert not policy.can_export_research(Membership(kind=Membership.Kind.CLIENT, is_admin=True))
