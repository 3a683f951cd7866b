"""The gate to the research export (docs/adr/0019-research-export.md)."""

from __future__ import annotations

from django.http import Http404

from openipt.accounts.models import Membership, User
from openipt.accounts.policy import active_membership, can_export_research


def access_research_export(user: User) -> Membership:
    """The membership whose practice ``user`` may export for research; ``Http404`` otherwise."""
    membership = active_membership(user)
    if not can_export_research(membership):
        raise Http404
    return membership
