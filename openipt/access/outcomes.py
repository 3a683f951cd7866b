"""The gate to the practice outcome dashboard (docs/measures.md "Practice outcomes")."""

from __future__ import annotations

from django.http import Http404

from openipt.accounts.models import Membership, User
from openipt.accounts.policy import active_membership, can_see_outcomes


def access_outcomes(user: User) -> Membership:
    """The membership whose outcome dashboard ``user`` may see; ``Http404`` otherwise."""
    membership = active_membership(user)
    if not can_see_outcomes(membership):
        raise Http404
    return membership
