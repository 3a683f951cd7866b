"""Every write of the measures app."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.accounts import policy
from openipt.audit import services as audit
from openipt.measures.models import Instrument
from openipt.measures.scoring import parse_questionnaire_json

if TYPE_CHECKING:
    from openipt.accounts.models import Practice, User

MAX_IMPORT_BYTES = 1_000_000


def _import_problems(
    *, practice: Practice, file_content: str | bytes, licence_confirmed: bool
) -> tuple[list[str], Instrument | None]:
    problems: list[str] = []
    if not licence_confirmed:
        problems.append(_("Confirm that your practice holds a licence to use this questionnaire."))
    if len(file_content) > MAX_IMPORT_BYTES:
        return [*problems, _("The file is larger than 1 MB.")], None
    outcome = parse_questionnaire_json(file_content)
    problems.extend(outcome.errors)
    definition = outcome.definition
    if definition is None:
        return problems, None
    builtin = Instrument.objects.filter(practice__isnull=True, code=definition.code).exists()
    if builtin:
        problems.append(
            _("%(code)s is a built-in instrument code; choose another code.")
            % {"code": definition.code}
        )
    duplicate = Instrument.objects.filter(
        practice=practice, code=definition.code, version=definition.version
    ).exists()
    if duplicate:
        problems.append(
            _("Version %(version)s of %(code)s has already been imported.")
            % {"version": definition.version, "code": definition.code}
        )
    instrument = Instrument(
        code=definition.code,
        version=definition.version,
        title=definition.title[:200],
        url=definition.url,
        source=Instrument.Source.IMPORTED,
        practice=practice,
        definition=json.loads(file_content),
    )
    return problems, instrument


@transaction.atomic
def instrument_import(
    *, actor: User, practice: Practice, file_content: str | bytes, licence_confirmed: bool
) -> Instrument:
    """Validate a practice-supplied FHIR Questionnaire and store it, or store nothing.

    Raises ``ValidationError`` listing every problem found; ``PermissionDenied`` when the
    actor does not manage this practice.
    """
    membership = policy.staff_membership(actor)
    if (
        membership is None
        or membership.practice_id != practice.pk
        or not policy.can_manage_practice(membership)
    ):
        raise PermissionDenied
    problems, instrument = _import_problems(
        practice=practice, file_content=file_content, licence_confirmed=licence_confirmed
    )
    if problems or instrument is None:
        raise ValidationError(problems)
    instrument.licence_confirmed_by = actor
    instrument.licence_confirmed_at = timezone.now()
    instrument.full_clean()
    instrument.save()
    audit.record(actor=actor, action="create", obj=instrument, practice_id=practice.pk)
    return instrument
