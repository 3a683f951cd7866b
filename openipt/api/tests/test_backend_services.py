"""SMART Backend Services as a practice's own system uses them: register its public keys,
sign a client assertion, get a five-minute token, read and export with the registering
administrator's eyes, never write, and stop when revoked or when that person stops being
an administrator."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken

from openipt.accounts.models import Membership, User
from openipt.api import backend, smart
from openipt.api.models import BackendExport, SmartApp, UsedAssertion
from openipt.api.tests.fhir_kit import bearer, dana_record, valid_r4
from openipt.audit.models import AuditEvent
from openipt.fhir.models import ExportJob
from openipt.testing.personas import Personas, make_staff
from openipt.treatment.tests.factories import make_course

pytestmark = pytest.mark.django_db

TOKEN_URL = "http://testserver/oauth/token/"
ASYNC = {"HTTP_PREFER": "respond-async"}
NDJSON = "application/fhir+ndjson"


# --- Keys, assertions, services -------------------------------------------------------


@dataclass(frozen=True)
class Key:
    private: Any
    jwk: dict[str, Any]  # the public JWK, as registered

    @property
    def kid(self) -> str:
        return str(self.jwk["kid"])

    @property
    def alg(self) -> str:
        return str(self.jwk["alg"])


def _rsa(kid: str, bits: int = 2048) -> Key:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    public = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return Key(private, {**public, "kid": kid, "alg": "RS384"})


def _ec(kid: str, curve: ec.EllipticCurve | None = None) -> Key:
    private = ec.generate_private_key(curve or ec.SECP384R1())
    public = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return Key(private, {**public, "kid": kid, "alg": "ES384"})


@pytest.fixture(scope="module")
def rsa_key() -> Key:
    return _rsa("rsa-2026")


@pytest.fixture(scope="module")
def ec_key() -> Key:
    return _ec("ec-2026")


@pytest.fixture(scope="module")
def stranger_key() -> Key:
    """A key nobody registered."""
    return _rsa("rsa-2026")


def jwks_of(*keys: Key) -> dict[str, Any]:
    return {"keys": [key.jwk for key in keys]}


def assertion(
    service: SmartApp,
    key: Key,
    *,
    kid: str | None = None,
    alg: str | None = None,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A client assertion as a backend service signs one (claims overridable; ``None``
    drops a claim)."""
    client_id = service.application.client_id
    body: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": int(time.time()) + 240,
        "jti": secrets.token_urlsafe(16),
    }
    body.update(claims)
    body = {name: value for name, value in body.items() if value is not None}
    return jwt.encode(
        body,
        key.private,
        algorithm=alg or key.alg,
        headers={"kid": kid or key.kid, "typ": "JWT", **(headers or {})},
    )


def ask(http, signed: str | None, scope: str | None = "system/*.read", **form: Any):
    """POST to the token endpoint as a backend service does."""
    data: dict[str, Any] = {"grant_type": "client_credentials"}
    if signed is not None:
        data["client_assertion_type"] = backend.ASSERTION_TYPE
        data["client_assertion"] = signed
    if scope is not None:
        data["scope"] = scope
    data.update(form)
    return http.post(reverse("smart:token"), data)


def token_of(http, service: SmartApp, key: Key, scope: str = "system/*.read") -> dict[str, str]:
    response = ask(http, assertion(service, key), scope)
    assert response.status_code == 200, response.content
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access_token']}"}


def refused(response, status: int, error: str, words: str = "") -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == error, body
    assert words in body.get("error_description", ""), body


def make_admin_clinician(personas: Personas) -> User:
    """Alice, given the administrator role: a practice whose administrator is also on
    Dana's care team, so that the service has something to read."""
    Membership.objects.filter(user=personas.alice).update(is_admin=True)
    return User.objects.get(pk=personas.alice.pk)


@pytest.fixture
def alice_admin(personas) -> User:
    return make_admin_clinician(personas)


@pytest.fixture
def service(alice_admin, rsa_key, ec_key) -> SmartApp:
    """Riverside's reporting system, registered by Alice with an RSA and an EC key."""
    return backend.backend_register(
        actor=alice_admin, name="Riverside reporting", jwks=jwks_of(rsa_key, ec_key)
    )


# --- The happy path -----------------------------------------------------------------------


def test_an_rsa_signed_assertion_gets_a_five_minute_token_that_reads_and_exports(
    client, personas, service, rsa_key, django_capture_on_commit_callbacks
):
    record = dana_record(personas)
    response = ask(client, assertion(service, rsa_key), "system/*.read")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "system/*.read"
    assert "refresh_token" not in body
    stored = AccessToken.objects.get(application=service.application)
    assert stored.user is None  # it acts for Alice, looked up at every use
    assert body["access_token"] not in (stored.token, stored.token_checksum)  # hashed at rest
    assert dt.timedelta(seconds=295) < stored.expires - timezone.now() <= dt.timedelta(seconds=300)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {body['access_token']}"}

    read = client.get(f"/fhir/Patient/{personas.dana.uuid}", **headers)
    assert read.status_code == 200, read.content
    valid_r4(read.json())

    with django_capture_on_commit_callbacks(execute=True):
        kicked = client.get("/fhir/$export", **headers, **ASYNC)
    assert kicked.status_code == 202, kicked.content
    location = kicked["Content-Location"]
    job = ExportJob.objects.get(uuid=location.rsplit("/", 1)[-1])
    assert job.level == "system"
    assert job.requested_by_id == personas.alice.pk
    assert BackendExport.objects.get(job=job).app == service
    kick_off = AuditEvent.objects.get(object_id=str(job.uuid), action="export")
    assert f"backend service {service.uuid}" in kick_off.detail
    manifest = client.get(location, **headers)
    assert manifest.status_code == 200, manifest.content
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in manifest.json()["output"]:
        raw = client.get(entry["url"], **headers)
        assert raw["Content-Type"] == NDJSON
        found[entry["type"]] = [
            json.loads(line) for line in b"".join(raw.streaming_content).splitlines()
        ]
    assert {res["id"] for res in found["Patient"]} == {str(personas.dana.uuid)}
    assert {res["id"] for res in found["CarePlan"]} == {str(record.course.uuid)}
    assert {res["id"] for res in found["Observation"]} == {str(record.phq9.uuid)}


def test_an_es384_key_works_too_and_v2_and_one_type_scopes_are_taken(
    client, personas, service, ec_key
):
    dana_record(personas)
    for scope in ("system/*.rs", "system/Observation.read", "system/Observation.rs"):
        headers = token_of(client, service, ec_key, scope)
        found = client.get("/fhir/Observation", **headers)
        assert found.status_code == 200, found.content
        assert found.json()["total"] == 1
    only_observations = token_of(client, service, ec_key, "system/Observation.read")
    other_type = client.get(f"/fhir/Patient/{personas.dana.uuid}", **only_observations)
    assert other_type.status_code == 403
    assert other_type.json()["resourceType"] == "OperationOutcome"
    assert 'scope="system/Patient.r"' in other_type["WWW-Authenticate"]


def test_a_group_export_is_a_clinicians_caseload(
    client, personas, service, rsa_key, django_capture_on_commit_callbacks
):
    dana_record(personas)
    headers = token_of(client, service, rsa_key)
    alice = Membership.objects.get(user=personas.alice)
    with django_capture_on_commit_callbacks(execute=True):
        kicked = client.get(f"/fhir/Group/{alice.uuid}/$export", **headers, **ASYNC)
    assert kicked.status_code == 202, kicked.content
    manifest = client.get(kicked["Content-Location"], **headers).json()
    patients = next(entry for entry in manifest["output"] if entry["type"] == "Patient")
    raw = b"".join(client.get(patients["url"], **headers).streaming_content)
    assert {json.loads(line)["id"] for line in raw.splitlines()} == {str(personas.dana.uuid)}


def test_a_patient_level_export_works_too(
    client, personas, service, rsa_key, django_capture_on_commit_callbacks
):
    dana_record(personas)
    headers = token_of(client, service, rsa_key)
    with django_capture_on_commit_callbacks(execute=True):
        kicked = client.get("/fhir/Patient/$export", {"_type": "Patient"}, **headers, **ASYNC)
    assert kicked.status_code == 202, kicked.content
    manifest = client.get(kicked["Content-Location"], **headers).json()
    assert [(e["type"], e["count"]) for e in manifest["output"]] == [("Patient", 1)]


def test_assertions_are_taken_at_the_token_endpoint_only(client, service, rsa_key):
    revoking = client.post(
        reverse("smart:revoke-token"),
        {
            "token": "anything",
            "client_assertion_type": backend.ASSERTION_TYPE,
            "client_assertion": assertion(service, rsa_key),
        },
    )
    refused(revoking, 401, "invalid_client", "token endpoint only")


def test_the_smart_configuration_advertises_backend_services(client):
    document = client.get("/fhir/.well-known/smart-configuration").json()
    assert "client-confidential-asymmetric" in document["capabilities"]
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert document["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert "client_credentials" in document["grant_types_supported"]
    assert {"system/*.read", "system/*.rs"} <= set(document["scopes_supported"])
    assert document["token_endpoint"] == TOKEN_URL


# --- Refused assertions ------------------------------------------------------------------


def test_an_assertion_signed_with_another_key_is_refused(client, service, stranger_key):
    # Same kid as the registered RSA key, but another key pair.
    refused(ask(client, assertion(service, stranger_key)), 401, "invalid_client", "signature")
    assert not AccessToken.objects.exists()


def test_an_assertion_for_another_audience_is_refused(client, service, rsa_key):
    signed = assertion(service, rsa_key, aud="http://testserver/fhir/")
    refused(ask(client, signed), 401, "invalid_client", "aud must be the token endpoint")


def test_an_assertion_that_lasts_more_than_five_minutes_is_refused(client, service, rsa_key):
    signed = assertion(service, rsa_key, exp=int(time.time()) + 600)
    refused(ask(client, signed), 401, "invalid_client", "five minutes")


def test_an_expired_assertion_is_refused(client, service, rsa_key):
    signed = assertion(service, rsa_key, exp=int(time.time()) - 60)
    refused(ask(client, signed), 401, "invalid_client", "expired")


def test_a_replayed_assertion_is_refused(client, service, rsa_key):
    signed = assertion(service, rsa_key)
    assert ask(client, signed).status_code == 200
    refused(ask(client, signed), 401, "invalid_client", "used before")
    # The same jti in a freshly signed assertion is a replay too.
    jti = UsedAssertion.objects.get(app=service).jti
    refused(ask(client, assertion(service, rsa_key, jti=jti)), 401, "invalid_client", "used")
    assert AccessToken.objects.filter(application=service.application).count() == 1


def test_used_jtis_are_kept_until_they_expire_and_then_forgotten(client, service, rsa_key):
    ask(client, assertion(service, rsa_key, exp=int(time.time()) + 60))
    kept = UsedAssertion.objects.get(app=service)
    assert kept.expires_at > timezone.now()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10)):
        assert ask(client, assertion(service, rsa_key)).status_code == 200
    assert not UsedAssertion.objects.filter(pk=kept.pk).exists()


def test_an_unknown_kid_is_refused(client, service, rsa_key):
    signed = assertion(service, rsa_key, kid="not-registered")
    refused(ask(client, signed), 401, "invalid_client", "kid")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"alg": "RS256"}, "RS384 or ES384"),
        ({"headers": {"jku": "https://evil.example/jwks.json"}}, "jku"),
        ({"sub": "someone-else"}, "sub must be the client id"),
        ({"iss": "unknown-client"}, "No enabled backend service"),
        ({"jti": None}, "no jti claim"),
        ({"exp": None}, "no exp claim"),
    ],
)
def test_other_broken_assertions_are_refused(client, service, rsa_key, change, words):
    refused(ask(client, assertion(service, rsa_key, **change)), 401, "invalid_client", words)


def test_an_rsa_key_cannot_sign_for_the_ec_kid(client, service, rsa_key, ec_key):
    signed = assertion(service, rsa_key, kid=ec_key.kid)  # RS384 under the ES384 key's kid
    refused(ask(client, signed), 401, "invalid_client", "kid")


def test_without_an_assertion_the_client_credentials_grant_is_refused(
    client, personas, service, rsa_key
):
    refused(ask(client, None), 401, "invalid_client", "client_assertion")
    wrong_type = ask(client, assertion(service, rsa_key), client_assertion_type="basic")
    refused(wrong_type, 401, "invalid_client", "client_assertion_type")
    # A confidential SMART app with a secret does not get client credentials either.
    registered = smart.app_register(
        actor=personas.adam,
        name="Outcome Hub",
        redirect_uris=["https://app.example.test/callback"],
        confidential=True,
    )
    pair = f"{registered.app.application.client_id}:{registered.secret}".encode()
    basic = client.post(
        reverse("smart:token"),
        {"grant_type": "client_credentials", "scope": "system/*.read"},
        HTTP_AUTHORIZATION=f"Basic {base64.b64encode(pair).decode()}",
    )
    refused(basic, 401, "invalid_client")


@pytest.mark.parametrize(
    "scope",
    [
        "user/*.read",
        "patient/*.read",
        "system/*.read user/*.read",
        "system/*.write",
        "system/*.cruds",
        "system/QuestionnaireResponse.c",
        "system/Unknown.read",
        "launch/patient",
        "offline_access",
        "",
    ],
)
def test_only_system_read_scopes_are_granted(client, service, rsa_key, scope):
    refused(ask(client, assertion(service, rsa_key), scope), 400, "invalid_scope", "system/")
    assert not AccessToken.objects.exists()


def test_a_launch_app_cannot_ask_for_system_scopes(personas):
    with pytest.raises(smart.ScopeError):
        smart.parse_scopes(["system/*.read"])
    with pytest.raises(smart.ScopeError):
        smart.parse_system_scopes(["user/*.read"])


# --- Writes, isolation, revocation, demotion -------------------------------------------------


def test_a_backend_service_never_writes(client, personas, service, rsa_key):
    record = dana_record(personas)
    headers = token_of(client, service, rsa_key, "system/*.rs")
    created = client.post(
        "/fhir/QuestionnaireResponse", "{}", content_type="application/fhir+json", **headers
    )
    assert created.status_code == 403, created.content
    assert created.json()["resourceType"] == "OperationOutcome"
    assert created.json()["issue"][0]["code"] == "forbidden"
    changed = client.put(
        f"/fhir/QuestionnaireResponse/{record.phq9.uuid}",
        "{}",
        content_type="application/fhir+json",
        **headers,
    )
    assert changed.status_code == 403
    assert changed.json()["resourceType"] == "OperationOutcome"


def test_charlies_practice_is_never_visible(
    client, personas, service, rsa_key, django_capture_on_commit_callbacks
):
    dana_record(personas)
    make_course(personas.charlie, personas.erin)
    headers = token_of(client, service, rsa_key)
    assert client.get(f"/fhir/Patient/{personas.erin.uuid}", **headers).status_code == 404
    listed = client.get("/fhir/Patient", **headers).json()
    assert [e["resource"]["id"] for e in listed.get("entry", [])] == [str(personas.dana.uuid)]
    with django_capture_on_commit_callbacks(execute=True):
        kicked = client.get("/fhir/$export", **headers, **ASYNC)
    manifest = client.get(kicked["Content-Location"], **headers).json()
    everything = b"".join(
        b"".join(client.get(entry["url"], **headers).streaming_content)
        for entry in manifest["output"]
    ).decode()
    for theirs in (personas.erin.uuid, personas.other_practice.uuid, "Hilltop", "Erin"):
        assert str(theirs) not in everything
    # And Hilltop's own service, registered by Hilltop's administrator, sees no Riverside.
    hilltop_admin = make_staff(
        personas.other_practice, "hana@hilltop.test", "Hana Admin", admin=True
    )
    theirs = backend.backend_register(actor=hilltop_admin, name="Hilltop BI", jwks=jwks_of(rsa_key))
    their_headers = token_of(client, theirs, rsa_key)
    assert client.get(f"/fhir/Patient/{personas.dana.uuid}", **their_headers).status_code == 404
    assert client.get(kicked["Content-Location"], **their_headers).status_code == 404


def test_a_revoked_service_loses_its_tokens_and_gets_no_new_one(client, personas, service, rsa_key):
    headers = token_of(client, service, rsa_key)
    assert client.get("/fhir/Patient", **headers).status_code == 200
    smart.app_disable(actor=personas.adam, app=service)
    gone = client.get("/fhir/Patient", **headers)
    assert gone.status_code == 401
    assert gone.json()["resourceType"] == "OperationOutcome"
    refused(ask(client, assertion(service, rsa_key)), 401, "invalid_client")


def test_a_demoted_or_deactivated_administrator_takes_the_service_down(
    client, personas, service, rsa_key
):
    headers = token_of(client, service, rsa_key)
    Membership.objects.filter(user=personas.alice).update(is_admin=False)
    demoted = client.get("/fhir/Patient", **headers)
    assert demoted.status_code == 401
    assert "no longer administers" in demoted.json()["issue"][0]["diagnostics"]
    refused(ask(client, assertion(service, rsa_key)), 401, "invalid_client", "no longer")
    Membership.objects.filter(user=personas.alice).update(is_admin=True)
    headers = token_of(client, service, rsa_key)
    User.objects.filter(pk=personas.alice.pk).update(is_active=False)
    assert client.get("/fhir/Patient", **headers).status_code == 401


def test_the_token_stops_after_five_minutes(client, service, rsa_key):
    headers = token_of(client, service, rsa_key)
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=301)):
        assert client.get("/fhir/Patient", **headers).status_code == 401


def test_exports_of_a_service_and_of_its_administrator_are_kept_apart(
    client, personas, service, rsa_key, django_capture_on_commit_callbacks
):
    dana_record(personas)
    service_headers = token_of(client, service, rsa_key)
    alice_headers = bearer(personas.alice, "user/*.read")
    with django_capture_on_commit_callbacks(execute=True):
        by_service = client.get("/fhir/$export", **service_headers, **ASYNC)["Content-Location"]
        by_alice = client.get("/fhir/$export", **alice_headers, **ASYNC)["Content-Location"]
    assert client.get(by_service, **service_headers).status_code == 200
    assert client.get(by_alice, **alice_headers).status_code == 200
    assert client.get(by_service, **alice_headers).status_code == 404
    assert client.get(by_alice, **service_headers).status_code == 404
    # A new token of the same service polls its export (tokens last five minutes).
    assert client.get(by_service, **token_of(client, service, rsa_key)).status_code == 200


# --- Audit ---------------------------------------------------------------------------------


def test_tokens_reads_and_downloads_are_audited_naming_the_service(
    client, personas, service, rsa_key, django_capture_on_commit_callbacks
):
    dana_record(personas)
    headers = token_of(client, service, rsa_key)
    issued = AuditEvent.objects.get(object_type="api.accesstoken", action=AuditEvent.Action.CREATE)
    assert issued.actor_id == personas.alice.pk
    assert str(service.uuid) in issued.detail
    assert "system/*.read" in issued.detail

    client.get(f"/fhir/Patient/{personas.dana.uuid}", **headers)
    read = AuditEvent.objects.filter(action=AuditEvent.Action.READ).latest("id")
    assert read.client_id == personas.dana.pk
    assert read.actor_id == personas.alice.pk
    assert read.detail == (f"FHIR Patient; backend service {service.uuid} (Riverside reporting)")

    client.get("/fhir/Observation", **headers)
    search = AuditEvent.objects.filter(action=AuditEvent.Action.READ).latest("id")
    assert f"backend service {service.uuid}" in search.detail

    with django_capture_on_commit_callbacks(execute=True):
        kicked = client.get("/fhir/$export", **headers, **ASYNC)
    manifest = client.get(kicked["Content-Location"], **headers).json()
    b"".join(client.get(manifest["output"][0]["url"], **headers).streaming_content)
    download = AuditEvent.objects.filter(object_type="fhir.bulk_export").latest("id")
    assert download.action == AuditEvent.Action.READ
    assert f"backend service {service.uuid}" in download.detail
    assert "Dana" not in download.detail


def test_registering_and_revoking_are_audited(personas, alice_admin, rsa_key):
    app = backend.backend_register(actor=alice_admin, name="Nightly", jwks=jwks_of(rsa_key))
    smart.app_disable(actor=alice_admin, app=app)
    events = AuditEvent.objects.filter(object_id=str(app.uuid), action=AuditEvent.Action.ADMIN)
    details = sorted(events.values_list("detail", flat=True))
    assert details == [
        "SMART app disabled; 0 token(s) revoked",
        f"SMART backend service registered; keys: {rsa_key.kid}",
    ]


# --- The pages -------------------------------------------------------------------------------


def test_an_administrator_registers_a_service_on_the_apps_pages(client, personas, rsa_key, ec_key):
    client.force_login(personas.adam)
    page = reverse("smart:app-register") + "?kind=backend"
    assert client.get(page).status_code == 200
    with_private = {**rsa_key.jwk, "d": "AQAB"}
    bad = client.post(page, {"name": "BI", "jwks": json.dumps({"keys": [with_private]})})
    assert bad.status_code == 200
    assert b"private part" in bad.content
    assert not SmartApp.objects.exists()
    response = client.post(
        page, {"name": "Riverside BI", "jwks": json.dumps(jwks_of(rsa_key, ec_key))}
    )
    assert response.status_code == 302, response.content
    app = SmartApp.objects.get()
    assert app.is_backend
    assert app.registered_by_id == personas.adam.pk
    assert app.practice_id == personas.practice.pk
    assert app.application.authorization_grant_type == "client-credentials"
    detail = client.get(response["Location"])
    assert detail.status_code == 200
    for text in (app.application.client_id, rsa_key.kid, ec_key.kid, TOKEN_URL, "Adam Admin"):
        assert text.encode() in detail.content
    listing = client.get(reverse("smart:apps"))
    assert b"Riverside BI" in listing.content
    assert b"Backend service" in listing.content
    connected = client.get(reverse("smart:connected"))
    assert b"Riverside BI" in connected.content
    revoked = client.post(reverse("smart:app-disable", args=[app.uuid]))
    assert revoked.status_code == 302
    app.refresh_from_db()
    assert not app.is_enabled


def test_a_non_administrator_cannot_register_a_service(client, personas, rsa_key):
    client.force_login(personas.alice)  # a clinician, not an administrator
    page = reverse("smart:app-register") + "?kind=backend"
    assert client.get(page).status_code == 404
    posted = client.post(page, {"name": "Mine", "jwks": json.dumps(jwks_of(rsa_key))})
    assert posted.status_code == 404
    with pytest.raises(PermissionError):
        backend.backend_register(actor=personas.alice, name="Mine", jwks=jwks_of(rsa_key))
    assert not SmartApp.objects.exists()


def test_a_backend_service_is_never_offered_for_approval(personas, service):
    alice = Membership.objects.get(user=personas.alice)
    assert smart.app_for_approval(alice, service.application.client_id) is None


# --- Key sets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ("not json", "not JSON"),
        ('{"keys": []}', "Paste a JWKS"),
        ("[1, 2]", "Paste a JWKS"),
    ],
)
def test_unreadable_key_sets_are_refused(keys, words):
    with pytest.raises(backend.JwksError, match=words):
        backend.jwks_parse(keys)


def test_key_sets_hold_only_good_public_signing_keys(rsa_key, ec_key):
    def check(*keys: dict[str, Any]) -> str:
        with pytest.raises(backend.JwksError) as refused_set:
            backend.jwks_parse(json.dumps({"keys": list(keys)}))
        return str(refused_set.value)

    no_kid = {k: v for k, v in rsa_key.jwk.items() if k != "kid"}
    assert "kid" in check(no_kid)
    assert "Two keys" in check(rsa_key.jwk, {**ec_key.jwk, "kid": rsa_key.kid})
    assert "RS384" in check({**rsa_key.jwk, "alg": "RS256"})
    assert "P-384" in check(_ec("p256", ec.SECP256R1()).jwk | {"alg": "ES384"})
    assert "2048" in check(_rsa("short", 1024).jwk)
    assert "signing key" in check({**rsa_key.jwk, "use": "enc"})
    assert "private part" in check({"kty": "oct", "k": "c2VjcmV0", "kid": "shared"})
    assert "neither" in check(
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7T", "kid": "ed"}
    )
    assert "cannot be read" in check({**rsa_key.jwk, "n": "!!"})
    # One key pasted on its own is a set of one; a missing alg is the kty's.
    bare = {k: v for k, v in ec_key.jwk.items() if k != "alg"}
    assert backend.jwks_parse(json.dumps(bare)) == {"keys": [ec_key.jwk]}
