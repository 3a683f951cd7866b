"""Background tasks of the accounts app (django-tasks).

``manage.py periodic`` enqueues every task in ``settings.OPENIPT_PERIODIC_TASKS`` each
minute; this one sends at most once per practice and ISO week (a ``StaffChangeSummary`` row
records it), so a late, doubled or parallel run does no harm.
"""

from __future__ import annotations

from django_tasks import task

from openipt.accounts import services


@task()
def send_weekly_staff_summaries() -> int:
    """Email every active administrator last week's changes to staff roles and supervision
    (docs/adr/0015-separation-of-duties.md)."""
    return services.staff_summaries_send_due()
