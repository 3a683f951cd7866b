"""Forms for session recordings: the consent to recording, the upload and a supervisor's
comment at a moment of the recording."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from openipt.clients.validators import validate_not_future
from openipt.core.validators import PARAGRAPH
from openipt.treatment.recordings import CommentData

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
MAX_SECONDS = 24 * 60 * 60


class RecordingConsentForm(forms.Form):
    consented_on = forms.DateField(
        label=gettext_lazy("Date the client agreed"),
        input_formats=DATE_FORMATS,
        validators=[validate_not_future],
        error_messages={"invalid": gettext_lazy("Enter the date as YYYY-MM-DD or DD/MM/YYYY.")},
        help_text=gettext_lazy("For example 2026-11-03 or 03/11/2026."),
    )
    text_version = forms.CharField(
        label=gettext_lazy("Consent text version"),
        max_length=40,
        help_text=gettext_lazy("The version of the consent form the client agreed to."),
    )


class RecordingUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Audio file of the session"),
        help_text=gettext_lazy(
            "A recording from a phone or computer: .m4a, .mp3, .webm, .ogg, .wav, .flac, .aac, "
            ".amr or .3gp."
        ),
        widget=forms.FileInput(attrs={"accept": "audio/*"}),
    )


class RecordingCommentForm(forms.Form):
    at = forms.CharField(
        label=gettext_lazy("At (minutes:seconds)"),
        max_length=9,
        help_text=gettext_lazy("Where in the recording, for example 12:30."),
    )
    rating_item_code = forms.ChoiceField(label=gettext_lazy("About rating item"), required=False)
    text = forms.CharField(
        label=gettext_lazy("Comment"),
        max_length=PARAGRAPH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, items: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["rating_item_code"])
        field.choices = [("", _("None in particular")), *items]

    def clean_at(self) -> int:
        raw: str = self.cleaned_data["at"].strip()
        parts = raw.split(":")
        message = _("Enter the time as minutes:seconds, for example 12:30.")
        if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
            raise forms.ValidationError(message)
        numbers = [int(p) for p in parts]
        if any(n >= 60 for n in numbers[1:]):
            raise forms.ValidationError(message)
        seconds = 0
        for number in numbers:
            seconds = seconds * 60 + number
        if seconds > MAX_SECONDS:
            raise forms.ValidationError(_("A recording is at most 24 hours long."))
        return seconds

    def to_data(self) -> CommentData:
        return CommentData(
            at_seconds=self.cleaned_data["at"],
            text=self.cleaned_data["text"],
            rating_item_code=self.cleaned_data["rating_item_code"],
        )
