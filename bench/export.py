"""Time and memory of a FHIR bulk export (``$export``) on the benchmark practice.

Usage (from the repository root; see bench/README.md "FHIR bulk export"):

    .venv/bin/python bench/export.py --db postgres --clients 1000 \\
        --database-url postgres://postgres@127.0.0.1:5432/openipt_bench_export_1000
    .venv/bin/python bench/export.py --clients 1000 --var-dir /tmp/bench-1k   # SQLite

The database is migrated and, if it holds no benchmark practice yet, seeded with
``seed_bench --clients N`` (slow at 10,000: about ten minutes). Nobody in the seed sees the
whole practice (a supervisor sees ten clinicians' clients), so the first run adds
``exports@bench.invalid``, a supervisor of all 50 clinicians, in this bench database only.

Two cases, each the export task's own function (``openipt.fhir.bulk.export_job_run``) run in
this process, as the worker runs it: **all** is the system-level export of every type for
that supervisor (every client); **caseload** is ``Group/<clinician001>``. Each case runs
twice: once plain for the time, and once under ``tracemalloc`` for the peak of Python
allocations (tracemalloc slows the run, so its time is not the one reported). RSS is read
from ``/proc/self/status`` before and after, and the process's peak RSS from
``getrusage``. The files are deleted afterwards. Writes JSON to bench/results/ and prints a
table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/openipt_bench_v2"
EXPORTER_EMAIL = "exports@bench.invalid"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--database-url", default=os.environ.get("OPENIPT_BENCH_DATABASE_URL", DEFAULT_PG_URL)
    )
    parser.add_argument("--var-dir", type=Path, default=BASE_DIR / "var" / "bench-v2")
    parser.add_argument(
        "--clients", type=int, default=1000, help="seed size if the database has no practice"
    )
    parser.add_argument("--chunk", type=int, default=None, help="rows per read (default 500)")
    parser.add_argument("--only", choices=["all", "caseload"], default=None)
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the memory run")
    return parser.parse_args(argv)


def configure(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["OPENIPT_VAR_DIR"] = str(args.var_dir.resolve())
    os.environ.pop("OPENIPT_TESTING", None)
    os.environ.pop("DJANGO_DEBUG", None)
    if args.db == "postgres":
        from bench.run import ensure_pg_database

        ensure_pg_database(args.database_url)
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


def prepare(clients: int) -> int:
    """Migrate, and seed when the benchmark practice is missing; the practice's clients."""
    from django.core.management import call_command

    from openipt.clients.models import Client
    from openipt.testing.management.commands.seed_bench import PRACTICE_NAME

    call_command("migrate", interactive=False, verbosity=0)
    if not Client.objects.filter(practice__name=PRACTICE_NAME).exists():
        print(f"Seeding {clients} clients (once per bench database)…", file=sys.stderr)
        call_command("seed_bench", clients=clients)
    return Client.objects.filter(practice__name=PRACTICE_NAME).count()


def exporter() -> Any:
    """The bench supervisor of every clinician (made on the first run)."""
    from openipt.accounts.models import Membership, Practice, Supervision, User
    from openipt.testing.management.commands.seed_bench import PRACTICE_NAME
    from openipt.testing.personas import enrol_totp

    practice = Practice.objects.get(name=PRACTICE_NAME)
    user = User.objects.filter(email=EXPORTER_EMAIL).first()
    if user is None:
        user = User.objects.create_user(EXPORTER_EMAIL, None, full_name="Bench Exporter")
        enrol_totp(user)
    membership, _ = Membership.objects.get_or_create(
        user=user,
        defaults={"practice": practice, "is_supervisor": True, "is_clinician": False},
    )
    clinicians = Membership.objects.filter(practice=practice, is_clinician=True).exclude(
        pk=membership.pk
    )
    have = set(
        Supervision.objects.filter(supervisor=membership).values_list("supervisee_id", flat=True)
    )
    Supervision.objects.bulk_create(
        Supervision(practice=practice, supervisor=membership, supervisee=c)
        for c in clinicians
        if c.pk not in have
    )
    return user


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def new_job(user: Any, level: str, group: Any) -> Any:
    from openipt.fhir import bulk

    wanted = bulk.ExportRequest(
        level=level,
        group=group,
        types=bulk.default_types(level),
        explicit=False,
        since=None,
        output_format=bulk.NDJSON,
    )
    return bulk.export_job_create(
        user=user,
        token_id=None,
        patient_id=None,
        request=wanted,
        request_url=f"bench:{level}",
    )


def run_once(
    user: Any, level: str, group: Any, chunk: int | None, *, trace: bool
) -> dict[str, Any]:
    """One export from kick-off row to completed files; time, memory, counts."""
    from openipt.fhir import bulk
    from openipt.fhir.models import ExportJob

    job = new_job(user, level, group)
    before = rss_kib()
    if trace:
        tracemalloc.start()
    started, started_cpu = time.perf_counter(), time.process_time()
    status = bulk.export_job_run(str(job.uuid), chunk=chunk)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - started_cpu
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    after = rss_kib()
    job = ExportJob.objects.get(pk=job.pk)
    storage = bulk.exports_storage()
    size = sum(storage.size(o["name"]) for o in job.output)
    resources = sum(int(o["count"]) for o in job.output)
    bulk.files_delete(job)
    assert status == "completed", status
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "resources": resources,
        "resources_per_second": round(resources / seconds) if seconds else None,
        "bytes": size,
        "files": {o["type"]: o["count"] for o in job.output},
        "tracemalloc_peak_mib": round(peak / 2**20, 1) if peak is not None else None,
        "rss_before_mib": round(before / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure(args)
    from openipt.accounts.models import Membership
    from openipt.testing.management.commands.seed_bench import EMAIL_DOMAIN

    clients = prepare(args.clients)
    user = exporter()
    clinician = Membership.objects.get(user__email=f"clinician001@{EMAIL_DOMAIN}")
    cases = [("all", "system", None), ("caseload", "group", clinician.uuid)]
    results = []
    for name, level, group in cases:
        if args.only and args.only != name:
            continue
        timed = run_once(user, level, group, args.chunk, trace=False)
        result = {"case": name, **timed}
        if not args.no_tracemalloc:
            traced = run_once(user, level, group, args.chunk, trace=True)
            result["tracemalloc_peak_mib"] = traced["tracemalloc_peak_mib"]
            result["rss_after_traced_mib"] = traced["rss_after_mib"]
        results.append(result)
        print(f"{name}: {result}", file=sys.stderr)
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": args.db,
        "clients": clients,
        "chunk": args.chunk or 500,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": os.getloadavg(),
        "results": results,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    out = RESULTS_DIR / f"export-{args.db}-{clients}-{stamp}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report))
    print(f"\n{clients} clients, {args.db}, peak RSS {report['peak_rss_mib']} MiB")
    print("| case | resources | s | resources/s | MiB out | tracemalloc peak MiB | RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['case']} | {r['resources']} | {r['seconds']} | {r['resources_per_second']} "
            f"| {r['bytes'] / 2**20:.1f} | {r['tracemalloc_peak_mib']} | {r['rss_after_mib']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
