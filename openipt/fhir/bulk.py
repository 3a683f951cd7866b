"""FHIR Bulk Data Access (``$export``, docs/fhir-bulk.md): what may be asked, the job that
remembers it, the files it writes, and when they go.

An export reads with the same eyes as a search (``openipt.fhir.search.Reader``): the
kick-off only checks the request and records an ``ExportJob``; the background task
(``openipt.fhir.tasks.export_job_run``) rebuilds the reader from the job's user and
confinement at the time it runs, so someone who lost access in between exports nothing
of those clients. Each resource type becomes one NDJSON file, written a chunk of rows at a
time straight to a temporary file and then handed to the ``exports`` storage, so memory
stays flat however large the practice. Never the process note: no mapper reads it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import uuid as uuid_lib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from openipt.accounts.middleware import practice_zone
from openipt.accounts.models import Membership, User
from openipt.audit import services as audit
from openipt.audit.models import AuditEvent
from openipt.clients.models import Client
from openipt.fhir.models import ExportJob
from openipt.fhir.search import KINDS, Kind, Reader, reader_for
from openipt.treatment.models import Course

logger = logging.getLogger(__name__)

#: Rows read, rendered and written at a time: the most a type ever holds in memory.
CHUNK = 500
#: Every name the IG gives NDJSON; the files are ``application/fhir+ndjson`` whichever.
OUTPUT_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
NDJSON = "application/fhir+ndjson"
PARAMETERS = frozenset({"_type", "_since", "_outputFormat"})
#: Types whose every resource belongs to one client (the Patient compartment).
CLIENT_TYPES = (
    "Patient",
    "CarePlan",
    "Goal",
    "Encounter",
    "Appointment",
    "QuestionnaireResponse",
    "Observation",
)
#: Types shared by a practice's clients, exported at the system level only by default.
SHARED_TYPES = ("Practitioner", "Organization", "Questionnaire")
STORAGE = "exports"
OBJECT_TYPE = "fhir.bulk_export"
OPEN = (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING)


class ExportRefused(Exception):
    """A kick-off the server will not run (answered with ``status`` and an
    OperationOutcome)."""

    def __init__(self, status: int, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True)
class ExportRequest:
    """A checked kick-off: the level, the clinician of a group export, the resource types
    (``explicit`` when the caller named them with ``_type``), ``_since`` and the format."""

    level: str
    group: uuid_lib.UUID | None
    types: tuple[str, ...]
    explicit: bool
    since: dt.datetime | None
    output_format: str


# --- The kick-off ----------------------------------------------------------------------


def default_types(level: str) -> tuple[str, ...]:
    """Every type at the system level; the client-bound types and Patient otherwise."""
    if level == ExportJob.Level.SYSTEM:
        return (*CLIENT_TYPES, *SHARED_TYPES)
    return CLIENT_TYPES


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = [v for v in params.get(name, []) if v.strip()]
    return ",".join(values) if values else None


def _parse_types(text: str | None, level: str) -> tuple[tuple[str, ...], bool]:
    if text is None:
        return default_types(level), False
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in wanted if name not in KINDS]
    if unknown:
        raise ExportRefused(
            400,
            _("These resource types are not exported here: %(types)s.")
            % {"types": ", ".join(unknown)},
            code="not-supported",
        )
    return tuple(dict.fromkeys(wanted)), True


def parse_instant(text: str) -> dt.datetime:
    """A FHIR instant (a date-time with a time zone). A ``+`` left unencoded in a query
    string arrives as a space, so a space before the offset is read as ``+``."""
    value = text.strip()
    if " " in value:
        value = value.replace(" ", "+")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ExportRefused(
            400, _("_since is not an instant: %(value)s.") % {"value": text}
        ) from exc
    if moment.tzinfo is None or "T" not in value:
        raise ExportRefused(
            400,
            _("_since needs a date, a time and a time zone, e.g. 2026-01-31T09:00:00Z."),
        )
    return moment


def export_request_parse(
    *,
    level: str,
    group_id: str | None,
    params: Mapping[str, Sequence[str]],
    lenient: bool = False,
) -> ExportRequest:
    """The kick-off's parameters checked (400 for anything the server cannot honour; an
    unsupported parameter too, unless the caller asked for ``Prefer: handling=lenient``)."""
    unsupported = sorted(set(params) - PARAMETERS)
    if unsupported and not lenient:
        raise ExportRefused(
            400,
            _("These parameters are not supported: %(names)s.") % {"names": ", ".join(unsupported)},
            code="not-supported",
        )
    output_format = _one(params, "_outputFormat") or NDJSON
    if output_format not in OUTPUT_FORMATS:
        raise ExportRefused(
            400,
            _("Only NDJSON is exported (_outputFormat=application/fhir+ndjson)."),
            code="not-supported",
        )
    types, explicit = _parse_types(_one(params, "_type"), level)
    since_text = _one(params, "_since")
    group: uuid_lib.UUID | None = None
    if level == ExportJob.Level.GROUP:
        try:
            group = uuid_lib.UUID(str(group_id))
        except ValueError as exc:
            raise ExportRefused(404, _("No such group is open to you."), code="not-found") from exc
    return ExportRequest(
        level=level,
        group=group,
        types=types,
        explicit=explicit,
        since=parse_instant(since_text) if since_text else None,
        output_format=output_format,
    )


# --- Groups: a clinician's caseload ------------------------------------------------------


@dataclass(frozen=True)
class CaseloadReader(Reader):
    """A reader narrowed to one clinician's caseload: the clients with a course whose
    responsible clinician is that membership, of those the reader may see anyway."""

    clinician_id: int = 0

    def clients(self) -> QuerySet[Client]:
        courses = Course.objects.filter(clinician_id=self.clinician_id).exclude(
            status=Course.Status.ENTERED_IN_ERROR
        )
        return super().clients().filter(pk__in=courses.values("client_id"))


def group_clinician(reader: Reader, group: uuid_lib.UUID) -> Membership | None:
    """The clinician ``Group/<uuid>`` names: a clinician's membership among the
    practitioners the reader may see (None for anyone else, as if unknown)."""
    found: Membership | None = (
        KINDS["Practitioner"].rows(reader).filter(uuid=group, is_clinician=True).first()
    )
    return found


def export_reader(job: ExportJob) -> Reader:
    """The reader a job exports with, rebuilt from today's access."""
    reader = reader_for(job.requested_by, job.patient_id)
    if job.level != ExportJob.Level.GROUP:
        return reader
    clinician = group_clinician(reader, job.group) if job.group is not None else None
    return replace_reader(reader, clinician_id=clinician.pk if clinician is not None else 0)


def replace_reader(reader: Reader, *, clinician_id: int) -> CaseloadReader:
    return CaseloadReader(
        user=reader.user,
        membership=reader.membership,
        client_id=reader.client_id,
        clinician_id=clinician_id,
    )


# --- Making the job ----------------------------------------------------------------------


@transaction.atomic
def export_job_create(
    *,
    user: User,
    token_id: int | None,
    patient_id: int | None,
    request: ExportRequest,
    request_url: str,
    audit_request: Any = None,
    on_behalf_of: str = "",
) -> ExportJob:
    """Record a kick-off (queued) and its audit event. The caller enqueues the task after
    the commit (``openipt.fhir.tasks.export_start``); nothing is exported here.
    ``on_behalf_of`` names a backend service that asked, for the audit event."""
    reader = reader_for(user, patient_id)
    if request.level == ExportJob.Level.GROUP and (
        request.group is None or group_clinician(reader, request.group) is None
    ):
        raise ExportRefused(404, _("No such group is open to you."), code="not-found")
    job = ExportJob.objects.create(
        requested_by=user,
        practice_id=reader.practice_id,
        token_id=token_id,
        patient_id=patient_id,
        level=request.level,
        group=request.group,
        types=list(request.types),
        since=request.since,
        output_format=request.output_format,
        request_url=request_url,
        progress=_("Waiting to start"),
    )
    audit.record(
        actor=user,
        action=AuditEvent.Action.EXPORT,
        object_type=OBJECT_TYPE,
        object_id=str(job.uuid),
        practice_id=reader.practice_id,
        request=audit_request,
        detail=f"FHIR bulk export requested ({job.level}): {', '.join(job.types)}"
        + (f"; {on_behalf_of}" if on_behalf_of else ""),
    )
    return job


# --- Writing the files -------------------------------------------------------------------


def exports_storage() -> Storage:
    return storages[STORAGE]


def file_name(job: ExportJob, resource_type: str) -> str:
    return f"{job.uuid}-{resource_type}.ndjson"


def export_rows(kind: Kind, reader: Reader, job: ExportJob) -> QuerySet[Any]:
    """The rows of one type the job exports: what the reader may see, changed since
    ``_since``, and not after the transaction time (a later change waits for the next
    ``_since`` export)."""
    rows = kind.rows(reader)
    if job.since is not None:
        rows = rows.filter(updated_at__gte=job.since)
    if job.transaction_time is not None:
        rows = rows.filter(updated_at__lte=job.transaction_time)
    return rows


def write_lines(kind: Kind, rows: QuerySet[Any], out: IO[bytes], *, chunk: int = CHUNK) -> int:
    """Write every row as one JSON line, ``chunk`` rows at a time by primary key; returns
    the number of resources written. Only one chunk is ever in memory."""
    written = 0
    last: Any = None
    while True:
        page = rows.order_by("pk") if last is None else rows.filter(pk__gt=last).order_by("pk")
        batch = list(page[:chunk])
        if not batch:
            return written
        for resource in kind.render(batch):
            out.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode())
            out.write(b"\n")
            written += 1
        last = batch[-1].pk
        full = len(batch) == chunk
        _release(batch)
        if not full:
            return written


def _release(batch: list[Any]) -> None:
    """Let a written chunk go at once. Django points prefetched children back at their row,
    a cycle that only the cyclic garbage collector frees, and late, so chunk after chunk
    would pile up; dropping each row's prefetched lists leaves reference counting to free
    the chunk as soon as it is written."""
    for row in batch:
        row.__dict__.pop("_prefetched_objects_cache", None)
        for name in [key for key, value in vars(row).items() if isinstance(value, list)]:
            delattr(row, name)  # a ``Prefetch(to_attr=...)`` list
    batch.clear()


def write_type(
    job: ExportJob, kind: Kind, reader: Reader, *, chunk: int = CHUNK
) -> dict[str, Any] | None:
    """One type's file in the exports storage (replacing any earlier attempt's), and its
    manifest entry; None when there is nothing to export of it (no file)."""
    storage = exports_storage()
    name = file_name(job, kind.name)
    storage.delete(name)
    with tempfile.TemporaryFile() as spool:
        count = write_lines(kind, export_rows(kind, reader, job), spool, chunk=chunk)
        if count == 0:
            return None
        spool.seek(0)
        saved = storage.save(name, File(spool, name=name))
    return {"type": kind.name, "name": saved, "count": count}


def _cancelled(job: ExportJob) -> bool:
    return ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.CANCELLED).exists()


def _claim(job_uuid: str) -> ExportJob | None:
    """Mark the job running (queued, or running after a crash); None when it is finished,
    cancelled or gone."""
    with transaction.atomic():
        job = (
            ExportJob.objects.select_for_update()
            .select_related("requested_by")
            .filter(uuid=job_uuid, status__in=OPEN)
            .first()
        )
        if job is None:
            return None
        now = timezone.now()
        job.status = ExportJob.Status.RUNNING
        job.started_at = now
        job.transaction_time = now
        job.save(update_fields=["status", "started_at", "transaction_time", "updated_at"])
    return job


def _progress(job: ExportJob, text: str) -> None:
    ExportJob.objects.filter(pk=job.pk).update(progress=text[:200], updated_at=timezone.now())


def export_job_run(job_uuid: str, *, chunk: int | None = None) -> str:
    """Write the job's files and mark it completed (or failed). Safe to run again: a
    retried run rewrites every file; a finished or cancelled job is left alone. Returns
    the job's status. ``chunk`` rows are read at a time (default ``CHUNK``)."""
    size = chunk or CHUNK
    job = _claim(job_uuid)
    if job is None:
        found = ExportJob.objects.filter(uuid=job_uuid).values_list("status", flat=True).first()
        return str(found or "missing")
    try:
        reader = export_reader(job)
        output = []
        with timezone.override(practice_zone(reader.membership)):
            for number, name in enumerate(job.types, start=1):
                if _cancelled(job):
                    files_delete(job)
                    return str(ExportJob.Status.CANCELLED)
                _progress(job, f"{name} ({number}/{len(job.types)})")
                entry = write_type(job, KINDS[name], reader, chunk=size)
                if entry is not None:
                    output.append(entry)
    except Exception:
        logger.exception("FHIR bulk export %s failed", job.uuid)
        files_delete(job)
        ExportJob.objects.filter(pk=job.pk).exclude(status=ExportJob.Status.CANCELLED).update(
            status=ExportJob.Status.FAILED,
            error=_("The export could not be completed; start a new one."),
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        return str(ExportJob.Status.FAILED)
    done = (
        ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.RUNNING).update(
            status=ExportJob.Status.COMPLETED,
            output=output,
            progress=_("Complete"),
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        == 1
    )
    if not done:  # cancelled while the last file was written
        files_delete(job)
        return str(ExportJob.Status.CANCELLED)
    return str(ExportJob.Status.COMPLETED)


# --- Status, files, cancel and expiry ---------------------------------------------------


def retention() -> dt.timedelta:
    return dt.timedelta(hours=settings.OPENIPT_EXPORT_RETENTION_HOURS)


def _expired_q(now: dt.datetime) -> Q:
    cutoff = now - retention()
    return Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, created_at__lt=cutoff)


def is_expired(job: ExportJob, now: dt.datetime | None = None) -> bool:
    """Expired: marked so, or past the retention period since it finished (or, never
    finished, since it was asked for)."""
    if job.status == ExportJob.Status.EXPIRED:
        return True
    moment = job.finished_at or job.created_at
    return moment < (now or timezone.now()) - retention()


def job_for(user: User, job_uuid: uuid_lib.UUID) -> ExportJob | None:
    """The user's own job (anyone else's is as good as unknown), cancelled ones included."""
    return ExportJob.objects.filter(uuid=job_uuid, requested_by=user).first()


def files_delete(job: ExportJob) -> None:
    """Delete every file the job has or may have written (a crashed run's too)."""
    storage = exports_storage()
    names = {file_name(job, t) for t in job.types} | {str(o["name"]) for o in job.output}
    for name in sorted(names):
        storage.delete(name)


def export_job_cancel(*, job: ExportJob) -> bool:
    """Cancel a queued or running export, or delete a finished one's files (``DELETE`` on
    the status URL); False when it was already cancelled, failed past use or expired."""
    if job.status in (ExportJob.Status.CANCELLED, ExportJob.Status.EXPIRED):
        return False
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.CANCELLED, finished_at=timezone.now(), updated_at=timezone.now()
    )
    files_delete(job)
    job.refresh_from_db()
    return True


def output_file(job: ExportJob, name: str) -> dict[str, Any] | None:
    """The manifest entry whose file is called ``name`` (only names the job wrote)."""
    for entry in job.output:
        if entry["name"] == name:
            return dict(entry)
    return None


def manifest(job: ExportJob, *, file_url: Any) -> dict[str, Any]:
    """The completion manifest (IG v2); ``file_url(name)`` is a file's absolute URL."""
    moment = job.transaction_time or job.created_at
    return {
        "transactionTime": moment.isoformat(),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {"type": o["type"], "url": file_url(o["name"]), "count": o["count"]} for o in job.output
        ],
        "error": [],
    }


def delete_expired(now: dt.datetime | None = None) -> int:
    """Delete the files of every job past its retention, then mark the job expired; safe
    to run as often as you like. Returns the number of jobs expired now."""
    moment = now or timezone.now()
    due = ExportJob.objects.exclude(status=ExportJob.Status.EXPIRED).filter(_expired_q(moment))
    expired = 0
    for job in due.iterator(chunk_size=200):
        files_delete(job)
        expired += ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.EXPIRED, output=[], updated_at=timezone.now()
        )
    return expired
