"""Every FHIR interaction by every persona's token, and the process-note canary nowhere.

Alice treats Dana; Bob supervises Alice (reads, never writes); Adam administers the
practice without clinical access; Charlie and his client Erin are in the other practice;
Dana's own token reaches only her record. A refusal of a record is 404 (it exists for no
one who may not see it); a search finds nothing that may not be seen.
"""

from __future__ import annotations

import json

import pytest

from openipt.api.tests.fhir_kit import CANARY, PHQ9_MILD, bearer, dana_record, fhir_json, phq9
from openipt.portal.tests.conftest import portal_user_for

pytestmark = pytest.mark.django_db

PERSONAS = ("alice", "bob", "adam", "charlie", "dana", "erin")
SCOPE = "user/*.read user/QuestionnaireResponse.write"
CLIENT_SCOPE = "patient/*.read patient/QuestionnaireResponse.write"

# Dana's resources, read one by one: who gets 200 (everyone else 404).
READERS_OF_DANA = {"alice", "bob", "dana"}
# Shared resources: who gets 200 reading them.
READERS = {
    "Organization": {"alice", "bob", "adam", "dana"},
    "Practitioner": {"alice", "bob", "adam", "dana"},  # Alice, as Dana's clinician
    "Questionnaire": set(PERSONAS),  # the built-in PHQ-9 is every practice's
}
WRITERS_FOR_DANA = {"alice"}


@pytest.fixture
def world(personas):
    record = dana_record(personas)
    users = {
        "alice": personas.alice,
        "bob": personas.bob,
        "adam": personas.adam,
        "charlie": personas.charlie,
        "dana": portal_user_for(personas.alice, personas.dana, "dana@example.test"),
        "erin": portal_user_for(personas.charlie, personas.erin, "erin@example.test"),
    }
    tokens = {
        name: bearer(user, CLIENT_SCOPE if name in ("dana", "erin") else SCOPE)
        for name, user in users.items()
    }
    paths = {
        "Patient": f"Patient/{personas.dana.uuid}",
        "CarePlan": f"CarePlan/{record.course.uuid}",
        "Encounter": f"Encounter/{record.session.uuid}",
        "QuestionnaireResponse": f"QuestionnaireResponse/{record.phq9.uuid}",
        "Observation": f"Observation/{record.phq9.uuid}",
        "Goal": f"Goal/{record.goal.uuid}",
        "Appointment": f"Appointment/{record.appointment.uuid}",
        "Organization": f"Organization/{personas.practice.uuid}",
        "Practitioner": f"Practitioner/{personas.membership(personas.alice).uuid}",
        "Questionnaire": f"Questionnaire/{record.phq9.instrument.uuid}",
    }
    return personas, record, tokens, paths


def test_every_read_by_every_persona(client, world):
    _personas, _record, tokens, paths = world
    seen = {}
    for name in PERSONAS:
        for resource_type, path in paths.items():
            response = client.get(f"/fhir/{path}", **tokens[name])
            seen[(name, resource_type)] = response.status_code
            assert CANARY not in response.content.decode()
    expected = {
        (name, resource_type): 200 if name in READERS.get(resource_type, READERS_OF_DANA) else 404
        for name in PERSONAS
        for resource_type in paths
    }
    assert seen == expected


def test_every_search_finds_only_what_may_be_seen(client, world):
    personas, _record, tokens, paths = world
    dana_ids = {path.split("/")[1] for t, path in paths.items() if t not in READERS}
    for name in PERSONAS:
        for resource_type in paths:
            response = client.get(f"/fhir/{resource_type}", {"_count": 500}, **tokens[name])
            assert response.status_code == 200, (name, resource_type)
            body = response.content.decode()
            assert CANARY not in body
            found = {e["resource"]["id"] for e in json.loads(body)["entry"]}
            if resource_type not in READERS:
                sees_dana = bool(found & dana_ids)
                assert sees_dana == (name in READERS_OF_DANA), (name, resource_type)
            if name in ("charlie", "erin") and resource_type == "Patient":
                assert found <= {str(personas.erin.uuid)}


def test_everything_by_every_persona(client, world):
    personas, _record, tokens, _paths = world
    for name in PERSONAS:
        response = client.get(f"/fhir/Patient/{personas.dana.uuid}/$everything", **tokens[name])
        assert response.status_code == (200 if name in READERS_OF_DANA else 404), name
        assert CANARY not in response.content.decode()


def test_every_write_by_every_persona(client, world):
    personas, record, tokens, _paths = world
    instrument = phq9()
    body = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{instrument.url}|{instrument.version}",
        "subject": {"reference": f"Patient/{personas.dana.uuid}"},
        "item": [
            {"linkId": link, "answer": [{"valueCoding": {"code": code}}]}
            for link, code in PHQ9_MILD.items()
        ],
    }
    for name in PERSONAS:
        response = client.post(
            "/fhir/QuestionnaireResponse",
            json.dumps(body),
            content_type="application/fhir+json",
            **tokens[name],
        )
        if name in WRITERS_FOR_DANA:
            assert response.status_code == 201, (name, response.content)
        elif name == "dana":
            # Her own record, but nothing is waiting for her to answer.
            assert response.status_code == 422, response.content
        else:
            assert response.status_code == 404, (name, response.content)
        put = client.put(
            f"/fhir/QuestionnaireResponse/{record.phq9.uuid}",
            json.dumps({**body, "id": str(record.phq9.uuid)}),
            content_type="application/fhir+json",
            HTTP_IF_MATCH=f'W/"{record.phq9.version}"',
            **tokens[name],
        )
        # A completed response is never changed; others do not find it at all.
        assert put.status_code == (409 if name in READERS_OF_DANA else 404), (name, put.content)
    assert fhir_json(client.get("/fhir/metadata"))["resourceType"] == "CapabilityStatement"
