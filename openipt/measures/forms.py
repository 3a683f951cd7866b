"""Forms of the measures app. They check input shape only; rules live in the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from openipt.measures.models import RiskAlert, SafetyPlan
from openipt.measures.scoring import InstrumentDefinition, Item
from openipt.measures.services import Acknowledgement, SafetyPlanData

if TYPE_CHECKING:
    from openipt.treatment.models import Session

NOT_ANSWERED = "-"


def item_field_name(item: Item) -> str:
    return f"item-{item.link_id}"


class EntryForm(forms.Form):
    """One radio group per item plus a quick-entry box: type one digit per scored item, in
    order ("-" for an item the client left blank). When the box is filled it wins (a script
    keeps both in step); without JavaScript the radio grid posts on its own."""

    quick = forms.CharField(
        label=gettext_lazy("Quick entry"),
        required=False,
        max_length=60,
        help_text=gettext_lazy("One number per question, in order; “-” if not answered."),
    )

    session = forms.ChoiceField(label=gettext_lazy("Session"), required=False)

    def __init__(
        self,
        *args: Any,
        definition: InstrumentDefinition,
        sessions: Sequence[Session] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.definition = definition
        self.sessions = {str(s.uuid): s for s in sessions}
        session_field = self.fields["session"]
        assert isinstance(session_field, forms.ChoiceField)  # noqa: S101 - declared above
        session_field.choices = [("", _("Not linked to a session"))] + [
            (key, _("Session %(n)s · %(day)s") % {"n": s.number, "day": s.starts_at.date()})
            for key, s in self.sessions.items()
        ]
        self.quick_enabled = all(
            0 <= e <= 9 for item in definition.scored_items for e in item.entries
        )
        if not self.quick_enabled:
            del self.fields["quick"]
        for item in definition.items:
            choices = [(str(o.entry), f"{o.entry} {o.display}") for o in item.options]
            choices.append((NOT_ANSWERED, str(_("Not answered"))))
            self.fields[item_field_name(item)] = forms.ChoiceField(
                label=item.text, choices=choices, required=False, widget=forms.RadioSelect
            )

    def item_rows(self) -> list[tuple[Item, forms.BoundField]]:
        return [(item, self[item_field_name(item)]) for item in self.definition.items]

    def _from_quick(self, text: str) -> dict[str, str | None] | None:
        items = self.definition.scored_items
        typed = [c for c in text if not c.isspace()]
        if len(typed) != len(items):
            self.add_error(
                "quick",
                _("Type %(n)s answers, one per question; you typed %(typed)s.")
                % {"n": len(items), "typed": len(typed)},
            )
            return None
        answers: dict[str, str | None] = {}
        for number, (item, char) in enumerate(zip(items, typed, strict=True), start=1):
            option = None if char == NOT_ANSWERED else _option(item, char)
            if char != NOT_ANSWERED and option is None:
                self.add_error("quick", _bad_answer(number, char, item))
                continue
            answers[item.link_id] = option
        return answers if not self.errors else None

    def _from_radios(self) -> dict[str, str | None]:
        answers: dict[str, str | None] = {}
        for item in self.definition.items:
            value = self.cleaned_data.get(item_field_name(item)) or ""
            if not value and item.scored:
                self.add_error(
                    item_field_name(item),
                    _("Choose an answer, or “Not answered” if the client left it blank."),
                )
            answers[item.link_id] = None if value in ("", NOT_ANSWERED) else _option(item, value)
        return answers

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        quick = (cleaned.get("quick") or "").strip()
        answers = self._from_quick(quick) if quick else self._from_radios()
        if answers is not None and quick:
            for item in self.definition.items:  # unscored items still come from the radios
                if not item.scored:
                    value = cleaned.get(item_field_name(item)) or NOT_ANSWERED
                    answers[item.link_id] = _option(item, value)
        cleaned["answers"] = answers
        cleaned["session"] = self.sessions.get(cleaned.get("session") or "")
        return cleaned


def _option(item: Item, entry: str) -> str | None:
    if not entry.isdigit():
        return None
    option = item.option_for_entry(int(entry))
    return option.code if option else None


def _bad_answer(number: int, char: str, item: Item) -> str:
    allowed = ", ".join(str(e) for e in item.entries)
    return _("Question %(n)s: “%(c)s” is not an answer; use %(allowed)s or “-”.") % {
        "n": number,
        "c": char,
        "allowed": allowed,
    }


class AssignForm(forms.Form):
    instrument = forms.ChoiceField(label=gettext_lazy("Questionnaire"))
    due_on = forms.DateField(
        label=gettext_lazy("Due on"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, codes: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["instrument"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
        field.choices = codes
        self.fields["due_on"].initial = timezone.localdate()

    def clean_due_on(self) -> dt.date:
        due_on: dt.date = self.cleaned_data["due_on"]
        if due_on < timezone.localdate():
            raise forms.ValidationError(_("Choose today or a later date."))
        return due_on


class AcknowledgeForm(forms.Form):
    actions = forms.MultipleChoiceField(
        label=gettext_lazy("What was done"),
        choices=RiskAlert.Action.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Choose at least one thing that was done.")},
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def to_data(self) -> Acknowledgement:
        """What was done, for ``services.alert_acknowledge``; after ``is_valid()`` only."""
        data = self.cleaned_data
        return Acknowledgement(actions=tuple(data["actions"]), note=data["note"])


class SafetyPlanForm(forms.ModelForm[SafetyPlan]):
    class Meta:
        model = SafetyPlan
        fields = SafetyPlan.FIELDS
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in SafetyPlan.FIELDS}

    def to_data(self) -> SafetyPlanData:
        """The plan as written, for ``services.safety_plan_save``; after ``is_valid()`` only."""
        return SafetyPlanData(**{name: self.cleaned_data[name] for name in SafetyPlan.FIELDS})


class InstrumentImportForm(forms.Form):
    """A practice-supplied FHIR Questionnaire (JSON) for an instrument the practice holds a
    licence for."""

    file = forms.FileField(
        label=gettext_lazy("FHIR Questionnaire file (.json)"),
        help_text=gettext_lazy(
            "A Questionnaire resource with answer weights and OpenIPT's scoring extension. "
            "At most 1 MB."
        ),
    )
    licence_confirmed = forms.BooleanField(
        label=gettext_lazy(
            "I confirm that this practice holds a licence to use this instrument, its "
            "wording and its scoring, in software."
        ),
        error_messages={"required": gettext_lazy("Please confirm the licence before importing.")},
    )

    MAX_BYTES = 1_048_576

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 1 MB."))
        if not upload.name.lower().endswith(".json"):
            raise forms.ValidationError(_("Please choose a .json file."))
        return bytes(upload.read())
