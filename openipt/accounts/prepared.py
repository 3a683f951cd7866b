"""Queries about "me" on every page, prepared once per role (openipt/core/prepared.py).

The navigation's badges count what the signed-in member must see: built through the policy,
whose filters branch on the member's role (kind, active, administrator, supervisor,
clinician) and otherwise use only the member's ids. ``MemberQuery`` builds the query once per
role and process for a stand-in membership whose ids are stand-ins, then runs it with the
member's own ids, the practice's and any other values the caller names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db.models import QuerySet

from openipt.accounts.models import Membership
from openipt.core.prepared import PreparedQuery, Stand

Role = tuple[str, bool, bool, bool, bool]
# The stand-in membership's ids: a query need not use all of them.
_IDS = frozenset({"membership", "user", "practice"})


def role(membership: Membership) -> Role:
    """What the policy's filters branch on, so what can change a query's SQL."""
    return (
        membership.kind,
        membership.is_active,
        membership.is_admin,
        membership.is_supervisor,
        membership.is_clinician,
    )


def _stand_in(stand: Stand, shape: Role) -> Membership:
    kind, is_active, is_admin, is_supervisor, is_clinician = shape
    return Membership(
        pk=stand.int("membership"),
        user_id=stand.int("user"),
        practice_id=stand.int("practice"),
        kind=kind,
        is_active=is_active,
        is_admin=is_admin,
        is_supervisor=is_supervisor,
        is_clinician=is_clinician,
    )


class MemberQuery:
    """``MemberQuery(build)``: ``build(membership, stand)`` returns the queryset for a
    membership (use ``stand.time(name)`` etc. for other values); ``run(membership, **values)``
    returns its first row."""

    def __init__(self, build: Callable[[Membership, Stand], QuerySet[Any]]) -> None:
        self._query = PreparedQuery(
            lambda stand, shape: build(_stand_in(stand, shape), stand), optional=_IDS
        )

    def run(self, membership: Membership, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(membership, values)
        return found[0] if found else None

    def rows(self, membership: Membership, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        ids = {
            "membership": membership.pk,
            "user": membership.user_id,
            "practice": membership.practice_id,
        }
        return self._query.rows(role(membership), {**ids, **values})
