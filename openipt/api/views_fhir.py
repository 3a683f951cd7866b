"""The FHIR R4 API under ``/fhir/`` (docs/fhir-api.md): JSON only, bearer tokens only.

Every answer is ``application/fhir+json``; every refusal an OperationOutcome. A request
reads with the eyes of its token's user (``openipt.fhir.search.Reader``), under the same
policy as the pages, and every read and write is audited as a page view is. A backend
service's token reads only, with its administrator's eyes; its reads name the service.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from openipt.accounts.middleware import practice_zone
from openipt.api import smart
from openipt.audit.services import record_list_read, record_read
from openipt.core.submissions import TOKEN, KeyReused, StillRunning, run_once
from openipt.fhir import bundle, everything, search, writes
from openipt.fhir import resources as r
from openipt.measures.models import Administration

CONTENT_TYPE = "application/fhir+json; charset=utf-8"
FhirView = Callable[..., HttpResponse]


def fhir_response(
    resource: Mapping[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    response = HttpResponse(
        json.dumps(resource, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type=CONTENT_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def problem(
    status: int, message: str, *, code: str = "invalid", headers: Mapping[str, str] | None = None
) -> HttpResponse:
    return fhir_response(bundle.outcome(message, code=code), status=status, headers=headers)


XML = ("xml", "text/xml", "application/xml", "application/fhir+xml")


def _refuse_format(request: HttpRequest) -> HttpResponse | None:
    """406 for a caller that asks for XML only: this server speaks JSON."""
    wanted = request.GET.get("_format", "").lower()
    accept = request.headers.get("Accept", "").lower()
    json_ok = not accept or "json" in accept or "*/*" in accept
    if wanted in XML or (not wanted and not json_ok and "xml" in accept):
        return problem(406, "Only JSON is served (application/fhir+json).", code="not-supported")
    return None


def _body(request: HttpRequest) -> tuple[Any, HttpResponse | None]:
    """The JSON body, or the 400 that says it is not JSON (or nested beyond reading)."""
    try:
        return json.loads(request.body or b"null"), None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, problem(400, "The body is not JSON that can be read.", code="structure")


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("/metadata")


def _params(request: HttpRequest) -> dict[str, list[str]]:
    return {key: request.GET.getlist(key) for key in request.GET}


READS = frozenset({"read", "search"})


def with_grant(interaction: str) -> Callable[[FhirView], FhirView]:
    """Authenticate the bearer token, check its scopes for the resource type, and run the
    view on the practice's clock with the token's reader."""

    def decorate(view: FhirView) -> FhirView:
        @wraps(view)
        def wrapped(
            request: HttpRequest, resource_type: str, *args: Any, **kwargs: Any
        ) -> HttpResponse:
            refused = _refuse_format(request)
            if refused is not None:
                return refused
            kind = search.KINDS.get(resource_type)
            if kind is None:
                return problem(
                    404,
                    f"{resource_type} is not a resource type served here.",
                    code="not-supported",
                )
            try:
                grant = smart.authenticate(request)
                if grant.reads_only and interaction not in READS:
                    return problem(
                        403,
                        "A backend service reads and exports only; it cannot change records.",
                        code="forbidden",
                    )
                smart.require(grant, resource_type, interaction)
            except smart.AuthError as error:
                headers = (
                    {"WWW-Authenticate": error.www_authenticate} if error.www_authenticate else {}
                )
                return problem(error.status, error.message, code=error.code, headers=headers)
            reader = search.reader_for(grant.user, grant.patient_id)
            zone = practice_zone(reader.membership)
            with timezone.override(zone):
                return view(request, kind, reader, grant, *args, **kwargs)

        return csrf_exempt(wrapped)

    return decorate


def _audit_read(
    request: HttpRequest,
    reader: search.Reader,
    kind: search.Kind,
    rows: list[Model],
    grant: smart.Grant,
) -> None:
    """One read event: for the client when every row is one client's, else one list read.
    A backend service's read names the service."""
    clients = {c.pk: c for c in (kind.client_of(row) for row in rows) if c is not None}
    via = grant.via()
    if len(clients) == 1:
        (client,) = clients.values()
        obj = rows[0] if len(rows) == 1 else None
        record_read(request, client, obj, actor=reader.user, detail=f"FHIR {kind.name}{via}")
        return
    record_list_read(
        request,
        actor=reader.user,
        practice_id=reader.practice_id,
        object_type=f"fhir.{kind.name}"[:60],
        detail=f"FHIR {kind.name}: {len(rows)} shown, of {len(clients)} clients{via}",
    )


@csrf_exempt
def metadata(request: HttpRequest) -> HttpResponse:
    """The CapabilityStatement: public, as FHIR expects, so that a client can discover the
    server and where to authorise."""
    if request.method not in ("GET", "HEAD"):
        return problem(405, "Read the capability statement with GET.", code="not-supported")
    refused = _refuse_format(request)
    if refused is not None:
        return refused
    oauth = {
        "authorize": request.build_absolute_uri(reverse("smart:authorize")),
        "token": request.build_absolute_uri(reverse("smart:token")),
        "revoke": request.build_absolute_uri(reverse("smart:revoke-token")),
    }
    return fhir_response(bundle.capability_statement(base=base_url(request), oauth=oauth))


@with_grant("search")
def _search(
    request: HttpRequest, kind: search.Kind, reader: search.Reader, grant: smart.Grant
) -> HttpResponse:
    params = _params(request)
    try:
        page = search.search(kind, reader, params)
    except search.SearchError as error:
        return problem(400, error.message, code=error.code)
    count_only = params.get("_summary") == ["count"]
    _audit_read(request, reader, kind, [] if count_only else page.rows, grant)
    result = bundle.searchset(
        base=base_url(request),
        resource_type=kind.name,
        params=params,
        page=page,
        resources=[] if count_only else kind.render(page.rows),
    )
    return fhir_response(result)


@with_grant("create")
def _create(
    request: HttpRequest, kind: search.Kind, reader: search.Reader, grant: smart.Grant
) -> HttpResponse:
    if kind.name != "QuestionnaireResponse":
        return problem(405, f"{kind.name} cannot be created here.", code="not-supported")
    payload, unreadable = _body(request)
    if unreadable is not None:
        return unreadable

    def store() -> str:
        administration = writes.response_create(reader, payload, request=request)
        return f"QuestionnaireResponse/{administration.uuid}"

    key = request.headers.get("Idempotency-Key", "").strip()
    if key and not TOKEN.match(key):
        return problem(400, "An Idempotency-Key is 16-100 letters, digits, - or _.", code="invalid")
    fingerprint = hashlib.sha256(request.body).hexdigest()
    try:
        if key:
            location, created = run_once(
                key, user_id=reader.user.pk, path=request.path, run=store, fingerprint=fingerprint
            )
        else:
            location, created = store(), True
    except writes.Refused as refused:
        body = bundle.outcomes([(p.where, p.message) for p in refused.problems])
        return fhir_response(body, status=refused.status)
    except KeyReused:
        return problem(
            422, "This Idempotency-Key was sent before with another body; use a new key.",
            code="conflict",
        )  # fmt: skip
    except StillRunning:
        return problem(
            409, "The same request is still being stored; try again shortly.", code="conflict"
        )
    administration = Administration.objects.select_related("client", "instrument").get(
        uuid=location.rsplit("/", 1)[-1]
    )
    if not created:  # the first response again: shown, so audited as a read
        record_read(
            request, administration.client, administration, actor=reader.user,
            detail="FHIR QuestionnaireResponse",
        )  # fmt: skip
    return _response_with(request, administration, status=201 if created else 200)


def _response_with(
    request: HttpRequest, administration: Administration, *, status: int
) -> HttpResponse:
    resource = r.questionnaire_response(administration)
    version = r.version_of(administration)
    url = f"{base_url(request)}/QuestionnaireResponse/{administration.uuid}"
    return fhir_response(
        resource,
        status=status,
        headers={"Location": f"{url}/_history/{version}", "ETag": f'W/"{version}"'},
    )


@csrf_exempt
def type_level(request: HttpRequest, resource_type: str) -> HttpResponse:
    """``GET [type]`` searches; ``POST [type]`` creates (QuestionnaireResponse only)."""
    if request.method == "POST":
        return _create(request, resource_type)
    if request.method in ("GET", "HEAD"):
        return _search(request, resource_type)
    return problem(
        405, f"{request.method} is not supported on {resource_type}.", code="not-supported"
    )


@with_grant("read")
def _read(
    request: HttpRequest,
    kind: search.Kind,
    reader: search.Reader,
    grant: smart.Grant,
    resource_id: str,
) -> HttpResponse:
    row = kind.one(reader, resource_id)
    if row is None:
        return problem(404, f"No {kind.name} {resource_id} is open to you.", code="not-found")
    _audit_read(request, reader, kind, [row], grant)
    (resource,) = kind.render([row])
    version = r.version_of(row)
    return fhir_response(resource, headers={"ETag": f'W/"{version}"'})


@with_grant("update")
def _update(
    request: HttpRequest,
    kind: search.Kind,
    reader: search.Reader,
    grant: smart.Grant,
    resource_id: str,
) -> HttpResponse:
    if kind.name != "QuestionnaireResponse":
        return problem(405, f"{kind.name} cannot be changed here.", code="not-supported")
    row = kind.one(reader, resource_id)
    if row is None:
        return problem(
            404, f"No QuestionnaireResponse {resource_id} is open to you.", code="not-found"
        )
    payload, unreadable = _body(request)
    if unreadable is not None:
        return unreadable
    try:
        administration = writes.response_update(
            reader, row, payload, if_match=request.headers.get("If-Match"), request=request
        )
    except writes.Refused as refused:
        body = bundle.outcomes([(p.where, p.message) for p in refused.problems])
        return fhir_response(body, status=refused.status)
    return _response_with(request, administration, status=200)


@csrf_exempt
def instance_level(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    """``GET [type]/[id]`` reads; ``PUT`` updates (an assigned QuestionnaireResponse)."""
    if request.method in ("GET", "HEAD"):
        return _read(request, resource_type, resource_id)
    if request.method == "PUT":
        return _update(request, resource_type, resource_id)
    return problem(405, f"{request.method} is not supported here.", code="not-supported")


@with_grant("read")
def _everything(
    request: HttpRequest,
    kind: search.Kind,
    reader: search.Reader,
    grant: smart.Grant,
    resource_id: str,
) -> HttpResponse:
    client = kind.one(reader, resource_id)
    if client is None:
        return problem(404, f"No Patient {resource_id} is open to you.", code="not-found")
    readable = {name for name in search.KINDS if grant.can(name, "read")}
    resources = list(everything.everything(reader, client, types=readable))
    record_read(request, client, actor=reader.user, detail=f"FHIR Patient/$everything{grant.via()}")
    return fhir_response(bundle.collection(base=base_url(request), resources=resources))


@csrf_exempt
def patient_everything(request: HttpRequest, resource_id: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return problem(405, "Run $everything with GET.", code="not-supported")
    return _everything(request, "Patient", resource_id)


@csrf_exempt
def unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    return problem(404, "Nothing is served at this address.", code="not-found")


@csrf_exempt
def history_refused(
    request: HttpRequest, resource_type: str, resource_id: str, rest: str = ""
) -> HttpResponse:
    return problem(
        404, "Earlier versions are not served; read the current one.", code="not-supported"
    )
