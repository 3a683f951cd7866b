"""Reads for the dashboard: counts only (no client names, so nothing to audit), each role's
figures in one query of scalar subqueries so the page stays as light as the P5 baseline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from allauth.mfa.models import Authenticator
from django.db.models import Exists, F, Func, OuterRef, QuerySet, Subquery
from django.utils import timezone

from openipt.access.treatment import courses_for
from openipt.accounts.models import Invitation, Membership, Practice, User
from openipt.measures.models import RiskAlert
from openipt.scheduling.models import Appointment
from openipt.scheduling.times import zone_for
from openipt.treatment.models import Course


@dataclass(frozen=True)
class ClinicianCounts:
    open_courses: int
    appointments_today: int


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


def clinician_counts(user: User, membership: Membership) -> ClinicianCounts:
    """Open courses on the caseload (as the caseload page counts them), today's appointments."""
    zone = zone_for(membership.practice)
    start = dt.datetime.combine(timezone.localdate(timezone=zone), dt.time.min, tzinfo=zone)
    counts = _counts(
        membership.practice_id,
        open_courses=_count(
            courses_for(user, write=True).filter(
                status__in=[Course.Status.ASSESSMENT, Course.Status.ACTIVE]
            )
        ),
        appointments_today=_count(
            Appointment.objects.filter(
                clinician=membership,
                starts_at__gte=start,
                starts_at__lt=start + dt.timedelta(days=1),
                status__in=Appointment.OCCUPYING,
            )
        ),
    )
    return ClinicianCounts(**counts)


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
