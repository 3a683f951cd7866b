"""FHIR Bulk Data Access under ``/fhir/`` (docs/fhir-bulk.md): kick-off, status, files.

``$export`` at the system, Patient or Group level checks the request and the token's
scopes, records a job and answers 202 with where to poll; a background task writes the
NDJSON files. Only the user who asked may poll, cancel or download, always with a valid
bearer token; every download is audited, as the kick-off is. An export a backend service
started is that service's alone: no other token polls or downloads it, and the service
reaches no other export of its administrator's.
"""

from __future__ import annotations

import dataclasses
import json
import uuid as uuid_lib
from typing import Any

from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from openipt.api import smart
from openipt.api.models import BackendExport
from openipt.api.views_fhir import problem
from openipt.audit.services import record_list_read
from openipt.fhir import bulk, tasks
from openipt.fhir.models import ExportJob

MANIFEST_TYPE = "application/json"
#: Seconds a client is asked to wait between status requests.
RETRY_AFTER = "5"


def _refusal(error: smart.AuthError) -> HttpResponse:
    headers = {"WWW-Authenticate": error.www_authenticate} if error.www_authenticate else {}
    return problem(error.status, error.message, code=error.code, headers=headers)


def _prefers(request: HttpRequest) -> set[str]:
    """The ``Prefer`` header's tokens, e.g. ``{"respond-async", "handling=lenient"}``."""
    header = request.headers.get("Prefer", "")
    return {part.strip().lower().replace(" ", "") for part in header.split(",") if part.strip()}


def _grant_types(grant: smart.Grant, wanted: bulk.ExportRequest) -> tuple[str, ...]:
    """The types to export: all that were named (each must be allowed, else 403), or of the
    defaults those the token's scopes allow to be read (403 if none)."""
    if wanted.explicit:
        for name in wanted.types:
            smart.require(grant, name, "read")
        return wanted.types
    allowed = tuple(name for name in wanted.types if grant.can(name, "read"))
    if not allowed:
        smart.require(grant, "Patient", "read")
    return allowed


@csrf_exempt
def kick_off(request: HttpRequest, level: str, group_id: str | None = None) -> HttpResponse:
    """``GET [base]/$export``, ``/Patient/$export``, ``/Group/<id>/$export``: 202 with
    ``Content-Location`` of the status URL."""
    if request.method != "GET":
        return problem(405, _("Start an export with GET."), code="not-supported")
    try:  # who asks comes first: without a valid token nothing else is said
        grant = smart.authenticate(request)
    except smart.AuthError as error:
        return _refusal(error)
    prefers = _prefers(request)
    if "respond-async" not in prefers:
        return problem(400, _("A bulk export needs the header Prefer: respond-async."))
    params = {key: request.GET.getlist(key) for key in request.GET}
    try:
        wanted = bulk.export_request_parse(
            level=level,
            group_id=group_id,
            params=params,
            lenient="handling=lenient" in prefers,
        )
        types = _grant_types(grant, wanted)
        with transaction.atomic():
            job = tasks.export_start(
                user=grant.user,
                token_id=grant.token_id,
                patient_id=grant.patient_id,
                request=dataclasses.replace(wanted, types=types),
                request_url=request.build_absolute_uri(),
                audit_request=request,
                on_behalf_of=grant.via().removeprefix("; "),
            )
            if grant.backend is not None:
                BackendExport.objects.create(job=job, app=grant.backend)
    except smart.AuthError as error:
        return _refusal(error)
    except bulk.ExportRefused as refused:
        return problem(refused.status, refused.message, code=refused.code)
    location = request.build_absolute_uri(reverse("fhir:export-status", args=[job.uuid]))
    response = HttpResponse(status=202)
    response["Content-Location"] = location
    return response


def _own_job(request: HttpRequest, job: uuid_lib.UUID) -> tuple[smart.Grant, ExportJob]:
    """The token's grant and its user's job; ``LookupError`` carries the 404 to answer."""
    grant = smart.authenticate(request)
    found = bulk.job_for(grant.user, job)
    if found is not None and _started_by(found) != (grant.backend.pk if grant.backend else None):
        found = None  # a backend service's export and its administrator's are kept apart
    if found is None or found.status == ExportJob.Status.CANCELLED:
        raise LookupError(_("No such export is open to you."))
    if bulk.is_expired(found):
        raise LookupError(
            _("This export has expired and its files are deleted; start a new export.")
        )
    return grant, found


def _started_by(job: ExportJob) -> int | None:
    """The backend service (``SmartApp.pk``) that started the export, if one did."""
    app_id: int | None = (
        BackendExport.objects.filter(job=job).values_list("app_id", flat=True).first()
    )
    return app_id


def _file_url(request: HttpRequest, job: ExportJob) -> Any:
    def url(name: str) -> str:
        return request.build_absolute_uri(reverse("fhir:export-file", args=[job.uuid, name]))

    return url


@csrf_exempt
def status(request: HttpRequest, job: uuid_lib.UUID) -> HttpResponse:
    """``GET``: 202 with ``X-Progress`` while it runs, 200 with the manifest when done, 500
    if it failed. ``DELETE``: cancel it and delete its files (202)."""
    if request.method not in ("GET", "HEAD", "DELETE"):
        return problem(405, _("Poll with GET or cancel with DELETE."), code="not-supported")
    try:
        _grant, found = _own_job(request, job)
    except smart.AuthError as error:
        return _refusal(error)
    except LookupError as missing:
        return problem(404, str(missing), code="not-found")
    if request.method == "DELETE":
        bulk.export_job_cancel(job=found)
        return problem(
            202, _("The export is cancelled and its files deleted."), code="informational"
        )
    if found.status in bulk.OPEN:
        response = HttpResponse(status=202)
        response["X-Progress"] = found.progress or str(found.get_status_display())
        response["Retry-After"] = RETRY_AFTER
        return response
    if found.status == ExportJob.Status.FAILED:
        return problem(500, found.error or _("The export failed."), code="exception")
    body = bulk.manifest(found, file_url=_file_url(request, found))
    response = HttpResponse(json.dumps(body, separators=(",", ":")), content_type=MANIFEST_TYPE)
    response["Expires"] = http_date(
        ((found.finished_at or found.created_at) + bulk.retention()).timestamp()
    )
    return response


@csrf_exempt
def download(request: HttpRequest, job: uuid_lib.UUID, name: str) -> HttpResponseBase:
    """One NDJSON file of a completed export, streamed; audited as a list read."""
    if request.method not in ("GET", "HEAD"):
        return problem(405, _("Download a file with GET."), code="not-supported")
    try:
        grant, found = _own_job(request, job)
    except smart.AuthError as error:
        return _refusal(error)
    except LookupError as missing:
        return problem(404, str(missing), code="not-found")
    entry = bulk.output_file(found, name) if found.status == ExportJob.Status.COMPLETED else None
    if entry is None:
        return problem(404, _("This export has no such file."), code="not-found")
    try:
        smart.require(grant, str(entry["type"]), "read")
    except smart.AuthError as error:
        return _refusal(error)
    handle = bulk.exports_storage().open(str(entry["name"]), "rb")
    record_list_read(
        request,
        actor=grant.user,
        practice_id=found.practice_id,
        object_type=bulk.OBJECT_TYPE,
        detail=f"FHIR bulk export {found.uuid}: {entry['type']}, {entry['count']} resources"
        f"{grant.via()}",
    )
    return FileResponse(handle, content_type=bulk.NDJSON)
