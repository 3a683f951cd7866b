"""Forms of supervision meeting notes (openipt/treatment/supervision.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from openipt.accounts import policy
from openipt.accounts.models import Membership
from openipt.core.validators import (
    LONG_NOTE,
    PARAGRAPH,
    validate_clinical_date,
    validate_past_clinical_date,
)
from openipt.treatment.models import Course, SupervisionMeeting
from openipt.treatment.supervision import FOLLOW_UP_MAX, FollowUpData, MeetingData

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
BLANK_FOLLOW_UPS = 2  # empty follow-up rows offered below the ones already written


class PersonChoice(forms.ModelMultipleChoiceField[Membership]):
    def label_from_instance(self, obj: Membership) -> str:
        return obj.user.get_full_name()


class CaseChoice(forms.ModelMultipleChoiceField[Course]):
    def label_from_instance(self, obj: Course) -> str:
        return str(
            _("%(client)s · %(format)s from %(start)s · with %(clinician)s")
            % {
                "client": obj.client.display_name,
                "format": obj.get_format_display(),
                "start": obj.start_date.strftime("%d %b %Y"),
                "clinician": obj.clinician.user.get_full_name(),
            }
        )


class SupervisionMeetingForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    held_on = forms.DateField(
        label=_("Date of the meeting"), widget=DATE, validators=[validate_past_clinical_date]
    )
    supervisees = PersonChoice(
        queryset=Membership.objects.none(),
        to_field_name="uuid",
        widget=forms.CheckboxSelectMultiple,
        label=_("Who was supervised"),
        help_text=_("Choose more than one for group supervision."),
        error_messages={"required": _("Choose who was supervised.")},
    )
    cases = CaseChoice(
        queryset=Course.objects.none(),
        to_field_name="uuid",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label=_("Cases discussed"),
        help_text=_("Only cases of the people supervised in this meeting can be chosen."),
    )
    agreed = forms.CharField(
        label=_("What was agreed"),
        required=False,
        max_length=LONG_NOTE,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        supervisor: Membership,
        meeting: SupervisionMeeting | None = None,
        today: dt.date,
    ) -> None:
        follow_ups = list(meeting.follow_ups.all()) if meeting else []
        self.rows = len(follow_ups) + BLANK_FOLLOW_UPS
        initial: dict[str, Any] = {"version": 0, "held_on": today}
        if meeting is not None:
            initial = {
                "version": meeting.version,
                "held_on": meeting.held_on,
                "supervisees": list(meeting.supervisees.all()),
                "cases": list(meeting.cases.all()),
                "agreed": meeting.agreed,
            }
            for i, f in enumerate(follow_ups):
                initial |= {
                    f"follow_up_{i}_text": f.text,
                    f"follow_up_{i}_person": f.supervisee.uuid,
                    f"follow_up_{i}_due": f.due_on,
                }
        if data is not None:  # rows added in the browser are not offered; keep what was sent
            self.rows = max(self.rows, _sent_rows(data))
        super().__init__(data, initial=initial)
        people = policy.supervisees_of(supervisor).select_related("user")
        # A draft keeps the people it names even if a supervision has since ended; signing
        # checks them again.
        self.people = list(people.order_by("user__full_name", "pk"))
        supervisees = self.fields["supervisees"]
        assert isinstance(supervisees, PersonChoice)  # noqa: S101 - declared above
        supervisees.queryset = people
        cases = self.fields["cases"]
        assert isinstance(cases, CaseChoice)  # noqa: S101 - declared above
        cases.queryset = (
            Course.objects.filter(clinician__in=people)
            .exclude(status=Course.Status.ENTERED_IN_ERROR)
            .select_related("client", "clinician__user")
            .order_by("clinician__user__full_name", "client__legal_family_name", "-start_date")
        )
        person_choices = [("", _("Who takes it on"))] + [
            (str(m.uuid), m.user.get_full_name()) for m in self.people
        ]
        for i in range(self.rows):
            self.fields[f"follow_up_{i}_text"] = forms.CharField(
                label=_("Follow-up %(n)s") % {"n": i + 1},
                required=False,
                max_length=FOLLOW_UP_MAX,
            )
            self.fields[f"follow_up_{i}_person"] = forms.ChoiceField(
                label=_("Who takes follow-up %(n)s on") % {"n": i + 1},
                choices=person_choices,
                required=False,
            )
            self.fields[f"follow_up_{i}_due"] = forms.DateField(
                label=_("To do by (optional)"),
                required=False,
                widget=DATE,
                validators=[validate_clinical_date],
            )

    def follow_up_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (self[f"follow_up_{i}_text"], self[f"follow_up_{i}_person"], self[f"follow_up_{i}_due"])
            for i in range(self.rows)
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = list(cleaned.get("supervisees") or [])
        by_uuid = {str(m.uuid): m for m in self.people}
        self.follow_ups: list[FollowUpData] = []
        for i in range(self.rows):
            text = (cleaned.get(f"follow_up_{i}_text") or "").strip()
            person = cleaned.get(f"follow_up_{i}_person") or ""
            if not text:
                if person or cleaned.get(f"follow_up_{i}_due"):
                    self.add_error(f"follow_up_{i}_text", _("Say what the follow-up is."))
                continue
            if not person and len(chosen) == 1:
                person = str(chosen[0].uuid)
            member = by_uuid.get(person)
            if member is None or member not in chosen:
                self.add_error(
                    f"follow_up_{i}_person",
                    _("Choose someone supervised in this meeting to take it on."),
                )
                continue
            self.follow_ups.append(FollowUpData(member, text, cleaned.get(f"follow_up_{i}_due")))
        return cleaned

    def to_data(self) -> MeetingData:
        c = self.cleaned_data
        return MeetingData(
            held_on=c["held_on"],
            supervisees=list(c["supervisees"]),
            cases=list(c.get("cases") or []),
            agreed=c.get("agreed", ""),
            follow_ups=self.follow_ups,
        )


def _sent_rows(data: Any) -> int:
    rows = 0
    for key in data:
        if key.startswith("follow_up_") and key.endswith("_text"):
            number = key.removeprefix("follow_up_").removesuffix("_text")
            if number.isdigit():
                rows = max(rows, int(number) + 1)
    return min(rows, 50)


class SupervisionAmendmentForm(forms.Form):
    text = forms.CharField(
        label=_("Amendment"),
        max_length=PARAGRAPH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A signed note does not change: what you add here is shown beneath it."),
        error_messages={"required": _("Write the amendment.")},
    )
