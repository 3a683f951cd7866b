"""Forms for the IPT course. They parse and validate input only; views pass
``cleaned_data`` to ``services`` (never ``form.save()``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from openipt.treatment import services
from openipt.treatment.models import (
    AREA_FIELDS,
    TECHNIQUE_FIELDS,
    Area,
    ContractVersion,
    Course,
    Format,
    Formulation,
    Frequency,
    Goal,
    InventoryPerson,
    PhaseTaskStatus,
    ProblemArea,
    Session,
    Technique,
    TerminationRecord,
    TimelineEvent,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TEXT = forms.Textarea(attrs={"rows": 3})


class VersionedForm(forms.ModelForm):
    """Carries the version the edit started from, so a stale save is refused (R2)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        else:
            self.fields["version"].initial = 0


class CourseForm(forms.ModelForm):
    presenting_concerns = forms.MultipleChoiceField(
        label=_("Presenting concerns"),
        choices=Course.Concern.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    participants = forms.MultipleChoiceField(
        label=_("Who else takes part"),
        choices=Course.Participant.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    planned_sessions = forms.IntegerField(
        label=_("Planned number of sessions"),
        min_value=1,
        max_value=200,
        required=False,
        help_text=_("Leave empty to use the usual number for the format."),
    )
    frequency = forms.ChoiceField(
        label=_("Frequency"),
        choices=[("", _("Usual for the format")), *Frequency.choices],
        required=False,
    )

    class Meta:
        model = Course
        fields = services.COURSE_FIELDS
        widgets = {"start_date": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Group IPT needs group records, which come later.
        field = self.fields["format"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - narrows the type
        field.choices = [c for c in Format.choices if c[0] != Format.IPT_G]


class CourseUpdateForm(VersionedForm):
    presenting_concerns = CourseForm.base_fields["presenting_concerns"]
    participants = CourseForm.base_fields["participants"]

    class Meta:
        model = Course
        fields = services.COURSE_UPDATE_FIELDS
        widgets = {"start_date": DATE}


class SessionForm(VersionedForm):
    attendees = forms.MultipleChoiceField(
        label=_("Who attended"),
        choices=Session.Attendee.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    techniques_used = forms.MultipleChoiceField(
        label=_("Techniques used"),
        choices=Technique.Kind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Session
        fields = services.SESSION_FIELDS
        widgets = {
            "starts_at": DATETIME,
            "events_since_last": TEXT,
            "mood_event_link": TEXT,
            "focus": TEXT,
            "problem_area_work": TEXT,
            "tasks_reviewed": TEXT,
            "tasks_set": TEXT,
            "risk_notes": TEXT,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        starts_at = self.fields["starts_at"]
        assert isinstance(starts_at, forms.DateTimeField)  # noqa: S101 - narrows the type
        starts_at.input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


class AmendmentForm(forms.Form):
    text = forms.CharField(label=_("Amendment"), widget=forms.Textarea(attrs={"rows": 4}))


class ProcessNoteForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    text = forms.CharField(
        label=_("Private process note"),
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        help_text=_("Only you can ever read this note. It is not part of the clinical record."),
    )


class PersonForm(VersionedForm):
    class Meta:
        model = InventoryPerson
        fields = services.PERSON_FIELDS
        widgets = dict.fromkeys(
            (
                "support",
                "conflicts",
                "expectations_met",
                "expectations_unmet",
                "satisfying",
                "unsatisfying",
                "wants_to_change",
            ),
            TEXT,
        )


class TimelineForm(VersionedForm):
    class Meta:
        model = TimelineEvent
        fields = services.TIMELINE_FIELDS
        widgets = {"date": DATE}


class ProblemAreaAddForm(forms.Form):
    area = forms.ChoiceField(label=_("Problem area"), choices=Area.choices)
    evidence = forms.CharField(label=_("Evidence for this area"), widget=TEXT, required=False)


class ProblemAreaForm(VersionedForm):
    """The workspace form for one area: focus choice, evidence and the area's own fields."""

    class Meta:
        model = ProblemArea
        fields = (
            "is_candidate",
            "is_primary",
            "is_secondary",
            "evidence",
            "deficits_rationale",
            "other_person",
            "dispute_stage",
            "mourning_progress",
        )
        widgets = {"evidence": TEXT, "deficits_rationale": TEXT}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area = self.instance.area
        for key, label in AREA_FIELDS[area]:
            self.fields[f"d_{key}"] = forms.CharField(
                label=label,
                widget=TEXT,
                required=False,
                max_length=5000,
                initial=self.instance.details.get(key, ""),
            )
        if area != Area.ROLE_DISPUTE:
            del self.fields["other_person"], self.fields["dispute_stage"]
        else:
            self.fields["other_person"].queryset = InventoryPerson.objects.filter(  # type: ignore[attr-defined]
                course_id=self.instance.course_id, snapshot=InventoryPerson.Snapshot.START
            )
        if area != Area.GRIEF:
            del self.fields["mourning_progress"]
        if area != Area.DEFICITS:
            del self.fields["deficits_rationale"]

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if not k.startswith("d_")}
        data["details"] = {
            k[2:]: v for k, v in self.cleaned_data.items() if k.startswith("d_") and v
        }
        return data


class FormulationForm(VersionedForm):
    class Meta:
        model = Formulation
        fields = services.FORMULATION_FIELDS
        widgets = {
            "shared_on": DATE,
            "text": forms.Textarea(attrs={"rows": 8}),
            "amendment_text": TEXT,
        }


class ContractForm(forms.ModelForm):
    focus_areas = forms.MultipleChoiceField(
        label=_("Focus areas"),
        choices=Area.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = ContractVersion
        fields = services.CONTRACT_FIELDS
        widgets = {"agreed_on": DATE, "goals_summary": TEXT, "arrangements": TEXT, "reason": TEXT}


class GoalForm(forms.ModelForm):
    class Meta:
        model = Goal
        fields = ("problem_area", "text")

    def __init__(self, *args: Any, course: Course, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["problem_area"].queryset = ProblemArea.objects.filter(course=course)  # type: ignore[attr-defined]


class GoalRatingForm(forms.Form):
    rating = forms.IntegerField(
        label=_("Rating (0 = not at all, 10 = fully achieved)"), min_value=0, max_value=10
    )
    rated_on = forms.DateField(label=_("Date"), widget=DATE)


class TechniqueForm(forms.Form):
    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label in TECHNIQUE_FIELDS[kind]:
            self.fields[key] = forms.CharField(
                label=label, widget=TEXT, required=False, max_length=5000
            )


class TerminationForm(VersionedForm):
    class Meta:
        model = TerminationRecord
        fields = services.TERMINATION_FIELDS
        widgets = dict.fromkeys(
            (
                "gains",
                "warning_signs",
                "relapse_plan",
                "relapse_contacts",
                "next_step_reason",
                "conclusion_summary",
            ),
            TEXT,
        )


class TaskMarkForm(forms.Form):
    task_code = forms.RegexField(
        regex=r"^[a-z_]+\.[a-z_]+$", max_length=40, widget=forms.HiddenInput
    )
    status = forms.ChoiceField(label=_("Mark as"), choices=PhaseTaskStatus.Status.choices)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class TaskForm(forms.Form):
    """Something for the client to try before the next session (the client reads it)."""

    text = forms.CharField(
        label=_("Something to try this week"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Written for the client: they see it in their portal."),
    )


class TaskReviewForm(forms.Form):
    status = forms.ChoiceField(
        label=_("How it went"),
        choices=[
            ("done", _("Done")),
            ("not_done", _("Not done")),
        ],
        widget=forms.RadioSelect,
    )
