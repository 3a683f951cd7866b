"""The practice outcome dashboard's filters (read from the query string)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from openipt.care.outcomes import NO_FOCUS, OutcomeFilters
from openipt.treatment.models import Area, Format

GROUP_CHOICES = [
    ("clinician", _("Clinician")),
    ("format", _("Format")),
    ("area", _("Problem area (focus)")),
]
LONGEST_RANGE_DAYS = 366 * 5


def default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last twelve months, ending today."""
    try:
        start = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        start = today.replace(year=today.year - 1, day=28)
    return start + dt.timedelta(days=1), today


class OutcomeFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("First day. Leave empty for twelve months ago."),
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Last day, included. Leave empty for today."),
    )
    clinician = forms.TypedChoiceField(
        label=_("Clinician"), required=False, coerce=int, empty_value=None
    )
    course_format = forms.ChoiceField(label=_("Format"), required=False)
    area = forms.ChoiceField(label=_("Problem area (focus)"), required=False)
    by = forms.ChoiceField(label=_("Compare by"), required=False, choices=GROUP_CHOICES)
    show_small = forms.BooleanField(
        label=_("Show small numbers"),
        required=False,
        help_text=_("Figures from fewer than 5 courses are hidden unless you ask for them."),
    )

    def __init__(self, *args: Any, clinicians: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["clinician"]).choices = [
            ("", _("Every clinician")),
            *clinicians,
        ]
        cast(forms.ChoiceField, self.fields["course_format"]).choices = [
            ("", _("Every format")),
            *Format.choices,
        ]
        cast(forms.ChoiceField, self.fields["area"]).choices = [
            ("", _("Every problem area")),
            *Area.choices,
            (NO_FOCUS, _("No focus chosen yet")),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = default_range(timezone.localdate())
        start = cleaned.get("date_from") or start
        end = cleaned.get("date_to") or end
        if start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        elif (end - start).days > LONGEST_RANGE_DAYS:
            self.add_error("date_from", _("Choose a period of five years or less."))
        cleaned["date_from"], cleaned["date_to"] = start, end
        return cleaned

    def filters(self) -> OutcomeFilters:
        """The validated filters; call only after ``is_valid()`` returned True."""
        data = self.cleaned_data
        return OutcomeFilters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            clinician_id=data.get("clinician"),
            format=data.get("course_format") or "",
            area=data.get("area") or "",
            group_by=data.get("by") or "clinician",
            show_small=bool(data.get("show_small")),
        )
