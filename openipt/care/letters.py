"""Letters and reports from a course: the assessment letter to the referrer, the
end-of-treatment letter and the client's own progress summary (docs/user/letters.md).

- Wording: each practice may keep its own template per kind (``LetterTemplate``), plain text
  with named fields in braces (``{client_first_name}``); without one, the default below.
  ``template_problems`` refuses any field not in ``FIELDS``, and any positional, attribute,
  index, conversion or format part, so a template can only ever name a value.
- Filling in: ``fill`` walks the template with ``string.Formatter().parse`` and puts in the
  plain-text value of each named field; no template language is ever compiled from what a
  practice typed. The result is plain text, kept on the ``Letter`` as it was written and
  escaped wherever it is shown (the page and the PDF use the same template, which
  autoescapes).
- What goes in: the course's focus, contract, attendance, measures (with their change
  statistics in words) and ending record. Never session notes, and never a process note.
- Sending: downloading or printing needs the client's consent to share with that recipient
  (``CONSENT_FOR``); writing the letter checks it too, so nobody prepares a letter that
  cannot go. Every download and print is audited.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import formats as date_formats
from django.utils import timezone, translation
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from openipt.accounts import policy
from openipt.accounts.models import Membership, Practice, User
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import ConsentRecord
from openipt.core import languages
from openipt.ipt import vocabulary as v
from openipt.measures.progress import CourseProgress, InstrumentProgress, course_progress
from openipt.treatment.models import (
    Area,
    Course,
    Letter,
    LetterKind,
    LetterTemplate,
    Session,
    TerminationRecord,
)

Kind = LetterKind

# The named fields a template may use, with what each one says (shown on the editing page).
FIELDS: Mapping[str, Any] = {
    "client_first_name": gettext_lazy("The client's first (or preferred) name"),
    "client_full_name": gettext_lazy("The client's full name"),
    "client_date_of_birth": gettext_lazy("The client's date of birth"),
    "recipient_name": gettext_lazy("Who the letter is to"),
    "clinician_name": gettext_lazy("The clinician responsible for the course"),
    "practice_name": gettext_lazy("The practice's name"),
    "today": gettext_lazy("Today's date"),
    "start_date": gettext_lazy("The day the course began"),
    "problem_area": gettext_lazy("What the sessions focus on, in plain words"),
    "plan": gettext_lazy("How many sessions, how often and in which form"),
    "contract": gettext_lazy("The goals and arrangements agreed in the contract"),
    "sessions_attended": gettext_lazy("How many sessions the client came to"),
    "measures_summary": gettext_lazy(
        "The questionnaire scores at the start and end, with what the change means"
    ),
    "measures_at_start": gettext_lazy("The first questionnaire scores, with what they mean"),
    "measures_for_client": gettext_lazy("The change, said to the client in everyday words"),
    "gains": gettext_lazy("What changed for the client, credited to them"),
    "warning_signs": gettext_lazy("Early signs to watch for"),
    "relapse_plan": gettext_lazy("What to do if those signs appear"),
    "relapse_contacts": gettext_lazy("Whom to contact"),
    "next_step": gettext_lazy("What happens next"),
}

# Our default wording. Plain, and for the client warm; a practice can change any of it.
DEFAULTS: Mapping[str, Any] = {  # lazy: each read in the letter's language
    Kind.ASSESSMENT: gettext_lazy(
        """Dear {recipient_name},

Re: {client_full_name}, born {client_date_of_birth}

Thank you for referring {client_first_name} to us. We met for an assessment and have agreed \
to work together in interpersonal psychotherapy, a talking treatment that looks at how \
mood and relationships affect each other.

What we will focus on
{problem_area}

The plan
{plan}, starting on {start_date}.

What we agreed
{contract}

Questionnaires at the start
{measures_at_start}

{client_first_name} has agreed to this letter being sent to you. Please get in touch if \
there is anything you would like us to know.

Yours sincerely,

{clinician_name}
{practice_name}"""
    ),
    Kind.END_OF_TREATMENT: gettext_lazy(
        """Dear {recipient_name},

Re: {client_full_name}, born {client_date_of_birth}

{client_first_name} has now finished a course of interpersonal psychotherapy with us, which \
began on {start_date} and focused on {problem_area}.

Sessions
{client_first_name} attended {sessions_attended}.

Questionnaires at the start and at the end
{measures_summary}

What changed
{gains}

Keeping well
Early signs to watch for: {warning_signs}
What {client_first_name} plans to do if they appear: {relapse_plan}
Whom to contact: {relapse_contacts}

Next step
{next_step}

{client_first_name} has agreed to this letter being sent to you.

Yours sincerely,

{clinician_name}
{practice_name}"""
    ),
    Kind.CLIENT_SUMMARY: gettext_lazy(
        """Dear {client_first_name},

This is a short summary of our work together so far, for you to keep.

What we have been working on
{problem_area}

Our sessions
You have come to {sessions_attended}. Thank you for the time and effort you have put in.

How the questionnaires have changed
{measures_for_client}

What you have achieved
{gains}

Looking after yourself
Signs to watch for: {warning_signs}
If you notice them: {relapse_plan}
Who you can contact: {relapse_contacts}

What happens next
{next_step}

With best wishes,

{clinician_name}
{practice_name}"""
    ),
}

# The consent that sending or printing each letter needs.
CONSENT_FOR: Mapping[str, str] = {
    Kind.ASSESSMENT: ConsentRecord.Kind.SHARE_REFERRER,
    Kind.END_OF_TREATMENT: ConsentRecord.Kind.SHARE_REFERRER,
    Kind.CLIENT_SUMMARY: ConsentRecord.Kind.SHARE_SUMMARY,
}

# The focus of the sessions, in our own plain words.
AREA_WORDS: Mapping[str, Any] = {
    Area.GRIEF: gettext_lazy("coming to terms with the death of someone close"),
    Area.ROLE_DISPUTE: gettext_lazy("a disagreement with someone close"),
    Area.ROLE_TRANSITION: gettext_lazy("adjusting to a big change in life"),
    Area.DEFICITS: gettext_lazy("feeling lonely and finding it hard to make or keep close ties"),
}

NEXT_STEP_WORDS: Mapping[str, Any] = {
    TerminationRecord.NextStep.NONE: gettext_lazy("No further sessions are planned."),
    TerminationRecord.NextStep.MAINTENANCE: gettext_lazy(
        "A few sessions spread out over the coming months, to help keep well."
    ),
    TerminationRecord.NextStep.REFERRAL: gettext_lazy("A referral on for further help."),
}


# Templates ------------------------------------------------------------------------------


def template_problems(body: str) -> list[str]:
    """What is wrong with a template's fields, in words for the person editing it."""
    try:
        parts = list(string.Formatter().parse(body))
    except ValueError:
        return [
            _(
                "A brace is not closed. Put field names in braces like {client_first_name}; "
                "to show a brace itself, type it twice: {{ or }}."
            )
        ]
    problems: list[str] = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in FIELDS:
            shown = name or "{}"
            problems.append(
                _("“%(name)s” is not a field we know. Use one of the fields listed.")
                % {"name": shown}
            )
        elif spec or conversion:
            problems.append(
                _("Write “{%(name)s}” on its own, with nothing after the name.") % {"name": name}
            )
    return list(dict.fromkeys(problems))


def fill(body: str, values: Mapping[str, str]) -> str:
    """The template with each named field replaced by its plain-text value. Anything that
    is not a known field (a template saved before a field was withdrawn) is left blank."""
    out: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(body):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out)


def template_text(practice: Practice | int, kind: str) -> str:
    practice_id = practice if isinstance(practice, int) else practice.pk
    saved = LetterTemplate.objects.filter(practice_id=practice_id, kind=kind).first()
    return saved.body if saved is not None else str(DEFAULTS[kind])


def practice_templates(practice_id: int) -> list[tuple[str, str, bool]]:
    """(kind, label, customised) for every kind of letter."""
    saved = set(
        LetterTemplate.objects.filter(practice_id=practice_id).values_list("kind", flat=True)
    )
    return [(kind, str(label), kind in saved) for kind, label in Kind.choices]


def template_save(
    *, actor: User, admin: Membership, kind: str, body: str, request: HttpRequest | None = None
) -> LetterTemplate:
    """Save the practice's wording for one kind; an unknown field is refused, by name."""
    if not policy.can_edit_letter_templates(admin):
        raise ValidationError(_("Only an administrator of the practice can change letters."))
    problems = template_problems(body)
    if problems:
        raise ValidationError({"body": problems})
    with transaction.atomic():
        row, created = LetterTemplate.objects.select_for_update().get_or_create(
            practice_id=admin.practice_id,
            kind=kind,
            defaults={"body": body, "updated_by": actor},
        )
        if not created:
            row.body = body
            row.updated_by = actor
        row.full_clean()
        row.save()
        audit.record(
            actor=actor,
            action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
            obj=row,
            practice_id=admin.practice_id,
            request=request,
            detail=f"letter template {kind}",
        )
    return row


# What goes into a letter -----------------------------------------------------------------


def _date(day: dt.date | None) -> str:
    return date_formats.date_format(day, "DATE_FORMAT") if day else ""


def _number(value: Decimal | None) -> str:
    if value is None:
        return ""
    return str(value.quantize(Decimal(1))) if value == value.to_integral() else f"{value:.1f}"


def _problem_area(course: Course) -> str:
    areas = [a for a in course.problem_areas.all() if a.is_focus]
    areas.sort(key=lambda a: (not a.is_primary, a.pk))
    codes = [a.area for a in areas]
    if not codes:
        contract = course.contracts.order_by("-number").first()
        codes = list(contract.focus_areas) if contract else []
    words = [str(AREA_WORDS[code]) for code in codes if code in AREA_WORDS]
    if not words:
        return _("We are still agreeing what to focus on.")
    return _(" and ").join(words)


def _plan(course: Course) -> str:
    contract = course.contracts.order_by("-number").first()
    sessions = contract.planned_sessions if contract else course.planned_sessions
    frequency = contract.frequency if contract else course.frequency
    how_often = _(v.FREQUENCY_LABELS[v.Frequency(frequency)].lay).lower() if frequency else ""
    form = _(v.FORMAT_LABELS[v.FormatCode(course.format)].lay).lower()
    return _("%(n)s sessions, %(often)s (%(form)s)") % {
        "n": sessions,
        "often": how_often,
        "form": form,
    }


def _contract(course: Course) -> str:
    contract = course.contracts.order_by("-number").first()
    if contract is None:
        return _("We have not written down our agreement yet.")
    parts = [p.strip() for p in (contract.goals_summary, contract.arrangements) if p.strip()]
    agreed = _("Agreed on %(day)s.") % {"day": _date(contract.agreed_on)}
    return "\n".join([*parts, agreed])


def _sessions_attended(course: Course) -> str:
    attended = course.sessions.filter(attendance=Session.Attendance.ATTENDED).count()
    return _("%(n)s of %(planned)s planned sessions") % {
        "n": attended,
        "planned": course.planned_sessions,
    }


def _change_words(item: InstrumentProgress) -> str:
    s = item.summary
    if s.reliable_recovery:
        return _(
            "a reliable improvement, and now below the level of clinical concern "
            "(reliable recovery)"
        )
    if s.reliable_improvement:
        return _("a reliable improvement")
    if s.reliable_deterioration:
        return _("a reliable worsening")
    if s.reliable_improvement is False:
        return _("no reliable change (the change is smaller than the measure's margin of error)")
    return _("a change of %(points)s points") % {"points": _number(s.change)}


def _with_band(value: Decimal | None, band: str) -> str:
    return f"{_number(value)} ({band})" if band else _number(value)


def _instrument_sentence(item: InstrumentProgress) -> str:
    s = item.summary
    first, last = item.rows[0], item.rows[-1]
    if s.count < 2:
        return _("%(code)s: %(score)s at the start.") % {
            "code": item.code,
            "score": _with_band(s.baseline, first.band_label),
        }
    return _("%(code)s went from %(start)s to %(end)s: %(change)s.") % {
        "code": item.code,
        "start": _with_band(s.baseline, first.band_label),
        "end": _with_band(s.latest, last.band_label),
        "change": _change_words(item),
    }


def _measures_at_start(progress: CourseProgress) -> str:
    lines = [
        _("%(code)s: %(score)s.")
        % {"code": i.code, "score": _with_band(i.summary.baseline, i.rows[0].band_label)}
        for i in progress.instruments
        if i.rows
    ]
    return "\n".join(lines) if lines else _("No questionnaires have been completed yet.")


def _combined_sentence(progress: CourseProgress) -> str:
    combined = progress.combined
    if combined is None:
        return ""
    o = combined.outcome
    if o.reliable_recovery:
        said = _("reliable recovery")
    elif o.recovery:
        said = _("recovery, without a reliable improvement")
    elif o.reliable_improvement:
        said = _("a reliable improvement")
    elif o.reliable_deterioration:
        said = _("a reliable worsening")
    else:
        said = _("no reliable change")
    return _("Taken together, as NHS Talking Therapies reports PHQ-9 and GAD-7: %(said)s.") % {
        "said": said
    }


def _measures_summary(progress: CourseProgress) -> str:
    lines = [_instrument_sentence(i) for i in progress.instruments if i.rows]
    if not lines:
        return _("No questionnaires have been completed yet.")
    combined = _combined_sentence(progress)
    return "\n".join([*lines, combined] if combined else lines)


def _client_sentence(item: InstrumentProgress) -> str:
    s = item.summary
    lower_better = item.rule.direction == "higher_worse"
    direction = (
        _("lower scores mean fewer difficulties")
        if lower_better
        else _("higher scores mean feeling better")
    )
    if s.count < 2:
        return _("Your %(code)s score was %(score)s at the start (%(direction)s).") % {
            "code": item.code,
            "score": _number(s.baseline),
            "direction": direction,
        }
    if s.reliable_improvement:
        meaning = _("That is a big enough change to be confident it is real.")
    elif s.reliable_deterioration:
        meaning = _("That is a change for the worse, and worth talking about together.")
    else:
        meaning = _("The change so far is small; scores often move up and down along the way.")
    return _("Your %(code)s score went from %(start)s to %(end)s (%(direction)s). %(meaning)s") % {
        "code": item.code,
        "start": _number(s.baseline),
        "end": _number(s.latest),
        "direction": direction,
        "meaning": meaning,
    }


def _measures_for_client(progress: CourseProgress) -> str:
    lines = [_client_sentence(i) for i in progress.instruments if i.rows]
    return "\n".join(lines) if lines else _("You have not filled in any questionnaires yet.")


def _ending(course: Course) -> dict[str, str]:
    record = TerminationRecord.objects.filter(course=course).first()
    not_yet = _("Not written down yet.")
    if record is None:
        return dict.fromkeys(
            ("gains", "warning_signs", "relapse_plan", "relapse_contacts", "next_step"), not_yet
        )
    step = str(NEXT_STEP_WORDS.get(record.next_step, _("Not decided yet.")))
    if record.next_step and record.next_step_reason.strip():
        step = f"{step} {record.next_step_reason.strip()}"
    return {
        "gains": record.gains.strip() or not_yet,
        "warning_signs": record.warning_signs.strip() or not_yet,
        "relapse_plan": record.relapse_plan.strip() or not_yet,
        "relapse_contacts": record.relapse_contacts.strip() or not_yet,
        "next_step": step,
    }


def letter_values(
    course: Course, *, recipient_name: str, progress: CourseProgress | None = None
) -> dict[str, str]:
    """Every field's plain-text value for this course. Built only from the records named
    here: no session note and no process note is read."""
    client = course.client
    progress = progress if progress is not None else course_progress(course)
    given = client.preferred_name or client.legal_given_name
    return {
        "client_first_name": given,
        "client_full_name": client.display_name,
        "client_date_of_birth": _date(client.date_of_birth),
        "recipient_name": recipient_name,
        "clinician_name": course.clinician.user.get_full_name(),
        "practice_name": client.practice.name,
        "today": _date(timezone.localdate()),
        "start_date": _date(course.start_date),
        "problem_area": _problem_area(course),
        "plan": _plan(course),
        "contract": _contract(course),
        "sessions_attended": _sessions_attended(course),
        "measures_summary": _measures_summary(progress),
        "measures_at_start": _measures_at_start(progress),
        "measures_for_client": _measures_for_client(progress),
        **_ending(course),
    }


def default_recipient(course: Course, kind: str) -> tuple[str, str]:
    """The client's own name and address for their summary; the referrer is asked for."""
    if kind == Kind.CLIENT_SUMMARY:
        return course.client.display_name, course.client.address
    return "", ""


def draft(course: Course, kind: str, *, recipient_name: str) -> str:
    """The letter as it would be written now (the preview before it is kept). The
    client's own summary is written in the language on their record (docs/translation.md);
    letters to a referrer in the writer's."""
    with languages.speaking(_letter_language(course, kind)):
        return fill(
            template_text(course.client.practice_id, kind),
            letter_values(course, recipient_name=recipient_name),
        )


def _letter_language(course: Course, kind: str) -> str | None:
    return course.client.language if kind == Kind.CLIENT_SUMMARY else translation.get_language()


# Consent ---------------------------------------------------------------------------------


def consent_label(kind: str) -> str:
    return str(ConsentRecord.Kind(CONSENT_FOR[kind]).label)


def has_consent(course: Course, kind: str) -> bool:
    """The client has a consent to share this letter with its recipient, not withdrawn."""
    return ConsentRecord.objects.filter(
        client_id=course.client_id,
        kind=CONSENT_FOR[kind],
        consented_on__lte=timezone.localdate(),
        revoked_at__isnull=True,
    ).exists()


def _consent_refusal(kind: str) -> ValidationError:
    return ValidationError(
        _(
            "This letter cannot be sent or printed yet: the client has not given "
            "“%(consent)s”. Record their consent on the client's page first."
        )
        % {"consent": consent_label(kind)}
    )


# Writing and sending ---------------------------------------------------------------------


def _require_writer(actor: User, course: Course) -> None:
    if not policy.can_write_letters(policy.staff_membership(actor), course.client):
        raise ValidationError(_("Only a clinician on the client's care team can write letters."))


def letter_create(
    *,
    actor: User,
    course: Course,
    kind: str,
    recipient_name: str,
    recipient_address: str = "",
    request: HttpRequest | None = None,
) -> Letter:
    """Write the letter as it stands now and keep its text; refused without consent."""
    _require_writer(actor, course)
    if kind not in Kind.values:
        raise ValidationError(_("There is no such letter."))
    if not has_consent(course, kind):
        raise _consent_refusal(kind)
    letter = Letter(
        course=course,
        kind=kind,
        recipient_name=recipient_name.strip(),
        recipient_address=recipient_address.strip(),
        body=draft(course, kind, recipient_name=recipient_name.strip()),
        created_by=actor,
    )
    letter.full_clean()
    with transaction.atomic():
        letter.save()
        audit.record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            obj=letter,
            client=course.client,
            request=request,
            detail=f"letter {kind}",
        )
    return letter


@dataclass(frozen=True)
class LetterPage:
    """What the page and the PDF show: the kept text in paragraphs, with the charts."""

    letter: Letter
    paragraphs: list[str]
    charts: list[Chart]
    practice_name: str


@dataclass(frozen=True)
class Chart:
    code: str
    title: str
    svg: SafeString


def letter_page(letter: Letter) -> LetterPage:
    charts: list[Chart] = []
    if letter.kind != Kind.ASSESSMENT:  # at assessment there is one score: nothing to chart
        charts = [
            Chart(i.code, i.title, i.chart)
            for i in course_progress(letter.course).instruments
            if len(i.rows) > 1
        ]
    paragraphs = [p for p in letter.body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return LetterPage(letter, paragraphs, charts, letter.course.client.practice.name)


def letter_pdf(
    *, actor: User, letter: Letter, printing: bool = False, request: HttpRequest | None = None
) -> bytes:
    """The letter as a PDF, from the same template as the page; refused without consent.
    Audited as a print or an export, naming the letter but never its text."""
    from weasyprint import HTML

    _require_writer(actor, letter.course)
    if not has_consent(letter.course, letter.kind):
        raise _consent_refusal(letter.kind)
    with languages.speaking(_letter_language(letter.course, letter.kind)):
        html = render_to_string("letters/letter_pdf.html", {"page": letter_page(letter)})
    audit.record(
        actor=actor,
        action=AuditEvent.Action.PRINT if printing else AuditEvent.Action.EXPORT,
        obj=letter,
        client=letter.course.client,
        request=request,
        detail=f"letter PDF {letter.kind}",
    )
    pdf: bytes = HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    return pdf


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError("external resources are not fetched")
