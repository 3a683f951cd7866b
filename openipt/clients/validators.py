"""Field validators for client records (also used by the forms, so messages match).

The date ranges live in ``openipt.core.validators``, shared by every app; the names here
are kept for the client record's fields and the migrations that refer to them.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from openipt.core import validators as core

EARLIEST_BIRTH_DATE = core.EARLIEST_BIRTH_DATE


def reject_angle_brackets(value: str) -> None:
    """Names and short text never need '<' or '>'; refusing them stops markup at the door."""
    if "<" in value or ">" in value:
        raise ValidationError(_("Please remove the < and > characters."), code="angle_brackets")


def validate_birth_date(value: dt.date) -> None:
    """A date of birth: 1900-01-01 to today."""
    core.validate_birth_date(value)


def validate_not_future(value: dt.date) -> None:
    """A date of care that has happened (a consent, a diary day): 2000-01-01 to today."""
    core.validate_past_clinical_date(value)
