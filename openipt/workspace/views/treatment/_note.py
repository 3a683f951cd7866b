"""The session note's parts (``session.py`` is the view): the questionnaires entered inline,
the scores shown with their critical items, and the one save that keeps the record, the
client's task and the scores together (``measures.services.session_note_save``).

A score's critical items are named in words ("Question 9 … Several days"), never only by
colour (docs/quality.md, accessibility).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from openipt.accounts.http import AuthenticatedHttpRequest
from openipt.care import guidance as guidance_lib
from openipt.care.selectors import OpeningReview
from openipt.core.http import form_errors_from, posted
from openipt.measures import forms as measure_forms
from openipt.measures import services as measure_services
from openipt.measures.models import Administration, Instrument, RiskAlert
from openipt.measures.scoring import InstrumentDefinition
from openipt.measures.selectors import DEPRESSION_CODES, instruments_for, one_per_measure
from openipt.treatment import forms
from openipt.treatment.models import BetweenSessionTask, Course, Session, Technique

# The instrument offered first in every note: the default depression measure (docs/ipt.md §7).
PRIMARY = "PHQ-9"
# Guidance items that ask for a depression measure (rules 10, 11 and 13, docs/ipt.md §9).
MEASURE_DUE_CODES = frozenset({"init.symptom_review", "mid.measure", "term.final_measure"})
REVIEW_STATUSES = (BetweenSessionTask.Status.DONE, BetweenSessionTask.Status.NOT_DONE)
# A trainee's note once signed (docs/adr/0018-trainee-co-signature.md).
AWAITING_MESSAGE = gettext_noop(
    "Session signed. It now waits for your supervisor's co-signature before the client sees it."
)


@dataclass(frozen=True)
class Entry:
    """One questionnaire offered in the note, with its entry form (prefix ``m-<code>``)."""

    instrument: Instrument
    form: measure_forms.EntryForm
    primary: bool

    @property
    def autofocus(self) -> bool:
        """The cursor starts in the primary box on a fresh note: the questionnaire the
        client filled in is typed first."""
        return self.primary and not self.form.is_bound

    @property
    def open(self) -> bool:
        """Shown unfolded: the primary one, or one with typing or errors in it."""
        return self.primary or bool(self.form.is_bound and self.form.errors)


def entries_for(
    request: AuthenticatedHttpRequest, course: Course, session: Session | None
) -> list[Entry]:
    """The questionnaires the note offers: PHQ-9 first, then the practice's others; one
    already entered in this session is shown as a score instead."""
    done = set()
    if session is not None:
        done = {
            same_as or code
            for code, same_as in Administration.objects.filter(session=session).values_list(
                "instrument__code", "instrument__same_as"
            )
        }
    day = timezone.localdate(session.starts_at) if session else timezone.localdate()
    # One form per measure, in the version the client reads (a Spanish PHQ-9 for Dana).
    offered = one_per_measure(instruments_for(request.user), course.client.language)
    available = [i for i in offered if i.identity not in done]
    available.sort(
        key=lambda i: (i.identity != PRIMARY, i.identity not in DEPRESSION_CODES, i.identity)
    )
    return [
        Entry(
            instrument,
            measure_forms.EntryForm(
                posted(request),
                definition=instrument.parsed,
                link_session=False,
                optional=True,
                prefix=f"m-{instrument.code.lower()}",
                initial={"completed_on": day},
            ),
            primary=instrument.identity == PRIMARY,
        )
        for instrument in available
    ]


def measures_due(guidance: guidance_lib.CourseGuidance) -> list[guidance_lib.ShownItem]:
    """The protocol's reasons a depression measure is due (or overdue) now; empty: not due."""
    return [i for i in guidance.due + guidance.warnings if i.code in MEASURE_DUE_CODES]


def note_from(
    request: AuthenticatedHttpRequest,
    form: forms.SessionForm,
    entries: Sequence[Entry],
    tasks_to_review: Iterable[BetweenSessionTask],
) -> measure_services.SessionNote:
    """The note as typed, after every form is valid."""
    measures = []
    for entry in entries:
        data = entry.form.to_data()
        if data is not None:
            measures.append(
                measure_services.SessionMeasure(entry.form.prefix or "", entry.instrument, data)
            )
    reviews = []
    for task in tasks_to_review:
        status = request.POST.get(f"review-{task.uuid}", "")
        if status in REVIEW_STATUSES and status != task.status:
            reviews.append((task, status))
    return measure_services.SessionNote(
        data=form.to_data(),
        task=form.task_text(),
        measures=tuple(measures),
        reviews=tuple(reviews),
        sign="sign" in request.POST,
    )


def save(
    request: AuthenticatedHttpRequest,
    course: Course,
    session: Session | None,
    form: forms.SessionForm,
    entries: Sequence[Entry],
    note: measure_services.SessionNote,
) -> Session | None:
    """Save the note; a refusal lands next to the field it names, all typing kept."""
    try:
        return measure_services.session_note_save(
            actor=request.user, course=course, session=session, note=note,
            version=form.edit_version(), request=request,
        )  # fmt: skip
    except ValidationError as error:
        _show_refusal(form, entries, error)
        return None


def _show_refusal(
    form: forms.SessionForm, entries: Sequence[Entry], error: ValidationError
) -> None:
    if not hasattr(error, "error_dict"):
        form_errors_from(form, error)
        return
    rest = {}
    for name, errors in error.error_dict.items():
        entry = next((e for e in entries if name.startswith(f"{e.form.prefix}-")), None)
        if entry is None:
            rest[name] = errors
            continue
        field = name.removeprefix(f"{entry.form.prefix}-")
        entry.form.add_error(field if field in entry.form.fields else None, errors)
    if rest:
        form_errors_from(form, ValidationError(rest), field_map={"text": "task"})


def after_save(
    request: AuthenticatedHttpRequest,
    course: Course,
    session: Session,
    note: measure_services.SessionNote,
) -> HttpResponse:
    """Back to the same note (or, once signed, the signed note), with what needs doing."""
    entered = {m.instrument.pk for m in note.measures}
    for row in session_scores(session):
        if row.administration.instrument_id not in entered:
            continue
        for question in row.unanswered_critical:
            messages.warning(
                request,
                _("%(code)s question %(q)s was not answered: ask the client about it.")
                % {"code": row.administration.instrument.code, "q": question.number},
            )
        if row.alert is not None and row.alert.status == RiskAlert.Status.OPEN and row.critical:
            messages.warning(
                request,
                _("%(code)s: a risk alert was raised. Review it under Alerts.")
                % {"code": row.administration.instrument.code},
            )
    if note.sign and session.awaits_cosignature:
        messages.success(request, _(AWAITING_MESSAGE))
        return redirect("treatment:session-detail", course.uuid, session.uuid)
    if note.sign:
        messages.success(request, _("Session saved and signed."))
        return redirect("treatment:session-detail", course.uuid, session.uuid)
    messages.success(request, _("Session saved."))
    return redirect("treatment:session-update", course.uuid, session.uuid)


def page_context(course: Course, session: Session | None, review: OpeningReview) -> dict[str, Any]:
    """What the note shows besides its forms."""
    phase = guidance_lib.session_phase(course, session) if session else None
    # Once for the page, from a few columns of every session and score (not their models).
    guidance = guidance_lib.guidance_for(
        course,
        sessions=guidance_lib.course_sessions(course),
        measures=guidance_lib.depression_results(course),
    )
    return {
        "previous": review.previous,
        "previous_tasks": list(review.previous.tasks_given.all()) if review.previous else [],
        "review_scores": review_scores(review, session),
        "session_scores": session_scores(session),
        "due": measures_due(guidance),
        "focus_areas": [a for a in course.problem_areas.all() if a.is_focus],
        "phase": guidance_lib.phase_label(phase or guidance.phase),
        "technique_kinds": Technique.Kind.choices,
    }


def review_scores(review: OpeningReview, session: Session | None) -> list[ScoreRow]:
    """The opening review's new scores, without those entered in this session itself."""
    return score_rows(
        r.administration
        for r in review.scores
        if session is None or r.administration.session_id != session.pk
    )


# Scores with their critical items --------------------------------------------------------


@dataclass(frozen=True)
class CriticalAnswer:
    number: int | None  # the question's number among the scored ones
    text: str
    answer: str


@dataclass(frozen=True)
class ScoreRow:
    """A completed questionnaire as the note shows it."""

    administration: Administration
    band_label: str
    critical: tuple[CriticalAnswer, ...]  # critical questions whose answer raised a flag
    unanswered_critical: tuple[CriticalAnswer, ...]  # critical questions left blank
    alert: RiskAlert | None


def _numbers(definition: InstrumentDefinition) -> dict[str, int]:
    scored = [i for i in measure_forms.answerable_items(definition) if i.scored]
    return {item.link_id: n for n, item in enumerate(scored, start=1)}


def _row(administration: Administration, alert: RiskAlert | None) -> ScoreRow:
    definition = administration.instrument.parsed
    numbers = _numbers(definition)
    raised, blank = [], []
    for critical in definition.critical_items:
        item = definition.item(critical.link_id)
        if item is None:
            continue
        code = administration.answers.get(critical.link_id)
        option = item.option_for_code(code) if code else None
        if option is None:
            blank.append(CriticalAnswer(numbers.get(item.link_id), item.text, _("Not answered")))
        elif critical.flag in administration.flags:
            raised.append(CriticalAnswer(numbers.get(item.link_id), item.text, option.display))
    band = next((b.label for b in definition.bands if b.code == administration.band), "")
    return ScoreRow(administration, band, tuple(raised), tuple(blank), alert)


def score_rows(administrations: Iterable[Administration]) -> list[ScoreRow]:
    """Rows for completed questionnaires (instrument prefetched); one query for the alerts."""
    rows = list(administrations)
    alerts = {a.administration_id: a for a in RiskAlert.objects.filter(administration__in=rows)}
    return [_row(a, alerts.get(a.pk)) for a in rows]


def session_scores(session: Session | None) -> list[ScoreRow]:
    """The questionnaires entered in this session."""
    if session is None or session.pk is None:
        return []
    rows = Administration.objects.filter(
        session=session, status=Administration.Status.COMPLETED
    ).select_related("instrument")
    return score_rows(rows.order_by("completed_at", "pk"))
