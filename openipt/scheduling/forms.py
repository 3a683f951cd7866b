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
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Membership
from openipt.clients.models import Client
from openipt.clients.validators import reject_angle_brackets
from openipt.core.validators import SHORT_LINE, validate_clinical_date
from openipt.scheduling.models import Appointment
from openipt.scheduling.services import MAX_REPEAT, Repeat
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
    """A date typed for a booking: a clinical date (``openipt.core.validators``) unless
    ``validators`` says otherwise."""
    kw.setdefault("validators", [validate_clinical_date])
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


REPEAT_CHOICES = [
    ("0", _("No, just this once")),
    ("7", _("Every week")),
    ("14", _("Every two weeks")),
]
SCOPE_ONE = "one"
SCOPE_FOLLOWING = "following"
SCOPE_CHOICES = [
    (SCOPE_ONE, _("Only this one")),
    (SCOPE_FOLLOWING, _("This and all later ones in the series")),
]


def _reason_field(*, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=_("Reason for cancelling"),
        max_length=SHORT_LINE,
        required=required,
        validators=[reject_angle_brackets],
        help_text=_("A few plain words, for example “client unwell” or “practice closed”."),
        error_messages={"required": _("Say briefly why the appointment is cancelled.")},
    )


class RepeatMixin(forms.Form):
    """Repeat: no / weekly / fortnightly, for a number of appointments or until a date."""

    repeat = forms.ChoiceField(
        label=_("Repeat"),
        choices=REPEAT_CHOICES,
        initial="0",
        required=False,
        widget=forms.RadioSelect,
    )
    count = forms.IntegerField(
        label=_("How many appointments in all"),
        required=False,
        min_value=2,
        max_value=MAX_REPEAT,
        help_text=_("For a repeat: the number of appointments, or give the last date below."),
        error_messages={
            "min_value": _("A repeat has at least 2 appointments."),
            "max_value": _("Book at most %(n)s appointments at once.") % {"n": MAX_REPEAT},
        },
    )
    until = _date(
        _("Or until"),
        required=False,
        help_text=_("For a repeat: the date of the last appointment (within a year)."),
        # Bounded by the first date and the number of repeats (``clean``).
        validators=[],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("repeat") or "0") == "0":
            return data
        first, until, interval = data.get("date"), data.get("until"), int(data["repeat"])
        if until is None and data.get("count") is None:
            self.add_error("count", _("Say how many appointments, or the date of the last one."))
        elif until is not None and first is not None:
            if until < first:
                self.add_error("until", _("The last date is before the first one."))
            elif (until - first).days // interval + 1 > MAX_REPEAT:
                self.add_error(
                    "until",
                    _("That is more than %(n)s appointments. Choose an earlier date.")
                    % {"n": MAX_REPEAT},
                )
        return data

    def chosen_repeat(self) -> Repeat:
        data = self.cleaned_data
        interval = int(data.get("repeat") or 0)
        if interval == 0:
            return Repeat()
        return Repeat(interval_days=interval, count=data.get("count") or 1, until=data.get("until"))


class BookForm(RepeatMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=Appointment.Kind.choices)
    course = forms.ChoiceField(label=_("IPT course"), required=False)
    clinician = forms.ChoiceField(label=_("Clinician"))
    date = _date(_("Date"))
    time = _time(_("Time"))
    duration_minutes = _duration()
    note = forms.CharField(
        label=_("Practical note"),
        max_length=SHORT_LINE,
        required=False,
        validators=[reject_angle_brackets],
        help_text=_("Practical arrangements only (room, interpreter). Never clinical content."),
    )
    allow_overlap = _allow_overlap()
    field_order = [
        "kind", "course", "clinician", "date", "time", "repeat", "count", "until",
        "duration_minutes", "note", "allow_overlap",
    ]  # fmt: skip

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


AUTO_KIND = ""


class SlotBookForm(RepeatMixin, forms.Form):
    """Booking a free slot of the clinician's own calendar: choose the client, and the rest
    follows from their open course (a session) or its absence (a consultation)."""

    client = forms.ChoiceField(
        label=_("Client"), error_messages={"required": _("Choose the client to book.")}
    )
    kind = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[
            (AUTO_KIND, _("A session of their open IPT course (a consultation if none)")),
            (Appointment.Kind.CONSULTATION, _("A consultation")),
        ],
    )
    date = _date(_("Date"))
    time = _time(_("Time"))
    duration_minutes = _duration()
    allow_overlap = _allow_overlap()
    field_order = [
        "client", "kind", "date", "time", "repeat", "count", "until", "duration_minutes",
        "allow_overlap",
    ]  # fmt: skip

    def __init__(self, *args: Any, clients: list[tuple[Client, Course | None]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._clients = {str(c.uuid): (c, course) for c, course in clients}
        field = cast("forms.ChoiceField", self.fields["client"])
        with_course = [(k, c.display_name) for k, (c, co) in self._clients.items() if co]
        without = [(k, c.display_name) for k, (c, co) in self._clients.items() if not co]
        field.choices = [("", _("Choose a client"))]
        if with_course:
            field.choices += [(str(_("In an IPT course")), with_course)]
        if without:
            field.choices += [(str(_("No open course")), without)]

    def chosen(self) -> tuple[Client, Course | None, str]:
        """The client, the course the appointment belongs to, and its type."""
        client, course = self._clients[self.cleaned_data["client"]]
        if self.cleaned_data.get("kind") == Appointment.Kind.CONSULTATION or course is None:
            return client, None, Appointment.Kind.CONSULTATION
        return client, course, Appointment.Kind.SESSION


class RescheduleForm(forms.Form):
    date = _date(_("New date"))
    time = _time(_("New time"))
    duration_minutes = _duration()
    scope = forms.ChoiceField(
        label=_("Which appointments move"),
        choices=SCOPE_CHOICES,
        initial=SCOPE_ONE,
        widget=forms.RadioSelect,
        help_text=_("Later ones move by the same number of days and hours."),
    )
    allow_overlap = _allow_overlap()
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, in_series: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not in_series:
            del self.fields["scope"]

    @property
    def following(self) -> bool:
        return self.cleaned_data.get("scope") == SCOPE_FOLLOWING


CANCEL_STATUSES = (Appointment.Status.CANCELLED, Appointment.Status.LATE_CANCELLATION)


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
    cancellation_reason = _reason_field(required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("status") in CANCEL_STATUSES and not data.get("cancellation_reason"):
            self.add_error(
                "cancellation_reason", _("Say briefly why the appointment is cancelled.")
            )
        return data


class CancelForm(forms.Form):
    """Cancel one appointment, or this and the later ones of its series, with a reason."""

    cancellation_reason = _reason_field()
    late = forms.BooleanField(
        label=_("Cancelled late (with less notice than agreed)"),
        required=False,
        help_text=_("Only this appointment counts as a late cancellation."),
    )
    scope = forms.ChoiceField(
        label=_("Which appointments to cancel"),
        choices=SCOPE_CHOICES,
        initial=SCOPE_ONE,
        widget=forms.RadioSelect,
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, in_series: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not in_series:
            del self.fields["scope"]

    @property
    def following(self) -> bool:
        return self.cleaned_data.get("scope") == SCOPE_FOLLOWING


INTERVALS = [(7, _("Every week")), (14, _("Every two weeks")), (28, _("Every four weeks"))]


class SeriesForm(forms.Form):
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=WEEKDAYS, coerce=int)
    local_time = _time(_("Time"))
    interval_days = forms.TypedChoiceField(
        label=_("How often"), choices=INTERVALS, coerce=int, required=False, empty_value=None
    )
    first_date = _date(
        _("From"), help_text=_("The first session is on the chosen weekday on or after this date.")
    )
    count = forms.IntegerField(
        label=_("How many sessions to book"),
        min_value=1,
        required=False,
        error_messages={"min_value": _("Book at least one session.")},
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
    field_order = [
        "weekday", "local_time", "interval_days", "first_date", "count", "duration_minutes",
        "skip_dates", "allow_overlap",
    ]  # fmt: skip

    def __init__(self, *args: Any, remaining: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        count = cast("forms.IntegerField", self.fields["count"])
        count.max_value = max(remaining, 1)
        count.widget.attrs["max"] = str(count.max_value)
        count.validators.append(MaxValueValidator(count.max_value))
        count.error_messages["max_value"] = _(
            "Only %(n)s sessions of the contract are left to book."
        ) % {"n": remaining}
        count.help_text = _(
            "At most %(n)s, the sessions neither held nor booked yet. Empty: all of them."
        ) % {"n": remaining}

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
        for day in dates:
            validate_clinical_date(day)
        return dates
