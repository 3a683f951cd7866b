"""SMART App Launch authorisation: the code flow with PKCE, the approval rules, tokens
hashed at rest, the Grant the FHIR views use, app registration and revocation."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from openipt.api import smart
from openipt.api.models import SmartApp, TokenContext
from openipt.api.tests.conftest import REDIRECT_URI, sign_in_with_totp
from openipt.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


# --- helpers -----------------------------------------------------------------------------


def authorize_url(app, pkce, scope="user/*.rs offline_access", **extra) -> str:
    params = {
        "response_type": "code",
        "client_id": app.application.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "xyz-state",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return reverse("smart:authorize") + "?" + urlencode({k: v for k, v in params.items() if v})


def approve(http, app, pkce, scope="user/*.rs offline_access", **form):
    """Open the approval page, then post its own hidden fields with Approve."""
    page = http.get(authorize_url(app, pkce, scope))
    assert page.status_code == 200, page.content
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    data.update({"allow": "on", **form})
    return page, http.post(reverse("smart:authorize"), data)


def code_from(response):
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["xyz-state"]
    assert query["iss"] == ["http://testserver"]  # RFC 9207: which server answered
    return str(query["code"][0])


def exchange(app, code, verifier):
    return HttpClient().post(
        reverse("smart:token"),
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": app.application.client_id,
            "code_verifier": verifier,
        },
    )


def token_for(http, app, pkce, scope="user/*.rs offline_access", **form):
    _page, response = approve(http, app, pkce, scope, **form)
    answer = exchange(app, code_from(response), pkce.verifier)
    assert answer.status_code == 200, answer.content
    return answer.json()


def bearer(access_token: str):
    return RequestFactory().get("/fhir/Patient", HTTP_AUTHORIZATION=f"Bearer {access_token}")


# --- scopes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "context", "resource", "interactions"),
    [
        ("patient/*.read", "patient", "*", {"read", "search"}),
        (
            "user/QuestionnaireResponse.write",
            "user",
            "QuestionnaireResponse",
            {"create", "update", "delete"},
        ),
        (
            "patient/Observation.*",
            "patient",
            "Observation",
            {"create", "read", "update", "delete", "search"},
        ),
        ("patient/*.rs", "patient", "*", {"read", "search"}),
        ("user/QuestionnaireResponse.cu", "user", "QuestionnaireResponse", {"create", "update"}),
        ("user/Observation.c", "user", "Observation", {"create"}),
    ],
)
def test_smart_v1_and_v2_scopes_parse(text, context, resource, interactions):
    scope = smart.parse_scope(text)
    assert (scope.context, scope.resource_type, set(scope.interactions)) == (
        context,
        resource,
        interactions,
    )


@pytest.mark.parametrize(
    "text",
    [
        "patient/*.sr",
        "patient/*.rr",
        "system/*.rs",
        "patient/*.rs?category=x",
        "launch",
        "user/observation.read",
        "patient/*.",
        "read",
        "",
    ],
)
def test_unknown_scopes_are_refused(text):
    with pytest.raises(smart.ScopeError):
        smart.parse_scope(text)


def test_special_scopes_parse_and_are_described():
    scopes = smart.parse_scopes(["openid", "fhirUser", "launch/patient", "offline_access"])
    assert {s.text for s in scopes} == {"openid", "fhirUser", "launch/patient", "offline_access"}
    assert not any(s.is_resource for s in scopes)
    lines = smart.describe_scopes(
        ["patient/QuestionnaireResponse.rs", "patient/Observation.read"], for_client=True
    )
    assert lines == ["Read your scores", "Read your questionnaires and answers"]


# --- the whole code flow -----------------------------------------------------------------


def test_code_flow_with_pkce_gives_alice_a_working_token(personas, app, pkce, alice_mfa):
    page, response = approve(alice_mfa, app, pkce)
    assert b"Mood Diary" in page.content
    assert b"Read your clients&#x27; whole record" in page.content
    assert b"Approve" in page.content
    # The approval form may lead to the app's redirect address (CSP form-action).
    assert "https://app.example.test" in page["Content-Security-Policy"]
    assert b"Deny" in page.content
    token = exchange(app, code_from(response), pkce.verifier).json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert set(token["scope"].split()) == {"user/*.rs", "offline_access"}
    assert "patient" not in token

    grant = smart.authenticate(bearer(token["access_token"]))
    assert grant.user == personas.alice
    assert {s.text for s in grant.scopes} == {"user/*.rs", "offline_access"}
    assert grant.patient_id is None
    smart.require(grant, "Observation", "read")
    smart.require(grant, "Patient", "search")
    with pytest.raises(smart.AuthError) as refused:
        smart.require(grant, "QuestionnaireResponse", "create")
    assert refused.value.status == 403
    assert refused.value.code == "insufficient_scope"
    assert 'error="insufficient_scope"' in (refused.value.www_authenticate or "")


def test_the_code_works_once_and_only_with_its_verifier(personas, app, pkce, alice_mfa):
    _page, response = approve(alice_mfa, app, pkce)
    code = code_from(response)
    wrong = exchange(app, code, "not-the-verifier-" + "x" * 40)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert "access_token" not in wrong.json()
    assert not AccessToken.objects.exists()


def test_an_authorisation_without_pkce_or_with_plain_pkce_is_refused(app, pkce, alice_mfa):
    for extra in (
        {"code_challenge": "", "code_challenge_method": ""},
        {"code_challenge": pkce.verifier, "code_challenge_method": "plain"},
    ):
        url = authorize_url(app, pkce, **extra)
        response = alice_mfa.get(url)
        assert response.status_code == 302
        assert "error=invalid_request" in response["Location"]
        assert "code=" not in response["Location"]
    assert not Grant.objects.exists()


def test_a_code_exchanged_without_verifier_is_refused(app, pkce, alice_mfa):
    _page, response = approve(alice_mfa, app, pkce)
    answer = HttpClient().post(
        reverse("smart:token"),
        {
            "grant_type": "authorization_code",
            "code": code_from(response),
            "redirect_uri": REDIRECT_URI,
            "client_id": app.application.client_id,
        },
    )
    assert answer.status_code == 400
    assert "access_token" not in answer.json()


def test_a_confidential_app_exchanges_with_its_secret(personas, pkce, alice_mfa):
    registered = smart.app_register(
        actor=personas.adam, name="Server app", redirect_uris=[REDIRECT_URI], confidential=True
    )
    assert registered.secret
    stored = Application.objects.get(pk=registered.app.application_id).client_secret
    assert registered.secret not in stored  # only a hash is kept
    _page, response = approve(alice_mfa, registered.app, pkce)
    data = {
        "grant_type": "authorization_code",
        "code": code_from(response),
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pkce.verifier,
        "client_id": registered.app.application.client_id,
    }
    assert (
        HttpClient().post(reverse("smart:token"), {**data, "client_secret": "wrong"}).status_code
        == 401
    )
    _page, response = approve(alice_mfa, registered.app, pkce)
    data["code"] = code_from(response)
    answer = HttpClient().post(reverse("smart:token"), {**data, "client_secret": registered.secret})
    assert answer.status_code == 200, answer.content
    assert smart.authenticate(bearer(answer.json()["access_token"])).user == personas.alice


def test_refresh_tokens_rotate(personas, app, pkce, alice_mfa):
    token = token_for(alice_mfa, app, pkce)
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": token["refresh_token"],
        "client_id": app.application.client_id,
    }
    renewed = HttpClient().post(reverse("smart:token"), refresh)
    assert renewed.status_code == 200, renewed.content
    new = renewed.json()
    assert new["refresh_token"] != token["refresh_token"]
    assert smart.authenticate(bearer(new["access_token"])).user == personas.alice
    with pytest.raises(smart.AuthError):
        smart.authenticate(bearer(token["access_token"]))
    # Replaying the used refresh token is taken as theft: the whole family is revoked.
    assert HttpClient().post(reverse("smart:token"), refresh).status_code == 400
    with pytest.raises(smart.AuthError):
        smart.authenticate(bearer(new["access_token"]))


# --- authenticate() refusals -------------------------------------------------------------


def test_missing_expired_and_revoked_tokens_are_401(app, pkce, alice_mfa):
    with pytest.raises(smart.AuthError) as missing:
        smart.authenticate(RequestFactory().get("/fhir/Patient"))
    assert missing.value.status == 401
    assert missing.value.www_authenticate
    assert missing.value.www_authenticate.startswith("Bearer")
    with pytest.raises(smart.AuthError) as unknown:
        smart.authenticate(bearer("made-up-token"))
    assert unknown.value.status == 401
    assert 'error="invalid_token"' in (unknown.value.www_authenticate or "")

    token = token_for(alice_mfa, app, pkce)
    AccessToken.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(smart.AuthError) as expired:
        smart.authenticate(bearer(token["access_token"]))
    assert expired.value.status == 401

    token = token_for(alice_mfa, app, pkce)
    revoked = HttpClient().post(
        reverse("smart:revoke-token"),
        {"token": token["access_token"], "client_id": app.application.client_id},
    )
    assert revoked.status_code == 200
    with pytest.raises(smart.AuthError) as gone:
        smart.authenticate(bearer(token["access_token"]))
    assert gone.value.status == 401
    assert AuditEvent.objects.filter(detail="SMART token revoked").exists()


def test_a_token_in_the_query_string_is_not_accepted(app, pkce, alice_mfa):
    token = token_for(alice_mfa, app, pkce)
    request = RequestFactory().get(f"/fhir/Patient?access_token={token['access_token']}")
    with pytest.raises(smart.AuthError):
        smart.authenticate(request)


def test_no_cleartext_token_is_stored(app, pkce, alice_mfa):
    token = token_for(alice_mfa, app, pkce)
    secrets_issued = [token["access_token"], token["refresh_token"]]
    assert AccessToken.objects.count() == 1
    assert RefreshToken.objects.count() == 1
    assert set(AccessToken.objects.values_list("token", flat=True)) == {""}
    assert set(RefreshToken.objects.values_list("token", flat=True)) == {""}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - our own table names
            dump = repr(cursor.fetchall())
            for secret in secrets_issued:
                assert secret not in dump, table


def test_issuing_and_approving_are_audited(personas, app, pkce, alice_mfa):
    token_for(alice_mfa, app, pkce)
    details = list(
        AuditEvent.objects.filter(actor_id=personas.alice.pk).values_list("detail", flat=True)
    )
    assert "SMART app access approved: offline_access user/*.rs" in details
    assert any(d.startswith("SMART token issued") for d in details)
    assert AuditEvent.objects.filter(
        actor_id=personas.adam.pk, detail__startswith="SMART app registered"
    ).exists()


def test_denying_redirects_with_access_denied_and_is_audited(personas, app, pkce, alice_mfa):
    page = alice_mfa.get(authorize_url(app, pkce))
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    response = alice_mfa.post(reverse("smart:authorize"), data)
    assert response.status_code == 302
    assert "error=access_denied" in response["Location"]
    assert not Grant.objects.exists()
    assert AuditEvent.objects.filter(detail__startswith="SMART app access refused").exists()


# --- approval rules ----------------------------------------------------------------------


def test_a_session_without_mfa_cannot_approve(personas, app, pkce, client):
    client.force_login(personas.alice)  # she has an authenticator, but did not use it here
    page = client.get(authorize_url(app, pkce))
    assert page.status_code == 403
    assert b"Sign in again" in page.content
    data = {
        "client_id": app.application.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "user/*.rs",
        "allow": "on",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    assert client.post(reverse("smart:authorize"), data).status_code == 403
    assert not Grant.objects.exists()


def test_a_client_without_an_authenticator_is_sent_to_set_one_up(personas, app, pkce):
    from openipt.portal.tests.conftest import portal_user_for

    dana = portal_user_for(personas.alice, personas.dana, "dana@example.test")
    http = HttpClient()
    http.force_login(dana)
    page = http.get(authorize_url(app, pkce, "patient/*.rs"))
    assert page.status_code == 403
    assert reverse("mfa_activate_totp").encode() in page.content


def test_the_anonymous_are_sent_to_sign_in(app, pkce, client):
    response = client.get(authorize_url(app, pkce))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_charlie_cannot_approve_an_app_of_alices_practice(personas, app, pkce):
    http = sign_in_with_totp(HttpClient(), "charlie@hilltop.test")
    assert http.get(authorize_url(app, pkce)).status_code == 404
    assert not Grant.objects.exists()


def test_dana_approving_gets_her_own_record_as_patient(personas, app, pkce, dana_user):
    http = sign_in_with_totp(HttpClient(), "dana@example.test")
    scope = "launch/patient patient/*.rs user/*.read offline_access"
    page, response = approve(http, app, pkce, scope)
    assert b"Read your whole record" in page.content
    assert b'name="patient"' not in page.content  # nobody to choose: it is her record
    token = exchange(app, code_from(response), pkce.verifier).json()
    assert token["patient"] == str(personas.dana.uuid)
    grant = smart.authenticate(bearer(token["access_token"]))
    assert grant.user == dana_user
    assert grant.patient_id == personas.dana.pk
    assert grant.can("Observation", "read")

    renewed = (
        HttpClient()
        .post(
            reverse("smart:token"),
            {
                "grant_type": "refresh_token",
                "refresh_token": token["refresh_token"],
                "client_id": app.application.client_id,
            },
        )
        .json()
    )
    assert renewed["patient"] == str(personas.dana.uuid)  # the context survives a refresh
    assert smart.authenticate(bearer(renewed["access_token"])).patient_id == personas.dana.pk


def test_dana_asking_only_for_user_scopes_is_still_confined_to_herself(
    personas, app, pkce, dana_user
):
    http = sign_in_with_totp(HttpClient(), "dana@example.test")
    token = token_for(http, app, pkce, "user/*.read")
    assert token["patient"] == str(personas.dana.uuid)
    assert "refresh_token" not in token  # no offline_access asked for: no refresh token
    assert not RefreshToken.objects.exists()
    assert smart.authenticate(bearer(token["access_token"])).patient_id == personas.dana.pk


def test_alice_picks_dana_but_cannot_pick_erin(personas, app, pkce, alice_mfa):
    page = alice_mfa.get(authorize_url(app, pkce, "launch/patient patient/*.rs"))
    assert b"Work with one client you choose now" in page.content
    assert str(personas.dana.uuid).encode() in page.content
    assert str(personas.erin.uuid).encode() not in page.content
    shown = AuditEvent.objects.filter(action="read", actor_id=personas.alice.pk)
    assert shown.filter(detail="SMART approval, clients to choose from: 1 client(s)").exists()
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}

    erin = alice_mfa.post(
        reverse("smart:authorize"), {**data, "allow": "on", "patient": str(personas.erin.uuid)}
    )
    assert erin.status_code == 200
    assert not Grant.objects.exists()
    nobody = alice_mfa.post(reverse("smart:authorize"), {**data, "allow": "on"})
    assert nobody.status_code == 200
    assert b"Choose the client this app may work with." in nobody.content
    assert not Grant.objects.exists()

    dana = alice_mfa.post(
        reverse("smart:authorize"), {**data, "allow": "on", "patient": str(personas.dana.uuid)}
    )
    token = exchange(app, code_from(dana), pkce.verifier).json()
    assert token["patient"] == str(personas.dana.uuid)
    grant = smart.authenticate(bearer(token["access_token"]))
    assert grant.patient_id == personas.dana.pk
    assert grant.can("QuestionnaireResponse", "search")
    assert not grant.can("QuestionnaireResponse", "create")


def test_patient_scopes_without_a_patient_cover_nothing(personas):
    grant = smart.Grant(
        user=personas.alice,
        scopes=smart.parse_scopes(["patient/*.rs"]),
        patient_id=None,
        token_id=0,
    )
    assert not grant.can("Observation", "read")
    both = smart.Grant(
        user=personas.alice,
        scopes=smart.parse_scopes(["patient/Observation.rs", "user/Patient.rs"]),
        patient_id=None,
        token_id=0,
    )
    assert both.can("Patient", "read")
    assert not both.can("Observation", "read")


# --- the SMART configuration -------------------------------------------------------------


def test_smart_configuration_document(client):
    response = client.get("/fhir/.well-known/smart-configuration", HTTP_HOST="localhost")
    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == "http://localhost"
    assert document["authorization_endpoint"] == "http://localhost/oauth/authorize/"
    assert document["token_endpoint"] == "http://localhost/oauth/token/"
    assert document["revocation_endpoint"] == "http://localhost/oauth/revoke_token/"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["response_types_supported"] == ["code"]
    assert set(document["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",  # backend services (test_backend_services.py)
    }
    assert {"launch/patient", "offline_access", "patient/*.rs", "user/*.read"} <= set(
        document["scopes_supported"]
    )
    assert {
        "launch-standalone",
        "client-public",
        "client-confidential-symmetric",
        "context-standalone-patient",
        "permission-patient",
        "permission-user",
        "permission-v1",
        "permission-v2",
    } <= set(document["capabilities"])


# --- registering, disabling, revoking ----------------------------------------------------


def test_only_administrators_reach_the_app_pages(personas, client):
    client.force_login(personas.bob)
    assert client.get(reverse("smart:apps")).status_code == 404
    assert client.get(reverse("smart:app-register")).status_code == 404
    response = client.post(
        reverse("smart:app-register"),
        {"name": "Sneaky", "redirect_uris": REDIRECT_URI, "confidential": "1"},
    )
    assert response.status_code == 404
    assert not SmartApp.objects.exists()


def test_charlies_administrator_cannot_see_or_disable_riverside_apps(personas, app, client):
    from openipt.testing.personas import make_staff

    hilltop_admin = make_staff(personas.other_practice, "hank@hilltop.test", "Hank", admin=True)
    client.force_login(hilltop_admin)
    assert b"Mood Diary" not in client.get(reverse("smart:apps")).content
    assert client.get(reverse("smart:app-detail", kwargs={"uuid": app.uuid})).status_code == 404
    disable = reverse("smart:app-disable", kwargs={"uuid": app.uuid})
    assert client.post(disable).status_code == 404
    app.refresh_from_db()
    assert app.is_enabled


def test_registering_shows_the_secret_once(personas, client):
    client.force_login(personas.adam)
    assert client.get(reverse("smart:app-register")).status_code == 200
    refused = client.post(
        reverse("smart:app-register"),
        {"name": "Plain", "redirect_uris": "http://insecure.example/cb", "confidential": "1"},
    )
    assert refused.status_code == 200
    assert not SmartApp.objects.exists()
    response = client.post(
        reverse("smart:app-register"),
        {"name": "Outcome Hub", "redirect_uris": REDIRECT_URI, "confidential": "1"},
    )
    assert response.status_code == 302
    app = SmartApp.objects.get()
    first = client.get(response["Location"])
    assert b"shown only this once" in first.content
    secret = first.context["secret"]
    assert secret
    assert secret.encode() in first.content
    second = client.get(response["Location"])
    assert secret.encode() not in second.content
    assert app.application.client_id.encode() in second.content
    listing = client.get(reverse("smart:apps"))
    assert b"Outcome Hub" in listing.content


def test_disabling_an_app_revokes_its_tokens_and_stops_approvals(personas, app, pkce, alice_mfa):
    token = token_for(alice_mfa, app, pkce)
    admin = HttpClient()
    admin.force_login(personas.adam)
    response = admin.post(reverse("smart:app-disable", kwargs={"uuid": app.uuid}))
    assert response.status_code == 302
    with pytest.raises(smart.AuthError):
        smart.authenticate(bearer(token["access_token"]))
    assert alice_mfa.get(authorize_url(app, pkce)).status_code == 404
    refresh = HttpClient().post(
        reverse("smart:token"),
        {
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": app.application.client_id,
        },
    )
    assert refresh.status_code in (400, 401)
    assert AuditEvent.objects.filter(detail__startswith="SMART app disabled").exists()


def test_revoking_on_connected_apps_makes_the_token_fail(personas, app, pkce, alice_mfa):
    token = token_for(alice_mfa, app, pkce)
    page = alice_mfa.get(reverse("smart:connected"))
    assert page.status_code == 200
    assert b"Mood Diary" in page.content
    assert b"Read your clients&#x27; whole record" in page.content
    context = TokenContext.objects.get()
    assert str(context.uuid).encode() in page.content

    # Nobody else can revoke it.
    bob = HttpClient()
    bob.force_login(personas.bob)
    revoke = reverse("smart:connected-revoke", kwargs={"uuid": context.uuid})
    assert bob.post(revoke).status_code == 404
    assert smart.authenticate(bearer(token["access_token"])).user == personas.alice

    assert alice_mfa.post(revoke).status_code == 302
    with pytest.raises(smart.AuthError) as gone:
        smart.authenticate(bearer(token["access_token"]))
    assert gone.value.status == 401
    refresh = HttpClient().post(
        reverse("smart:token"),
        {
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": app.application.client_id,
        },
    )
    assert refresh.status_code == 400
    assert b"Mood Diary" not in alice_mfa.get(reverse("smart:connected")).content


def test_a_client_reaches_connected_apps(personas, app, pkce, dana_user):
    http = sign_in_with_totp(HttpClient(), "dana@example.test")
    token_for(http, app, pkce, "patient/*.rs")
    page = http.get(reverse("smart:connected"))
    assert page.status_code == 200
    assert b"Read your whole record" in page.content


def test_every_page_answers_each_persona_as_expected(personas, app, pkce, alice_mfa):
    """What a plain GET answers, by persona (the lines tests/test_permission_matrix.py
    needs), and that Charlie's POSTs to Alice's practice's records are 404."""
    from openipt.portal.tests.conftest import portal_user_for

    token_for(alice_mfa, app, pkce)
    token = {"uuid": TokenContext.objects.get().uuid}
    own_app = {"uuid": app.uuid}
    users = {
        "anonymous": None,
        "alice": personas.alice,
        "bob": personas.bob,
        "charlie": personas.charlie,
        "adam": personas.adam,
        "dana": portal_user_for(personas.alice, personas.dana, "dana@example.test"),
    }
    signed_in = dict.fromkeys(users, "404") | {"anonymous": "login"}
    expected = {
        ("smart:smart-configuration", None): dict.fromkeys(users, "200"),
        ("smart:token", None): dict.fromkeys(users, "405"),
        ("smart:revoke-token", None): dict.fromkeys(users, "405"),
        ("smart:authorize", None): signed_in,
        ("smart:apps", None): signed_in | {"adam": "200"},
        ("smart:app-register", None): signed_in | {"adam": "200"},
        ("smart:app-detail", "app"): signed_in | {"adam": "200"},
        ("smart:app-disable", "app"): dict.fromkeys(users, "405")
        | {"anonymous": "login", "dana": "404"},
        ("smart:connected", None): dict.fromkeys(users, "200") | {"anonymous": "login"},
        ("smart:connected-revoke", "token"): dict.fromkeys(users, "405") | {"anonymous": "login"},
    }
    wrong = []
    for (name, kind), answers in expected.items():
        kwargs = {"app": own_app, "token": token}.get(kind or "")
        url = reverse(name, kwargs=kwargs)
        for persona, outcome in answers.items():
            http = HttpClient()
            if users[persona] is not None:
                http.force_login(users[persona])
            response = http.get(url)
            actual = str(response.status_code)
            if response.status_code == 302 and response["Location"].startswith(
                reverse("account_login")
            ):
                actual = "login"
            if actual != outcome:
                wrong.append(f"{name} {persona}: expected {outcome}, got {actual}")
        if kind:
            charlie = HttpClient()
            charlie.force_login(personas.charlie)
            assert charlie.post(url).status_code in (404, 405), name
    assert wrong == []


def test_an_unregistered_redirect_address_is_never_followed(app, pkce, alice_mfa):
    url = authorize_url(app, pkce).replace("app.example.test", "evil.example.test")
    response = alice_mfa.get(url)
    assert response.status_code == 400
    assert b"This app cannot connect" in response.content
    assert "evil.example.test" not in response.get("Location", "")


def test_a_staff_token_stops_when_its_client_leaves_their_care(personas, app, pkce, alice_mfa):
    from openipt.clients.models import CareTeamMember

    token = token_for(
        alice_mfa, app, pkce, "launch/patient patient/*.rs", patient=str(personas.dana.uuid)
    )
    assert smart.authenticate(bearer(token["access_token"])).patient_id == personas.dana.pk
    CareTeamMember.objects.filter(client=personas.dana).update(is_active=False)
    with pytest.raises(smart.AuthError) as gone:
        smart.authenticate(bearer(token["access_token"]))
    assert gone.value.status == 401
