"""Forms of the measures app. They check input shape only; rules live in the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from openipt.core.validators import validate_clinical_date, validate_past_clinical_date
from openipt.measures.models import RiskAlert, SafetyPlan
from openipt.measures.scoring import InstrumentDefinition, Item
from openipt.measures.services import Acknowledgement, EntryData, SafetyPlanData

if TYPE_CHECKING:
    from openipt.treatment.models import Session

NOT_ANSWERED = "-"


def item_field_name(item: Item) -> str:
    return f"item-{item.link_id}"


def answerable_items(definition: InstrumentDefinition) -> tuple[Item, ...]:
    """The questions that take an answer, in the instrument's order: scored ones and unscored
    ones such as the PHQ-9's difficulty question (instructions and other display text
    have no answers)."""
    return tuple(item for item in definition.items if item.options)


@dataclass(frozen=True)
class EntryRow:
    """One question of the entry form: its number as people count it ("1" to "9" for the
    PHQ-9's scored questions; none for the unscored difficulty question), its place in the
    quick-entry box, and its radio group."""

    item: Item
    number: int | None
    position: int
    field: forms.BoundField


class EntryForm(forms.Form):
    """One radio group per question plus a quick-entry box: one digit per question, in
    order ("-" for one the client left blank). The box takes the instrument's real count of
    answers: every question, unscored ones included (the PHQ-9's 9 + 1 difficulty = 10), or
    the scored ones only (9: the difficulty question then comes from its radio group, or
    stays blank). When the box is filled it wins (a script keeps both in step); without
    JavaScript the radio grid posts on its own.

    ``optional``: the form may be left entirely blank (a questionnaire offered in the session
    note that was not given); ``answers`` is then ``None``. ``link_session``: whether the form
    asks which session it belongs to (the standalone entry page) or already knows it (the
    session note)."""

    quick = forms.CharField(label=gettext_lazy("Quick entry"), required=False, max_length=60)
    session = forms.ChoiceField(label=gettext_lazy("Session"), required=False)
    completed_on = forms.DateField(
        label=gettext_lazy("Date completed"),
        required=False,
        validators=[validate_past_clinical_date],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy(
            "The day the questionnaire was filled in. Left empty: the session's day, or today."
        ),
    )

    def __init__(
        self,
        *args: Any,
        definition: InstrumentDefinition,
        sessions: Sequence[Session] = (),
        link_session: bool = True,
        optional: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.definition = definition
        self.optional = optional
        self.items = answerable_items(definition)
        self.sessions = {str(s.uuid): s for s in sessions}
        if link_session:
            self._session_choices()
        else:
            del self.fields["session"]
        self.quick_enabled = all(0 <= e <= 9 for item in self.items for e in item.entries)
        if self.quick_enabled:
            self.fields["quick"].help_text = self._quick_help()
        else:
            del self.fields["quick"]
        for item in self.items:
            choices = [(str(o.entry), f"{o.entry} {o.display}") for o in item.options]
            choices.append((NOT_ANSWERED, str(_("Not answered"))))
            self.fields[item_field_name(item)] = forms.ChoiceField(
                label=item.text, choices=choices, required=False, widget=forms.RadioSelect
            )

    def _session_choices(self) -> None:
        session_field = self.fields["session"]
        assert isinstance(session_field, forms.ChoiceField)  # noqa: S101 - declared above
        session_field.choices = [("", _("Not linked to a session"))] + [
            (key, _("Session %(n)s · %(day)s") % {"n": s.number, "day": s.starts_at.date()})
            for key, s in self.sessions.items()
        ]

    @property
    def scored_count(self) -> int:
        return sum(1 for item in self.items if item.scored)

    def _quick_help(self) -> str:
        scored, every = self.scored_count, len(self.items)
        if scored == every:
            return _("Type %(n)s numbers, one per question, in order; “-” if not answered.") % {
                "n": every
            }
        return _(
            "Type %(n)s numbers for questions 1 to %(n)s, then optionally %(extra)s more for "
            "the unscored question (%(all)s in all); “-” if not answered."
        ) % {"n": scored, "extra": every - scored, "all": every}

    def item_rows(self) -> list[EntryRow]:
        rows, number = [], 0
        for position, item in enumerate(self.items, start=1):
            if item.scored:
                number += 1
            shown = number if item.scored else None
            rows.append(EntryRow(item, shown, position, self[item_field_name(item)]))
        return rows

    def _quick_targets(self, count: int) -> tuple[Item, ...] | None:
        """Which questions ``count`` typed answers are for: every question, or the scored."""
        if count == len(self.items):
            return self.items
        scored = tuple(item for item in self.items if item.scored)
        return scored if count == len(scored) else None

    def _count_error(self, typed: int) -> str:
        scored, every = self.scored_count, len(self.items)
        if scored == every:
            return _("Type %(n)s answers, one per question; you typed %(typed)s.") % {
                "n": every,
                "typed": typed,
            }
        return _(
            "Type %(n)s answers (questions 1 to %(n)s), or %(all)s with the unscored "
            "question; you typed %(typed)s."
        ) % {"n": scored, "all": every, "typed": typed}

    def _from_quick(self, text: str) -> dict[str, str | None] | None:
        typed = [c for c in text if not c.isspace()]
        targets = self._quick_targets(len(typed))
        if targets is None:
            self.add_error("quick", self._count_error(len(typed)))
            return None
        answers: dict[str, str | None] = {}
        numbers = {row.item.link_id: row.number for row in self.item_rows()}
        for item, char in zip(targets, typed, strict=True):
            option = None if char == NOT_ANSWERED else _option(item, char)
            if char != NOT_ANSWERED and option is None:
                self.add_error("quick", _bad_answer(numbers[item.link_id], char, item))
                continue
            answers[item.link_id] = option
        return None if self.errors else answers

    def _from_radios(self) -> dict[str, str | None]:
        answers: dict[str, str | None] = {}
        for item in self.items:
            value = self.cleaned_data.get(item_field_name(item)) or ""
            if not value and item.scored:
                self.add_error(
                    item_field_name(item),
                    _("Choose an answer, or “Not answered” if the client left it blank."),
                )
            answers[item.link_id] = None if value in ("", NOT_ANSWERED) else _option(item, value)
        return answers

    def _is_blank(self, cleaned: dict[str, Any]) -> bool:
        quick = (cleaned.get("quick") or "").strip()
        return not quick and not any(cleaned.get(item_field_name(i)) for i in self.items)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["session"] = self.sessions.get(cleaned.get("session") or "")
        if self.optional and self._is_blank(cleaned):
            cleaned["answers"] = None
            return cleaned
        quick = (cleaned.get("quick") or "").strip()
        answers = self._from_quick(quick) if quick else self._from_radios()
        if answers is not None and quick:
            for item in self.items:  # questions the box did not cover come from the radios
                if item.link_id not in answers:
                    value = cleaned.get(item_field_name(item)) or NOT_ANSWERED
                    answers[item.link_id] = _option(item, value)
        cleaned["answers"] = answers
        self._check_date(cleaned.get("completed_on"))
        return cleaned

    def _check_date(self, day: dt.date | None) -> None:
        """Left empty, the date is the session's day (else today): ``_completed_at``."""
        if "completed_on" not in self.errors and day is not None and day > timezone.localdate():
            self.add_error("completed_on", _("The date completed cannot be in the future."))

    def to_data(self) -> EntryData | None:
        """What ``services.administration_enter`` needs; ``None`` for a form left blank."""
        answers = self.cleaned_data.get("answers")
        if answers is None:
            return None
        return EntryData(answers=answers, completed_on=self.cleaned_data.get("completed_on"))


def _option(item: Item, entry: str) -> str | None:
    if not entry.isdigit():
        return None
    option = item.option_for_entry(int(entry))
    return option.code if option else None


def _bad_answer(number: int | None, char: str, item: Item) -> str:
    allowed = ", ".join(str(e) for e in item.entries)
    params = {"n": number, "c": char, "allowed": allowed}
    if number is None:
        return _("The unscored question: “%(c)s” is not an answer; use %(allowed)s or “-”.") % (
            params
        )
    return _("Question %(n)s: “%(c)s” is not an answer; use %(allowed)s or “-”.") % params


class AssignForm(forms.Form):
    instrument = forms.ChoiceField(label=gettext_lazy("Questionnaire"))
    due_on = forms.DateField(
        label=gettext_lazy("Due on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_clinical_date],
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
    # The version the form was opened at (0: no plan yet): a version saved meanwhile by
    # someone else is never silently replaced.
    based_on = forms.IntegerField(widget=forms.HiddenInput, min_value=0, required=False)

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
