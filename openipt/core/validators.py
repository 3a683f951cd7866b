"""Plausible ranges for dates and lengths for free text, shared by every app's models and forms.

A typo in a year (0001, 9999, 2206 for 2026) or a pasted megabyte of text is refused with a
message next to the field, by the form and again by the model's ``full_clean``. The ranges
are deliberately wide: they catch slips, not unusual but real cases.

Dates (``docs/quality.md`` R8):

- ``validate_clinical_date``: something that happens in care and may be planned ahead
  (a session, an appointment, a due date, a course's start or end, a contract):
  from 2000-01-01 to about two years after today.
- ``validate_past_clinical_date``: a fact of care that has already happened (the day a
  questionnaire was filled in, a consent, a diary day, a rating): from 2000-01-01 to today.
- ``validate_booked_time``: an appointment's start and end, which a long series of
  bookings may carry further ahead than one typed date: from 2000-01-01 to ten years after
  today. Every date typed on a booking form is a clinical date (two years).
- ``validate_birth_date``: from 1900-01-01 to today.
- ``validate_life_event_date``: an event of the client's life on their timeline, which may
  be long before care began or just ahead: from 1900-01-01 to about two years after today.

Text (``max_length`` on the form field also gives the browser's ``maxlength``):

- ``SHORT_LINE`` (200): a one-line answer: a name, a reason, a note on one line.
- ``PARAGRAPH`` (5,000): a few paragraphs: an inventory answer, a contract's goals, an
  ending's relapse plan.
- ``LONG_NOTE`` (20,000): a full clinical note: the session note's sections, a
  formulation, a process note (about ten typed pages).

Dates and datetimes are both accepted; an aware datetime is judged by its day on the
practice's clock (``timezone.localdate``).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

EARLIEST_CLINICAL_DATE = dt.date(2000, 1, 1)
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
EARLIEST_LIFE_EVENT_DATE = EARLIEST_BIRTH_DATE
# How far ahead a planned date may be: about two years (two leap-free years and a day).
FUTURE_HORIZON = dt.timedelta(days=731)
# How far ahead a booked appointment may be: ten years, for the last of a long series.
BOOKING_HORIZON = dt.timedelta(days=3653)

SHORT_LINE = 200
PARAGRAPH = 5_000
LONG_NOTE = 20_000


def _day(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            try:
                return timezone.localdate(value)
            except OverflowError:  # year 1 or 9999 moved across midnight by the time zone
                return value.date()
        return value.date()
    return value


def latest_planned_date() -> dt.date:
    """The last day a planned date may fall on: about two years from today."""
    return timezone.localdate() + FUTURE_HORIZON


def _not_before(day: dt.date, earliest: dt.date) -> None:
    if day < earliest:
        raise ValidationError(
            _("Please check the year: dates before %(earliest)s are not accepted here."),
            code="too_early",
            params={"earliest": earliest.year},
        )


def _not_after_horizon(day: dt.date) -> None:
    latest = latest_planned_date()
    if day > latest:
        raise ValidationError(
            _(
                "Please check the year: this date is more than two years ahead. "
                "Dates up to %(latest)s are accepted."
            ),
            code="too_late",
            params={"latest": latest.isoformat()},
        )


def _not_after_booking_horizon(day: dt.date) -> None:
    latest = timezone.localdate() + BOOKING_HORIZON
    if day > latest:
        raise ValidationError(
            _(
                "Please check the year: appointments more than ten years ahead are not "
                "accepted (the last possible day is %(latest)s)."
            ),
            code="too_late",
            params={"latest": latest.isoformat()},
        )


def _not_future(day: dt.date) -> None:
    if day > timezone.localdate():
        raise ValidationError(_("This date cannot be in the future."), code="future")


def validate_clinical_date(value: dt.date | dt.datetime) -> None:
    """A date of care that may be planned: 2000-01-01 to about two years from today."""
    day = _day(value)
    _not_before(day, EARLIEST_CLINICAL_DATE)
    _not_after_horizon(day)


def validate_past_clinical_date(value: dt.date | dt.datetime) -> None:
    """A date of care that has happened: 2000-01-01 to today."""
    day = _day(value)
    _not_before(day, EARLIEST_CLINICAL_DATE)
    _not_future(day)


def validate_booked_time(value: dt.date | dt.datetime) -> None:
    """An appointment's time: 2000-01-01 to ten years from today."""
    day = _day(value)
    _not_before(day, EARLIEST_CLINICAL_DATE)
    _not_after_booking_horizon(day)


def validate_life_event_date(value: dt.date | dt.datetime) -> None:
    """An event of the client's life: 1900-01-01 to about two years from today."""
    day = _day(value)
    _not_before(day, EARLIEST_LIFE_EVENT_DATE)
    _not_after_horizon(day)


def validate_birth_date(value: dt.date) -> None:
    """A date of birth: 1900-01-01 to today."""
    day = _day(value)
    if day > timezone.localdate():
        raise ValidationError(_("The date of birth cannot be in the future."), code="future")
    if day < EARLIEST_BIRTH_DATE:
        raise ValidationError(
            _("Please check the year: dates of birth before 1900 are not accepted."),
            code="too_early",
        )


def validate_not_future(value: dt.date | dt.datetime) -> None:
    """Today or earlier (no lower bound: combine with a range where one applies)."""
    _not_future(_day(value))


@deconstructible
class TextLimit(MaxLengthValidator):
    """At most ``limit_value`` characters, in plain words. A model ``TextField``'s
    ``max_length`` only sizes the form's box; this makes ``full_clean`` refuse too."""

    message = _(
        "Please shorten this to at most %(limit_value)d characters (it has %(show_value)d)."
    )
    code = "max_length"


def text_limit(limit: int) -> list[TextLimit]:
    """The validators for a text field of at most ``limit`` characters."""
    return [TextLimit(limit)]
