"""QuestionnaireResponses that arrive as FHIR (a kiosk, another EHR, a form app), scored and
stored exactly as the pages store them (docs/fhir-api.md "Writing responses").

A response is checked for FHIR structure (the R4B models, ADR 4), then read: whose it is
(``subject``), which questionnaire (``questionnaire``, our canonical URL with its version,
or ``Questionnaire/<id>``), and each answer (``valueCoding`` by code, or a number matching
one option's weight). It then goes through the same services as the pages: an assignment
waiting for that client is completed (``administration_complete``); otherwise a member of
staff's response is entered on the client's current course (``administration_enter``).
Either way a critical answer raises its risk alert in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as R4BResponse
from pydantic import ValidationError as ModelError

from openipt.clients.models import Client
from openipt.clients.selectors import accessible_clients
from openipt.fhir.search import KINDS, Reader, SearchError, reference_uuid
from openipt.measures import services
from openipt.measures.models import Administration, Instrument
from openipt.measures.scoring.definition import InstrumentDefinition, Item
from openipt.treatment.models import Course


@dataclass(frozen=True)
class Problem:
    """One reason a response is refused: where (a FHIRPath-like location) and what."""

    where: str
    message: str


class Refused(Exception):
    """The response cannot be stored as sent. ``status``: 400 malformed, 404 subject or
    questionnaire not found, 409 no longer answerable, 422 valid FHIR that breaks a rule."""

    def __init__(self, status: int, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.status = status
        self.problems = problems


def _refuse(status: int, where: str, message: str) -> Refused:
    return Refused(status, [Problem(where, message)])


#: No questionnaire nests its items this deep; a body that does is refused before it is read.
MAX_DEPTH = 40


def _depth(value: Any, level: int = 0) -> int:
    """How deeply ``value`` nests (stops counting past ``MAX_DEPTH``)."""
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def structure_problems(payload: Any) -> list[Problem]:
    """What makes ``payload`` not an R4 QuestionnaireResponse (empty: it is one)."""
    if not isinstance(payload, dict) or payload.get("resourceType") != "QuestionnaireResponse":
        return [Problem("resourceType", "The body must be a FHIR QuestionnaireResponse.")]
    if _depth(payload) > MAX_DEPTH:
        return [Problem("item", f"Items are nested more than {MAX_DEPTH} levels deep.")]
    try:
        R4BResponse.model_validate(payload)
    except ModelError as error:
        return [
            Problem(
                ".".join(str(part) for part in detail["loc"] if part != "resourceType"),
                str(detail["msg"]),
            )
            for detail in error.errors()
        ][:20]
    except (TypeError, ValueError):
        return [Problem("", "The body could not be read as a FHIR QuestionnaireResponse.")]
    return []


def _flat_items(items: Any) -> Iterator[dict[str, Any]]:
    """Every answered item, groups and nested items opened up."""
    for item in items or []:
        if not isinstance(item, dict):
            continue
        yield item
        yield from _flat_items(item.get("item"))
        for answer in item.get("answer") or []:
            if isinstance(answer, dict):
                yield from _flat_items(answer.get("item"))


def _option_code(item: Item, answer: Mapping[str, Any], where: str) -> str:
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        code = coding.get("code")
        option = item.option_for_code(str(code)) if code is not None else None
        if option is None:
            raise _refuse(
                422, where, f"Question {item.link_id}: {code!r} is not one of its answers."
            )
        return option.code
    for key in ("valueInteger", "valueDecimal"):
        if key in answer and not isinstance(answer[key], bool):
            matches = [o for o in item.options if o.weight is not None and o.weight == answer[key]]
            if len(matches) == 1:
                return matches[0].code
            raise _refuse(
                422, where, f"Question {item.link_id}: {answer[key]!r} matches none of its answers."
            )
    raise _refuse(
        422, where, f"Question {item.link_id}: answer with valueCoding (one of its answer codes)."
    )


def read_answers(definition: InstrumentDefinition, payload: Mapping[str, Any]) -> dict[str, str]:
    """linkId -> option code for every answered question; calculated and display items
    (a published total score) are left out, unknown questions refused."""
    asked = {item.link_id: item for item in definition.items}
    kept = {item.link_id for item in definition.calculated}
    answers: dict[str, str] = {}
    for index, item in enumerate(_flat_items(payload.get("item"))):
        link_id = str(item.get("linkId", ""))
        where = f"item[{index}]"
        given = [a for a in item.get("answer") or [] if isinstance(a, dict)]
        if link_id in kept or not given:
            continue
        question = asked.get(link_id)
        if question is None:
            raise _refuse(422, where, f"{link_id!r} is not a question of this questionnaire.")
        if not question.options:
            continue  # a free-text or display item: nothing to score
        if len(given) > 1:
            raise _refuse(422, where, f"Question {link_id}: give one answer.")
        answers[link_id] = _option_code(question, given[0], f"{where}.answer[0]")
    return answers


def _subject(reader: Reader, payload: Mapping[str, Any], *, write: bool) -> Client:
    ref = (payload.get("subject") or {}).get("reference", "")
    if not ref:
        raise _refuse(422, "subject", "Say whose response this is (subject: Patient/<id>).")
    try:
        wanted = reference_uuid(str(ref), "Patient")
    except SearchError as exc:
        raise _refuse(422, "subject", exc.message) from exc
    rows = reader.clients()
    if write and not reader.is_client:
        rows = rows.filter(pk__in=accessible_clients(reader.user, write=True).values("pk"))
    client = rows.select_related("practice").filter(uuid=wanted).first()
    if client is None:
        raise _refuse(404, "subject", "No patient with that id is open to you for writing.")
    return client


def _questionnaire(reader: Reader, payload: Mapping[str, Any]) -> Instrument:
    canonical = str(payload.get("questionnaire") or "")
    if not canonical:
        raise _refuse(422, "questionnaire", "Say which questionnaire was answered.")
    rows = KINDS["Questionnaire"].rows(reader).filter(is_active=True)
    if canonical.startswith("Questionnaire/"):
        try:
            rows = rows.filter(uuid=reference_uuid(canonical, "Questionnaire"))
        except SearchError as exc:
            raise _refuse(422, "questionnaire", exc.message) from exc
    else:
        url, _, version = canonical.partition("|")
        rows = rows.filter(url=url, **({"version": version} if version else {}))
    instrument: Instrument | None = rows.order_by("-created_at").first()
    if instrument is None:
        raise _refuse(404, "questionnaire", f"No questionnaire {canonical!r} is in use here.")
    return instrument


def _authored(payload: Mapping[str, Any]) -> dt.date | None:
    """The day the response was written; a year or a month alone (valid FHIR) is read as
    its first day."""
    text = str(payload.get("authored") or "")
    if not text:
        return None
    moment = dt.datetime.fromisoformat(text) if "T" in text else None
    if moment is None:
        parts = [int(part) for part in text[:10].split("-")]
        return dt.date(*[*parts, 1, 1][:3])
    if moment.tzinfo is None:
        moment = timezone.make_aware(moment)
    return timezone.localdate(moment)


def _current_course(client: Client) -> Course:
    course = (
        Course.objects.filter(
            client=client, status__in=(Course.Status.ASSESSMENT, Course.Status.ACTIVE)
        )
        .order_by("-start_date", "-pk")
        .first()
    )
    if course is None:
        raise _refuse(422, "subject", "This client has no open course to record the response in.")
    return course


def _waiting(client: Client, instrument: Instrument) -> Administration | None:
    return (
        Administration.objects.filter(
            client=client, instrument__code=instrument.code, status__in=services.OPEN_STATUSES
        )
        .order_by("due_on", "pk")
        .first()
    )


def _as_problems(error: ValidationError) -> list[Problem]:
    if hasattr(error, "error_dict"):
        return [
            Problem(field if field != "__all__" else "", str(message))
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return [Problem("", str(message)) for message in error.messages]


def response_create(
    reader: Reader, payload: Any, *, request: HttpRequest | None = None
) -> Administration:
    """Store a completed QuestionnaireResponse; ``Refused`` says why when it cannot be."""
    problems = structure_problems(payload)
    if problems:
        raise Refused(400, problems)
    if payload.get("status") != "completed":
        raise _refuse(422, "status", "Only completed responses are accepted (status: completed).")
    client = _subject(reader, payload, write=True)
    instrument = _questionnaire(reader, payload)
    answers = read_answers(instrument.parsed, payload)
    try:
        completed_on = _authored(payload)
    except ValueError as error:
        raise _refuse(422, "authored", f"Not a date: {payload.get('authored')!r}.") from error
    waiting = _waiting(client, instrument)
    try:
        with transaction.atomic():
            if waiting is not None:
                return services.administration_complete(
                    actor=reader.user, administration=waiting, answers=answers, request=request
                )
            if reader.is_client:
                raise _refuse(
                    422, "questionnaire", "No questionnaire of this kind is waiting for you."
                )
            return services.administration_enter(
                actor=reader.user,
                course=_current_course(client),
                instrument=instrument,
                answers=answers,
                completed_on=completed_on,
                request=request,
            )
    except ValidationError as error:
        raise Refused(422, _as_problems(error)) from error


def response_update(
    reader: Reader,
    administration: Administration,
    payload: Any,
    *,
    if_match: str | None,
    request: HttpRequest | None = None,
) -> Administration:
    """Complete an assigned questionnaire with a PUT of its response. ``If-Match`` must name
    the version read (``W/"<versionId>"``): a stale one is refused with 412 and changes
    nothing. A completed response is never changed over the API."""
    if not if_match:
        raise _refuse(428, "If-Match", 'Send If-Match: W/"<versionId>" of the response you read.')
    problems = structure_problems(payload)
    if problems:
        raise Refused(400, problems)
    if payload.get("id") not in (None, str(administration.uuid)):
        raise _refuse(400, "id", "The id in the body is not the one in the address.")
    if if_match.strip() not in (f'W/"{administration.version}"', f'"{administration.version}"'):
        raise _refuse(412, "If-Match", "The response has changed since you read it; read it again.")
    if administration.status not in services.OPEN_STATUSES:
        raise _refuse(409, "status", "This response is no longer open to answers.")
    if payload.get("status") != "completed":
        raise _refuse(422, "status", "Send the completed response (status: completed).")
    if _subject(reader, payload, write=True).pk != administration.client_id:
        raise _refuse(422, "subject", "The subject is not the patient this response belongs to.")
    answers = read_answers(administration.instrument.parsed, payload)
    try:
        with transaction.atomic():
            locked = Administration.objects.select_for_update().get(pk=administration.pk)
            if locked.version != administration.version:
                raise _refuse(412, "If-Match", "The response has changed since you read it.")
            return services.administration_complete(
                actor=reader.user, administration=locked, answers=answers, request=request
            )
    except ValidationError as error:
        raise Refused(422, _as_problems(error)) from error
