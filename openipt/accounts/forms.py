from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import (
    PHONE_MAX_LENGTH,
    CrisisLine,
    Membership,
    User,
    validate_phone_number,
)
from openipt.accounts.practice_settings import CrisisSettings
from openipt.core import languages

no_markup = RegexValidator(
    r"[<>]", inverse_match=True, message=_("Please leave out the characters < and >.")
)


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    names = sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})
    return [(name, name.replace("_", " ")) for name in names]


class PasswordPairMixin(forms.Form):
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters. A few unrelated words make a good password."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def check_passwords(self, *, email: str, full_name: str) -> None:
        password1 = self.cleaned_data.get("password1")
        password2 = self.cleaned_data.get("password2")
        if not password1:
            return
        if password1 != password2:
            self.add_error("password2", _("The two passwords are not the same."))
            return
        try:
            validate_password(password1, user=User(email=email, full_name=full_name))
        except ValidationError as exc:
            self.add_error("password1", exc)


# --- Crisis contacts (the practice settings page and the setup wizard) ----------------------

MAX_CRISIS_LINES = 4
LINE_NAME_HELP = _("As clients know it, such as “Samaritans”.")


class CrisisContactsMixin(forms.Form):
    """The crisis lines (name, number, when it is open), the local emergency number and when
    clinicians see answers: what a client is shown when they need help (docs/measures.md §7).
    Every field is optional; a line needs both a name and a number."""

    crisis_line_rows = MAX_CRISIS_LINES

    emergency_number = forms.CharField(
        label=_("Local emergency number"),
        max_length=PHONE_MAX_LENGTH,
        required=False,
        validators=[validate_phone_number],
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        help_text=_(
            "The number for an ambulance where your clients live, such as 999, 112 or 911. "
            "Shown first whenever a client may be in danger."
        ),
    )
    response_time = forms.CharField(
        label=_("When clinicians see answers and messages"),
        max_length=200,
        required=False,
        validators=[no_markup],
        help_text=_(
            "Finishes the sentence “Your clinician will see your answers …”, "
            "for example “within one working day (Monday to Friday)”. Clients are "
            "also told that the portal is not watched around the clock."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(1, self.crisis_line_rows + 1):
            self.fields[f"line{n}_name"] = forms.CharField(
                label=_("Name"), max_length=100, required=False, validators=[no_markup],
                help_text=LINE_NAME_HELP if n == 1 else "",
            )  # fmt: skip
            self.fields[f"line{n}_number"] = forms.CharField(
                label=_("Phone number"), max_length=PHONE_MAX_LENGTH, required=False,
                validators=[validate_phone_number],
                widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            )  # fmt: skip
            self.fields[f"line{n}_hours"] = forms.CharField(
                label=_("When it is open"), max_length=100, required=False,
                validators=[no_markup],
                help_text=_("Such as “24 hours, every day”.") if n == 1 else "",
            )  # fmt: skip

    @property
    def crisis_line_fields(self) -> list[tuple[int, list[forms.BoundField]]]:
        """The rows of the form, for the template: (number, [name, number, hours])."""
        return [
            (n, [self[f"line{n}_{part}"] for part in ("name", "number", "hours")])
            for n in range(1, self.crisis_line_rows + 1)
        ]

    def check_crisis_lines(self) -> None:
        data = self.cleaned_data
        for n in range(1, self.crisis_line_rows + 1):
            name, number, hours = (data.get(f"line{n}_{p}") for p in ("name", "number", "hours"))
            if f"line{n}_number" in self.errors:
                continue
            if (name or hours) and not number:
                self.add_error(f"line{n}_number", _("Add the phone number for this line."))
            if (number or hours) and not name:
                self.add_error(f"line{n}_name", _("Add the name of this line."))

    def crisis_lines(self) -> list[CrisisLine]:
        data = self.cleaned_data
        return [
            CrisisLine(data[f"line{n}_name"], data[f"line{n}_number"], data[f"line{n}_hours"])
            for n in range(1, self.crisis_line_rows + 1)
            if data.get(f"line{n}_name") and data.get(f"line{n}_number")
        ]

    def to_crisis_settings(self, *, crisis_information: str = "") -> CrisisSettings:
        return CrisisSettings(
            crisis_lines=self.crisis_lines(),
            emergency_number=self.cleaned_data.get("emergency_number") or "",
            response_time=self.cleaned_data.get("response_time") or "",
            crisis_information=crisis_information,
        )


def crisis_initial(lines: list[CrisisLine]) -> dict[str, str]:
    """Initial values for the crisis-line rows."""
    initial: dict[str, str] = {}
    for n, line in enumerate(lines[:MAX_CRISIS_LINES], start=1):
        initial |= {f"line{n}_name": line.name, f"line{n}_number": line.number,
                    f"line{n}_hours": line.hours}  # fmt: skip
    return initial


class PracticeCrisisForm(CrisisContactsMixin):
    crisis_information = forms.CharField(
        label=_("Anything else clients should know"),
        required=False,
        max_length=2000,
        validators=[no_markup],
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional. For example, a walk-in service or what to do at weekends."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.check_crisis_lines()
        return data

    def to_settings(self) -> CrisisSettings:
        return self.to_crisis_settings(
            crisis_information=self.cleaned_data.get("crisis_information") or ""
        )


class SetupForm(PasswordPairMixin, CrisisContactsMixin):
    practice_name = forms.CharField(
        label=_("Practice name"), max_length=200, validators=[no_markup]
    )
    time_zone = forms.ChoiceField(
        label=_("Practice time zone"),
        choices=time_zone_choices,
        help_text=_("Appointments and dates are shown in this time zone."),
    )
    full_name = forms.CharField(label=_("Your full name"), max_length=150, validators=[no_markup])
    email = forms.EmailField(
        label=_("Your email address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    sees_clients = forms.BooleanField(label=_("I also see clients myself"), required=False)

    field_order = ["practice_name", "time_zone", "full_name", "email", "password1", "password2"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].initial = settings.TIME_ZONE

    crisis_line_rows = 2  # more on the practice settings page

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.check_passwords(email=data.get("email", ""), full_name=data.get("full_name", ""))
        self.check_crisis_lines()
        return data


class RolesMixin(forms.Form):
    is_admin = forms.BooleanField(
        label=_("Administrator"),
        required=False,
        help_text=_("Manages staff, practice settings and the audit log."),
    )
    is_supervisor = forms.BooleanField(
        label=_("Supervisor"),
        required=False,
        help_text=_("Can read the records of the clinicians they supervise."),
    )
    is_clinician = forms.BooleanField(
        label=_("Clinician"), required=False, help_text=_("Sees clients.")
    )

    def check_roles(self) -> None:
        data = self.cleaned_data
        if not (data.get("is_admin") or data.get("is_supervisor") or data.get("is_clinician")):
            self.add_error(None, _("Choose at least one role."))


class InviteForm(RolesMixin):
    email = forms.EmailField(label=_("Email address"))
    full_name = forms.CharField(label=_("Full name"), max_length=150, validators=[no_markup])

    field_order = ["email", "full_name", "is_admin", "is_supervisor", "is_clinician"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["is_clinician"].initial = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.check_roles()
        return data


class InvitationAcceptForm(PasswordPairMixin):
    full_name = forms.CharField(label=_("Your full name"), max_length=150, validators=[no_markup])

    field_order = ["full_name", "password1", "password2"]

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.check_passwords(email=self.email, full_name=data.get("full_name", ""))
        return data


class MemberChoiceField(forms.ModelMultipleChoiceField[Membership]):
    def label_from_instance(self, obj: Membership) -> str:
        return str(obj.user.get_full_name())


class StaffEditForm(RolesMixin):
    supervisors = MemberChoiceField(
        label=_("Supervised by"),
        queryset=Membership.objects.none(),
        to_field_name="uuid",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        *args: Any,
        supervisor_choices: QuerySet[Membership],
        read_only: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["supervisors"]
        assert isinstance(field, MemberChoiceField)  # noqa: S101
        field.queryset = supervisor_choices
        if read_only:
            # One's own roles are shown, not offered (docs/adr/0015-separation-of-duties.md).
            # Only the widgets are disabled: a crafted POST still reaches the service, which
            # refuses it next to the field.
            for bound in self.fields.values():
                bound.widget.attrs["disabled"] = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.check_roles()
        return data


class GrantRefuseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        required=False,
        validators=[no_markup],
        help_text=_("Optional. Kept with the request; not sent to anyone."),
    )


class MeasureScheduleForm(forms.Form):
    """The practice's measurement schedule (off by default)."""

    every_fourth_session = forms.BooleanField(
        label=_("Ask for PHQ-9 and GAD-7 at least every fourth session"),
        required=False,
        help_text=_(
            "For practices and training programmes that follow the certification schedule: "
            "the course guidance then asks for both questionnaires whenever three sessions "
            "have gone by without one."
        ),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class LanguageRadios(forms.RadioSelect):
    """Each language named in itself and tagged with its code, so a screen reader says
    "Español" in Spanish on an English page."""

    def create_option(self, name: str, value: Any, label: Any, *args: Any, **kwargs: Any) -> Any:
        if value:
            label = format_html('<span lang="{}">{}</span>', value, label)
        return super().create_option(name, value, label, *args, **kwargs)


class LanguageForm(forms.Form):
    """Choosing the language of one's own pages; each offered in its own name."""

    language = forms.ChoiceField(label=_("Language"), widget=LanguageRadios)

    def __init__(self, *args: Any, browser_choice: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, Any]] = list(languages.choices_in_own_names())
        if browser_choice:
            choices = [("", _("The language my browser asks for")), *choices]
        field = cast(forms.ChoiceField, self.fields["language"])
        field.choices = choices
        field.required = not browser_choice
