"""Forms for client records: they parse and check input; services decide and write."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Membership
from openipt.clients.models import Client, ClientIdentifier, ConsentRecord
from openipt.clients.services import (
    CLIENT_FIELDS,
    ClientData,
    ConsentData,
    IdentifierData,
    identifier_field,
)
from openipt.clients.validators import (
    reject_angle_brackets,
    validate_birth_date,
    validate_not_future,
)
from openipt.core import languages

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
DATE_HELP = _("For example 1990-05-17 or 17/05/1990.")
DATE_INVALID = _("Enter the date as YYYY-MM-DD or DD/MM/YYYY, for example 1990-05-17.")
NO_MARKUP = [reject_angle_brackets]


def _text(
    label: StrOrPromise, max_length: int, *, required: bool = False, **kw: Any
) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=max_length, required=required, validators=NO_MARKUP, **kw
    )


def _date_input() -> forms.DateInput:
    return forms.DateInput(
        format="%Y-%m-%d", attrs={"placeholder": "YYYY-MM-DD", "inputmode": "numeric"}
    )


class ClientForm(forms.Form):
    """Demographics and identifiers; ``primary_clinician`` only when creating."""

    legal_given_name = _text(_("Legal given name"), 100, required=True)
    legal_family_name = _text(_("Legal family name"), 100, required=True)
    preferred_name = _text(_("Preferred name"), 100)
    pronouns = _text(_("Pronouns"), 40)
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        input_formats=DATE_FORMATS,
        validators=[validate_birth_date],
        help_text=DATE_HELP,
        error_messages={"invalid": DATE_INVALID},
        widget=_date_input(),
    )
    email = forms.EmailField(label=_("Email"), max_length=254, required=False)
    phone = _text(_("Phone"), 40, widget=forms.TextInput(attrs={"type": "tel"}))
    address = _text(_("Address"), 500, widget=forms.Textarea(attrs={"rows": 3}))
    preferred_language = _text(
        _("Languages spoken"),
        40,
        help_text=_("Any language they speak, for an interpreter."),
    )
    language = forms.ChoiceField(
        label=_("Language for the portal and messages"),
        choices=languages.choices_in_own_names,
        initial="en",
        required=False,  # not sent (an older form, an import): the default language
        help_text=_("Their portal, invitations, reminders and letters to them use it."),
    )
    emergency_contact_name = _text(_("Emergency contact name"), 150)
    emergency_contact_relationship = _text(_("Emergency contact relationship"), 80)
    emergency_contact_phone = _text(
        _("Emergency contact phone"), 40, widget=forms.TextInput(attrs={"type": "tel"})
    )

    def __init__(
        self,
        *args: Any,
        clinicians: list[Membership] | None = None,
        with_version: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for system, label in ClientIdentifier.System.choices:
            self.fields[identifier_field(system)] = _text(label, 64)
        self._clinicians = {str(m.uuid): m for m in clinicians or []}
        if clinicians is not None:
            self.fields["primary_clinician"] = forms.ChoiceField(
                label=_("Primary clinician"),
                choices=[("", _("Choose a clinician"))]
                + [(key, str(m.user)) for key, m in self._clinicians.items()],
            )
        if with_version:
            self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def clean_language(self) -> str:
        return languages.supported(self.cleaned_data.get("language"))

    def identifier_fields(self) -> list[forms.BoundField]:
        return [self[identifier_field(s)] for s in ClientIdentifier.System.values]

    def to_data(self) -> ClientData:
        return ClientData(**{name: self.cleaned_data[name] for name in CLIENT_FIELDS})

    def identifiers(self) -> list[IdentifierData]:
        return [
            IdentifierData(system=s, value=self.cleaned_data[identifier_field(s)])
            for s in ClientIdentifier.System.values
        ]

    def primary_clinician(self) -> Membership | None:
        return self._clinicians.get(self.cleaned_data.get("primary_clinician") or "")

    @staticmethod
    def initial_for(client: Client) -> dict[str, Any]:
        initial: dict[str, Any] = {name: getattr(client, name) for name in CLIENT_FIELDS}
        for identifier in client.identifiers.all():
            initial[identifier_field(identifier.system)] = identifier.value
        initial["version"] = client.version
        return initial


class ClientSearchForm(forms.Form):
    STATUS_ANY = "any"

    q = forms.CharField(label=_("Name"), max_length=100, required=False)
    dob = forms.DateField(
        label=_("Date of birth"),
        required=False,
        input_formats=DATE_FORMATS,
        error_messages={"invalid": DATE_INVALID},
        widget=_date_input(),
    )
    identifier = forms.CharField(label=_("Identifier"), max_length=64, required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[*Client.Status.choices, (STATUS_ANY, _("Any status"))],
    )

    def status_filter(self) -> str | None:
        status = self.cleaned_data.get("status") or Client.Status.ACTIVE
        return None if status == self.STATUS_ANY else status


class ClientStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=Client.Status.choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required. Kept in the record and the audit log."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class CareTeamAddForm(forms.Form):
    member = forms.ChoiceField(label=_("Colleague"))

    def __init__(self, *args: Any, candidates: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._candidates = {str(m.uuid): m for m in candidates}
        field = self.fields["member"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
        field.choices = [("", _("Choose a colleague"))] + [
            (key, f"{m.user} ({', '.join(m.role_labels)})") for key, m in self._candidates.items()
        ]

    def chosen_member(self) -> Membership:
        return self._candidates[self.cleaned_data["member"]]


class ConsentForm(forms.Form):
    # Consent to recording is given per course, on the course page.
    kind = forms.ChoiceField(
        label=_("Kind of consent"),
        choices=[c for c in ConsentRecord.Kind.choices if c[0] != ConsentRecord.Kind.RECORDING],
    )
    consented_on = forms.DateField(
        label=_("Date of consent"),
        input_formats=DATE_FORMATS,
        validators=[validate_not_future],
        error_messages={"invalid": DATE_INVALID},
        help_text=DATE_HELP,
        widget=_date_input(),
    )
    text_version = _text(
        _("Consent text version"),
        40,
        required=True,
        help_text=_("The version of the consent form the client agreed to, e.g. 2024-1."),
    )
    notes = forms.CharField(
        label=_("Notes"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"consented_on": timezone.localdate()})
        super().__init__(*args, **kwargs)

    def to_data(self) -> ConsentData:
        d = self.cleaned_data
        return ConsentData(
            kind=d["kind"],
            consented_on=d["consented_on"],
            text_version=d["text_version"],
            notes=d["notes"],
        )


class EmergencyAccessForm(forms.Form):
    """Break-glass: find one client by what the staff member already knows, exactly, and say
    why (docs/adr/0016-emergency-access.md). The service checks the reason again."""

    identifier = _text(_("Identifier"), 64, help_text=_("The exact identifier, if you have it."))
    legal_given_name = _text(_("Legal given name"), 100)
    legal_family_name = _text(_("Legal family name"), 100)
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        required=False,
        validators=[validate_birth_date],
        input_formats=DATE_FORMATS,
        error_messages={"invalid": DATE_INVALID},
        help_text=DATE_HELP,
        widget=_date_input(),
    )
    reason = _text(
        _("Reason for emergency access"),
        500,
        required=True,
        min_length=10,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("At least 10 characters. An administrator reviews every emergency access."),
    )
    confirm = forms.BooleanField(
        label=_("I need this record for an emergency, and I understand that this access and "
                "every page I open are recorded and reviewed."),
    )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        by_name = (
            data.get("legal_given_name")
            and data.get("legal_family_name")
            and data.get("date_of_birth")
        )
        if not data.get("identifier") and not by_name and not self.errors:
            raise forms.ValidationError(
                _("Give the client's identifier, or their legal given name, legal family name "
                  "and date of birth."),
                code="incomplete",
            )  # fmt: skip
        return data


class EmergencyReviewForm(forms.Form):
    note = _text(_("Review note"), 500, widget=forms.Textarea(attrs={"rows": 2}))
