"""The instrument table: built-ins after migrate, the loader, and practice imports."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from openipt.audit.models import AuditEvent
from openipt.measures.models import Instrument
from openipt.measures.services import instrument_import
from openipt.measures.tests.helpers import BUILT_IN_CODES, epds_resource, epds_text

pytestmark = pytest.mark.django_db


def test_built_ins_exist_after_migrate():
    codes = set(Instrument.objects.filter(practice__isnull=True).values_list("code", flat=True))
    assert codes == BUILT_IN_CODES
    phq9 = Instrument.objects.get(code="PHQ-9")
    assert (phq9.source, phq9.version, phq9.parsed.range_max) == ("built_in", "1.0.0", 27)


def test_load_instruments_is_idempotent_and_repairs_changed_rows():
    Instrument.objects.filter(code="GAD-7").update(title="Edited by hand")
    out = []
    call_command("load_instruments", stdout=_Sink(out))
    assert out[-1].strip().endswith(": 1")
    call_command("load_instruments", stdout=_Sink(out))
    assert out[-1].strip().endswith(": 0")
    assert Instrument.objects.get(code="GAD-7").title.startswith("Generalized Anxiety")
    assert Instrument.objects.count() == len(BUILT_IN_CODES)


def test_loader_creates_missing_built_ins():
    Instrument.objects.filter(code="WHO-5").delete()
    call_command("load_instruments", stdout=_Sink([]))
    assert Instrument.objects.filter(code="WHO-5", practice__isnull=True).exists()


def test_a_built_in_version_exists_once():
    with pytest.raises(IntegrityError), transaction.atomic():
        Instrument.objects.create(
            code="PHQ-9",
            version="1.0.0",
            title="x",
            url="https://x.test/q",
            source="built_in",
            definition={},
        )


def test_an_import_needs_a_practice_and_a_licence_confirmation(personas):
    with pytest.raises(IntegrityError), transaction.atomic():
        Instrument.objects.create(
            code="X",
            version="1",
            title="x",
            url="https://x.test/q",
            source="imported",
            practice=personas.practice,
            definition={},
        )


def test_admin_imports_a_licensed_questionnaire_with_one_audit_event(personas):
    before = AuditEvent.objects.count()
    instrument = instrument_import(
        actor=personas.adam,
        practice=personas.practice,
        file_content=epds_text(),
        licence_confirmed=True,
    )
    instrument.refresh_from_db()
    assert (instrument.code, instrument.source, instrument.practice) == (
        "EPDS",
        "imported",
        personas.practice,
    )
    assert instrument.licence_confirmed_by == personas.adam
    assert instrument.licence_confirmed_at is not None
    assert instrument.parsed.item("10").options[0].weight == 3
    events = AuditEvent.objects.order_by("id")[before:]
    assert [(e.action, e.object_id, e.client_id) for e in events] == [
        ("create", str(instrument.uuid), None),
    ]


def test_the_same_version_cannot_be_imported_twice(personas):
    kwargs = {"actor": personas.adam, "practice": personas.practice, "licence_confirmed": True}
    instrument_import(file_content=epds_text(), **kwargs)
    with pytest.raises(ValidationError) as excinfo:
        instrument_import(file_content=epds_text(), **kwargs)
    assert "Version 2024-01 of EPDS has already been imported." in excinfo.value.messages


def test_a_malformed_file_is_refused_whole_with_every_problem(personas):
    resource = epds_resource()
    resource["item"][0]["item"][0].pop("linkId")
    resource["version"] = ""
    before = (Instrument.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as excinfo:
        instrument_import(
            actor=personas.adam,
            practice=personas.practice,
            file_content=json.dumps(resource),
            licence_confirmed=False,
        )
    messages = excinfo.value.messages
    assert messages[0].startswith("Confirm that your practice holds a licence")
    assert "version is not in the form FHIR requires, not ''" in messages
    assert "item 'intro', item[0].linkId is missing (FHIR requires it)" in messages
    assert (Instrument.objects.count(), AuditEvent.objects.count()) == before


def test_an_import_may_not_reuse_a_built_in_code(personas):
    resource = epds_resource()
    resource["identifier"][0]["value"] = "PHQ-9"
    with pytest.raises(ValidationError, match="built-in instrument code"):
        instrument_import(
            actor=personas.adam,
            practice=personas.practice,
            file_content=json.dumps(resource),
            licence_confirmed=True,
        )


def test_an_oversized_file_is_refused_before_parsing(personas):
    with pytest.raises(ValidationError, match="larger than 1 MB"):
        instrument_import(
            actor=personas.adam,
            practice=personas.practice,
            file_content=" " * 1_000_001,
            licence_confirmed=True,
        )


@pytest.mark.parametrize("who", ["alice", "bob", "charlie"])
def test_only_an_admin_of_the_practice_may_import(personas, who):
    with pytest.raises(PermissionDenied):
        instrument_import(
            actor=getattr(personas, who),
            practice=personas.practice,
            file_content=epds_text(),
            licence_confirmed=True,
        )
    assert not Instrument.objects.filter(source="imported").exists()


class _Sink:
    def __init__(self, lines):
        self.lines = lines

    def write(self, text):
        self.lines.append(text)

    def flush(self):
        pass
