"""Scheduling forms: they parse and check input; services decide and write.

Dates and times are typed as wall-clock time in the practice's time zone; the views turn
them into UTC instants (``times.to_utc``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Membership
from openipt.clients.validators import reject_angle_brackets
from openipt.scheduling.models import Appointment
from openipt.treatment.models import Course

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
TIME_FORMATS = ["%H:%M", "%H.%M"]
DATE_INVALID = _("Enter the date as YYYY-MM-DD or DD/MM/YYYY, for example 2026-11-03.")
TIME_INVALID = _("Enter the time as HH:MM on a 24-hour clock, for example 14:30.")
WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


def _date(label: Any, **kw: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        input_formats=DATE_FORMATS,
        error_messages={"invalid": DATE_INVALID},
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        **kw,
    )


def _time(label: Any) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        input_formats=TIME_FORMATS,
        error_messages={"invalid": TIME_INVALID},
        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
    )


def _duration() -> forms.IntegerField:
    return forms.IntegerField(
        label=_("Duration (minutes)"),
        min_value=5,
        max_value=480,
        initial=50,
        error_messages={
            "min_value": _("An appointment lasts at least 5 minutes."),
            "max_value": _("An appointment lasts at most 480 minutes (8 hours)."),
        },
    )


def _allow_overlap() -> forms.BooleanField:
    return forms.BooleanField(
        label=_("Book anyway, even if it overlaps another appointment"), required=False
    )


class BookForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=Appointment.Kind.choices)
    course = forms.ChoiceField(label=_("IPT course"), required=False)
    clinician = forms.ChoiceField(label=_("Clinician"))
    date = _date(_("Date"))
    time = _time(_("Time"))
    duration_minutes = _duration()
    note = forms.CharField(
        label=_("Practical note"),
        max_length=200,
        required=False,
        validators=[reject_angle_brackets],
        help_text=_("Practical arrangements only (room, interpreter). Never clinical content."),
    )
    allow_overlap = _allow_overlap()

    def __init__(
        self, *args: Any, clinicians: list[Membership], courses: list[Course], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._clinicians = {str(m.uuid): m for m in clinicians}
        self._courses = {str(c.uuid): c for c in courses}
        clinician_field = cast("forms.ChoiceField", self.fields["clinician"])
        clinician_field.choices = [(k, m.user.get_full_name()) for k, m in self._clinicians.items()]
        course_field = cast("forms.ChoiceField", self.fields["course"])
        course_field.choices = [("", _("None (for example a consultation)"))] + [
            (key, str(c)) for key, c in self._courses.items()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == Appointment.Kind.SESSION and not data.get("course"):
            self.add_error("course", _("Choose the IPT course this session belongs to."))
        return data

    def chosen_clinician(self) -> Membership:
        return self._clinicians[self.cleaned_data["clinician"]]

    def chosen_course(self) -> Course | None:
        return self._courses.get(self.cleaned_data.get("course") or "")


class RescheduleForm(forms.Form):
    date = _date(_("New date"))
    time = _time(_("New time"))
    duration_minutes = _duration()
    allow_overlap = _allow_overlap()
    version = forms.IntegerField(widget=forms.HiddenInput)


class OutcomeForm(forms.Form):
    status = forms.ChoiceField(
        label=_("What happened"),
        widget=forms.RadioSelect,
        choices=[
            (Appointment.Status.CANCELLED, _("Cancelled in good time")),
            (Appointment.Status.LATE_CANCELLATION, _("Cancelled late")),
            (Appointment.Status.NO_SHOW, _("Did not attend")),
            (Appointment.Status.ATTENDED, _("Attended")),
        ],
        error_messages={"required": _("Choose what happened.")},
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class SeriesForm(forms.Form):
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=WEEKDAYS, coerce=int)
    local_time = _time(_("Time"))
    first_date = _date(
        _("First week"), help_text=_("The series starts on the chosen weekday of this week.")
    )
    skip_dates = forms.CharField(
        label=_("Dates to skip"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Holidays and other weeks without a session, as YYYY-MM-DD, one per line or "
            "separated by commas. The series continues after them."
        ),
    )
    duration_minutes = _duration()
    allow_overlap = _allow_overlap()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        weekday = data.get("weekday")
        wrong = [d for d in data.get("skip_dates") or [] if d.weekday() != weekday]
        if weekday is not None and wrong:
            self.add_error(
                "skip_dates",
                _("%(dates)s not on the chosen weekday, so there is nothing to skip.")
                % {"dates": ", ".join(d.isoformat() for d in wrong)},
            )
        return data

    def clean_skip_dates(self) -> list[dt.date]:
        raw = self.cleaned_data.get("skip_dates") or ""
        dates: list[dt.date] = []
        for item in filter(None, (part.strip() for part in re.split(r"[,\s;]+", raw))):
            try:
                dates.append(dt.date.fromisoformat(item))
            except ValueError:
                raise ValidationError(
                    _("“%(value)s” is not a date. Write dates as YYYY-MM-DD, e.g. 2026-12-24.")
                    % {"value": item[:20]}
                ) from None
        return dates
