"""The fidelity rating form, built from a scale (``openipt.treatment.fidelity``): one row of
scores per item with "Not applicable", the overall rating and comments."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from openipt.core.validators import PARAGRAPH
from openipt.treatment.fidelity import Anchor, RatingData, Scale
from openipt.treatment.models import FidelityRating

NOT_APPLICABLE = "na"
PHASE_HEADINGS = {
    "all": gettext_lazy("In every session"),
    "initial": gettext_lazy("Getting started (initial phase)"),
    "middle": gettext_lazy("Working on it (middle phase)"),
    "termination": gettext_lazy("Finishing well (ending phase)"),
}


def field_name(code: str) -> str:
    return "item_" + code.replace(".", "__")


def _choices(anchors: tuple[Anchor, ...]) -> list[tuple[str, str]]:
    return [(str(a.value), f"{a.value} · {a.label}") for a in anchors]


class FidelityRatingForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    comments = forms.CharField(
        label=gettext_lazy("Comments"),
        required=False,
        max_length=PARAGRAPH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("What went well, and what to work on next."),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        scale: Scale,
        rating: FidelityRating | None = None,
        phase: str = "",
    ) -> None:
        """``rating``: the rater's saved rating, to change; without one, items of a phase other
        than the session's start as "Not applicable"."""
        initial: dict[str, object] = {"version": rating.version if rating else 0}
        if rating is not None:
            initial["comments"] = rating.comments
            initial["overall"] = str(rating.overall)
        super().__init__(data, initial=initial)
        self.scale = scale
        required = _("Choose a score, or “Not applicable”.")
        for item in scale.items:
            name = field_name(item.code)
            self.fields[name] = forms.ChoiceField(
                label=item.text,
                choices=[*_choices(scale.anchors), (NOT_APPLICABLE, _("Not applicable"))],
                widget=forms.RadioSelect,
                error_messages={"required": required},
            )
            if rating is not None:
                value = rating.answers.get(item.code)
                self.initial[name] = NOT_APPLICABLE if value is None else str(value)
            elif phase and item.phase not in {"all", phase}:
                self.initial[name] = NOT_APPLICABLE
        self.fields["overall"] = forms.ChoiceField(
            label=scale.overall_text,
            choices=_choices(scale.overall_anchors),
            widget=forms.RadioSelect,
            error_messages={"required": _("Choose an overall rating.")},
        )
        self.order_fields(["version", "overall", "comments"])

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The item fields under a heading per phase, in the scale's phase order."""
        out = []
        for phase, heading in PHASE_HEADINGS.items():
            fields = [self[field_name(i.code)] for i in self.scale.items_of(phase)]
            if fields:
                out.append((str(heading), fields))
        return out

    def to_data(self) -> RatingData:
        answers: dict[str, int | None] = {}
        for item in self.scale.items:
            value = self.cleaned_data[field_name(item.code)]
            answers[item.code] = None if value == NOT_APPLICABLE else int(value)
        return RatingData(
            answers=answers,
            overall=int(self.cleaned_data["overall"]),
            comments=self.cleaned_data["comments"],
        )
