import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from openipt.audit.models import AuditEvent
from openipt.measures.models import Instrument
from openipt.measures.tests.helpers import epds_text

pytestmark = pytest.mark.django_db
URL = reverse("measures:instruments")


def _upload(text: str, name: str = "epds.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="application/json")


def test_admin_imports_a_licensed_questionnaire_and_sees_it_listed(client, personas):
    client.force_login(personas.adam)
    response = client.post(URL, {"file": _upload(epds_text()), "licence_confirmed": "on"})
    assert response.status_code == 302
    imported = Instrument.objects.get(practice=personas.practice)
    assert imported.licence_confirmed_by == personas.adam
    assert AuditEvent.objects.filter(action="create", object_id=str(imported.uuid)).exists()
    page = client.get(URL).content.decode()
    assert imported.code in page
    assert "PHQ-9" in page  # built-ins are listed too


def test_malformed_file_is_refused_whole_with_every_problem_listed(client, personas):
    client.force_login(personas.adam)
    broken = epds_text().replace('"linkId"', '"linkIdx"', 2)
    response = client.post(URL, {"file": _upload(broken), "licence_confirmed": "on"})
    assert response.status_code == 200
    assert "linkIdx is not an element FHIR allows here" in response.content.decode()
    assert not Instrument.objects.filter(practice=personas.practice).exists()


def test_licence_must_be_confirmed_and_file_must_be_json(client, personas):
    client.force_login(personas.adam)
    response = client.post(URL, {"file": _upload(epds_text(), name="epds.txt")})
    page = response.content.decode()
    assert "Please confirm the licence before importing." in page
    assert "Please choose a .json file." in page
    assert not Instrument.objects.filter(practice=personas.practice).exists()


def test_imports_stay_within_their_practice(client, personas):
    client.force_login(personas.adam)
    client.post(URL, {"file": _upload(epds_text()), "licence_confirmed": "on"})
    code = Instrument.objects.get(practice=personas.practice).code
    from openipt.testing.personas import make_staff

    other_admin = make_staff(personas.other_practice, "ops@hilltop.test", "Hill Admin", admin=True)
    other = Client()
    other.force_login(other_admin)
    assert code not in other.get(URL).content.decode()


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_only_admins_reach_the_library(client, personas, who):
    client.force_login(getattr(personas, who))
    assert client.get(URL).status_code == 404
