"""Forms of the staff intake queue and of the client's portal settings."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Membership
from openipt.clients.validators import reject_angle_brackets, validate_birth_date
from openipt.core.validators import validate_clinical_date
from openipt.engagement.consultation import Booking


class BookForm(forms.Form):
    legal_given_name = forms.CharField(
        label=_("Legal given name"), max_length=100, validators=[reject_angle_brackets]
    )
    legal_family_name = forms.CharField(
        label=_("Legal family name"), max_length=100, validators=[reject_angle_brackets]
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        validators=[validate_birth_date],
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Ask for it when you call; it is needed to create the record."),
    )
    primary_clinician = forms.ChoiceField(label=_("Clinician"))
    starts_at = forms.DateTimeField(
        label=_("Consultation date and time (optional)"),
        required=False,
        validators=[validate_clinical_date],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("In the practice's time zone. Leave empty to book it later."),
    )
    duration_minutes = forms.IntegerField(
        label=_("Length (minutes)"), min_value=5, max_value=480, initial=50
    )

    def __init__(
        self, *args: Any, clinicians: list[Membership], time_zone: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.clinicians = {str(m.uuid): m for m in clinicians}
        self.time_zone = time_zone
        field = self.fields["primary_clinician"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
        field.choices = [
            ("", _("Choose…")),
            *((k, str(m.user)) for k, m in self.clinicians.items()),
        ]

    def to_data(self) -> Booking:
        d = self.cleaned_data
        starts_at: dt.datetime | None = d["starts_at"]
        if starts_at is not None:
            starts_at = starts_at.replace(tzinfo=None).replace(tzinfo=ZoneInfo(self.time_zone))
        return Booking(
            legal_given_name=d["legal_given_name"],
            legal_family_name=d["legal_family_name"],
            date_of_birth=d["date_of_birth"],
            primary_clinician=self.clinicians[d["primary_clinician"]],
            starts_at=starts_at,
            duration_minutes=d["duration_minutes"],
        )


class CloseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for closing"),
        max_length=500,
        validators=[reject_angle_brackets],
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "For example: referred elsewhere, or could not be reached. No clinical detail."
        ),
        error_messages={"required": _("Please say why you are closing this request.")},
    )


class PortalInviteForm(forms.Form):
    email = forms.EmailField(label=_("The client's email address"), max_length=254)


class PortalSharingForm(forms.Form):
    share_progress = forms.BooleanField(
        label=_("Show the client their progress chart in the portal"), required=False
    )


def split_name(name: str) -> tuple[str, str]:
    """A first guess at given and family name from what the person typed."""
    parts = name.split()
    if len(parts) < 2:
        return name.strip(), ""
    return " ".join(parts[:-1]), parts[-1]
