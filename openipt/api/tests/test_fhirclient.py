"""A real FHIR client library (``fhirclient``, SMART on FHIR's own Python client) against the
running server: it discovers the server from the CapabilityStatement, authorises through
SMART (PKCE, Alice's approval after a sign-in with her authenticator), searches Patients,
and reads a QuestionnaireResponse and the Observation derived from it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client as HttpClient
from fhirclient import client as fhir
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirclient.models.questionnaireresponse import QuestionnaireResponse

from openipt.api.tests.conftest import REDIRECT_URI, sign_in_with_totp
from openipt.api.tests.fhir_kit import dana_record

pytestmark = pytest.mark.django_db(transaction=True)


def test_fhirclient_connects_through_smart_and_reads_the_record(live_server, personas, app):
    record = dana_record(personas)
    smart = fhir.FHIRClient(
        settings={
            "app_id": app.application.client_id,
            "api_base": f"{live_server.url}/fhir",
            "redirect_uri": REDIRECT_URI,
            "scope": "user/*.read offline_access",
        }
    )
    assert not smart.ready
    authorize = urlsplit(smart.authorize_url)  # read from the CapabilityStatement
    assert authorize.path == "/oauth/authorize/"

    browser = sign_in_with_totp(HttpClient(), "alice@riverside.test")
    page = browser.get(f"{authorize.path}?{authorize.query}")
    assert page.status_code == 200, page.content
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    # fhirclient asks for a patient launch (``launch/patient``): Alice picks Dana.
    assert "launch/patient" in form["scope"]
    approved = browser.post(
        authorize.path, {**form, "allow": "on", "patient": str(personas.dana.uuid)}
    )
    assert approved.status_code == 302, approved.content
    smart.handle_callback(approved["Location"])  # the code exchanged, with the verifier
    assert smart.ready
    assert smart.patient_id == str(personas.dana.uuid)

    patients = list(Patient.where(struct={"name": "Dana"}).perform_resources_iter(smart.server))
    assert [p.id for p in patients] == [str(personas.dana.uuid)]
    assert patients[0].name[0].family == "Example"
    assert list(Patient.where(struct={"name": "Erin"}).perform_resources_iter(smart.server)) == []

    response = QuestionnaireResponse.read(str(record.phq9.uuid), smart.server)
    assert response.status == "completed"
    assert response.subject.reference == f"Patient/{personas.dana.uuid}"
    observation = Observation.read(str(record.phq9.uuid), smart.server)
    assert observation.derivedFrom[0].reference == f"QuestionnaireResponse/{response.id}"
    assert observation.valueQuantity.value == 6
    assert any(c.code == "44261-6" for c in observation.code.coding)
