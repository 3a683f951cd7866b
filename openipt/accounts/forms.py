from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import Membership, User

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


class SetupForm(PasswordPairMixin):
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

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.check_passwords(email=data.get("email", ""), full_name=data.get("full_name", ""))
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
