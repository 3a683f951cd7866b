"""FHIR read and search over exactly what a reader may see (docs/fhir-api.md "Search").

A ``Reader`` is the person behind a token: a member of staff sees the clients the policy
gives them (``openipt.clients.selectors.accessible_clients``, the same rule as the pages);
a client's account sees their own record; a token launched for one patient is confined to
that patient. Every resource type is a ``Kind``: the rows the reader may see, the search
parameters it answers, and how a page of rows becomes resources in a fixed number of
queries. Paging is by key (``_page`` carries, signed, the last row's position), so a page
costs the same at the start and at the end of 10,000 clients.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid as uuid_lib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.db.models import Model, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from openipt.access.engagement import access_own_client
from openipt.accounts import policy
from openipt.accounts.models import Membership, Practice, User
from openipt.care.guidance import session_phase
from openipt.clients.models import Client, ClientIdentifier
from openipt.clients.selectors import accessible_clients
from openipt.fhir import resources as r
from openipt.measures.models import Administration, Instrument
from openipt.scheduling.models import Appointment
from openipt.treatment import formats
from openipt.treatment.models import ContractVersion, Course, Goal, GoalRating, Session

DEFAULT_COUNT = 50
MAX_COUNT = 500
#: Parameters every type accepts, besides its own.
COMMON = frozenset({"_count", "_page", "_format", "_pretty", "_total"})


class SearchError(Exception):
    """A search the server cannot run as asked (answered 400 with an OperationOutcome)."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Reader:
    """Whose eyes a FHIR request reads with."""

    user: User
    membership: Membership | None
    client_id: int | None = None  # confined to this client (a client, or a patient launch)

    @property
    def practice_id(self) -> int | None:
        return self.membership.practice_id if self.membership is not None else None

    @property
    def is_client(self) -> bool:
        return self.membership is not None and self.membership.kind == Membership.Kind.CLIENT

    def clients(self) -> QuerySet[Client]:
        if self.membership is None:
            return Client.objects.none()
        if self.is_client:
            rows = Client.objects.filter(pk=self.client_id or 0)
        else:
            rows = accessible_clients(self.user)
            if self.client_id is not None:
                rows = rows.filter(pk=self.client_id)
        return rows.exclude(status=Client.Status.ENTERED_IN_ERROR)


def reader_for(user: User, patient_id: int | None = None) -> Reader:
    """The reader for a token's user, confined to ``patient_id`` when the token has one."""
    staff = policy.staff_membership(user)
    if staff is not None:
        return Reader(user=user, membership=staff, client_id=patient_id)
    membership = policy.portal_membership(user)
    if membership is None:
        return Reader(user=user, membership=None)
    try:
        client, _access = access_own_client(user)
    except Http404:
        return Reader(user=user, membership=None)
    if patient_id is not None and patient_id != client.pk:
        return Reader(user=user, membership=None)
    return Reader(user=user, membership=membership, client_id=client.pk)


# --- Parameter values ----------------------------------------------------------------------

DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(T.+)?)?)?$")


def _uuid(value: str) -> uuid_lib.UUID | None:
    try:
        return uuid_lib.UUID(value)
    except ValueError:
        return None


def reference_uuid(value: str, resource_type: str) -> uuid_lib.UUID:
    """``Patient/<id>``, or a bare id, as a UUID; anything else names no record. An absolute
    reference (another server's ``https://.../Patient/<id>``) is refused: only our own
    records are named, and only relatively."""
    if "://" in value or value.startswith("urn:"):
        raise SearchError(f"Use a relative reference ({resource_type}/<id>), not {value!r}.")
    text = value.rsplit("/", 2)
    if len(text) >= 2 and text[-2] != resource_type:
        raise SearchError(f"Expected a reference to a {resource_type}: {value!r}.")
    found = _uuid(text[-1])
    return found if found is not None else uuid_lib.UUID(int=0)


def _date_range(value: str) -> tuple[str, dt.datetime, dt.datetime]:
    """A date parameter's prefix and the span it names, [start, end), on the practice's clock."""
    prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
    text = value[2:] if value[:2] in DATE_PREFIXES else value
    match = _DATE.match(text)
    if match is None:
        raise SearchError(f"Not a date: {value!r} (use YYYY, YYYY-MM, YYYY-MM-DD or a time).")
    try:
        return (prefix, *_span(match.groups(), text))
    except (ValueError, OverflowError) as exc:  # 2026-02-30, or a year past 9998
        raise SearchError(f"Not a date that can be searched: {value!r}.") from exc


def _span(parts: tuple[str | None, ...], text: str) -> tuple[dt.datetime, dt.datetime]:
    year, month, day, time = parts
    zone = timezone.get_current_timezone()
    if time:
        moment = dt.datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment, moment + dt.timedelta(seconds=1)
    start_day = dt.date(int(year or 0), int(month or 1), int(day or 1))
    if day:
        end_day = start_day + dt.timedelta(days=1)
    elif month:
        end_day = (start_day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    else:
        end_day = start_day.replace(year=start_day.year + 1)
    start = dt.datetime.combine(start_day, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(end_day, dt.time(), tzinfo=zone)
    return start, end


def date_q(field_name: str, value: str, *, is_date: bool = False) -> Q:
    """A FHIR date search on a date or date-time column."""
    prefix, start, end = _date_range(value)
    low: object = start.date() if is_date else start
    high: object = end.date() if is_date else end
    queries = {
        "eq": Q(**{f"{field_name}__gte": low, f"{field_name}__lt": high}),
        "ne": ~Q(**{f"{field_name}__gte": low, f"{field_name}__lt": high}),
        "gt": Q(**{f"{field_name}__gte": high}),
        "sa": Q(**{f"{field_name}__gte": high}),
        "ge": Q(**{f"{field_name}__gte": low}),
        "lt": Q(**{f"{field_name}__lt": low}),
        "eb": Q(**{f"{field_name}__lt": low}),
        "le": Q(**{f"{field_name}__lt": high}),
    }
    return queries[prefix]


def _token(value: str) -> tuple[str | None, str]:
    """A token parameter: ``system|code``, ``|code`` (no system), ``code`` (any system)."""
    if "|" not in value:
        return None, value
    system, code = value.split("|", 1)
    return system, code


# --- The kinds -----------------------------------------------------------------------------

Rows = QuerySet[Any]
Param = Callable[[Rows, str, Reader], Rows]


@dataclass(frozen=True)
class Kind:
    name: str
    rows: Callable[[Reader], Rows]
    render: Callable[[Sequence[Any]], list[r.Resource]]
    client_of: Callable[[Any], Client | None]
    params: Mapping[str, Param] = field(default_factory=dict)

    def one(self, reader: Reader, resource_id: str) -> Any | None:
        found = _uuid(resource_id)
        if found is None:
            return None
        return self.rows(reader).filter(uuid=found).first()


def _by_patient(path: str) -> Param:
    def apply(rows: Rows, value: str, reader: Reader) -> Rows:
        return rows.filter(**{f"{path}__uuid": reference_uuid(value, "Patient")})

    return apply


def _by_date(path: str, *, is_date: bool = False) -> Param:
    def apply(rows: Rows, value: str, reader: Reader) -> Rows:
        return rows.filter(date_q(path, value, is_date=is_date))

    return apply


def _by_id(rows: Rows, value: str, reader: Reader) -> Rows:
    found = [_uuid(part) for part in value.split(",")]
    return rows.filter(uuid__in=[u for u in found if u is not None])


def _by_status(mapping: Mapping[Any, str]) -> Param:
    def apply(rows: Rows, value: str, reader: Reader) -> Rows:
        wanted = set(value.split(","))
        ours = [str(ours) for ours, theirs in mapping.items() if theirs in wanted]
        return rows.filter(status__in=ours)

    return apply


# Patient


def _patient_rows(reader: Reader) -> Rows:
    return (
        reader.clients()
        .select_related("practice")
        .prefetch_related(Prefetch("identifiers", queryset=ClientIdentifier.objects.order_by("pk")))
    )


def _patient_name(rows: Rows, value: str, reader: Reader) -> Rows:
    q = Q()
    for part in value.split():
        q &= (
            Q(legal_given_name__icontains=part)
            | Q(legal_family_name__icontains=part)
            | Q(preferred_name__icontains=part)
        )
    return rows.filter(q)


def _patient_identifier(rows: Rows, value: str, reader: Reader) -> Rows:
    system, code = _token(value)
    q = Q(identifiers__value=code, identifiers__duplicate_of__isnull=True)
    if system:
        kind = r.identifier_system(system)
        if kind is None:
            return rows.none()
        q &= Q(identifiers__system=kind)
    return rows.filter(q).distinct()


PATIENT = Kind(
    name="Patient",
    rows=_patient_rows,
    render=lambda rows: [r.patient(c, c.identifiers.all()) for c in rows],
    client_of=lambda client: client,
    params={
        "_id": _by_id,
        "name": _patient_name,
        "family": lambda rows, v, _r: rows.filter(legal_family_name__icontains=v),
        "given": lambda rows, v, _r: rows.filter(
            Q(legal_given_name__icontains=v) | Q(preferred_name__icontains=v)
        ),
        "identifier": _patient_identifier,
        "birthdate": _by_date("date_of_birth", is_date=True),
    },
)

# Practitioner and Organization


def _practitioner_rows(reader: Reader) -> Rows:
    if reader.membership is None:
        return Membership.objects.none()
    rows = Membership.objects.filter(
        practice_id=reader.practice_id or 0, kind=Membership.Kind.STAFF
    ).select_related("user")
    if reader.is_client:
        clients = reader.clients().values("pk")
        rows = rows.filter(
            Q(courses__client__in=clients)
            | Q(care_teams__client__in=clients, care_teams__is_active=True)
        ).distinct()
    return rows


PRACTITIONER = Kind(
    name="Practitioner",
    rows=_practitioner_rows,
    render=lambda rows: [r.practitioner(m) for m in rows],
    client_of=lambda _m: None,
    params={
        "_id": _by_id,
        "name": lambda rows, v, _r: rows.filter(user__full_name__icontains=v),
    },
)

ORGANIZATION = Kind(
    name="Organization",
    rows=lambda reader: Practice.objects.filter(pk=reader.practice_id or 0),
    render=lambda rows: [r.organization(p) for p in rows],
    client_of=lambda _p: None,
    params={"_id": _by_id, "name": lambda rows, v, _r: rows.filter(name__icontains=v)},
)

# Questionnaire


def _questionnaire_rows(reader: Reader) -> Rows:
    if reader.membership is None:
        return Instrument.objects.none()
    return Instrument.objects.filter(Q(practice__isnull=True) | Q(practice_id=reader.practice_id))


def _questionnaire_url(rows: Rows, value: str, reader: Reader) -> Rows:
    url, _, version = value.partition("|")
    rows = rows.filter(url=url)
    return rows.filter(version=version) if version else rows


QUESTIONNAIRE = Kind(
    name="Questionnaire",
    rows=_questionnaire_rows,
    render=lambda rows: [r.questionnaire(i) for i in rows],
    client_of=lambda _i: None,
    params={
        "_id": _by_id,
        "url": _questionnaire_url,
        "version": lambda rows, v, _r: rows.filter(version=v),
        "title": lambda rows, v, _r: rows.filter(title__icontains=v),
        "status": lambda rows, v, _r: rows.filter(is_active="active" in v.split(",")),
    },
)

# QuestionnaireResponse and Observation: both are administrations (the answers, the score)


def _administrations(reader: Reader) -> Rows:
    return (
        Administration.objects.filter(client__in=reader.clients())
        .select_related("client")
        .prefetch_related("instrument")
    )


def _response_questionnaire(rows: Rows, value: str, reader: Reader) -> Rows:
    if value.startswith("Questionnaire/"):
        return rows.filter(instrument__uuid=reference_uuid(value, "Questionnaire"))
    url, _, version = value.partition("|")
    rows = rows.filter(instrument__url=url)
    return rows.filter(instrument__version=version) if version else rows


QUESTIONNAIRE_RESPONSE = Kind(
    name="QuestionnaireResponse",
    rows=_administrations,
    render=lambda rows: [r.questionnaire_response(a) for a in rows],
    client_of=lambda a: a.client,
    params={
        "_id": _by_id,
        "patient": _by_patient("client"),
        "subject": _by_patient("client"),
        "questionnaire": _response_questionnaire,
        "authored": _by_date("completed_at"),
        "status": _by_status(r.RESPONSE_STATUS),
    },
)


def _observation_rows(reader: Reader) -> Rows:
    return _administrations(reader).filter(status=Administration.Status.COMPLETED)


def _observation_code(rows: Rows, value: str, reader: Reader) -> Rows:
    """By the LOINC total-score code (``http://loinc.org|44261-6``) or our instrument code
    (``PHQ-9``; a licensed translation counts as the instrument it is the same as)."""
    matched: list[int] = []
    for part in value.split(","):
        system, code = _token(part)
        for instrument in Instrument.objects.filter(pk__in=rows.values("instrument_id").distinct()):
            definition = instrument.parsed
            loinc = system in (None, r.LOINC) and definition.total_code == code
            ours = system in (None, r.INSTRUMENT_SYSTEM) and definition.identity == code
            if loinc or ours:
                matched.append(instrument.pk)
    return rows.filter(instrument_id__in=matched)


def _observation_category(rows: Rows, value: str, reader: Reader) -> Rows:
    codes = {_token(part)[1] for part in value.split(",")}
    return rows if "survey" in codes else rows.none()


OBSERVATION = Kind(
    name="Observation",
    rows=_observation_rows,
    render=lambda rows: [r.observation(a) for a in rows],
    client_of=lambda a: a.client,
    params={
        "_id": _by_id,
        "patient": _by_patient("client"),
        "subject": _by_patient("client"),
        "code": _observation_code,
        "category": _observation_category,
        "date": _by_date("completed_at"),
    },
)

# Encounter and Appointment


def _session_rows(reader: Reader) -> Rows:
    return (
        Session.objects.filter(course__client__in=reader.clients())
        .exclude(course__status=Course.Status.ENTERED_IN_ERROR)
        .select_related("course__client", "course__clinician")
    )


def _encounter_status(rows: Rows, value: str, reader: Reader) -> Rows:
    wanted = set(value.split(","))
    ours = [str(a) for a, theirs in r.ENCOUNTER_STATUS.items() if theirs in wanted]
    return rows.filter(attendance__in=ours)


ENCOUNTER = Kind(
    name="Encounter",
    rows=_session_rows,
    render=lambda rows: [r.encounter(s) for s in rows],
    client_of=lambda s: s.course.client,
    params={
        "_id": _by_id,
        "patient": _by_patient("course__client"),
        "subject": _by_patient("course__client"),
        "date": _by_date("starts_at"),
        "status": _encounter_status,
    },
)


def _appointment_rows(reader: Reader) -> Rows:
    return Appointment.objects.filter(client__in=reader.clients()).select_related(
        "client", "clinician"
    )


APPOINTMENT = Kind(
    name="Appointment",
    rows=_appointment_rows,
    render=lambda rows: [r.appointment(a) for a in rows],
    client_of=lambda a: a.client,
    params={
        "_id": _by_id,
        "patient": _by_patient("client"),
        "actor": _by_patient("client"),
        "date": _by_date("starts_at"),
        "status": _by_status(r.APPOINTMENT_STATUS),
    },
)

# CarePlan and Goal


def _course_rows(reader: Reader) -> Rows:
    return (
        Course.objects.filter(client__in=reader.clients())
        .select_related("client", "clinician")
        .prefetch_related(
            Prefetch("contracts", queryset=ContractVersion.objects.order_by("number")),
            Prefetch("goals", queryset=Goal.objects.order_by("created_at", "pk")),
            Prefetch(
                "sessions",
                queryset=Session.objects.filter(attendance=Session.Attendance.ATTENDED).order_by(
                    "number"
                ),
                to_attr="held_sessions",
            ),
            "problem_areas",
        )
    )


def course_phase(course: Course) -> str:
    """The phase the course is in: that of its last held session, else of its first."""
    held: list[Session] = getattr(course, "held_sessions", [])
    if held:
        return session_phase(course, held[-1])
    fmt = formats.get_format(course.format)
    return str(formats.phase_for_session(fmt, 1, course.planned_sessions))


def care_plan(course: Course) -> r.Resource:
    contracts = list(course.contracts.all())
    contract = contracts[-1] if contracts else None
    areas = [a.area for a in course.problem_areas.all() if a.is_primary or a.is_secondary]
    if contract is not None and contract.focus_areas:
        areas = list(dict.fromkeys([*contract.focus_areas, *areas]))
    return r.care_plan(
        course,
        phase=course_phase(course),
        contract=contract,
        areas=areas,
        goals=course.goals.all(),
        sessions=getattr(course, "held_sessions", []),
    )


CARE_PLAN = Kind(
    name="CarePlan",
    rows=_course_rows,
    render=lambda rows: [care_plan(c) for c in rows],
    client_of=lambda c: c.client,
    params={
        "_id": _by_id,
        "patient": _by_patient("client"),
        "subject": _by_patient("client"),
        "status": _by_status(r.CAREPLAN_STATUS),
        "date": _by_date("start_date", is_date=True),
    },
)


def _goal_rows(reader: Reader) -> Rows:
    return (
        Goal.objects.filter(course__client__in=reader.clients())
        .exclude(course__status=Course.Status.ENTERED_IN_ERROR)
        .select_related("course__client", "problem_area")
        .prefetch_related(
            Prefetch("ratings", queryset=GoalRating.objects.order_by("rated_on", "pk"))
        )
    )


GOAL = Kind(
    name="Goal",
    rows=_goal_rows,
    render=lambda rows: [r.goal(g, course=g.course) for g in rows],
    client_of=lambda g: g.course.client,
    params={
        "_id": _by_id,
        "patient": _by_patient("course__client"),
        "subject": _by_patient("course__client"),
    },
)

KINDS: Mapping[str, Kind] = {
    kind.name: kind
    for kind in (
        PATIENT,
        PRACTITIONER,
        ORGANIZATION,
        QUESTIONNAIRE,
        QUESTIONNAIRE_RESPONSE,
        OBSERVATION,
        ENCOUNTER,
        APPOINTMENT,
        CARE_PLAN,
        GOAL,
    )
}

# --- Searching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    rows: list[Model]
    total: int
    next_cursor: str | None
    ignored: tuple[str, ...]  # parameters we do not support, named in the Bundle


CURSOR_SALT = "openipt.fhir.page"


def _count(params: Mapping[str, list[str]]) -> int:
    values = params.get("_count")
    if not values:
        return DEFAULT_COUNT
    try:
        count = int(values[-1])
    except ValueError as exc:
        raise SearchError("_count must be a whole number.") from exc
    if count < 0:
        raise SearchError("_count cannot be negative.")
    return min(count, MAX_COUNT)


def _after(params: Mapping[str, list[str]], kind: Kind) -> int | None:
    values = params.get("_page")
    if not values:
        return None
    try:
        cursor = signing.loads(values[-1], salt=CURSOR_SALT)
    except signing.BadSignature as exc:
        raise SearchError("This page link is not valid; start the search again.") from exc
    if not isinstance(cursor, dict) or cursor.get("type") != kind.name:
        raise SearchError("This page link belongs to another search.")
    after = cursor.get("after")
    return after if isinstance(after, int) else None


def filtered(
    kind: Kind, reader: Reader, params: Mapping[str, list[str]]
) -> tuple[Rows, tuple[str, ...]]:
    """The rows matching every parameter (each value of a repeated one: AND), and the
    parameters we do not support (ignored, as FHIR's lenient handling says)."""
    rows = kind.rows(reader)
    ignored = []
    for name, values in params.items():
        base = name.split(":", 1)[0]
        if base in COMMON or (name == "_summary" and values == ["count"]):
            continue
        param = kind.params.get(base)
        if param is None or base != name:
            ignored.append(name)
            continue
        for value in values:
            if value == "":
                continue
            rows = param(rows, value, reader)
    return rows, tuple(sorted(ignored))


def search(kind: Kind, reader: Reader, params: Mapping[str, list[str]]) -> Page:
    count = _count(params)
    after = _after(params, kind)
    rows, ignored = filtered(kind, reader, params)
    total = rows.count()
    page_rows = rows.order_by("pk")
    if after is not None:
        page_rows = page_rows.filter(pk__gt=after)
    found = list(page_rows[: count + 1]) if count else []
    more = len(found) > count
    found = found[:count]
    cursor = (
        signing.dumps({"type": kind.name, "after": found[-1].pk}, salt=CURSOR_SALT)
        if more and found
        else None
    )
    return Page(rows=found, total=total, next_cursor=cursor, ignored=ignored)
