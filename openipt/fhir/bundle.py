"""Bundles, OperationOutcomes and the CapabilityStatement (docs/fhir-api.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlencode

from django.utils import timezone

from openipt.fhir import resources as r
from openipt.fhir.search import KINDS, Page

SOFTWARE = "OpenIPT"


def outcome(
    message: str, *, code: str = "invalid", severity: str = "error", field: str = ""
) -> r.Resource:
    """One problem, said plainly (``issue.diagnostics``), with its FHIR issue type."""
    issue: r.Resource = {"severity": severity, "code": code, "diagnostics": message}
    if field:
        issue["expression"] = [field]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcomes(messages: Sequence[tuple[str, str]], *, code: str = "invalid") -> r.Resource:
    """Several problems at once: (where, what) pairs, e.g. from a form's errors."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": code,
                "diagnostics": message,
                **({"expression": [where]} if where else {}),
            }
            for where, message in messages
        ],
    }


def _entry(base: str, resource: r.Resource, mode: str = "match") -> r.Resource:
    return {
        "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }


def searchset(
    *,
    base: str,
    resource_type: str,
    params: Mapping[str, list[str]],
    page: Page,
    resources: Iterable[r.Resource],
) -> r.Resource:
    """A page of search results with its ``self`` and ``next`` links."""
    kept = [(k, v) for k, values in params.items() for v in values if k != "_page"]
    url = f"{base}/{resource_type}"
    links = [{"relation": "self", "url": f"{url}?{urlencode(kept)}" if kept else url}]
    if page.next_cursor is not None:
        links.append(
            {"relation": "next", "url": f"{url}?{urlencode([*kept, ('_page', page.next_cursor)])}"}
        )
    entries = [_entry(base, resource) for resource in resources]
    if page.ignored:
        note = outcome(
            "Not supported here, so not used to filter: " + ", ".join(page.ignored) + ".",
            code="not-supported",
            severity="warning",
        )
        note["id"] = "ignored-parameters"
        entries.append({"resource": note, "search": {"mode": "outcome"}})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": {"lastUpdated": r.instant(timezone.now())},
        "total": page.total,
        "link": links,
        "entry": entries,
    }


def collection(
    *, base: str, resources: Iterable[r.Resource], bundle_type: str = "searchset"
) -> r.Resource:
    """Every resource of one record (``$everything``) in one Bundle."""
    entries = [_entry(base, resource) for resource in resources]
    return {
        "resourceType": "Bundle",
        "type": bundle_type,
        "meta": {"lastUpdated": r.instant(timezone.now())},
        "total": len(entries),
        "link": [{"relation": "self", "url": base}],
        "entry": entries,
    }


def capability_statement(*, base: str, oauth: Mapping[str, str]) -> r.Resource:
    """What this server does: the resources, their interactions and search parameters, and
    where SMART authorisation happens."""
    resources = []
    for name, kind in KINDS.items():
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if name == "QuestionnaireResponse":
            interactions += [{"code": "create"}, {"code": "update"}]
        entry: r.Resource = {
            "type": name,
            "interaction": interactions,
            "versioning": "versioned-update" if name == "QuestionnaireResponse" else "versioned",
            "searchParam": [
                {"name": param, "type": _param_type(param)} for param in sorted(kind.params)
            ],
        }
        if name == "QuestionnaireResponse":
            entry["conditionalCreate"] = False
        if name == "Patient":
            entry["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }
            ]
        resources.append(entry)
    security_extension = {
        "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
        "extension": [{"url": key, "valueUri": value} for key, value in oauth.items()],
    }
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.localdate().isoformat(),
        "kind": "instance",
        "software": {"name": SOFTWARE},
        "implementation": {"description": "OpenIPT FHIR API", "url": base},
        "fhirVersion": r.FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "extension": [security_extension],
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                },
                "resource": resources,
                # Bulk Data Access (docs/fhir-bulk.md): system, Patient and Group level.
                "operation": [
                    {
                        "name": name,
                        "definition": f"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/{name}",
                    }
                    for name in ("export", "patient-export", "group-export")
                ],
            }
        ],
    }


_PARAM_TYPES = {
    "_id": "token",
    "name": "string",
    "family": "string",
    "given": "string",
    "title": "string",
    "identifier": "token",
    "code": "token",
    "category": "token",
    "status": "token",
    "version": "token",
    "url": "uri",
    "questionnaire": "reference",
    "patient": "reference",
    "subject": "reference",
    "actor": "reference",
}


def _param_type(name: str) -> str:
    return _PARAM_TYPES.get(name, "date")
