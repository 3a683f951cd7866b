"""Server time of the practice outcome dashboard on the benchmark practice.

Usage (from the repository root, after ``bench/run.py`` or ``manage.py seed_bench`` has
filled the bench database; see bench/README.md "Practice outcome dashboard"):

    .venv/bin/python bench/outcomes.py                          # SQLite under var/bench-v2/
    .venv/bin/python bench/outcomes.py --var-dir /tmp/bench     # another SQLite bench database
    .venv/bin/python bench/outcomes.py --db postgres            # OPENIPT_BENCH_DATABASE_URL

Each case is a full request through Django's middleware and view (the test client, in this
process: no network, no gunicorn), timed with ``perf_counter`` around the call: that is
server time. The dashboard's own queries are counted once per case. The administrator sees
all of the practice's courses (the supervisors see 10 clinicians' each). The period is the
twelve months up to the seed's reference date. Writes JSON to bench/results/.

Needs an administrator in the benchmark practice, which seed_bench does not make: the first
run adds ``admin@bench.invalid`` (an administrator with no clinical role and an
authenticator, like the other bench staff) and its audit-free membership row. seed_bench
also leaves closed courses without an end date; the first run gives each the day of its
last session (one UPDATE), so that the outcome rates have courses to count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/openipt_bench_v2"
ADMIN_EMAIL = "admin@bench.invalid"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--database-url", default=os.environ.get("OPENIPT_BENCH_DATABASE_URL", DEFAULT_PG_URL)
    )
    parser.add_argument("--var-dir", type=Path, default=BASE_DIR / "var" / "bench-v2")
    parser.add_argument("--requests", type=int, default=60, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=None, help="period end")
    return parser.parse_args(argv)


def configure(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["OPENIPT_VAR_DIR"] = str(args.var_dir.resolve())
    os.environ.pop("OPENIPT_TESTING", None)
    os.environ.pop("DJANGO_DEBUG", None)
    if args.db == "postgres":
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


def bench_admin() -> Any:
    from openipt.accounts.models import Membership, User
    from openipt.testing.management.commands.seed_bench import PRACTICE_NAME
    from openipt.testing.personas import enrol_totp

    user = User.objects.filter(email=ADMIN_EMAIL).first()
    if user is None:
        from openipt.accounts.models import Practice

        practice = Practice.objects.get(name=PRACTICE_NAME)
        user = User.objects.create_user(ADMIN_EMAIL, None, full_name="Bench Administrator")
        Membership.objects.create(user=user, practice=practice, is_admin=True, is_clinician=False)
        enrol_totp(user)
    return user


def fill_ended_on() -> int:
    """seed_bench closes courses without an end date; give each closed course the day of its
    last session, as ``course_conclude`` records one. Returns the number of courses filled."""
    from django.db.models import OuterRef, Subquery
    from django.db.models.functions import TruncDate

    from openipt.treatment.models import Course, Session

    last = Session.objects.filter(course_id=OuterRef("pk")).order_by("-starts_at")
    closed = Course.objects.filter(
        status__in=[Course.Status.CONCLUDED, Course.Status.ENDED_EARLY], ended_on__isnull=True
    )
    return closed.update(
        ended_on=Subquery(last.annotate(day=TruncDate("starts_at")).values("day")[:1])
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def time_case(http: Any, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Wall time and this process's CPU time per request (SQLite runs in this process, so its
    CPU time counts; PostgreSQL's server process does not), and the queries of one request."""
    from django.db import connection

    for _ in range(args.warmup):
        response = http.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        http.get(url)
    wall, cpu = [], []
    for _ in range(args.requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = http.get(url)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, response.status_code
    return {
        "url": url,
        "requests": len(wall),
        "p50_ms": round(statistics.median(wall), 1),
        "p95_ms": round(percentile(wall, 0.95), 1),
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "cpu_p95_ms": round(percentile(cpu, 0.95), 1),
        "queries": len(queries),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure(args)
    from django.conf import settings
    from django.test import Client as HttpClient

    from openipt.accounts.models import User
    from openipt.treatment.models import Course

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    end = args.end or Course.objects.order_by("-start_date").values_list("start_date", flat=True)[0]
    start = end.replace(year=end.year - 1) + dt.timedelta(days=1)
    period = f"date_from={start}&date_to={end}"
    cases = [
        ("administrator, by clinician", ADMIN_EMAIL, f"?{period}&by=clinician"),
        ("administrator, by format", ADMIN_EMAIL, f"?{period}&by=format"),
        ("administrator, by problem area", ADMIN_EMAIL, f"?{period}&by=area"),
        ("administrator, CSV", ADMIN_EMAIL, f"?{period}&format=csv"),
        ("supervisor, by clinician", "supervisor01@bench.invalid", f"?{period}&by=clinician"),
    ]
    bench_admin()
    filled = fill_ended_on()
    if filled:
        print(f"Gave {filled} closed courses an end date.", file=sys.stderr)
    results = []
    for name, email, query in cases:
        http = HttpClient()
        http.force_login(User.objects.get(email=email))
        result = time_case(http, "/outcomes/" + query, args) | {"case": name}
        results.append(result)
        print(f"{name}: {result}", file=sys.stderr)
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": args.db,
        "courses": Course.objects.count(),
        "load_average": os.getloadavg(),
        "results": results,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"outcomes-{args.db}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print("| case | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms | queries |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['case']} | {r['p50_ms']} | {r['p95_ms']} | {r['cpu_p50_ms']} "
              f"| {r['cpu_p95_ms']} | {r['queries']} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
