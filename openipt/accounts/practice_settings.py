"""The practice's settings that clients rely on in a crisis: its crisis lines, the local
emergency number and when its clinicians see answers and messages (docs/measures.md §7).

A service module like ``services.py`` (one function per change, keyword-only, atomic, policy
re-checked, audited in the same transaction); kept in its own module because it is one
separable part: the settings page and the setup wizard both write through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest

from openipt.accounts import policy
from openipt.accounts.models import CrisisLine, Practice, User
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.core.versioning import update_versioned


@dataclass(frozen=True)
class CrisisSettings:
    """What the practice tells its clients about getting help (all optional)."""

    crisis_lines: Sequence[CrisisLine] = ()
    emergency_number: str = ""
    response_time: str = ""
    crisis_information: str = ""


@transaction.atomic
def practice_crisis_settings_update(
    *,
    actor: User,
    practice: Practice,
    settings: CrisisSettings,
    version: int | None,
    request: HttpRequest | None = None,
) -> Practice:
    """Save the practice's crisis contacts. Administrators of that practice only; a stale
    ``version`` is refused (``EditConflict``) and a bad number raises ``ValidationError``
    naming its field, with nothing saved."""
    membership = policy.staff_membership(actor)
    if not policy.can_manage_practice(membership) or membership is None:
        raise PermissionDenied
    if membership.practice_id != practice.pk:
        raise PermissionDenied
    changes = {
        "crisis_lines": [
            {"name": line.name.strip(), "number": line.number.strip(), "hours": line.hours.strip()}
            for line in settings.crisis_lines
        ],
        "emergency_number": settings.emergency_number.strip(),
        "response_time": settings.response_time.strip(),
        "crisis_information": settings.crisis_information.strip(),
    }
    saved = update_versioned(practice, version=version, changes=changes)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=saved,
        practice_id=saved.pk,
        request=request,
        detail=f"crisis contacts saved: {len(changes['crisis_lines'])} line(s), emergency "
        f"number {'set' if saved.emergency_number else 'not set'}",
    )
    return saved


def crisis_settings_of(practice: Practice) -> CrisisSettings:
    """The practice's current crisis settings (the form's starting point)."""
    return CrisisSettings(
        crisis_lines=practice.crisis_contacts,
        emergency_number=practice.emergency_number,
        response_time=practice.response_time,
        crisis_information=practice.crisis_information,
    )


def crisis_lines_as_rows(lines: Sequence[CrisisLine]) -> list[dict[str, str]]:
    """Initial data for the form's rows of crisis lines."""
    return [asdict(line) for line in lines]


@transaction.atomic
def practice_measure_schedule_update(
    *,
    actor: User,
    practice: Practice,
    every_fourth_session: bool,
    version: int | None,
    request: HttpRequest | None = None,
) -> Practice:
    """Turn the measurement schedule on or off: with it, the course guidance asks for a PHQ-9
    and a GAD-7 at least every fourth session. Administrators of that practice only; a stale
    ``version`` is refused (``EditConflict``)."""
    membership = policy.staff_membership(actor)
    if not policy.can_manage_practice(membership) or membership is None:
        raise PermissionDenied
    if membership.practice_id != practice.pk:
        raise PermissionDenied
    changes = {"measure_every_fourth_session": every_fourth_session}
    saved = update_versioned(practice, version=version, changes=changes)
    audit.record(
        actor=actor,
        action=AuditEvent.Action.ADMIN,
        obj=saved,
        practice_id=saved.pk,
        request=request,
        detail=f"measurement schedule {'on' if every_fourth_session else 'off'}",
    )
    return saved
