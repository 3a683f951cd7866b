"""Forms for the IPT course. They parse and validate input only; ``to_data()`` turns the
cleaned input into the matching ``services.*Data`` for the view to pass on (never
``form.save()``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

from django import forms
from django.utils.translation import gettext_lazy as _

from openipt.core.validators import (
    LONG_NOTE,
    PARAGRAPH,
    validate_clinical_date,
    validate_past_clinical_date,
)
from openipt.core.versioning import Versioned
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

V = TypeVar("V", bound=Versioned)
D = TypeVar("D", bound=services.RecordData)

if TYPE_CHECKING:
    from django.forms import ModelForm  # generic in the type stubs: ModelForm[Course]
else:

    class ModelForm(forms.ModelForm):
        """Django's ModelForm, which takes the stubs' type argument at run time too."""

        def __class_getitem__(cls, item: object) -> type:
            return cls


def _data(cls: type[D], cleaned: Mapping[str, Any], **extra: Any) -> D:
    """``cls`` from the cleaned data of the fields it has (lists become tuples)."""
    names = {f.name for f in fields(cls)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in cleaned.items() if k in names}
    return cls(**{**values, **extra})


# The fields of the course forms, in the order shown.
COURSE_FIELDS = (
    "format",
    "start_date",
    "frequency",
    "presenting_concerns",
    "concerns_other",
    "medication_status",
    "prescriber",
    "participants",
    "participant_names",
)
# The number of sessions is not edited here: it follows the contract.
COURSE_UPDATE_FIELDS = (*COURSE_FIELDS[1:], "status", "status_reason")

# The fields each form shows, in the order shown; each is a field of the form's ``*Data``.
SESSION_FIELDS = (
    "number",
    "starts_at",
    "duration_minutes",
    "attendance",
    "phase_override",
    "phase_override_reason",
    "attendees",
    "mood",
    "events_since_last",
    "mood_event_link",
    "focus",
    "problem_area_work",
    "techniques_used",
    "tasks_reviewed",
    "risk_check",
    "risk_notes",
    "progress_note",
)
PERSON_FIELDS = (
    "snapshot",
    "name",
    "relationship",
    "circle",
    "contact_frequency",
    "support",
    "conflicts",
    "expectations_met",
    "expectations_unmet",
    "satisfying",
    "unsatisfying",
    "wants_to_change",
    "knows_about_difficulties",
)
TIMELINE_FIELDS = ("date", "kind", "description", "people", "mood", "marks_symptom_onset")
FORMULATION_FIELDS = ("text", "shared_on", "client_agreement", "amendment_text")
CONTRACT_FIELDS = (
    "planned_sessions",
    "frequency",
    "focus_areas",
    "goals_summary",
    "arrangements",
    "agreed_on",
    "client_agreed",
    "reason",
)
GOAL_FIELDS = ("problem_area", "text")
TERMINATION_FIELDS = (
    "raised_at_session",
    "gains",
    "warning_signs",
    "relapse_plan",
    "relapse_contacts",
    "next_step",
    "next_step_reason",
    "conclusion_summary",
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TEXT = forms.Textarea(attrs={"rows": 3})


class VersionedForm(ModelForm[V]):
    """Carries the version the edit started from, so a stale save is refused (R2)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version if self.instance.pk else 0

    def edit_version(self) -> int:
        """The version the edit started from (0: the record did not exist yet)."""
        return int(self.cleaned_data["version"])


class CourseForm(ModelForm[Course]):
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
        fields = COURSE_FIELDS
        widgets = {"start_date": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Group IPT needs group records, which come later.
        field = self.fields["format"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - narrows the type
        field.choices = [c for c in Format.choices if c[0] != Format.IPT_G]

    def to_data(self) -> services.CourseData:
        return _data(services.CourseData, self.cleaned_data)


class CourseUpdateForm(VersionedForm[Course]):
    presenting_concerns = CourseForm.base_fields["presenting_concerns"]
    participants = CourseForm.base_fields["participants"]

    class Meta:
        model = Course
        fields = COURSE_UPDATE_FIELDS
        widgets = {"start_date": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Concluding and ending early happen on the ending page, with the ending's checks.
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - narrows the type
        closing = set(services.CLOSING_STATUSES) - {self.instance.status}
        field.choices = [c for c in Course.Status.choices if c[0] not in closing]

    def to_data(self) -> services.CourseUpdateData:
        return _data(services.CourseUpdateData, self.cleaned_data)


class SessionForm(VersionedForm[Session]):
    """The session note. Its ``task`` is the client's between-session task itself
    (``services.task_save_for_session``), not a second free text: ``Session.tasks_set`` is
    kept for old records and never written here."""

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
    task = forms.CharField(
        label=_("Something to try before next time"),
        max_length=services.TASK_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Written for the client: what you write here is what they see in their portal."
        ),
    )

    class Meta:
        model = Session
        fields = SESSION_FIELDS
        widgets = {
            "starts_at": DATETIME,
            "events_since_last": TEXT,
            "mood_event_link": TEXT,
            "focus": TEXT,
            "problem_area_work": TEXT,
            "tasks_reviewed": TEXT,
            "risk_notes": TEXT,
        }
        help_texts = {
            # The client's own record shows these two once the note is final (signed, and
            # co-signed for a trainee); the process note is a separate, private record.
            "focus": _("The client can read this in their portal record once the note is final."),
            "progress_note": _(
                "The client can read this in their portal record once the note is final. "
                "Private reflections belong in the process note, which they never see."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        starts_at = self.fields["starts_at"]
        assert isinstance(starts_at, forms.DateTimeField)  # noqa: S101 - narrows the type
        starts_at.input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        self.fields["task"].initial = self._saved_task()

    def _saved_task(self) -> str:
        """The note's task as saved; an old record's free text until it has one."""
        if not self.instance.pk:
            return ""
        first = self.instance.tasks_given.order_by("created_at", "id").first()
        return first.text if first is not None else self.instance.tasks_set

    def to_data(self) -> services.SessionData:
        # The old free text is carried over unchanged: the form never writes it.
        return _data(services.SessionData, self.cleaned_data, tasks_set=self.instance.tasks_set)

    def task_text(self) -> str:
        return str(self.cleaned_data.get("task") or "")


class AmendmentForm(forms.Form):
    text = forms.CharField(
        label=_("Amendment"), max_length=LONG_NOTE, widget=forms.Textarea(attrs={"rows": 4})
    )


class CoSignForm(forms.Form):
    """The supervisor's decision on a trainee's note: co-sign it, or return it with a comment
    (the comment is needed only to return it; the service says so next to the field)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    comment = forms.CharField(
        label=_("Comment for the clinician"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=PARAGRAPH,
        required=False,
        help_text=_("Needed when you return the note: say what to add or correct."),
    )


class ProcessNoteForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    text = forms.CharField(
        label=_("Private process note"),
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        max_length=LONG_NOTE,
        help_text=_("Only you can ever read this note. It is not part of the clinical record."),
    )

    def edit_version(self) -> int:
        """The version the edit started from (0: no note yet)."""
        return int(self.cleaned_data["version"])


class PersonForm(VersionedForm[InventoryPerson]):
    class Meta:
        model = InventoryPerson
        fields = PERSON_FIELDS
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

    def to_data(self) -> services.PersonData:
        return _data(services.PersonData, self.cleaned_data)


class TimelineForm(VersionedForm[TimelineEvent]):
    class Meta:
        model = TimelineEvent
        fields = TIMELINE_FIELDS
        widgets = {"date": DATE}

    def to_data(self) -> services.TimelineEventData:
        return _data(services.TimelineEventData, self.cleaned_data)


class ProblemAreaAddForm(forms.Form):
    area = forms.ChoiceField(label=_("Problem area"), choices=Area.choices)
    evidence = forms.CharField(
        label=_("Evidence for this area"), widget=TEXT, required=False, max_length=PARAGRAPH
    )

    def area_code(self) -> str:
        return str(self.cleaned_data["area"])

    def to_data(self) -> services.ProblemAreaData:
        return _data(services.ProblemAreaData, self.cleaned_data)


class ProblemAreaForm(VersionedForm[ProblemArea]):
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
                max_length=PARAGRAPH,
                initial=self.instance.details.get(key, ""),
            )
        if area != Area.ROLE_DISPUTE:
            del self.fields["other_person"], self.fields["dispute_stage"]
        else:
            person = self.fields["other_person"]
            assert isinstance(person, forms.ModelChoiceField)  # noqa: S101 - narrows the type
            person.queryset = InventoryPerson.objects.filter(
                course_id=self.instance.course_id, snapshot=InventoryPerson.Snapshot.START
            )
        if area != Area.GRIEF:
            del self.fields["mourning_progress"]
        if area != Area.DEFICITS:
            del self.fields["deficits_rationale"]

    def to_data(self) -> services.ProblemAreaData:
        """The area as edited; fields this area's form does not show keep their value."""
        names = {f.name for f in fields(services.ProblemAreaData)}
        edited = {k: v for k, v in self.cleaned_data.items() if k in names}
        details = {k[2:]: v for k, v in self.cleaned_data.items() if k.startswith("d_") and v}
        return replace(services.ProblemAreaData.of(self.instance), **edited, details=details)


class FormulationForm(VersionedForm[Formulation]):
    class Meta:
        model = Formulation
        fields = FORMULATION_FIELDS
        widgets = {
            "shared_on": DATE,
            "text": forms.Textarea(attrs={"rows": 8}),
            "amendment_text": TEXT,
        }

    def to_data(self) -> services.FormulationData:
        return _data(services.FormulationData, self.cleaned_data)


class ContractForm(ModelForm[ContractVersion]):
    focus_areas = forms.MultipleChoiceField(
        label=_("Focus areas"),
        choices=Area.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    # The version number the form was opened at (0: no agreement yet), so that a
    # renegotiation saved meanwhile by someone else is not silently undone.
    based_on = forms.IntegerField(widget=forms.HiddenInput, min_value=0, required=False)

    class Meta:
        model = ContractVersion
        fields = CONTRACT_FIELDS
        widgets = {"agreed_on": DATE, "goals_summary": TEXT, "arrangements": TEXT, "reason": TEXT}

    def to_data(self) -> services.ContractData:
        return _data(services.ContractData, self.cleaned_data)


class GoalForm(ModelForm[Goal]):
    class Meta:
        model = Goal
        fields = GOAL_FIELDS

    def __init__(self, *args: Any, course: Course, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area = self.fields["problem_area"]
        assert isinstance(area, forms.ModelChoiceField)  # noqa: S101 - narrows the type
        area.queryset = ProblemArea.objects.filter(course=course)

    def to_data(self) -> services.GoalData:
        return _data(services.GoalData, self.cleaned_data)


class GoalRatingForm(forms.Form):
    rating = forms.IntegerField(
        label=_("Rating (0 = not at all, 10 = fully achieved)"), min_value=0, max_value=10
    )
    rated_on = forms.DateField(
        label=_("Date"), widget=DATE, validators=[validate_past_clinical_date]
    )

    def to_data(self) -> services.GoalRatingData:
        return _data(services.GoalRatingData, self.cleaned_data)


class TechniqueForm(forms.Form):
    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        for key, label in TECHNIQUE_FIELDS[kind]:
            self.fields[key] = forms.CharField(
                label=label, widget=TEXT, required=False, max_length=PARAGRAPH
            )

    def to_data(self) -> services.TechniqueData:
        return services.TechniqueData(kind=self.kind, details=dict(self.cleaned_data))


class TerminationForm(VersionedForm[TerminationRecord]):
    class Meta:
        model = TerminationRecord
        fields = TERMINATION_FIELDS
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

    def to_data(self) -> services.TerminationData:
        return _data(services.TerminationData, self.cleaned_data)


class TaskMarkForm(forms.Form):
    task_code = forms.RegexField(
        regex=r"^[a-z_]+\.[a-z_]+$", max_length=40, widget=forms.HiddenInput
    )
    status = forms.ChoiceField(label=_("Mark as"), choices=PhaseTaskStatus.Status.choices)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def to_data(self) -> services.TaskMarkData:
        return _data(services.TaskMarkData, self.cleaned_data)


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


# Concluding a course and what follows it (owned with the ending page) --------------------


class ConcludeForm(forms.Form):
    """Close the course from its ending page; optionally cancel its future appointments
    (listed next to the form) and start the maintenance course chosen as the next step."""

    status = forms.ChoiceField(
        label=_("How the course ends"),
        choices=[
            (Course.Status.CONCLUDED, _("Concluded: the ending is recorded")),
            (Course.Status.ENDED_EARLY, _("Ended early")),
        ],
        initial=Course.Status.CONCLUDED,
        widget=forms.RadioSelect,
    )
    status_reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        required=False,
        help_text=_("Needed when the course ended early; for example, the client moved away."),
    )
    ended_on = forms.DateField(
        label=_("Ended on"), widget=DATE, validators=[validate_clinical_date]
    )
    cancel_appointments = forms.BooleanField(
        label=_("Cancel the course's future appointments listed above"),
        required=False,
        initial=True,
    )
    cancel_reason = forms.CharField(
        label=_("Reason for cancelling them"),
        max_length=200,
        required=False,
        initial=_("The course has ended."),
        help_text=_("Kept with each appointment; the client may see it."),
    )
    start_maintenance = forms.BooleanField(
        label=_("Start a maintenance course now (Keeping well sessions, monthly)"),
        required=False,
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(
        self,
        *args: Any,
        future_appointments: int = 0,
        offer_maintenance: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.initial.get("version", 0)
        if not future_appointments:
            del self.fields["cancel_appointments"]
            del self.fields["cancel_reason"]
        if not offer_maintenance:
            del self.fields["start_maintenance"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("cancel_appointments") and not str(cleaned.get("cancel_reason", "")).strip():
            self.add_error("cancel_reason", _("Give a reason for cancelling the appointments."))
        return cleaned

    @property
    def cancels(self) -> bool:
        return bool(self.cleaned_data.get("cancel_appointments"))

    @property
    def starts_maintenance(self) -> bool:
        return bool(self.cleaned_data.get("start_maintenance"))

    def edit_version(self) -> int:
        """The course's version when the page was shown: a stale one is refused."""
        return int(self.cleaned_data["version"])

    def to_data(self) -> services.ConclusionData:
        return _data(services.ConclusionData, self.cleaned_data)


class MaintenanceForm(forms.Form):
    """A maintenance course after an acute one: empty fields take the format's usual."""

    start_date = forms.DateField(
        label=_("Start date"), widget=DATE, validators=[validate_clinical_date]
    )
    planned_sessions = forms.IntegerField(
        label=_("Planned number of sessions"),
        min_value=1,
        max_value=200,
        required=False,
        help_text=_("Leave empty for the usual 12; maintenance often runs for a year or more."),
    )
    frequency = forms.ChoiceField(
        label=_("Frequency"),
        choices=[("", _("Monthly (usual for maintenance)")), *Frequency.choices],
        required=False,
    )

    def to_data(self) -> services.MaintenanceData:
        return _data(services.MaintenanceData, self.cleaned_data)
