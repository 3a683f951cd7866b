"""The forms of the letters pages: who a letter is to, and a practice's letter wording."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from openipt.care import letters
from openipt.clients.validators import reject_angle_brackets
from openipt.core.validators import LONG_NOTE


class LetterForm(forms.Form):
    recipient_name = forms.CharField(
        label=_("Who the letter is to"),
        max_length=200,
        validators=[reject_angle_brackets],
        help_text=_("For example Dr A. Rao, or the name of the surgery."),
    )
    recipient_address = forms.CharField(
        label=_("Their address"),
        max_length=500,
        required=False,
        validators=[reject_angle_brackets],
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class TemplateForm(forms.Form):
    body = forms.CharField(
        label=_("Wording"),
        max_length=LONG_NOTE,
        widget=forms.Textarea(attrs={"rows": 24}),
        help_text=_(
            "Plain text. Put a field in braces, like {client_first_name}, where its value "
            "should go; a blank line starts a new paragraph."
        ),
    )

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        problems = letters.template_problems(body)
        if problems:
            raise ValidationError(problems)
        return body
