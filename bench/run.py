"""Load scenario on loopback: clinician pages of the benchmark practice under gunicorn.

Usage (from the repository root; see bench/README.md):

    .venv/bin/python bench/run.py                      # SQLite file under var/bench-v2/
    .venv/bin/python bench/run.py --db postgres        # PostgreSQL database openipt_bench_v2

Steps: migrate the bench database, seed 10,000 clients if it holds no benchmark practice,
migrate the floor's database (bench/floor/: a minimal Django project with one
``@login_required`` page), start gunicorn for both (2 sync workers each, the same command
line) on 127.0.0.1 and free ports, open signed-in sessions for a few clinicians and the
floor's user directly through the session engine, send a bounded number of requests per
endpoint from a thread pool (the floor first, then GET pages and POSTs of the in-session
PHQ-9 form for questionnaire submission throughput, then the floor again), record the
servers' CPU time and the queries per request, print a markdown table with every page as
a ratio to the floor and beside the previous run's ratios, and write JSON to
bench/results/. The servers are stopped on the way out, whatever happens. Nothing but
127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import report as reports  # bench/report.py (bench/ is on sys.path)
from local_server import Server, gunicorn  # bench/local_server.py

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
HOST = "127.0.0.1"  # the only address this scenario ever talks to
# The bench databases are named after the shape of the seed: a new shape (here 2: courses,
# sessions, inventories and PHQ-9s) gets new databases instead of failing on the old ones.
SHAPE = "v2"
DEFAULT_PG_URL = f"postgres://postgres@127.0.0.1:5432/openipt_bench_{SHAPE}"
FLOOR_PG_DATABASE = "openipt_bench_floor"
FLOOR_APP = "bench.floor.wsgi:application"
SETTINGS = "bench.bench_settings"  # config.settings plus the query counter
QUERIES_HEADER = "X-Bench-Queries"  # set by bench/query_count.py
WARMUP_REQUESTS = 20
TRIVIAL = "dashboard"
QUIET_LOAD = 1.0
ENTRY = "PHQ-9 entry (POST)"
PHQ9_ANSWERS = "121101000"  # total 7 (mild); item 9 = 0, so no risk alert is raised


@dataclass(frozen=True)
class Session:
    email: str
    cookie: str
    name_term: str
    dob: str
    identifier: str
    sample_uuid: str  # a client of this clinician with that name, date of birth, identifier
    course_uuid: str  # an open course of this clinician with the most sessions (~12 or fewer)
    course_client: str  # that course's client's family name (shown on the course pages)
    session_uuid: str  # that course's latest session
    entry_course_uuid: str  # a concluded course: PHQ-9 POSTs go here, not into measured pages
    entry_session_uuid: str
    long_course_uuid: str  # the 1000-session course (empty unless this clinician has it)
    csrf_cookie: str = ""  # filled in before a POST endpoint runs
    csrf_token: str = ""


@dataclass(frozen=True)
class Endpoint:
    name: str
    describe: str
    path: Callable[[Session], str]
    # Text the page must contain, proving it answered with real rows (not an empty page).
    expect: Callable[[Session], str] = lambda s: ""
    # Form fields to POST (None: a GET). A POST must answer 302 to a path containing
    # ``redirect_to`` (a refused form answers 200, which counts as an error).
    form: Callable[[Session], dict[str, str]] | None = None
    redirect_to: str = ""
    # Only the clinicians whose sessions have ``long_course_uuid`` (the long course's owner).
    long_course_owner: bool = False
    # Share of --requests and --latency-requests to send (slow pages: keep the run short).
    share: float = 1.0


def _sample(s: Session) -> str:
    return s.sample_uuid


FLOOR = Endpoint(
    "floor",
    "/ of bench/floor (one @login_required view)",
    lambda s: "/",
    lambda s: f"Signed in as {s.email}.",
)


def floor_session(cookie: str, username: str) -> Session:
    """The floor's user: only the cookie and the name its page shows are used."""
    return Session(
        email=username,
        cookie=cookie,
        name_term="",
        dob="",
        identifier="",
        sample_uuid="",
        course_uuid="",
        course_client="",
        session_uuid="",
        entry_course_uuid="",
        entry_session_uuid="",
        long_course_uuid="",
    )


ENDPOINTS = [
    Endpoint(TRIVIAL, "/ (the workspace home)", lambda s: "/"),
    Endpoint("client list", "/clients/", lambda s: "/clients/"),
    Endpoint("client list, page 5", "/clients/?page=5", lambda s: "/clients/?page=5"),
    Endpoint(
        "name search", "/clients/?q=<family name>", lambda s: f"/clients/?q={s.name_term}", _sample
    ),
    Endpoint(
        "date of birth search", "/clients/?dob=<date>", lambda s: f"/clients/?dob={s.dob}", _sample
    ),
    Endpoint(
        "identifier search",
        "/clients/?identifier=<value>",
        lambda s: f"/clients/?identifier={s.identifier}",
        _sample,
    ),
    Endpoint("caseload", "/caseload/", lambda s: "/caseload/", lambda s: s.course_client),
    Endpoint(
        "course overview",
        "/courses/<uuid>/ (open course, up to 12 sessions)",
        lambda s: f"/courses/{s.course_uuid}/",
        lambda s: s.course_client,
    ),
    Endpoint(
        "course overview, 1000 sessions",
        "/courses/<uuid>/ (the long course)",
        lambda s: f"/courses/{s.long_course_uuid}/",
        long_course_owner=True,
        share=0.2,
    ),
    Endpoint(
        "session page",
        "/courses/<uuid>/sessions/<uuid>/",
        lambda s: f"/courses/{s.course_uuid}/sessions/{s.session_uuid}/",
        lambda s: s.course_client,
    ),
    Endpoint(
        ENTRY,
        "POST /courses/<uuid>/measures/new/?instrument=PHQ-9",
        lambda s: f"/courses/{s.entry_course_uuid}/measures/new/?instrument=PHQ-9",
        form=lambda s: {"quick": PHQ9_ANSWERS, "session": s.entry_session_uuid},
        redirect_to="/measures/",
    ),
]


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p95_ms: float
    mean_ms: float


@dataclass
class Result:
    name: str
    path: str
    alone: Latency  # requests one at a time: close to server time plus loopback
    loaded: Latency  # under load: includes waiting for a free worker
    requests: int
    errors: int
    requests_per_s: float
    cpu_ms_per_request: float | None = None  # server processes' CPU, timed requests only
    queries_per_request: float | None = None  # mean of the X-Bench-Queries headers
    ratio_to_trivial: float | None = None
    statuses: dict[str, int] = field(default_factory=dict)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_environment(args)
    import django

    django.setup()
    clients = prepare_database(args.clients)
    floor_env = floor_environment()
    floor = [prepare_floor(floor_env)]
    sessions = open_sessions(args.sessions)
    load_before = wait_for_quiet(args.wait_quiet)
    with (
        gunicorn(args.workers, args.var_dir, FLOOR_APP, floor_env, "gunicorn-floor.log") as base,
        gunicorn(args.workers, args.var_dir) as openipt,
    ):
        floor_start = run_endpoint(base, FLOOR, floor, args)
        results = [run_endpoint(openipt, ep, sessions, args) for ep in selected(args.only)]
        floor_end = run_endpoint(base, FLOOR, floor, args)
    add_ratios(results)
    report = build_report(args, clients, results)
    report["floor"] = {"start": asdict(floor_start), "end": asdict(floor_end)}
    report["floor"]["compared_with"] = reports.combined_floor(
        report["floor"]["start"], report["floor"]["end"]
    )
    reports.add_floor_ratios(report["results"], report["floor"]["compared_with"])
    report["machine"]["load_average_before"] = load_before
    report["machine"]["load_average_after"] = list(os.getloadavg())
    print(reports.markdown_table(report))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"{stamp}-{report['database']['vendor']}.json"
    previous = reports.previous_report(RESULTS_DIR, report["database"]["vendor"], out.name)
    print()
    if previous is None:
        print(reports.comparison_table(report, None))
    else:
        print(reports.comparison_table(report, previous[1], previous[0].name))
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON written to {out.relative_to(BASE_DIR)}")
    failed = any(r.errors for r in [floor_start, *results, floor_end])
    return 1 if failed else 0


def selected(only: str) -> list[Endpoint]:
    names = {name.strip() for name in only.split(",") if name.strip()}
    unknown = names - {ep.name for ep in ENDPOINTS}
    if unknown:
        raise SystemExit(f"Unknown endpoint(s): {', '.join(sorted(unknown))}")
    return [ep for ep in ENDPOINTS if not names or ep.name in names or ep.name == TRIVIAL]


def sessions_for(endpoint: Endpoint, sessions: list[Session]) -> list[Session]:
    if not endpoint.long_course_owner:
        return sessions
    owners = [s for s in sessions if s.long_course_uuid]
    if not owners:
        raise SystemExit("No long course in this bench database (seed with --long-course).")
    return owners


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("OPENIPT_BENCH_DATABASE_URL", DEFAULT_PG_URL),
        help="PostgreSQL URL for --db postgres (created if missing; default %(default)s)",
    )
    parser.add_argument("--var-dir", type=Path, default=BASE_DIR / "var" / f"bench-{SHAPE}")
    parser.add_argument("--clients", type=int, default=10_000, help="seed size if empty")
    parser.add_argument("--requests", type=int, default=300, help="per endpoint, under load")
    parser.add_argument(
        "--latency-requests", type=int, default=100, help="per endpoint, one at a time"
    )
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--sessions", type=int, default=4, help="clinicians signed in")
    parser.add_argument(
        "--wait-quiet",
        type=int,
        default=0,
        metavar="SECONDS",
        help="wait up to this long for the 1-minute load average to fall below 1",
    )
    parser.add_argument(
        "--only", default="", help="comma-separated endpoint names (the trivial one always runs)"
    )
    parser.add_argument(
        "--no-query-count",
        action="store_true",
        help="leave the query-counting middleware out of both servers (no queries/req column)",
    )
    return parser.parse_args(argv)


def configure_environment(args: argparse.Namespace) -> None:
    """Point this process (and the server it starts) at the bench database only."""
    sys.path.insert(0, str(BASE_DIR))
    args.var_dir = args.var_dir.resolve()
    args.var_dir.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["OPENIPT_VAR_DIR"] = str(args.var_dir)
    os.environ["OPENIPT_BENCH_COUNT_QUERIES"] = "0" if args.no_query_count else "1"
    os.environ.pop("OPENIPT_TESTING", None)
    os.environ.pop("DJANGO_DEBUG", None)
    if args.db == "postgres":
        ensure_pg_database(args.database_url)
        ensure_pg_database(with_database_name(args.database_url, FLOOR_PG_DATABASE))
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)


def with_database_name(url: str, name: str) -> str:
    """The same PostgreSQL server, user and options, another database."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def floor_environment() -> dict[str, str]:
    """The floor's environment: this one (same bench database settings), its own settings."""
    env = os.environ.copy()
    env["DJANGO_SETTINGS_MODULE"] = "bench.floor.settings"
    env["OPENIPT_BENCH_FLOOR_DATABASE"] = FLOOR_PG_DATABASE
    return env


def prepare_floor(env: dict[str, str]) -> Session:
    """Migrate the floor's database and sign its user in (bench/floor/prepare.py)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.floor.prepare"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"Preparing the floor failed:\n{done.stderr}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return floor_session(answer["cookie"], answer["username"])


def ensure_pg_database(url: str) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    cfg = dj_database_url.parse(url)
    params: dict[str, Any] = {
        "host": cfg.get("HOST") or HOST,
        "port": cfg.get("PORT") or 5432,
        "user": cfg.get("USER") or None,
        "password": cfg.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        name = str(cfg["NAME"])
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"Created PostgreSQL database {name}.", file=sys.stderr)


def prepare_database(clients: int) -> int:
    """Migrate, collect static files, seed if needed; returns the benchmark client count."""
    from django.core.management import call_command
    from django.db import connections

    from openipt.clients.models import Client
    from openipt.testing.management.commands.seed_bench import PRACTICE_NAME

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if not Client.objects.filter(practice__name=PRACTICE_NAME).exists():
        print(f"Seeding {clients} clients (once per bench database)…", file=sys.stderr)
        call_command("seed_bench", clients=clients)
    from openipt.treatment.models import Course, CourseSummary

    if CourseSummary.objects.count() < Course.objects.count():  # seeded before summaries
        print("Building the courses' summary rows…", file=sys.stderr)
        call_command("rebuild_course_summaries")
    with connections["default"].cursor() as cursor:  # fresh statistics for new indexes too
        cursor.execute("ANALYZE")
    count = Client.objects.filter(practice__name=PRACTICE_NAME).count()
    connections.close_all()
    return count


def open_sessions(count: int) -> list[Session]:
    """Signed-in sessions for the first clinicians, made directly in the session store.

    Their TOTP authenticator (made by seed_bench) satisfies the MFA middleware; the login
    form itself is not what this scenario measures.
    """
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from openipt.accounts.models import User
    from openipt.clients.models import Client, ClientIdentifier
    from openipt.testing.management.commands.seed_bench import EMAIL_DOMAIN

    sessions = []
    for i in range(1, count + 1):
        user = User.objects.get(email=f"clinician{i:03d}@{EMAIL_DOMAIN}")
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        own = list(Client.objects.filter(care_team__member__user=user).order_by("id"))
        if not own:
            raise SystemExit(f"{user.email} has no clients: seed more clients than --sessions")
        sample = own[len(own) // 2]  # a client in the middle of the clinician's caseload
        identifier = ClientIdentifier.objects.filter(client=sample).values_list("value", flat=True)
        sessions.append(
            Session(
                email=user.email,
                cookie=f"{settings.SESSION_COOKIE_NAME}={store.session_key}",
                name_term=sample.legal_family_name.lower(),
                dob=sample.date_of_birth.isoformat(),
                identifier=identifier[0],
                sample_uuid=str(sample.uuid),
                **course_samples(user),
            )
        )
    return sessions


def course_samples(user: Any) -> dict[str, str]:
    """The courses this clinician's requests use (see the fields of ``Session``)."""
    from django.db.models import Count

    from openipt.treatment.models import Course

    mine = Course.objects.filter(clinician__user=user).select_related("client")
    course = (
        mine.filter(status__in=["active", "assessment"], planned_sessions__lte=200)
        .annotate(n=Count("sessions"))
        .filter(n__lte=12)
        .order_by("-n", "id")
        .first()
    )
    entry = mine.filter(status="concluded").order_by("id").first()
    if course is None or entry is None:
        raise SystemExit(f"{user.email} has no open or no concluded course: reseed the database")
    long_course = mine.filter(planned_sessions__gt=200).order_by("id").first()
    return {
        "course_uuid": str(course.uuid),
        "course_client": course.client.legal_family_name,
        "session_uuid": str(course.sessions.order_by("-number")[0].uuid),
        "entry_course_uuid": str(entry.uuid),
        "entry_session_uuid": str(entry.sessions.order_by("-number")[0].uuid),
        "long_course_uuid": str(long_course.uuid) if long_course else "",
    }


def wait_for_quiet(limit: int) -> list[float]:
    """Other work on the machine skews every number: wait for calm, or at least say so."""
    deadline = time.monotonic() + limit
    while os.getloadavg()[0] >= QUIET_LOAD and time.monotonic() < deadline:
        time.sleep(5)
    load = list(os.getloadavg())
    if load[0] >= QUIET_LOAD:
        print(
            f"Warning: load average {load[0]:.2f} before the run; other work on this "
            "machine will make the numbers noisy (try --wait-quiet 300).",
            file=sys.stderr,
        )
    return load


@dataclass(frozen=True)
class Answer:
    status: int
    location: str
    body: str
    queries: int | None  # the X-Bench-Queries header, if the server counts


def get(port: int, path: str, cookie: str) -> Answer:
    status, location, body, _, queries = request(port, "GET", path, cookie)
    return Answer(status, location, body, queries)


def request(
    port: int, method: str, path: str, cookie: str, form: dict[str, str] | None = None
) -> tuple[int, str, str, list[str], int | None]:
    """One request; returns status, Location, body, the Set-Cookie headers, the query count."""
    headers = {"Cookie": cookie} if cookie else {}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        cookies = response.msg.get_all("Set-Cookie") or []
        queries = response.getheader(QUERIES_HEADER)
        return (
            response.status,
            response.getheader("Location") or "",
            text,
            cookies,
            int(queries) if queries is not None else None,
        )
    finally:
        conn.close()


CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def with_csrf(port: int, endpoint: Endpoint, session: Session) -> Session:
    """GET the form once, as a browser would, for its CSRF cookie and form token."""
    from dataclasses import replace

    from django.conf import settings

    status, location, body, cookies, _ = request(
        port, "GET", endpoint.path(session), session.cookie
    )
    if status != 200:
        raise SystemExit(f"{endpoint.path(session)} answered {status} {location}")
    token = CSRF_INPUT.search(body)
    name = settings.CSRF_COOKIE_NAME
    cookie = next((c.split(";")[0] for c in cookies if c.startswith(f"{name}=")), "")
    if token is None or not cookie:
        raise SystemExit(f"{endpoint.path(session)}: no CSRF token in the form")
    return replace(session, csrf_cookie=cookie, csrf_token=token.group(1))


def send(port: int, endpoint: Endpoint, session: Session) -> Answer:
    path = endpoint.path(session)
    if endpoint.form is None:
        return get(port, path, session.cookie)
    form = {"csrfmiddlewaretoken": session.csrf_token, **endpoint.form(session)}
    cookie = f"{session.cookie}; {session.csrf_cookie}"
    status, location, body, _, queries = request(port, "POST", path, cookie, form)
    return Answer(status, location, body, queries)


def succeeded(endpoint: Endpoint, status: int, location: str) -> bool:
    if endpoint.form is None:
        return status == 200
    return status == 302 and endpoint.redirect_to in location and "/alerts/" not in location


Sample = tuple[float, int, bool, int | None]  # seconds, status, succeeded, queries


def run_endpoint(server: Server, endpoint: Endpoint, sessions: list[Session], args: Any) -> Result:
    """Warm up, time requests one at a time, then time ``args.requests`` under load.

    The server's CPU time (gunicorn master and workers, from /proc) is read after the
    warm-up and after the last timed request: CPU ms per request covers the timed ones.
    """
    port = server.port
    sessions = sessions_for(endpoint, sessions)
    if endpoint.form is not None:
        sessions = [with_csrf(port, endpoint, s) for s in sessions]
    check_endpoint(port, endpoint, sessions[0])

    def one(i: int) -> Sample:
        session = sessions[i % len(sessions)]
        started = time.perf_counter()
        answer = send(port, endpoint, session)
        elapsed = time.perf_counter() - started
        ok = succeeded(endpoint, answer.status, answer.location)
        return elapsed, answer.status, ok, answer.queries

    def scaled(count: int) -> int:
        return max(2, round(count * endpoint.share))

    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        list(pool.map(one, range(scaled(WARMUP_REQUESTS))))
        cpu_before = server.cpu_seconds()
        alone = [one(i) for i in range(scaled(args.latency_requests))]
        started = time.perf_counter()
        loaded = list(pool.map(one, range(scaled(args.requests))))
        wall = time.perf_counter() - started
        cpu_after = server.cpu_seconds()
    samples = alone + loaded
    statuses: dict[str, int] = {}
    for _, status, _ok, _queries in samples:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    counted = [queries for *_, queries in samples if queries is not None]
    return Result(
        name=endpoint.name,
        path=endpoint.describe,
        alone=latency(alone),
        loaded=latency(loaded),
        requests=len(samples),
        errors=sum(1 for _, _status, ok, _queries in samples if not ok),
        requests_per_s=round(len(loaded) / wall, 1),
        cpu_ms_per_request=round((cpu_after - cpu_before) * 1000 / len(samples), 2),
        queries_per_request=round(statistics.fmean(counted), 2) if counted else None,
        statuses=statuses,
    )


def check_endpoint(port: int, endpoint: Endpoint, session: Session) -> None:
    """Stop at once if the page is not what we mean to measure (login page, 404, no rows)."""
    path = endpoint.path(session)
    answer = send(port, endpoint, session)
    if not succeeded(endpoint, answer.status, answer.location):
        raise SystemExit(f"{path} answered {answer.status} {answer.location} for {session.email}")
    expected = endpoint.expect(session)
    if expected and expected.lower() not in answer.body.lower():
        raise SystemExit(f"{path} answered without {expected!r}: the expected client is missing")


def latency(samples: list[Sample]) -> Latency:
    millis = [sample[0] * 1000 for sample in samples]
    if len(millis) < 2:
        return Latency(p50_ms=math.nan, p95_ms=math.nan, mean_ms=math.nan)
    cuts = statistics.quantiles(millis, n=100, method="inclusive")
    return Latency(
        p50_ms=round(statistics.median(millis), 1),
        p95_ms=round(cuts[94], 1),
        mean_ms=round(statistics.fmean(millis), 1),
    )


def add_ratios(results: list[Result]) -> None:
    trivial = next(r for r in results if r.name == TRIVIAL)
    for result in results:
        result.ratio_to_trivial = round(result.requests_per_s / trivial.requests_per_s, 2)


def machine() -> dict[str, Any]:
    def first(path: str, key: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    return {
        "nproc": os.cpu_count(),
        "memory": first("/proc/meminfo", "MemTotal"),
        "cpu": first("/proc/cpuinfo", "model name"),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def database_info() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        version = str(cursor.fetchone()[0])
    return {"vendor": connection.vendor, "version": version}


def build_report(args: argparse.Namespace, clients: int, results: list[Result]) -> dict[str, Any]:
    import django

    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": database_info(),
        "django": django.get_version(),
        "clients": clients,
        "machine": machine(),
        "load": {
            "requests_per_endpoint": args.requests,
            "one_at_a_time_per_endpoint": args.latency_requests,
            "warmup_per_endpoint": WARMUP_REQUESTS,
            "concurrency": args.concurrency,
            "gunicorn_workers": args.workers,
            "signed_in_clinicians": args.sessions,
            "queries_counted": not args.no_query_count,
        },
        "results": [asdict(r) for r in results],
    }


if __name__ == "__main__":
    sys.exit(main())
