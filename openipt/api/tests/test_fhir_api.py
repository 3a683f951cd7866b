"""The FHIR API as another system uses it: read, search, paging, $everything, writes."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from openipt.api.tests.fhir_kit import CANARY, PHQ9_MILD, bearer, dana_record, fhir_json, valid_r4
from openipt.audit.models import AuditEvent
from openipt.measures import services as measures
from openipt.measures.models import Administration, RiskAlert
from openipt.treatment.tests.factories import make_course

pytestmark = pytest.mark.django_db

USER_READ = "user/*.read"


def test_the_capability_statement_is_public_and_names_where_to_authorise(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = valid_r4(fhir_json(response))
    assert statement["fhirVersion"] == "4.0.1"
    types = {res["type"] for res in statement["rest"][0]["resource"]}
    assert {"Patient", "Observation", "QuestionnaireResponse", "CarePlan", "Goal"} <= types
    uris = statement["rest"][0]["security"]["extension"][0]["extension"]
    assert {u["url"] for u in uris} == {"authorize", "token", "revoke"}
    assert all(u["valueUri"].startswith("http://testserver/oauth/") for u in uris)


def test_no_token_is_refused_with_a_bearer_challenge(client, personas):
    response = client.get("/fhir/Patient")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    outcome = valid_r4(fhir_json(response))
    assert outcome["resourceType"] == "OperationOutcome"


def test_a_scope_that_does_not_cover_the_type_is_refused(client, personas):
    headers = bearer(personas.alice, "user/Observation.read")
    assert client.get("/fhir/Observation", **headers).status_code == 200
    response = client.get("/fhir/Patient", **headers)
    assert response.status_code == 403
    assert fhir_json(response)["resourceType"] == "OperationOutcome"
    assert "insufficient_scope" in response["WWW-Authenticate"]


def test_alice_reads_dana_and_every_resource_is_valid_r4(client, personas):
    record = dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    found = valid_r4(fhir_json(client.get("/fhir/Patient", **headers)))
    assert [e["resource"]["id"] for e in found["entry"]] == [str(personas.dana.uuid)]
    assert found["total"] == 1
    patient = client.get(f"/fhir/Patient/{personas.dana.uuid}", **headers)
    assert patient.status_code == 200
    assert patient["ETag"] == f'W/"{personas.dana.version}"'
    assert valid_r4(fhir_json(patient))["name"][0]["family"] == "Example"
    for path in (
        f"/fhir/CarePlan/{record.course.uuid}",
        f"/fhir/Encounter/{record.session.uuid}",
        f"/fhir/QuestionnaireResponse/{record.phq9.uuid}",
        f"/fhir/Observation/{record.phq9.uuid}",
        f"/fhir/Goal/{record.goal.uuid}",
        f"/fhir/Appointment/{record.appointment.uuid}",
        f"/fhir/Practitioner/{personas.membership(personas.alice).uuid}",
        f"/fhir/Organization/{personas.practice.uuid}",
        f"/fhir/Questionnaire/{record.phq9.instrument.uuid}",
    ):
        response = client.get(path, **headers)
        assert response.status_code == 200, (path, response.content)
        valid_r4(fhir_json(response))


def test_the_score_is_an_observation_derived_from_its_response(client, personas):
    record = dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    observation = fhir_json(client.get(f"/fhir/Observation/{record.phq9.uuid}", **headers))
    assert {"system": "http://loinc.org", "code": "44261-6"} in observation["code"]["coding"]
    assert observation["valueQuantity"]["value"] == 6
    assert observation["interpretation"][0]["text"] == "Mild"
    assert observation["derivedFrom"] == [
        {"reference": f"QuestionnaireResponse/{record.phq9.uuid}"}
    ]
    response = fhir_json(client.get(f"/fhir/QuestionnaireResponse/{record.phq9.uuid}", **headers))
    assert response["questionnaire"].startswith(record.phq9.instrument.url)
    answers = {
        item["linkId"]: item["answer"][0]["valueCoding"]["code"] for item in response["item"]
    }
    assert answers == PHQ9_MILD


@pytest.mark.parametrize(
    ("params", "matches"),
    [
        ({"code": "http://loinc.org|44261-6"}, 1),
        ({"code": "44261-6"}, 1),
        ({"code": "PHQ-9"}, 1),
        ({"code": "http://loinc.org|70274-6"}, 0),
        ({"date": "ge2026-01-01"}, 1),
        ({"date": "lt2026-01-01"}, 0),
        ({"date": "2026-01"}, 1),
        ({"category": "survey"}, 1),
        ({"category": "laboratory"}, 0),
    ],
)
def test_observation_search_parameters(client, personas, params, matches):
    record = dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    params = {**params, "patient": f"Patient/{personas.dana.uuid}"}
    found = fhir_json(client.get("/fhir/Observation", params, **headers))
    assert found["total"] == matches
    if matches:
        assert found["entry"][0]["resource"]["id"] == str(record.phq9.uuid)


def test_patient_search_by_name_birthdate_and_identifier(client, personas):
    headers = bearer(personas.alice, USER_READ)
    from openipt.clients.models import ClientIdentifier

    ClientIdentifier.objects.create(
        practice=personas.practice, client=personas.dana, system="practice", value="R-1001"
    )

    def total(**params):
        return fhir_json(client.get("/fhir/Patient", params, **headers))["total"]

    assert total(name="dana") == 1
    assert total(name="Erin") == 0  # Charlie's client, in the other practice
    assert total(birthdate="1990-05-17") == 1
    assert total(birthdate="gt1990-05-17") == 0
    assert total(identifier="R-1001") == 1
    assert total(identifier="https://openipt.org/fhir/identifier/practice|R-1001") == 1
    assert total(identifier="https://openipt.org/fhir/identifier/national|R-1001") == 0
    assert total(identifier="urn:other|R-1001") == 0


def test_paging_follows_next_links_to_the_end(client, personas):
    from openipt.testing.personas import make_client

    for n in range(4):
        make_client(personas.practice, personas.alice, given=f"Client{n}", family="Paged")
    headers = bearer(personas.alice, USER_READ)
    url = "/fhir/Patient?_count=2"
    seen: list[str] = []
    pages = 0
    while url:
        bundle = fhir_json(client.get(url.removeprefix("http://testserver"), **headers))
        assert bundle["total"] == 5
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), "")
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5


def test_a_tampered_page_link_or_bad_date_is_an_operation_outcome(client, personas):
    headers = bearer(personas.alice, USER_READ)
    for params in ({"_page": "forged"}, {"birthdate": "last-tuesday"}, {"_count": "many"}):
        response = client.get("/fhir/Patient", params, **headers)
        assert response.status_code == 400
        assert valid_r4(fhir_json(response))["issue"][0]["severity"] == "error"


def test_an_unknown_parameter_is_ignored_and_said_so(client, personas):
    headers = bearer(personas.alice, USER_READ)
    bundle = fhir_json(client.get("/fhir/Patient", {"shoe-size": "9"}, **headers))
    assert bundle["total"] == 1
    outcome = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert "shoe-size" in outcome[0]["resource"]["issue"][0]["diagnostics"]


def test_unknown_types_and_addresses_answer_operation_outcomes(client, personas):
    headers = bearer(personas.alice, USER_READ)
    for path in ("/fhir/Medication", "/fhir/Patient/not-a-uuid", "/fhir/a/b/c/d"):
        response = client.get(path, **headers)
        assert response.status_code == 404, path
        assert fhir_json(response)["resourceType"] == "OperationOutcome"
    assert client.delete(f"/fhir/Patient/{personas.dana.uuid}", **headers).status_code == 405


def test_everything_holds_the_whole_record_and_never_the_process_note(client, personas):
    record = dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    response = client.get(f"/fhir/Patient/{personas.dana.uuid}/$everything", **headers)
    assert response.status_code == 200
    bundle = valid_r4(fhir_json(response))
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {
        "Patient", "Organization", "Practitioner", "CarePlan", "Goal", "Encounter",
        "Appointment", "QuestionnaireResponse", "Observation", "Questionnaire",
    }  # fmt: skip
    assert CANARY not in response.content.decode()
    care_plan = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"
    )
    assert care_plan["goal"] == [{"reference": f"Goal/{record.goal.uuid}"}]
    areas = [x["valueCoding"]["code"] for x in care_plan["extension"] if "problem-area" in x["url"]]
    assert areas == ["role_transition"]
    assert care_plan["activity"][0]["detail"]["scheduledTiming"]["repeat"]["count"] == 12


def test_reads_are_audited_as_page_views(client, personas):
    record = dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    before = AuditEvent.objects.count()
    client.get(f"/fhir/Observation/{record.phq9.uuid}", **headers)
    event = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1
    assert event.action == AuditEvent.Action.READ
    assert event.client_id == personas.dana.pk
    assert event.actor_id == personas.alice.pk
    assert event.detail == "FHIR Observation"


# --- Writes --------------------------------------------------------------------------------


def _response_body(personas, answers, *, questionnaire=None):
    from openipt.api.tests.fhir_kit import phq9

    instrument = phq9()
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": questionnaire or f"{instrument.url}|{instrument.version}",
        "subject": {"reference": f"Patient/{personas.dana.uuid}"},
        "authored": "2026-01-05T10:00:00Z",
        "item": [
            {
                "linkId": link,
                "answer": [{"valueCoding": {"system": "http://loinc.org", "code": code}}],
            }
            for link, code in answers.items()
        ],
    }


WRITE = "user/QuestionnaireResponse.write user/*.read"


def _post(client, headers, body, **extra):
    return client.post(
        "/fhir/QuestionnaireResponse",
        json.dumps(body),
        content_type="application/fhir+json",
        **headers,
        **extra,
    )


def test_a_posted_response_with_item_9_raises_the_alert_and_is_scored(client, personas):
    make_course(personas.alice, personas.dana)
    headers = bearer(personas.alice, WRITE)
    answers = {**PHQ9_MILD, "9": "LA6570-1"}  # item 9: more than half the days
    response = _post(client, headers, _response_body(personas, answers))
    assert response.status_code == 201, response.content
    created = valid_r4(fhir_json(response))
    assert response["Location"].endswith(f"/QuestionnaireResponse/{created['id']}/_history/1")
    administration = Administration.objects.get(uuid=created["id"])
    assert administration.total == 8
    assert RiskAlert.objects.filter(administration=administration).count() == 1
    observation = fhir_json(client.get(f"/fhir/Observation/{created['id']}", **headers))
    assert observation["valueQuantity"]["value"] == 8


def test_a_retried_post_with_its_key_creates_one_response(client, personas):
    make_course(personas.alice, personas.dana)
    headers = bearer(personas.alice, WRITE)
    body = _response_body(personas, {**PHQ9_MILD, "9": "LA6571-9"})
    first = _post(client, headers, body, HTTP_IDEMPOTENCY_KEY="kiosk-4711-aaaaaaaa")
    again = _post(client, headers, body, HTTP_IDEMPOTENCY_KEY="kiosk-4711-aaaaaaaa")
    assert (first.status_code, again.status_code) == (201, 200)
    assert fhir_json(first)["id"] == fhir_json(again)["id"]
    assert Administration.objects.filter(client=personas.dana).count() == 1
    assert RiskAlert.objects.filter(client=personas.dana).count() == 1


def test_a_refused_post_stores_nothing_and_says_why_per_item(client, personas):
    make_course(personas.alice, personas.dana)
    headers = bearer(personas.alice, WRITE)
    bad_answer = _response_body(personas, {**PHQ9_MILD, "3": "LA9999-9"})
    response = _post(client, headers, bad_answer)
    assert response.status_code == 422
    issue = fhir_json(response)["issue"][0]
    assert "LA9999-9" in issue["diagnostics"]
    structurally = _response_body(personas, PHQ9_MILD)
    structurally["status"] = 7
    assert _post(client, headers, structurally).status_code == 400
    unknown = _response_body(personas, PHQ9_MILD, questionnaire="http://example.org/q|1")
    assert _post(client, headers, unknown).status_code == 404
    assert _post(client, headers, {"resourceType": "Patient"}).status_code == 400
    not_json = client.post(
        "/fhir/QuestionnaireResponse", "{", content_type="application/fhir+json", **headers
    )
    assert not_json.status_code == 400
    assert Administration.objects.filter(client=personas.dana).count() == 0


def test_writing_needs_the_write_scope(client, personas):
    make_course(personas.alice, personas.dana)
    response = _post(client, bearer(personas.alice, USER_READ), _response_body(personas, PHQ9_MILD))
    assert response.status_code == 403
    assert Administration.objects.count() == 0


def test_charlie_cannot_write_for_dana(client, personas):
    make_course(personas.alice, personas.dana)
    response = _post(client, bearer(personas.charlie, WRITE), _response_body(personas, PHQ9_MILD))
    assert response.status_code == 404
    assert Administration.objects.count() == 0


def _assignment(personas):
    from openipt.api.tests.fhir_kit import phq9

    course = make_course(personas.alice, personas.dana)
    return measures.administration_assign(
        actor=personas.alice,
        client=personas.dana,
        instrument=phq9(),
        due_on=course.start_date,
        course=course,
    )


def test_put_completes_an_assignment_and_a_stale_if_match_gets_412(client, personas):
    assigned = _assignment(personas)
    headers = bearer(personas.alice, WRITE)
    url = f"/fhir/QuestionnaireResponse/{assigned.uuid}"
    read = client.get(url, **headers)
    assert fhir_json(read)["status"] == "in-progress"
    etag = read["ETag"]
    body = {**_response_body(personas, PHQ9_MILD), "id": str(assigned.uuid)}
    stale = client.put(url, json.dumps(body), content_type="application/fhir+json",
                       HTTP_IF_MATCH='W/"999"', **headers)  # fmt: skip
    assert stale.status_code == 412
    missing = client.put(url, json.dumps(body), content_type="application/fhir+json", **headers)
    assert missing.status_code == 428
    done = client.put(url, json.dumps(body), content_type="application/fhir+json",
                      HTTP_IF_MATCH=etag, **headers)  # fmt: skip
    assert done.status_code == 200, done.content
    assert fhir_json(done)["status"] == "completed"
    assigned.refresh_from_db()
    assert assigned.status == Administration.Status.COMPLETED
    assert assigned.total == 6
    again = client.put(url, json.dumps(body), content_type="application/fhir+json",
                       HTTP_IF_MATCH=etag, **headers)  # fmt: skip
    assert again.status_code == 412


def test_dana_completes_her_own_assignment_with_her_token(client, personas):
    from openipt.portal.tests.conftest import portal_user_for

    assigned = _assignment(personas)
    dana_user = portal_user_for(personas.alice, personas.dana, "dana@example.test")
    headers = bearer(dana_user, "patient/QuestionnaireResponse.write patient/*.read")
    response = _post(client, headers, _response_body(personas, PHQ9_MILD))
    assert response.status_code == 201, response.content
    assert fhir_json(response)["id"] == str(assigned.uuid)
    # With nothing waiting for her, a client's token cannot add a response of its own.
    assert _post(client, headers, _response_body(personas, PHQ9_MILD)).status_code == 422


def test_the_api_url_names_are_stable():
    assert reverse("fhir:metadata") == "/fhir/metadata"


def test_a_refused_post_leaves_its_key_free_for_the_corrected_retry(client, personas):
    make_course(personas.alice, personas.dana)
    headers = bearer(personas.alice, WRITE)
    key = {"HTTP_IDEMPOTENCY_KEY": "kiosk-4712-bbbbbbbb"}
    wrong = _post(client, headers, _response_body(personas, {"3": "LA9999-9"}), **key)
    assert wrong.status_code == 422
    right = _post(client, headers, _response_body(personas, PHQ9_MILD), **key)
    assert right.status_code == 201
    assert Administration.objects.filter(client=personas.dana).count() == 1


def test_the_same_key_from_another_user_is_their_own(client, personas):
    """Keys are per user: Bob's key cannot replay Alice's result to him."""
    make_course(personas.alice, personas.dana)
    key = {"HTTP_IDEMPOTENCY_KEY": "shared-key-cccccccc"}
    body = _response_body(personas, PHQ9_MILD)
    assert _post(client, bearer(personas.alice, WRITE), body, **key).status_code == 201
    assert _post(client, bearer(personas.bob, WRITE), body, **key).status_code == 404


# --- Refusals found in review: each answered as FHIR, never a 500 -------------------------


def test_everything_holds_only_the_types_the_scopes_allow(client, personas):
    dana_record(personas)
    headers = bearer(personas.alice, "patient/Patient.read", patient=personas.dana)
    assert client.get("/fhir/Observation", **headers).status_code == 403
    bundle = fhir_json(client.get(f"/fhir/Patient/{personas.dana.uuid}/$everything", **headers))
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"Patient"}


@pytest.mark.parametrize(
    "value",
    ["9999", "9999-12", "9999-12-31", "gt9999-12-31", "9999-12-31T23:59:59", "2026-02-30"],
)
def test_dates_at_the_edge_of_the_calendar_are_a_400(client, personas, value):
    headers = bearer(personas.alice, USER_READ)
    response = client.get("/fhir/Patient", {"birthdate": value}, **headers)
    assert response.status_code == 400
    assert fhir_json(response)["resourceType"] == "OperationOutcome"


def test_bodies_nested_beyond_reason_are_a_400(client, personas):
    make_course(personas.alice, personas.dana)
    headers = bearer(personas.alice, WRITE)
    deep = client.post(
        "/fhir/QuestionnaireResponse", "[" * 100_000 + "]" * 100_000,
        content_type="application/fhir+json", **headers,
    )  # fmt: skip
    assert deep.status_code == 400
    body = _response_body(personas, PHQ9_MILD)
    item: dict = {"linkId": "x"}
    body["item"] = [item]
    for _ in range(400):
        item["item"] = [{"linkId": "x"}]
        item = item["item"][0]
    assert _post(client, headers, body).status_code == 400
    assert Administration.objects.count() == 0


def test_a_key_sent_again_with_another_body_is_refused_and_a_replay_is_audited(client, personas):
    make_course(personas.alice, personas.dana)
    headers = bearer(personas.alice, WRITE)
    key = {"HTTP_IDEMPOTENCY_KEY": "kiosk-4713-dddddddd"}
    assert _post(client, headers, _response_body(personas, PHQ9_MILD), **key).status_code == 201
    before = AuditEvent.objects.filter(action=AuditEvent.Action.READ).count()
    again = _post(client, headers, _response_body(personas, PHQ9_MILD), **key)
    assert again.status_code == 200
    assert AuditEvent.objects.filter(action=AuditEvent.Action.READ).count() == before + 1
    critical = _response_body(personas, {**PHQ9_MILD, "9": "LA6571-9"})
    reused = _post(client, headers, critical, **key)
    assert reused.status_code == 422
    assert "another body" in fhir_json(reused)["issue"][0]["diagnostics"]
    assert _post(client, headers, critical, HTTP_IDEMPOTENCY_KEY="k").status_code == 400
    assert Administration.objects.filter(client=personas.dana).count() == 1


def test_loose_references_and_answers_are_refused(client, personas):
    make_course(personas.alice, personas.dana)
    headers = bearer(personas.alice, WRITE)
    elsewhere = _response_body(personas, PHQ9_MILD)
    elsewhere["subject"] = {"reference": f"https://other.example/fhir/Patient/{personas.dana.uuid}"}
    assert _post(client, headers, elsewhere).status_code == 422
    boolean = _response_body(personas, PHQ9_MILD)
    boolean["item"][0]["answer"] = [{"valueInteger": True}]
    assert _post(client, headers, boolean).status_code == 422
    assert Administration.objects.count() == 0
    by_month = _response_body(personas, PHQ9_MILD)
    by_month["authored"] = "2026-01"
    assert _post(client, headers, by_month).status_code == 201
    assert Administration.objects.get().completed_at.date().isoformat() == "2026-01-01"


def test_xml_is_not_served_and_summary_count_gives_the_total_only(client, personas):
    headers = bearer(personas.alice, USER_READ)
    assert client.get("/fhir/Patient", {"_format": "xml"}, **headers).status_code == 406
    xml_only = client.get("/fhir/Patient", HTTP_ACCEPT="application/fhir+xml", **headers)
    assert xml_only.status_code == 406
    assert client.get("/fhir/metadata", {"_format": "xml"}).status_code == 406
    counted = fhir_json(client.get("/fhir/Patient", {"_summary": "count"}, **headers))
    assert counted["total"] == 1
    assert counted["entry"] == []


def test_a_token_works_only_in_its_apps_practice(client, personas):
    from openipt.api.models import SmartApp

    headers = bearer(personas.alice, USER_READ)
    assert client.get("/fhir/Patient", **headers).status_code == 200
    SmartApp.objects.update(practice=personas.other_practice)
    assert client.get("/fhir/Patient", **headers).status_code == 401
