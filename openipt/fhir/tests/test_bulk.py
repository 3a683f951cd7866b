"""The bulk export writer: chunked reads (flat memory), reruns, expiry and the request
checks, below the HTTP layer."""

from __future__ import annotations

import datetime as dt
import gc
import io
import json
import math
import weakref
from dataclasses import replace

import pytest
from django.core.files.storage import storages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from openipt.fhir import bulk
from openipt.fhir.models import ExportJob
from openipt.fhir.search import KINDS, reader_for
from openipt.testing.personas import make_client
from openipt.treatment.tests.factories import make_course, make_session

pytestmark = pytest.mark.django_db


def alice_clients(personas, extra: int) -> None:
    for n in range(extra):
        make_client(personas.practice, personas.alice, given=f"Client{n}", family="Bulk")


def job_for(personas, *types: str, level: str = "system") -> ExportJob:
    wanted = bulk.ExportRequest(
        level=level, group=None, types=types or bulk.default_types(level), explicit=bool(types),
        since=None, output_format=bulk.NDJSON,
    )  # fmt: skip
    return bulk.export_job_create(
        user=personas.alice, token_id=None, patient_id=None, request=wanted,
        request_url="http://testserver/fhir/$export",
    )  # fmt: skip


def patient_pages(queries: CaptureQueriesContext) -> int:
    """The chunk reads of Patient rows (the identifiers' prefetch is not counted)."""
    return sum(
        1
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT")
        and 'FROM "clients_client"' in q["sql"]
        and " LIMIT " in q["sql"]
    )


@pytest.mark.parametrize(("extra", "chunk"), [(6, 2), (6, 3), (6, 50), (11, 2)])
def test_the_writer_reads_in_chunks_by_key_and_holds_one_chunk(personas, extra, chunk):
    alice_clients(personas, extra)
    total = extra + 1  # and Dana
    reader = reader_for(personas.alice)
    batches: list[int] = []
    kind = KINDS["Patient"]

    def render(rows):
        batches.append(len(rows))
        return kind.render(rows)

    spy = replace(kind, render=render)
    out = io.BytesIO()
    with CaptureQueriesContext(connection) as queries:
        written = bulk.write_lines(spy, kind.rows(reader), out, chunk=chunk)
    assert written == total
    assert max(batches) <= chunk
    assert sum(batches) == total
    # One read per chunk (plus one that finds the end when the last chunk is full).
    reads = math.ceil(total / chunk) + (1 if total % chunk == 0 else 0)
    assert patient_pages(queries) == reads
    assert len(queries) <= 2 * reads + 1  # each chunk: its rows and its identifiers
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len({res["id"] for res in lines}) == total


def test_queries_grow_with_rows_over_chunk_not_with_rows(personas):
    alice_clients(personas, 9)
    reader = reader_for(personas.alice)
    kind = KINDS["Patient"]
    counts = {}
    for chunk in (2, 5, 100):
        with CaptureQueriesContext(connection) as queries:
            bulk.write_lines(kind, kind.rows(reader), io.BytesIO(), chunk=chunk)
        counts[chunk] = len(queries)
    assert counts[2] > counts[5] > counts[100]
    assert counts[100] == 2  # ten patients: one read, their identifiers


def test_a_written_chunk_is_freed_at_once_even_with_prefetched_children(personas):
    """Prefetched children point back at their course; the writer breaks that cycle, so a
    chunk is gone before the next is read, without waiting for the garbage collector."""
    for n in range(4):
        client = make_client(personas.practice, personas.alice, given=f"C{n}", family="Bulk")
        course = make_course(personas.alice, client)
        make_session(personas.alice, course, 1, attendance="attended")
    reader = reader_for(personas.alice)
    kind = KINDS["CarePlan"]
    alive: list[weakref.ref[object]] = []

    def render(rows):
        alive.extend(weakref.ref(row) for row in rows)
        alive.extend(weakref.ref(s) for row in rows for s in row.held_sessions)
        return kind.render(rows)

    gc.collect()
    gc.disable()
    try:
        written = bulk.write_lines(
            replace(kind, render=render), kind.rows(reader), io.BytesIO(), chunk=2
        )
        assert written == 4
        assert len(alive) == 8
        assert [ref for ref in alive if ref() is not None] == []
    finally:
        gc.enable()


def test_a_run_twice_rewrites_the_same_files(personas):
    alice_clients(personas, 3)
    job = job_for(personas, "Patient", "Organization")
    assert bulk.export_job_run(str(job.uuid), chunk=2) == "completed"
    job.refresh_from_db()
    first = [dict(o) for o in job.output]
    storage = storages["exports"]
    with storage.open(first[0]["name"], "rb") as handle:
        content = handle.read()
    # A crash after the first file: the task is retried and the job still says running.
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING)
    with storage.open(first[0]["name"], "wb") as handle:
        handle.write(b"half a line")
    assert bulk.export_job_run(str(job.uuid), chunk=2) == "completed"
    job.refresh_from_db()
    assert job.output == first
    with storage.open(first[0]["name"], "rb") as handle:
        assert handle.read() == content
    assert [o["count"] for o in first] == [4, 1]
    names = storage.listdir("")[1]
    assert sorted(n for n in names if n.startswith(str(job.uuid))) == sorted(
        o["name"] for o in first
    )
    assert bulk.export_job_run(str(job.uuid)) == "completed"  # finished: left alone


def test_the_transaction_time_bounds_what_is_exported(personas):
    job = job_for(personas, "Patient")
    later = timezone.now() + dt.timedelta(hours=1)
    job.transaction_time = timezone.now()
    type(personas.dana).objects.filter(pk=personas.dana.pk).update(updated_at=later)
    rows = bulk.export_rows(KINDS["Patient"], reader_for(personas.alice), job)
    assert not rows.exists()


def test_expiry_deletes_files_first_then_marks_the_job(personas, settings):
    job = job_for(personas, "Patient")
    bulk.export_job_run(str(job.uuid))
    job.refresh_from_db()
    (name,) = [o["name"] for o in job.output]
    storage = storages["exports"]
    assert storage.exists(name)
    later = timezone.now() + dt.timedelta(hours=settings.OPENIPT_EXPORT_RETENTION_HOURS + 1)
    assert bulk.delete_expired(now=timezone.now()) == 0
    assert bulk.delete_expired(now=later) == 1
    assert not storage.exists(name)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.EXPIRED
    assert bulk.is_expired(job)
    assert bulk.delete_expired(now=later) == 0


def test_a_never_finished_job_expires_from_when_it_was_asked_for(personas, settings):
    job = job_for(personas, "Patient")
    later = timezone.now() + dt.timedelta(hours=settings.OPENIPT_EXPORT_RETENTION_HOURS + 1)
    assert bulk.is_expired(job, later)
    assert bulk.delete_expired(now=later) == 1
    assert bulk.export_job_run(str(job.uuid)) == "expired"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T10:00:00Z", dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)),
        ("2026-03-01T10:00:00 01:00", dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)),
        ("2026-03-01T10:00:00.5+00:00", dt.datetime(2026, 3, 1, 10, 0, 0, 500000, tzinfo=dt.UTC)),
    ],
)
def test_since_is_an_instant(text, expected):
    assert bulk.parse_instant(text) == expected


@pytest.mark.parametrize("text", ["2026-03-01", "2026-03-01T10:00:00", "soon", "2026-13-01T00:00Z"])
def test_since_without_a_time_zone_or_time_is_refused(text):
    with pytest.raises(bulk.ExportRefused) as refused:
        bulk.parse_instant(text)
    assert refused.value.status == 400


def test_default_types_by_level():
    assert "Practitioner" in bulk.default_types("system")
    assert "Practitioner" not in bulk.default_types("patient")
    assert bulk.default_types("group") == bulk.default_types("patient")
    assert set(bulk.default_types("system")) == set(KINDS)
