"""OpenIPT's records as FHIR R4 (4.0.1) resources: one pure mapping per resource type.

Each function takes rows already fetched (and already allowed: the callers in
``openipt/fhir/search.py`` apply the policy) and returns the resource as a JSON-ready dict.
What is mapped, and what never is, is written down in docs/fhir-api.md. In short:

- ids are the records' UUIDs, never database keys;
- the psychotherapy process note is never read here; sessions (Encounter) carry no note text
  at all, only when, who and whether the client came;
- ``meta.versionId`` is the record's edit counter where it has one, so ``ETag`` and
  ``If-Match`` work on it (docs/fhir-api.md "Versions").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from openipt.accounts.models import Membership, Practice
from openipt.clients.models import Client, ClientIdentifier
from openipt.ipt import vocabulary
from openipt.measures.models import Administration, Instrument
from openipt.measures.scoring.definition import InstrumentDefinition, Item
from openipt.scheduling.models import Appointment
from openipt.treatment import formats
from openipt.treatment.models import ContractVersion, Course, Goal, Session

Resource = dict[str, Any]

FHIR_VERSION = "4.0.1"
BASE = "https://openipt.org/fhir"
LOINC = "http://loinc.org"
IDENTIFIER_SYSTEM = f"{BASE}/identifier"
FORMAT_SYSTEM = f"{BASE}/CodeSystem/ipt-format"
PHASE_SYSTEM = f"{BASE}/CodeSystem/ipt-phase"
AREA_SYSTEM = f"{BASE}/CodeSystem/ipt-problem-area"
BAND_SYSTEM = f"{BASE}/CodeSystem/score-band"
INSTRUMENT_SYSTEM = f"{BASE}/CodeSystem/instrument"
PHASE_EXTENSION = f"{BASE}/StructureDefinition/ipt-phase"
AREA_EXTENSION = f"{BASE}/StructureDefinition/ipt-problem-area"
RATING_EXTENSION = f"{BASE}/StructureDefinition/goal-rating"
SESSION_NUMBER_EXTENSION = f"{BASE}/StructureDefinition/session-number"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

IDENTIFIER_TYPES = {
    ClientIdentifier.System.PRACTICE: "MR",
    ClientIdentifier.System.NATIONAL: "NH",
    ClientIdentifier.System.INSURANCE: "MB",
}


def reference(resource_type: str, uuid: object, display: str = "") -> Resource:
    ref: Resource = {"reference": f"{resource_type}/{uuid}"}
    if display:
        ref["display"] = display
    return ref


def instant(moment: dt.datetime) -> str:
    """A FHIR ``instant``/``dateTime`` in UTC with seconds, e.g. 2026-03-02T09:30:00+00:00."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _meta(row: Any) -> Resource:
    meta: Resource = {"lastUpdated": instant(row.updated_at)}
    version = getattr(row, "version", None)
    if isinstance(version, int):
        meta["versionId"] = str(version)
    return meta


def version_of(row: Any) -> str:
    """The version ``ETag`` and ``If-Match`` compare (``W/"<versionId>"``)."""
    return str(getattr(row, "version", 1))


def _text(value: object) -> str:
    return str(value)


# --- Who ---------------------------------------------------------------------------------


def organization(practice: Practice) -> Resource:
    resource: Resource = {
        "resourceType": "Organization",
        "id": str(practice.uuid),
        "meta": _meta(practice),
        "active": True,
        "name": practice.name,
    }
    lines = [line for line in practice.crisis_lines or [] if line.get("number")]
    if lines:
        resource["telecom"] = [
            {"system": "phone", "value": line["number"], "use": "work"} for line in lines
        ]
    return resource


def practitioner(membership: Membership) -> Resource:
    """A member of staff: their name only (no contact details leave the practice)."""
    user = membership.user
    name = user.full_name.strip() or "Clinician"  # never the email address
    parts = name.split()
    human: Resource = {"text": name}
    if len(parts) > 1:
        human["family"] = parts[-1]
        human["given"] = parts[:-1]
    return {
        "resourceType": "Practitioner",
        "id": str(membership.uuid),
        "meta": {"lastUpdated": instant(membership.updated_at)},
        "active": membership.is_active,
        "name": [human],
    }


def patient(client: Client, identifiers: Iterable[ClientIdentifier] = ()) -> Resource:
    names: list[Resource] = [
        {
            "use": "official",
            "family": client.legal_family_name,
            "given": [client.legal_given_name],
        }
    ]
    if client.preferred_name:
        names.append({"use": "usual", "given": [client.preferred_name]})
    resource: Resource = {
        "resourceType": "Patient",
        "id": str(client.uuid),
        "meta": _meta(client),
        "active": client.status == Client.Status.ACTIVE,
        "name": names,
        "birthDate": client.date_of_birth.isoformat(),
        "managingOrganization": reference("Organization", client.practice.uuid),
    }
    ids = [_identifier(row) for row in identifiers if row.duplicate_of_id is None]
    if ids:
        resource["identifier"] = ids
    telecom = []
    if client.phone:
        telecom.append({"system": "phone", "value": client.phone})
    if client.email:
        telecom.append({"system": "email", "value": client.email})
    if telecom:
        resource["telecom"] = telecom
    if client.address:
        resource["address"] = [{"text": client.address}]
    # The language OpenIPT speaks to them, coded; the languages they speak, as written.
    communication: list[Resource] = [
        {
            "language": {
                "coding": [{"system": "urn:ietf:bcp:47", "code": client.language}],
                "text": client.get_language_display(),
            },
            "preferred": True,
        }
    ]
    if client.preferred_language:
        communication.append({"language": {"text": client.preferred_language}})
    resource["communication"] = communication
    if client.emergency_contact_name:
        contact: Resource = {"name": {"text": client.emergency_contact_name}}
        if client.emergency_contact_relationship:
            contact["relationship"] = [{"text": client.emergency_contact_relationship}]
        if client.emergency_contact_phone:
            contact["telecom"] = [{"system": "phone", "value": client.emergency_contact_phone}]
        resource["contact"] = [contact]
    return resource


def _identifier(row: ClientIdentifier) -> Resource:
    identifier: Resource = {"system": f"{IDENTIFIER_SYSTEM}/{row.system}", "value": row.value}
    code = IDENTIFIER_TYPES.get(ClientIdentifier.System(row.system))
    label = _text(ClientIdentifier.System(row.system).label)
    identifier["type"] = (
        {"coding": [{"system": V2_0203, "code": code}], "text": label} if code else {"text": label}
    )
    return identifier


def identifier_system(system: str) -> str | None:
    """Our identifier kind for a FHIR identifier system (None for one we do not issue)."""
    prefix = f"{IDENTIFIER_SYSTEM}/"
    if system.startswith(prefix) and system[len(prefix) :] in ClientIdentifier.System.values:
        return system[len(prefix) :]
    return None


# --- Questionnaires and their answers ----------------------------------------------------


def questionnaire(instrument: Instrument) -> Resource:
    """The instrument as the FHIR Questionnaire it was defined or imported as, with our id."""
    resource: Resource = dict(instrument.definition)
    resource["id"] = str(instrument.uuid)
    resource["meta"] = {"lastUpdated": instant(instrument.updated_at)}
    resource.setdefault("url", instrument.url)
    resource.setdefault("version", instrument.version)
    resource["status"] = "active" if instrument.is_active else "retired"
    return resource


def canonical(instrument: Instrument) -> str:
    return f"{instrument.url}|{instrument.version}"


# An assignment not yet answered is in progress; one that lapsed unanswered was stopped.
RESPONSE_STATUS = {
    Administration.Status.ASSIGNED: "in-progress",
    Administration.Status.DUE: "in-progress",
    Administration.Status.COMPLETED: "completed",
    Administration.Status.EXPIRED: "stopped",
}


def questionnaire_response(administration: Administration) -> Resource:
    instrument = administration.instrument
    definition = instrument.parsed
    completed = administration.status == Administration.Status.COMPLETED
    status = RESPONSE_STATUS[Administration.Status(administration.status)]
    resource: Resource = {
        "resourceType": "QuestionnaireResponse",
        "id": str(administration.uuid),
        "meta": _meta(administration),
        "questionnaire": canonical(instrument),
        "status": status,
        "subject": reference("Patient", administration.client.uuid),
    }
    if administration.completed_at is not None:
        resource["authored"] = instant(administration.completed_at)
    if administration.mode == Administration.Mode.CLIENT_COMPLETED:
        resource["source"] = reference("Patient", administration.client.uuid)
    answers = administration.answers if completed else {}
    items = _answer_items(definition, answers)
    if items:
        resource["item"] = items
    return resource


def _answer_items(definition: InstrumentDefinition, answers: Mapping[str, Any]) -> list[Resource]:
    items = []
    for item in definition.items:
        code = answers.get(item.link_id)
        if code is None:
            continue
        answer = _answer(item, str(code))
        if answer is not None:
            items.append({"linkId": item.link_id, "text": item.text, "answer": [answer]})
    return items


def _answer(item: Item, code: str) -> Resource | None:
    option = item.option_for_code(code)
    if option is None:
        return None
    coding: Resource = {"code": option.code, "display": option.display}
    if option.system:
        coding["system"] = option.system
    return {"valueCoding": coding}


def observation(administration: Administration) -> Resource:
    """The scored total of one completed questionnaire, derived from its response.

    Coded with the instrument's LOINC total-score code where it has one (PHQ-9 44261-6),
    else with our instrument code; the band (e.g. "Moderate") is the interpretation.
    """
    instrument = administration.instrument
    definition = instrument.parsed
    coding: list[Resource] = []
    if definition.total_code:
        coding.append({"system": LOINC, "code": definition.total_code})
    coding.append(
        {"system": INSTRUMENT_SYSTEM, "code": definition.identity, "display": definition.title}
    )
    resource: Resource = {
        "resourceType": "Observation",
        "id": str(administration.uuid),
        "meta": _meta(administration),
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "code": {"coding": coding, "text": f"{definition.title} total score"},
        "subject": reference("Patient", administration.client.uuid),
        "derivedFrom": [reference("QuestionnaireResponse", administration.uuid)],
    }
    if administration.completed_at is not None:
        resource["effectiveDateTime"] = instant(administration.completed_at)
        resource["issued"] = instant(administration.updated_at)
    if administration.total is not None:
        resource["valueQuantity"] = {
            "value": _number(administration.total),
            "unit": "{score}",
            "system": "http://unitsofmeasure.org",
            "code": "{score}",
        }
    else:
        resource["dataAbsentReason"] = {"text": "Too many questions unanswered to score"}
    band = next((b for b in definition.bands if b.code == administration.band), None)
    if band is not None:
        resource["interpretation"] = [
            {"coding": [{"system": BAND_SYSTEM, "code": band.code}], "text": band.label}
        ]
    if administration.prorated:
        resource["note"] = [{"text": "Prorated for unanswered questions"}]
    return resource


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


# --- The course ----------------------------------------------------------------------------

ENCOUNTER_STATUS = {
    Session.Attendance.ATTENDED: "finished",
    Session.Attendance.CANCELLED: "cancelled",
    Session.Attendance.LATE_CANCELLATION: "cancelled",
    Session.Attendance.NO_SHOW: "cancelled",
}


def encounter(session: Session) -> Resource:
    """A session as an Encounter: when, with whom, whether the client came. No note text."""
    course = session.course
    start = session.starts_at
    end = start + dt.timedelta(minutes=session.duration_minutes)
    resource: Resource = {
        "resourceType": "Encounter",
        "id": str(session.uuid),
        "meta": _meta(session),
        "extension": [{"url": SESSION_NUMBER_EXTENSION, "valueInteger": session.number}],
        "status": ENCOUNTER_STATUS.get(Session.Attendance(session.attendance), "unknown"),
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "serviceType": {"text": "Interpersonal psychotherapy session"},
        "subject": reference("Patient", course.client.uuid),
        "participant": [
            {
                "type": [{"coding": [{"system": PARTICIPATION_TYPE, "code": "PPRF"}]}],
                "individual": reference("Practitioner", course.clinician.uuid),
            }
        ],
        "period": {"start": instant(start), "end": instant(end)},
        "length": {
            "value": session.duration_minutes,
            "unit": "min",
            "system": "http://unitsofmeasure.org",
            "code": "min",
        },
    }
    return resource


APPOINTMENT_STATUS = {
    Appointment.Status.BOOKED: "booked",
    Appointment.Status.CANCELLED: "cancelled",
    Appointment.Status.LATE_CANCELLATION: "cancelled",
    Appointment.Status.NO_SHOW: "noshow",
    Appointment.Status.ATTENDED: "fulfilled",
}


def appointment(row: Appointment) -> Resource:
    status = APPOINTMENT_STATUS[Appointment.Status(row.status)]
    resource: Resource = {
        "resourceType": "Appointment",
        "id": str(row.uuid),
        "meta": _meta(row),
        "status": status,
        "serviceType": [{"text": _text(Appointment.Kind(row.kind).label)}],
        "start": instant(row.starts_at),
        "end": instant(row.ends_at),
        "minutesDuration": row.duration_minutes,
        "participant": [
            {"actor": reference("Patient", row.client.uuid), "status": "accepted"},
            {"actor": reference("Practitioner", row.clinician.uuid), "status": "accepted"},
        ],
    }
    if row.status in (Appointment.Status.CANCELLED, Appointment.Status.LATE_CANCELLATION):
        resource["cancelationReason"] = {"text": _text(Appointment.Status(row.status).label)}
    return resource


CAREPLAN_STATUS = {
    Course.Status.ASSESSMENT: "active",
    Course.Status.ACTIVE: "active",
    Course.Status.CONCLUDED: "completed",
    Course.Status.ENDED_EARLY: "revoked",
    Course.Status.ENTERED_IN_ERROR: "entered-in-error",
}


def care_plan(
    course: Course,
    *,
    phase: str,
    contract: ContractVersion | None,
    areas: Sequence[str],
    goals: Iterable[Goal] = (),
    sessions: Iterable[Session] = (),
) -> Resource:
    """The IPT course: its format, phase, contract (sessions agreed, how often) and the
    problem areas it works on, with its goals and held sessions linked."""
    fmt = formats.get_format(course.format)
    extensions: list[Resource] = [
        {
            "url": PHASE_EXTENSION,
            "valueCoding": {
                "system": PHASE_SYSTEM,
                "code": phase,
                "display": _text(formats.PHASE_LABELS[formats.Phase(phase)].clinical),
            },
        }
    ]
    for area in areas:
        label = vocabulary.PROBLEM_AREA_LABELS[vocabulary.ProblemArea(area)]
        extensions.append(
            {
                "url": AREA_EXTENSION,
                "valueCoding": {
                    "system": AREA_SYSTEM,
                    "code": area,
                    "display": _text(label.clinical),
                },
            }
        )
    period: Resource = {"start": course.start_date.isoformat()}
    if course.ended_on is not None:
        period["end"] = course.ended_on.isoformat()
    planned = contract.planned_sessions if contract is not None else course.planned_sessions
    frequency = contract.frequency if contract is not None else course.frequency
    resource: Resource = {
        "resourceType": "CarePlan",
        "id": str(course.uuid),
        "meta": _meta(course),
        "extension": extensions,
        "status": CAREPLAN_STATUS[Course.Status(course.status)],
        "intent": "plan",
        "category": [
            {
                "coding": [
                    {
                        "system": FORMAT_SYSTEM,
                        "code": course.format,
                        "display": _text(fmt.label.clinical),
                    }
                ],
                "text": "Interpersonal psychotherapy",
            }
        ],
        "title": f"Interpersonal psychotherapy ({_text(fmt.label.clinical)})",
        "subject": reference("Patient", course.client.uuid),
        "period": period,
        "author": reference("Practitioner", course.clinician.uuid),
        "activity": [
            {
                "outcomeReference": [reference("Encounter", s.uuid) for s in sessions],
                "detail": {
                    "kind": "Appointment",
                    "code": {"text": "Interpersonal psychotherapy session"},
                    "status": "completed" if course.is_closed else "in-progress",
                    "scheduledTiming": {"repeat": _repeat(planned, frequency)},
                },
            }
        ],
    }
    if not resource["activity"][0]["outcomeReference"]:
        del resource["activity"][0]["outcomeReference"]
    goal_refs = [reference("Goal", goal.uuid) for goal in goals]
    if goal_refs:
        resource["goal"] = goal_refs
    if contract is not None:
        resource["created"] = contract.agreed_on.isoformat()
    return resource


_FREQUENCY_WEEKS = {"weekly": 1, "fortnightly": 2, "monthly": 4}


def _repeat(planned: int, frequency: str) -> Resource:
    """The sessions agreed: how many and, unless the timing is flexible, how often."""
    repeat: Resource = {"count": planned}
    weeks = _FREQUENCY_WEEKS.get(frequency)
    if weeks is not None:
        repeat.update(frequency=1, period=weeks, periodUnit="wk")
    return repeat


def goal(row: Goal, *, course: Course) -> Resource:
    """A goal of the course with each rating the client gave it (0-10, newest last)."""
    ratings = list(row.ratings.all())
    resource: Resource = {
        "resourceType": "Goal",
        "id": str(row.uuid),
        "meta": _meta(row),
        "lifecycleStatus": "completed" if course.is_closed else "active",
        "description": {"text": row.text},
        "subject": reference("Patient", course.client.uuid),
        "startDate": course.start_date.isoformat(),
        "expressedBy": reference("Patient", course.client.uuid),
    }
    if row.problem_area_id is not None and row.problem_area is not None:
        area = vocabulary.PROBLEM_AREA_LABELS[vocabulary.ProblemArea(row.problem_area.area)]
        resource["category"] = [
            {
                "coding": [{"system": AREA_SYSTEM, "code": row.problem_area.area}],
                "text": _text(area.clinical),
            }
        ]
    if ratings:
        resource["extension"] = [
            {
                "url": RATING_EXTENSION,
                "extension": [
                    {"url": "date", "valueDate": rating.rated_on.isoformat()},
                    {"url": "rating", "valueInteger": rating.rating},
                ],
            }
            for rating in ratings
        ]
        resource["statusDate"] = ratings[-1].rated_on.isoformat()
    return resource
