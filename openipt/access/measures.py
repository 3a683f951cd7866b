"""Gates to questionnaires and risk alerts.

Each gate answers ``Http404`` to anyone who may not reach the thing, so a stranger learns
nothing, not even that it exists. With ``audit``, the read is recorded before anything is
shown (fail closed: if the audit write fails, the request fails). A course's measures are
reached through the course's gate; a safety plan through its client's
(``openipt.access.clients.access_client``).
"""

from __future__ import annotations

import uuid as uuid_lib

from django.http import Http404, HttpRequest

from openipt.accounts.models import User
from openipt.audit import services as audit_services
from openipt.core.http import parse_uuid
from openipt.measures.models import Instrument, RiskAlert
from openipt.measures.selectors import alert_list, alerts_for, instrument_for


def access_instrument(user: User, code: str) -> Instrument:
    """The newest active version of ``code`` that the user's practice may use; else 404."""
    match = instrument_for(user, code)
    if match is None:
        raise Http404
    return match


def access_alert(
    user: User,
    alert_uuid: str | uuid_lib.UUID,
    *,
    audit: HttpRequest | None = None,
    detail: str = "",
) -> RiskAlert:
    """An alert the user must act on, of a client they may read; otherwise ``Http404``.
    With ``audit``, the read of the alert is recorded."""
    alert = (
        alerts_for(user)
        .select_related(
            "client",
            "administration__instrument",
            "administration__session",
            "clinician__user",
            "acknowledged_by",
            "course",
        )
        .filter(uuid=parse_uuid(alert_uuid))
        .first()
    )
    if alert is None:
        raise Http404
    if audit is not None:
        audit_services.record_read(audit, alert.client, alert, detail=detail, actor=user)
    return alert


def access_alert_list(user: User, *, audit: HttpRequest | None = None) -> list[RiskAlert]:
    """The alerts the user must act on (the latest 200). With ``audit``, a list that shows
    any alert (and so client names) is recorded as one read; the names are not logged."""
    alerts = alert_list(user)
    if audit is not None and alerts:
        audit_services.record_list_read(
            audit,
            actor=user,
            object_type="measures.riskalert_list",
            practice_id=alerts[0].practice_id,
            detail=f"{len(alerts)} alerts shown",
        )
    return alerts
