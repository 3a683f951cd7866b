"""A client's whole record as FHIR (``Patient/<id>/$everything``, and the client's own
download from the portal): the Patient, their practice and clinicians, every course
(CarePlan) with its goals and sessions (Encounter), appointments, questionnaire responses
with their scores (Observation) and the questionnaires answered. Never the process note:
no mapping in openipt/fhir/resources.py reads it."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from django.db.models import Q

from openipt.clients.models import Client
from openipt.fhir import resources as r
from openipt.fhir.search import KINDS, Reader

#: In this order; each kind's rows for the one client, oldest first.
ORDER = (
    ("CarePlan", "client"),
    ("Goal", "course__client"),
    ("Encounter", "course__client"),
    ("Appointment", "client"),
    ("QuestionnaireResponse", "client"),
    ("Observation", "client"),
)


def everything(
    reader: Reader, client: Client, *, types: Collection[str] | None = None
) -> Iterator[r.Resource]:
    """Every resource of ``client`` that ``reader`` may see (nothing if not the client),
    of the resource ``types`` given (a token's scopes), or of every type."""

    def wanted(name: str) -> bool:
        return types is None or name in types

    patient = KINDS["Patient"].rows(reader).filter(pk=client.pk)
    rows = list(patient)
    if not rows:
        return
    if wanted("Patient"):
        yield from KINDS["Patient"].render(rows)
    if wanted("Organization"):
        yield from KINDS["Organization"].render(list(KINDS["Organization"].rows(reader)))
    clinicians = (
        KINDS["Practitioner"]
        .rows(reader)
        .filter(Q(courses__client=client) | Q(appointments__client=client))
        .distinct()
    )
    if wanted("Practitioner"):
        yield from KINDS["Practitioner"].render(list(clinicians.order_by("pk")))
    instrument_ids: set[int] = set()
    for name, path in ORDER:
        kind = KINDS[name]
        if not wanted(name):
            continue
        found = list(kind.rows(reader).filter(**{path: client}).order_by("pk"))
        if name == "QuestionnaireResponse":
            instrument_ids.update(row.instrument_id for row in found)
        yield from kind.render(found)
    if wanted("Questionnaire"):
        questionnaires = KINDS["Questionnaire"].rows(reader).filter(pk__in=instrument_ids)
        yield from KINDS["Questionnaire"].render(list(questionnaires.order_by("pk")))
