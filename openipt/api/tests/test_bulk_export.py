"""FHIR Bulk Data Access as another system uses it: kick-off, poll, manifest, download,
cancel and expiry, under the same eyes as a search."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.files.storage import storages
from django.utils import timezone

from openipt.accounts.models import Membership
from openipt.api.tests.fhir_kit import CANARY, bearer, dana_record, phq9, valid_r4
from openipt.audit.models import AuditEvent
from openipt.fhir import bulk, tasks
from openipt.fhir.models import ExportJob
from openipt.measures import services as measures
from openipt.measures.models import Administration
from openipt.portal.tests.conftest import portal_user_for
from openipt.testing.personas import make_client
from openipt.treatment.tests.factories import make_course, make_session

pytestmark = pytest.mark.django_db

USER_READ = "user/*.read"
ASYNC = {"HTTP_PREFER": "respond-async"}
NDJSON = "application/fhir+ndjson"


def kick_off(http, capture, path: str, headers: dict[str, str], *, run: bool = True, **params):
    """Kick off; with ``run`` the task runs as the worker would, once the request commits
    (the test settings run enqueued tasks at once)."""
    with capture(execute=run):
        response = http.get(path, params, **headers, **ASYNC)
    assert response.status_code == 202, response.content
    assert response["Content-Location"].startswith("http://testserver/fhir/$export-status/")
    return response["Content-Location"]


def manifest(http, location: str, headers: dict[str, str]) -> dict[str, Any]:
    response = http.get(location, **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = json.loads(response.content)
    return body


def download(http, url: str, headers: dict[str, str]) -> bytes:
    response = http.get(url, **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == NDJSON
    return b"".join(response.streaming_content)


def files(http, body: dict[str, Any], headers: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Every file of a manifest, by type, each line parsed (and its count checked)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in body["output"]:
        raw = download(http, entry["url"], headers)
        assert CANARY.encode() not in raw
        lines = [json.loads(line) for line in raw.splitlines()]
        assert len(lines) == entry["count"]
        assert all(res["resourceType"] == entry["type"] for res in lines)
        found[entry["type"]] = lines
    return found


def ids(resources: list[dict[str, Any]]) -> set[str]:
    return {res["id"] for res in resources}


def test_alice_exports_her_practice_as_valid_r4_ndjson(
    client, personas, django_capture_on_commit_callbacks
):
    record = dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    location = kick_off(client, django_capture_on_commit_callbacks, "/fhir/$export", headers)
    body = manifest(client, location, headers)
    assert body["requiresAccessToken"] is True
    assert body["request"] == "http://testserver/fhir/$export"
    assert body["error"] == []
    assert dt.datetime.fromisoformat(body["transactionTime"]) <= timezone.now()
    found = files(client, body, headers)
    assert set(found) == {
        "Patient", "CarePlan", "Goal", "Encounter", "Appointment", "QuestionnaireResponse",
        "Observation", "Practitioner", "Organization", "Questionnaire",
    }  # fmt: skip
    for resources in found.values():
        for resource in resources:
            valid_r4(resource)
    assert ids(found["Patient"]) == {str(personas.dana.uuid)}
    assert ids(found["CarePlan"]) == {str(record.course.uuid)}
    assert ids(found["Encounter"]) == {str(record.session.uuid)}
    assert ids(found["Observation"]) == {str(record.phq9.uuid)}
    assert ids(found["Goal"]) == {str(record.goal.uuid)}
    assert ids(found["Appointment"]) == {str(record.appointment.uuid)}
    assert str(personas.practice.uuid) in ids(found["Organization"])
    assert {e["type"]: e["count"] for e in body["output"]}["Patient"] == 1


def test_the_process_note_is_in_no_stored_file(
    client, personas, django_capture_on_commit_callbacks
):
    dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    location = kick_off(client, django_capture_on_commit_callbacks, "/fhir/$export", headers)
    job = ExportJob.objects.get(uuid=location.rsplit("/", 1)[-1])
    storage = storages["exports"]
    assert len(job.output) == 10
    for entry in job.output:
        with storage.open(entry["name"], "rb") as handle:
            assert CANARY.encode() not in handle.read()


def test_kick_off_and_every_download_are_audited_without_clinical_content(
    client, personas, django_capture_on_commit_callbacks
):
    dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    location = kick_off(
        client, django_capture_on_commit_callbacks, "/fhir/$export", headers, _type="Patient,Goal"
    )
    job = ExportJob.objects.get(uuid=location.rsplit("/", 1)[-1])
    started = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT, object_id=str(job.uuid))
    assert started.object_type == "fhir.bulk_export"
    assert started.actor_id == personas.alice.pk
    body = manifest(client, location, headers)
    files(client, body, headers)
    download(client, body["output"][0]["url"], headers)  # a second download of one file
    reads = AuditEvent.objects.filter(action=AuditEvent.Action.READ, object_type="fhir.bulk_export")
    assert reads.count() == 3
    details = sorted(reads.values_list("detail", flat=True))
    assert details[0] == f"FHIR bulk export {job.uuid}: Goal, 1 resources"
    assert all("Dana" not in d and "Example" not in d and "friend" not in d for d in details)
    assert set(reads.values_list("actor_id", flat=True)) == {personas.alice.pk}


def test_charlie_exports_nothing_of_alices_practice(
    client, personas, django_capture_on_commit_callbacks
):
    dana_record(personas)
    erin_course = make_course(personas.charlie, personas.erin)
    headers = bearer(personas.charlie, USER_READ)
    location = kick_off(client, django_capture_on_commit_callbacks, "/fhir/$export", headers)
    found = files(client, manifest(client, location, headers), headers)
    assert ids(found["Patient"]) == {str(personas.erin.uuid)}
    assert ids(found["CarePlan"]) == {str(erin_course.uuid)}
    assert ids(found["Organization"]) == {str(personas.other_practice.uuid)}
    text = json.dumps(found)
    for theirs in (personas.dana.uuid, personas.practice.uuid, "Riverside", "Dana"):
        assert str(theirs) not in text
    assert "Observation" not in found  # Erin has none, so no empty file


def test_danas_token_exports_only_her_own_record(
    client, personas, django_capture_on_commit_callbacks
):
    dana_record(personas)
    fay = make_client(personas.practice, personas.alice, given="Fay", family="Other")
    make_course(personas.alice, fay)
    dana_user = portal_user_for(personas.alice, personas.dana, "dana@example.test")
    headers = bearer(dana_user, "patient/*.read")
    location = kick_off(
        client, django_capture_on_commit_callbacks, "/fhir/Patient/$export", headers
    )
    found = files(client, manifest(client, location, headers), headers)
    assert ids(found["Patient"]) == {str(personas.dana.uuid)}
    assert len(found["CarePlan"]) == 1
    assert str(fay.uuid) not in json.dumps(found)
    assert "Practitioner" not in found  # the Patient level leaves shared types out


def test_type_gives_one_file(client, personas, django_capture_on_commit_callbacks):
    record = dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    location = kick_off(
        client, django_capture_on_commit_callbacks, "/fhir/Patient/$export", headers,
        _type="Observation",
    )  # fmt: skip
    body = manifest(client, location, headers)
    assert [(e["type"], e["count"]) for e in body["output"]] == [("Observation", 1)]
    assert ids(files(client, body, headers)["Observation"]) == {str(record.phq9.uuid)}


def test_since_exports_only_what_changed_since(
    client, personas, django_capture_on_commit_callbacks
):
    record = dana_record(personas)
    long_ago = timezone.now() - dt.timedelta(days=30)
    Administration.objects.filter(pk=record.phq9.pk).update(updated_at=long_ago)
    headers = bearer(personas.alice, USER_READ)
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    location = kick_off(
        client, django_capture_on_commit_callbacks, "/fhir/Patient/$export", headers, _since=since
    )
    found = files(client, manifest(client, location, headers), headers)
    assert "Observation" not in found
    assert "QuestionnaireResponse" not in found
    assert ids(found["Patient"]) == {str(personas.dana.uuid)}
    before = (long_ago - dt.timedelta(days=1)).isoformat()
    location = kick_off(
        client, django_capture_on_commit_callbacks, "/fhir/Patient/$export", headers, _since=before
    )
    found = files(client, manifest(client, location, headers), headers)
    assert ids(found["Observation"]) == {str(record.phq9.uuid)}


def test_a_group_is_a_clinicians_caseload(client, personas, django_capture_on_commit_callbacks):
    dana_record(personas)
    bob = Membership.objects.get(user=personas.bob)
    fay = make_client(personas.practice, personas.bob, given="Fay", family="Other")
    make_course(personas.bob, fay)
    headers = bearer(personas.bob, USER_READ)  # Alice's supervisor sees both caseloads
    alice = Membership.objects.get(user=personas.alice)
    location = kick_off(
        client, django_capture_on_commit_callbacks, f"/fhir/Group/{alice.uuid}/$export", headers
    )
    found = files(client, manifest(client, location, headers), headers)
    assert ids(found["Patient"]) == {str(personas.dana.uuid)}
    location = kick_off(
        client, django_capture_on_commit_callbacks, f"/fhir/Group/{bob.uuid}/$export", headers
    )
    found = files(client, manifest(client, location, headers), headers)
    assert ids(found["Patient"]) == {str(fay.uuid)}


def test_an_unknown_or_invisible_group_is_not_found(client, personas):
    headers = bearer(personas.alice, USER_READ)
    charlie = Membership.objects.get(user=personas.charlie)
    adam = Membership.objects.get(user=personas.adam)  # staff, but no clinician
    for group in (charlie.uuid, adam.uuid, "00000000-0000-0000-0000-000000000000", "nonsense"):
        response = client.get(f"/fhir/Group/{group}/$export", **headers, **ASYNC)
        assert response.status_code == 404, group
        assert json.loads(response.content)["resourceType"] == "OperationOutcome"
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize(
    ("params", "prefer", "status"),
    [
        ({}, None, 400),
        ({"_outputFormat": "application/fhir+json"}, "respond-async", 400),
        ({"_type": "Patient,Secret"}, "respond-async", 400),
        ({"_since": "2026-01-01"}, "respond-async", 400),
        ({"_since": "yesterday"}, "respond-async", 400),
        ({"_typeFilter": "Patient?name=x"}, "respond-async", 400),
        ({"_typeFilter": "Patient?name=x"}, "respond-async, handling=lenient", 202),
        ({"_outputFormat": "ndjson"}, "respond-async", 202),
        ({"_since": "2026-01-01T00:00:00+00:00"}, "respond-async", 202),
    ],
)
def test_kick_off_checks_its_request(client, personas, params, prefer, status):
    headers = bearer(personas.alice, USER_READ)
    extra = {"HTTP_PREFER": prefer} if prefer else {}
    response = client.get("/fhir/$export", params, **headers, **extra)
    assert response.status_code == status, response.content
    if status == 400:
        assert json.loads(response.content)["resourceType"] == "OperationOutcome"
        assert not ExportJob.objects.exists()
    else:  # accepted, and nothing exported inside the request
        assert ExportJob.objects.get().status == ExportJob.Status.QUEUED


def test_kick_off_needs_a_token_whose_scopes_allow_reading(
    client, personas, django_capture_on_commit_callbacks
):
    dana_record(personas)
    assert client.get("/fhir/$export", **ASYNC).status_code == 401
    observations = bearer(personas.alice, "user/Observation.read")
    refused = client.get("/fhir/$export", {"_type": "Patient"}, **observations, **ASYNC)
    assert refused.status_code == 403
    writes_only = bearer(personas.alice, "user/*.write")
    assert client.get("/fhir/$export", **writes_only, **ASYNC).status_code == 403
    location = kick_off(client, django_capture_on_commit_callbacks, "/fhir/$export", observations)
    body = manifest(client, location, observations)
    assert [e["type"] for e in body["output"]] == ["Observation"]


def test_only_the_user_who_asked_may_poll_or_download(
    client, personas, django_capture_on_commit_callbacks
):
    dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    location = kick_off(client, django_capture_on_commit_callbacks, "/fhir/$export", headers)
    url = manifest(client, location, headers)["output"][0]["url"]
    for someone in (personas.bob, personas.charlie):
        theirs = bearer(someone, USER_READ)
        assert client.get(location, **theirs).status_code == 404
        assert client.get(url, **theirs).status_code == 404
        assert client.delete(location, **theirs).status_code == 404
    assert client.get(location).status_code == 401
    assert client.get(url).status_code == 401
    assert (
        client.get(
            location.replace(location[-36:], "0" * 8 + "-0000-0000-0000-" + "0" * 12), **headers
        ).status_code
        == 404
    )
    assert client.get(url.rsplit("/", 1)[0] + "/Secret.ndjson", **headers).status_code == 404
    assert client.get(location, **headers).status_code == 200


def test_status_shows_progress_and_delete_cancels(
    client, personas, django_capture_on_commit_callbacks
):
    dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    location = kick_off(
        client, django_capture_on_commit_callbacks, "/fhir/$export", headers, run=False
    )
    waiting = client.get(location, **headers)
    assert waiting.status_code == 202
    assert waiting["X-Progress"]
    assert waiting["Retry-After"] == "5"
    assert client.delete(location, **headers).status_code == 202
    assert client.get(location, **headers).status_code == 404
    job = ExportJob.objects.get()
    assert bulk.export_job_run(str(job.uuid)) == "cancelled"
    job.refresh_from_db()
    assert job.status == ExportJob.Status.CANCELLED
    assert job.output == []


def test_delete_of_a_finished_export_deletes_its_files(
    client, personas, django_capture_on_commit_callbacks
):
    dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    location = kick_off(client, django_capture_on_commit_callbacks, "/fhir/$export", headers)
    job = ExportJob.objects.get()
    names = [e["name"] for e in job.output]
    assert names
    assert all(storages["exports"].exists(n) for n in names)
    assert client.delete(location, **headers).status_code == 202
    assert not any(storages["exports"].exists(n) for n in names)
    assert client.get(location, **headers).status_code == 404


def test_expired_exports_lose_their_files_and_answer_404(
    client, personas, django_capture_on_commit_callbacks, settings
):
    dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    location = kick_off(client, django_capture_on_commit_callbacks, "/fhir/$export", headers)
    url = manifest(client, location, headers)["output"][0]["url"]
    job = ExportJob.objects.get()
    names = [e["name"] for e in job.output]
    hours = settings.OPENIPT_EXPORT_RETENTION_HOURS
    ExportJob.objects.filter(pk=job.pk).update(
        finished_at=timezone.now() - dt.timedelta(hours=hours, minutes=1)
    )
    gone = client.get(location, **headers)  # past retention, even before the clean-up
    assert gone.status_code == 404
    assert "expired" in json.loads(gone.content)["issue"][0]["diagnostics"]
    assert tasks.delete_expired_exports.enqueue().return_value == 1
    assert not any(storages["exports"].exists(n) for n in names)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.EXPIRED
    assert bulk.delete_expired() == 0  # idempotent
    assert client.get(url, **headers).status_code == 404
    assert (
        "expired" in json.loads(client.get(location, **headers).content)["issue"][0]["diagnostics"]
    )


def test_a_fresh_export_is_kept_by_the_clean_up(
    client, personas, django_capture_on_commit_callbacks
):
    dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    location = kick_off(client, django_capture_on_commit_callbacks, "/fhir/$export", headers)
    assert bulk.delete_expired() == 0
    assert manifest(client, location, headers)["output"]


def test_a_user_who_lost_access_meanwhile_exports_nothing_of_those_clients(
    client, personas, django_capture_on_commit_callbacks
):
    dana_record(personas)
    headers = bearer(personas.alice, USER_READ)
    kick_off(
        client, django_capture_on_commit_callbacks, "/fhir/Patient/$export", headers, run=False
    )
    Membership.objects.filter(user=personas.alice).update(is_active=False)
    job = ExportJob.objects.get()
    assert bulk.export_job_run(str(job.uuid)) == "completed"
    job.refresh_from_db()
    assert job.output == []


def test_a_failed_export_answers_500_with_an_outcome(
    client, personas, django_capture_on_commit_callbacks, monkeypatch
):
    dana_record(personas)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(bulk, "write_type", broken)
    headers = bearer(personas.alice, USER_READ)
    location = kick_off(client, django_capture_on_commit_callbacks, "/fhir/$export", headers)
    response = client.get(location, **headers)
    assert response.status_code == 500
    outcome = valid_r4(json.loads(response.content))
    assert outcome["resourceType"] == "OperationOutcome"
    assert "disk full" not in response.content.decode()


def test_an_export_with_more_than_one_chunk_has_every_row_once(
    client, personas, django_capture_on_commit_callbacks, monkeypatch
):
    record = dana_record(personas)
    for number in range(2, 6):
        session = make_session(personas.alice, record.course, number, attendance="attended")
        measures.administration_enter(
            actor=personas.alice, course=record.course, instrument=phq9(),
            answers={str(n): "LA6568-5" for n in range(1, 10)}, session=session,
        )  # fmt: skip
    monkeypatch.setattr(bulk, "CHUNK", 2)
    headers = bearer(personas.alice, USER_READ)
    location = kick_off(
        client, django_capture_on_commit_callbacks, "/fhir/$export", headers,
        _type="Observation,Encounter",
    )  # fmt: skip
    found = files(client, manifest(client, location, headers), headers)
    assert len(found["Observation"]) == len(ids(found["Observation"])) == 5
    assert len(found["Encounter"]) == len(ids(found["Encounter"])) == 5
