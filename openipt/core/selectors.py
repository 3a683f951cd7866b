"""Reads for the dashboard: counts only (no client names), a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from openipt.accounts.models import Invitation, Membership, User
from openipt.measures.models import RiskAlert
from openipt.scheduling.models import Appointment
from openipt.scheduling.times import zone_for
from openipt.treatment.models import Course
from openipt.treatment.selectors import courses_for


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


def clinician_counts(user: User, membership: Membership) -> ClinicianCounts:
    """Open courses on the caseload and today's booked appointments: two queries."""
    open_courses = (
        courses_for(user, write=True)
        .filter(status__in=[Course.Status.ASSESSMENT, Course.Status.ACTIVE])
        .count()
    )
    zone = zone_for(membership.practice)
    today = timezone.localdate(timezone=zone)
    start = dt.datetime.combine(today, dt.time.min, tzinfo=zone)
    appointments_today = Appointment.objects.filter(
        clinician=membership,
        starts_at__gte=start,
        starts_at__lt=start + dt.timedelta(days=1),
        status__in=Appointment.OCCUPYING,
    ).count()
    return ClinicianCounts(open_courses=open_courses, appointments_today=appointments_today)


def admin_counts(membership: Membership) -> AdminCounts:
    """Staff, waiting invitations and the practice's open alerts: three queries."""
    totp = Authenticator.objects.filter(user_id=OuterRef("user_id"), type=Authenticator.Type.TOTP)
    staff = Membership.objects.filter(
        practice_id=membership.practice_id, kind=Membership.Kind.STAFF, is_active=True
    ).aggregate(
        total=Count("pk"),
        without_mfa=Count("pk", filter=~Exists(totp)),
    )
    invitations = Invitation.objects.filter(
        practice_id=membership.practice_id,
        accepted_at=None,
        revoked_at=None,
        expires_at__gt=timezone.now(),
    ).count()
    alerts = RiskAlert.objects.filter(
        practice_id=membership.practice_id, status=RiskAlert.Status.OPEN
    ).aggregate(
        open=Count("pk"),
        escalated=Count("pk", filter=Q(escalated_at__isnull=False)),
    )
    return AdminCounts(
        staff=staff["total"],
        staff_without_mfa=staff["without_mfa"],
        invitations_waiting=invitations,
        practice_open_alerts=alerts["open"],
        practice_escalated_alerts=alerts["escalated"],
    )
