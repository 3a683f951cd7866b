"""Field validators for client records (also used by the forms, so messages match)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)


def reject_angle_brackets(value: str) -> None:
    """Names and short text never need '<' or '>'; refusing them stops markup at the door."""
    if "<" in value or ">" in value:
        raise ValidationError(_("Please remove the < and > characters."), code="angle_brackets")


def validate_birth_date(value: dt.date) -> None:
    if value > timezone.localdate():
        raise ValidationError(_("The date of birth cannot be in the future."), code="future")
    if value < EARLIEST_BIRTH_DATE:
        raise ValidationError(
            _("Please check the year: dates of birth before 1900 are not accepted."),
            code="too_early",
        )


def validate_not_future(value: dt.date) -> None:
    if value > timezone.localdate():
        raise ValidationError(_("This date cannot be in the future."), code="future")
