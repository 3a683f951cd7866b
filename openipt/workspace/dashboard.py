"""Reads for the home page. The dashboard's counts carry no client names (nothing to
audit), each role's figures in one query of scalar subqueries so the page stays as light as
the P5 baseline. A clinician's home (the calendar) also lists the day's due items by client
name: ``due_items`` reads them in a fixed number of queries, and the page records them in
its one list read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.mfa.models import Authenticator
from django.db.models import Exists, F, Func, OuterRef, QuerySet, Subquery
from django.utils import timezone

from openipt.access.treatment import courses_for
from openipt.accounts.models import Invitation, Membership, Practice, User
from openipt.engagement import inbox
from openipt.measures import selectors as measure_selectors
from openipt.measures.models import RiskAlert
from openipt.treatment.models import Course, Session

DUE_SHOWN = 5  # rows of each due list shown beside the calendar (the count says the rest)


@dataclass(frozen=True)
class AdminCounts:
    staff: int
    staff_without_mfa: int
    invitations_waiting: int
    practice_open_alerts: int
    practice_escalated_alerts: int


def _count(queryset: QuerySet[Any]) -> Subquery:
    """``(SELECT COUNT(*) ...)`` as a scalar subquery, to read several counts in one query."""
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Subquery(counted[:1])


def _counts(practice_id: int, **subqueries: Subquery) -> dict[str, int]:
    row = Practice.objects.filter(pk=practice_id).annotate(**subqueries).values(*subqueries)
    found = row.first() or {}
    return {name: found.get(name) or 0 for name in subqueries}


def admin_counts(membership: Membership) -> AdminCounts:
    """Active staff (and those without an authenticator), waiting invitations, open alerts."""
    practice_id = membership.practice_id
    staff = Membership.objects.filter(
        practice_id=practice_id, kind=Membership.Kind.STAFF, is_active=True
    )
    totp = Authenticator.objects.filter(user_id=OuterRef("user_id"), type=Authenticator.Type.TOTP)
    open_alerts = RiskAlert.objects.filter(practice_id=practice_id, status=RiskAlert.Status.OPEN)
    counts = _counts(
        practice_id,
        staff=_count(staff),
        staff_without_mfa=_count(staff.filter(~Exists(totp))),
        invitations_waiting=_count(
            Invitation.objects.filter(
                practice_id=practice_id,
                accepted_at=None,
                revoked_at=None,
                expires_at__gt=timezone.now(),
            )
        ),
        practice_open_alerts=_count(open_alerts),
        practice_escalated_alerts=_count(open_alerts.filter(escalated_at__isnull=False)),
    )
    return AdminCounts(**counts)


@dataclass(frozen=True)
class DueItems:
    """What waits for the clinician beside the calendar; each list is the oldest (notes) or
    newest (alerts, inbox) ``DUE_SHOWN`` rows."""

    unsigned_notes: list[Session]
    unsigned_count: int
    alerts: list[RiskAlert]
    inbox_items: list[inbox.InboxItem]

    @property
    def names_shown(self) -> int:
        return len(self.unsigned_notes) + len(self.alerts) + len(self.inbox_items)


def unsigned_notes(user: User, membership: Membership) -> QuerySet[Session]:
    """Session notes of the clinician's own courses, held and not yet signed."""
    return Session.objects.filter(
        course__in=courses_for(user, write=True).filter(clinician=membership),
        signed_at__isnull=True,
        starts_at__lte=timezone.now(),
    ).exclude(course__status=Course.Status.ENTERED_IN_ERROR)


def due_items(user: User, membership: Membership) -> DueItems:
    """Unsigned notes, open alerts and the newest inbox items (four fixed queries plus one per
    inbox kind); the counts of alerts and inbox items come from the navigation's shared ones."""
    notes = unsigned_notes(user, membership)
    alerts = measure_selectors.alerts_for(user).filter(status=RiskAlert.Status.OPEN)
    return DueItems(
        unsigned_notes=list(
            notes.select_related("course__client").order_by("starts_at", "pk")[:DUE_SHOWN]
        ),
        unsigned_count=notes.count(),
        alerts=list(alerts.select_related("client").order_by("-raised_at")[:DUE_SHOWN]),
        inbox_items=inbox.inbox_items(membership, limit=DUE_SHOWN),
    )
