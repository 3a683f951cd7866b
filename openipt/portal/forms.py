"""Forms of the client's side. Plain words; every refusal sits next to its field."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from openipt.accounts.models import User
from openipt.core.validators import validate_past_clinical_date
from openipt.engagement.consultation import ConsultationData
from openipt.engagement.diary import DiaryData

SCRIPT_LIKE = re.compile(r"[<>]|javascript:|data:text/html", re.IGNORECASE)


def refuse_script_like(value: str) -> None:
    if SCRIPT_LIKE.search(value or ""):
        raise ValidationError(
            _("Please remove the < and > characters (and anything that looks like code)."),
            code="script_like",
        )


def _text(label: Any, max_length: int, *, required: bool = False, **kwargs: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        validators=[refuse_script_like],
        **kwargs,
    )


class ConsultationForm(forms.Form):
    name = _text(_("Your name"), 100, required=True)
    email = forms.EmailField(
        label=_("Email address"), max_length=254, required=False, validators=[refuse_script_like]
    )
    phone = _text(_("Phone number"), 40)
    contact_times = _text(
        _("When is a good time to contact you?"),
        200,
        help_text=_("For example: weekday mornings, or after 6 pm."),
    )
    preferred_times = _text(
        _("When could you come to a consultation?"),
        200,
        help_text=_("Days and times that usually suit you."),
    )
    reason = _text(
        _("Anything you would like us to know (optional)"),
        500,
        help_text=_("A sentence or two is plenty. At most 500 characters."),
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 500}),
    )
    consent_to_contact = forms.BooleanField(
        label=_("I agree that the practice may contact me about this request."),
        error_messages={"required": _("Please agree that we may contact you.")},
    )
    # Honeypot: people never see it; simple bots fill every field they find.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not data.get("email") and not data.get("phone"):
            self.add_error("email", _("Please give an email address or a phone number."))
        return data

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def to_data(self) -> ConsultationData:
        d = self.cleaned_data
        return ConsultationData(
            name=d["name"],
            email=d["email"] or "",
            phone=d["phone"],
            contact_times=d["contact_times"],
            preferred_times=d["preferred_times"],
            reason=d["reason"],
            consent_to_contact=d["consent_to_contact"],
        )


class PortalPasswordForm(forms.Form):
    password1 = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters. A few unrelated words work well."),
    )
    password2 = forms.CharField(
        label=_("Type the password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords are not the same."))
        elif first:
            try:
                validate_password(first, User(email=self.email))
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


def question_form(
    item: Any, data: Any = None, *, initial: dict[str, Any] | None = None
) -> forms.Form:
    """One question of a questionnaire, its options as large radio buttons."""

    class QuestionForm(forms.Form):
        answer = forms.ChoiceField(
            label=item.text,
            choices=[(o.code, o.display) for o in item.options],
            widget=forms.RadioSelect,
            error_messages={"required": _("Please choose one answer.")},
        )

    return QuestionForm(data, initial=initial)


class DiaryForm(forms.Form):
    entry_date = forms.DateField(
        label=_("Which day is this about?"),
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_past_clinical_date],
    )
    mood = forms.TypedChoiceField(
        label=_("How was your mood? (0 = very low, 10 = very good)"),
        choices=[(n, str(n)) for n in range(11)],
        coerce=int,
        widget=forms.RadioSelect(attrs={"class": "scale"}),
        error_messages={"required": _("Please choose a number from 0 to 10.")},
    )
    with_whom = forms.CharField(
        label=_("Who were you with, or who was it about?"), max_length=200, required=False
    )
    what_happened = forms.CharField(
        label=_("What happened?"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("A few words are enough."),
    )

    def to_data(self) -> DiaryData:
        d = self.cleaned_data
        return DiaryData(
            entry_date=d["entry_date"],
            mood=d["mood"],
            with_whom=d["with_whom"],
            what_happened=d["what_happened"],
        )


class GoalRatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How close are you to this goal today? (0 = not at all, 10 = fully)"),
        choices=[(n, str(n)) for n in range(11)],
        coerce=int,
        widget=forms.RadioSelect(attrs={"class": "scale"}),
    )


class TaskUpdateForm(forms.Form):
    """How a between-session task went, in the client's words."""

    status = forms.ChoiceField(
        label=_("How did it go?"),
        choices=[
            ("done", _("I did it")),
            ("not_done", _("I didn't manage it this time")),
            ("open", _("Not yet — I'm still going to try")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose one of the answers.")},
    )
    note = _text(
        _("Anything you'd like to tell your clinician about it? (optional)"),
        1000,
        help_text=_("A few words are plenty. Only you and your care team can read this."),
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 1000}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
