"""Portal page weight and Largest Contentful Paint in headless Chromium on loopback (P6).

Usage (from the repository root; see bench/README.md):

    .venv/bin/python bench/portal_weight.py              # 5 cold + 5 warm loads per page

Steps: rebuild its own SQLite database under var/bench-portal/ (never a test or work
database), migrate, collect static files, create the test personas with Dana as a portal
client with some months of data, start gunicorn (config.wsgi, production settings: DEBUG
off, WhiteNoise serving the compressed static files) on 127.0.0.1 and a free port, sign Dana
in through the real login page with Playwright (Debian's Chromium, headless, 375x812), then
load every portal page N times cold (a fresh browser context: empty cache, same cookies) and
N times warm (one context, after a priming load), recording from the Chrome DevTools
Protocol the bytes of every response, the number of requests, any request to a host other
than 127.0.0.1, and the Largest Contentful Paint. Prints a markdown table of medians and
writes JSON to bench/results/. The server is stopped on the way out, whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import io
import json
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local_server import server  # bench/local_server.py (bench/ is on sys.path)

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
HOST = "127.0.0.1"  # the only address this script ever talks to
CHROMIUM = Path(os.environ.get("OPENIPT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 375, "height": 812}
DANA_EMAIL = "dana.portal@example.test"
WEIGHT_LIMIT = 100 * 1024  # P6: 100 KB compressed
LCP_LIMIT_MS = 1000.0  # P6: 1 s
DETAIL_KEYS = ("url", "status", "content_encoding", "body_bytes", "wire_bytes",
               "decoded_bytes", "from_cache", "accept_encoding")  # fmt: skip

# Read after the load event. page.evaluate runs through CDP (Runtime.evaluate), so the
# page's Content-Security-Policy (no inline scripts) does not apply to it.
METRICS_JS = """
() => new Promise((resolve) => {
  let last = null;
  const observer = new PerformanceObserver((list) => {
    const entries = list.getEntries();
    if (entries.length) last = entries[entries.length - 1];
  });
  observer.observe({type: "largest-contentful-paint", buffered: true});
  const finish = () => {
    observer.disconnect();
    const nav = performance.getEntriesByType("navigation")[0];
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    let element = null;
    if (last && last.element) {
      const el = last.element;
      element = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
        + (el.className && typeof el.className === "string"
           ? "." + el.className.trim().split(/\\s+/).join(".") : "");
    }
    resolve({
      lcp_ms: last ? last.startTime : null,
      lcp_element: element,
      lcp_size: last ? last.size : null,
      fcp_ms: fcp ? fcp.startTime : null,
      ttfb_ms: nav ? nav.responseStart : null,
      server_ms: nav ? nav.responseStart - nav.requestStart : null,
      dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null,
      load_ms: nav ? nav.loadEventEnd : null,
      response_end_ms: nav ? nav.responseEnd : null,
      resources: performance.getEntriesByType("resource").map((r) => ({
        name: r.name, start_ms: r.startTime, response_end_ms: r.responseEnd,
      })),
    });
  };
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(finish, 50)));
})
"""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_environment(args.var_dir)
    import django

    django.setup()
    seeded = prepare_database(args.var_dir)
    load_before = list(os.getloadavg())
    loads: list[list[float]] = [load_before]
    with server(args.workers, args.var_dir) as port:
        pages = portal_pages(seeded)
        results = measure(port, pages, args, loads)
    load_after = list(os.getloadavg())
    loads.append(load_after)
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "chromium": results.pop("browser_version"),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "load_average_1min_during": {
            "min": min(sample[0] for sample in loads),
            "median": statistics.median(sample[0] for sample in loads),
            "max": max(sample[0] for sample in loads),
        },
        "method": {
            "cold_loads_per_page": args.loads,
            "warm_loads_per_page": args.loads,
            "viewport": VIEWPORT,
            "gunicorn_workers": args.workers,
            "cold": "a new browser context per load (empty HTTP cache), Dana's cookies copied",
            "warm": "one context per page, one priming load not counted, then N loads",
            "bytes": "CDP Network.loadingFinished.encodedDataLength (wire bytes, headers "
            "included) and the encoded body size (Content-Length, else wire minus the "
            "header bytes reported at Network.responseReceived)",
        },
        "pages": results["pages"],
    }
    print(markdown_table(report))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"{stamp}-portal-weight.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON written to {out.relative_to(BASE_DIR)}")
    third_party = sum(page["third_party_requests"] for page in report["pages"])
    return 1 if third_party or any(page["errors"] for page in report["pages"]) else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=5, help="cold and warm loads per page")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--var-dir", type=Path, default=BASE_DIR / "var" / "bench-portal")
    parser.add_argument("--only", default="", help="comma-separated page names")
    return parser.parse_args(argv)


def configure_environment(var_dir: Path) -> None:
    """Point this process (and the server it starts) at the bench database only."""
    sys.path.insert(0, str(BASE_DIR))
    var_dir.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["OPENIPT_VAR_DIR"] = str(var_dir.resolve())
    for name in ("DATABASE_URL", "OPENIPT_TESTING", "DJANGO_DEBUG"):
        os.environ.pop(name, None)
    # Playwright's sync API runs an event loop in this thread; the ORM is not used meanwhile.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def prepare_database(var_dir: Path) -> dict[str, str]:
    """A fresh bench database each run, so that every run measures the same data."""
    from django.core.management import call_command
    from django.db import connections

    for suffix in ("", "-wal", "-shm"):
        (var_dir / f"openipt.sqlite3{suffix}").unlink(missing_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    with contextlib.redirect_stdout(io.StringIO()):  # the console email backend's output
        seeded = seed()
    connections.close_all()
    return seeded


def seed() -> dict[str, str]:
    """The test personas, with Dana a portal client some weeks into a course of IPT."""
    from django.utils import timezone

    from openipt.engagement import accounts, messaging
    from openipt.engagement.diary import DiaryData, diary_entry_create
    from openipt.measures import services as measures
    from openipt.measures.models import Instrument
    from openipt.measures.scoring import answers_from_entries
    from openipt.scheduling import services as scheduling
    from openipt.testing.personas import PASSWORD, give_crisis_contacts, make_personas
    from openipt.treatment import services as treatment
    from openipt.treatment.tests import factories

    p = make_personas()
    give_crisis_contacts(p.practice)
    _invitation, token = accounts.portal_invite(actor=p.alice, client=p.dana, email=DANA_EMAIL)
    dana = accounts.portal_invitation_accept(token=token, password=PASSWORD)
    accounts.portal_sharing_set(actor=p.alice, client=p.dana, share_progress=True)
    today = timezone.localdate()
    start = today - dt.timedelta(weeks=6)
    course = factories.make_course(p.alice, p.dana, start_date=start)
    phq9 = Instrument.objects.get(code="PHQ-9", practice__isnull=True)
    for number in range(1, 7):
        when = timezone.make_aware(dt.datetime.combine(start, dt.time(10)))
        when += dt.timedelta(weeks=number - 1)
        session = factories.make_session(p.alice, course, number, starts_at=when)
        level = max(0, 3 - number // 2)  # scores fall over the weeks; item 9 stays 0
        measures.administration_enter(
            actor=p.alice, course=course, instrument=phq9, session=session,
            answers=answers_from_entries(phq9.parsed, [level] * 8 + [0]),
        )  # fmt: skip
        treatment.task_set(
            actor=p.alice, session=session, text=f"Week {number}: talk to my sister for ten minutes"
        )
    goals = [
        treatment.goal_create(actor=p.alice, course=course, data=treatment.GoalData(text=text))
        for text in ("Call my sister every week", "Say no to extra shifts", "Join the choir")
    ]
    for week, goal in enumerate(goals * 2):
        treatment.goal_rate(
            actor=dana, goal=goal, rating=3 + week, rated_on=start + dt.timedelta(weeks=week)
        )
    administration = measures.administration_assign(
        actor=p.alice, client=p.dana, instrument=phq9, course=course, due_on=today
    )
    measures.safety_plan_save(
        actor=p.alice,
        client=p.dana,
        data=measures.SafetyPlanData(
            warning_signs="Not sleeping; staying in bed; not answering my phone",
            coping_strategies="A walk by the river; a shower; music",
            distractions="The café on the corner; my neighbour's dog",
            people_to_ask="My sister (evenings); my friend Sam",
            professionals="Alice at Riverside Practice; my GP; the crisis line",
            safer_environment="Ask my sister to keep my spare tablets",
        ),
    )
    for day in range(20):
        diary_entry_create(
            actor=dana,
            client=p.dana,
            data=DiaryData(
                entry_date=today - dt.timedelta(days=day),
                mood=(day * 3) % 11,
                with_whom="my sister" if day % 2 else "my partner",
                what_happened="We talked about the weekend and it went better than I feared.",
            ),
        )
    for number in range(8):
        messaging.message_send(
            actor=dana if number % 2 else p.alice,
            client=p.dana,
            body=f"Message {number + 1}: about next week's appointment and the diary.",
        )
    next_week = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=7), dt.time(10)))
    for week in range(3):
        scheduling.appointment_book(
            actor=p.alice,
            client=p.dana,
            clinician=p.membership(p.alice),
            course=course,
            starts_at=next_week + dt.timedelta(weeks=week),
        )
    return {"email": DANA_EMAIL, "password": PASSWORD, "administration": str(administration.uuid)}


def portal_pages(seeded: dict[str, str]) -> list[tuple[str, str]]:
    return [
        ("home", "/portal/"),
        ("questionnaires", "/portal/questionnaires/"),
        ("question page", f"/portal/questionnaires/{seeded['administration']}/"),
        ("tasks", "/portal/tasks/"),
        ("diary", "/portal/diary/"),
        ("diary, new entry", "/portal/diary/new/"),
        ("goals", "/portal/goals/"),
        ("progress (shared)", "/portal/progress/"),
        ("messages", "/portal/messages/"),
        ("safety plan", "/portal/safety-plan/"),
        ("help now", "/portal/help/"),
        ("my record", "/portal/record/"),
    ]


class Recorder:
    """Every request of one page load, as the DevTools protocol reports it."""

    def __init__(self, cdp: Any) -> None:
        self.requests: dict[str, dict[str, Any]] = {}
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestWillBeSentExtraInfo", self._sent_extra)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.on("Network.dataReceived", self._data)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)

    def reset(self) -> None:
        self.requests = {}

    def _entry(self, request_id: str) -> dict[str, Any]:
        return self.requests.setdefault(
            request_id, {"url": "", "decoded_bytes": 0, "from_cache": False, "failed": ""}
        )

    def _sent(self, event: dict[str, Any]) -> None:
        self._entry(event["requestId"])["url"] = event["request"]["url"]

    def _sent_extra(self, event: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in event.get("headers", {}).items()}
        self._entry(event["requestId"])["accept_encoding"] = headers.get("accept-encoding", "")

    def _response(self, event: dict[str, Any]) -> None:
        response = event["response"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        entry = self._entry(event["requestId"])
        entry.update(
            status=response.get("status"),
            mime=response.get("mimeType", ""),
            content_encoding=headers.get("content-encoding", ""),
            content_length=int(headers["content-length"]) if "content-length" in headers else None,
            header_bytes=response.get("encodedDataLength", 0),
            from_cache=entry["from_cache"]
            or bool(response.get("fromDiskCache") or response.get("fromPrefetchCache")),
        )

    def _from_cache(self, event: dict[str, Any]) -> None:
        self._entry(event["requestId"])["from_cache"] = True

    def _data(self, event: dict[str, Any]) -> None:
        self._entry(event["requestId"])["decoded_bytes"] += event.get("dataLength", 0)

    def _finished(self, event: dict[str, Any]) -> None:
        self._entry(event["requestId"])["wire_bytes"] = int(event.get("encodedDataLength", 0))

    def _failed(self, event: dict[str, Any]) -> None:
        self._entry(event["requestId"])["failed"] = event.get("errorText", "failed")

    def summary(self) -> dict[str, Any]:
        rows = list(self.requests.values())
        network = [r for r in rows if not r["from_cache"] and r["url"].startswith("http")]
        for row in network:
            wire = row.get("wire_bytes", 0)
            length = row.get("content_length")
            row["body_bytes"] = length if length is not None else wire - row.get("header_bytes", 0)
        outside = [r["url"] for r in rows if not is_loopback(r["url"])]
        return {
            "requests": len(rows),
            "network_requests": len(network),
            "wire_bytes": sum(r.get("wire_bytes", 0) for r in network),
            "body_bytes": sum(r["body_bytes"] for r in network),
            "decoded_bytes": sum(r["decoded_bytes"] for r in rows),
            "third_party": outside,
            "failed": [r["url"] for r in rows if r["failed"]],
            "detail": [{k: r.get(k) for k in DETAIL_KEYS} for r in rows],
        }


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"data", "blob", "about"} or parts.hostname == HOST


def measure(
    port: int, pages: list[tuple[str, str]], args: argparse.Namespace, loads: list[list[float]]
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    base = f"http://{HOST}:{port}"
    names = {n.strip() for n in args.only.split(",") if n.strip()}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            state = sign_in(browser, base)
            results = []
            for name, path in pages:
                if names and name not in names:
                    continue
                cold = [one_load(browser, base, path, state) for _ in range(args.loads)]
                warm = warm_loads(browser, base, path, state, args.loads)
                loads.append(list(os.getloadavg()))
                results.append(page_result(name, path, cold, warm))
                print(f"  {name}: done", file=sys.stderr)
            return {"pages": results, "browser_version": browser.version}
        finally:
            browser.close()


def sign_in(browser: Any, base: str) -> Any:
    """Dana signs in through the real login page; her cookies are reused for every load."""
    context = browser.new_context(base_url=base, viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        page.locator("input[name=login]").fill(DANA_EMAIL)
        from openipt.testing.personas import PASSWORD

        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/portal/")
        return context.storage_state()
    finally:
        context.close()


def load_once(page: Any, recorder: Recorder, base: str, path: str) -> dict[str, Any]:
    recorder.reset()
    response = page.goto(base + path, wait_until="load")
    page.wait_for_load_state("networkidle")
    metrics = page.evaluate(METRICS_JS)
    summary = recorder.summary()
    errors = []
    if response is None or response.status != 200 or urlsplit(page.url).path != path:
        errors.append(f"{path}: {response and response.status} at {page.url}")
    summary["errors"] = errors + [f"failed: {url}" for url in summary["failed"]]
    if response is not None and response.status == 200:
        html = response.body()
        summary["document_decoded_bytes"] = len(html)
        summary["document_gzip6_bytes"] = len(gzip.compress(html, compresslevel=6))
    return summary | metrics


def one_load(browser: Any, base: str, path: str, state: Any) -> dict[str, Any]:
    """Cold: a new context has an empty HTTP cache; it carries Dana's session cookie."""
    context = browser.new_context(viewport=VIEWPORT, storage_state=state)
    try:
        page = context.new_page()
        recorder = Recorder(context.new_cdp_session(page))
        return load_once(page, recorder, base, path)
    finally:
        context.close()


def warm_loads(browser: Any, base: str, path: str, state: Any, count: int) -> list[dict[str, Any]]:
    """Warm: the same tab loads the page again (static files come from the HTTP cache)."""
    context = browser.new_context(viewport=VIEWPORT, storage_state=state)
    try:
        page = context.new_page()
        recorder = Recorder(context.new_cdp_session(page))
        load_once(page, recorder, base, path)  # priming load, not counted
        return [load_once(page, recorder, base, path) for _ in range(count)]
    finally:
        context.close()


def median(samples: list[dict[str, Any]], key: str) -> float | None:
    values = [s[key] for s in samples if s.get(key) is not None]
    return round(statistics.median(values), 1) if values else None


def page_result(
    name: str, path: str, cold: list[dict[str, Any]], warm: list[dict[str, Any]]
) -> dict[str, Any]:
    keys = ("body_bytes", "wire_bytes", "decoded_bytes", "requests", "network_requests",
            "lcp_ms", "fcp_ms", "ttfb_ms", "server_ms", "response_end_ms",
            "dom_content_loaded_ms", "load_ms",
            "document_decoded_bytes", "document_gzip6_bytes")  # fmt: skip
    return {
        "name": name,
        "path": path,
        "cold": {key: median(cold, key) for key in keys},
        "warm": {key: median(warm, key) for key in keys},
        "cold_max_lcp_ms": max(
            (s["lcp_ms"] for s in cold if s["lcp_ms"] is not None), default=None
        ),
        "lcp_element": cold[0].get("lcp_element"),
        "cold_resource_timings_first_load": cold[0].get("resources"),
        "third_party_requests": sum(len(s["third_party"]) for s in cold + warm),
        "third_party_urls": sorted({u for s in cold + warm for u in s["third_party"]}),
        "errors": [e for s in cold + warm for e in s["errors"]],
        "cold_requests_first_load": cold[0]["detail"],
        "warm_requests_first_load": warm[0]["detail"] if warm else [],
        "samples": {
            "cold": [{k: s.get(k) for k in keys} for s in cold],
            "warm": [{k: s.get(k) for k in keys} for s in warm],
        },
    }


def verdict(page: dict[str, Any]) -> str:
    """P6 against the cold medians: weight, LCP, third-party requests."""
    over = []
    if (page["cold"]["body_bytes"] or 0) > WEIGHT_LIMIT:
        over.append("weight > 100 KB")
    if (page["cold"]["lcp_ms"] or 0) > LCP_LIMIT_MS or page["cold"]["lcp_ms"] is None:
        over.append("LCP > 1 s")
    if page["third_party_requests"]:
        over.append("third-party request")
    return "; ".join(over) or "ok"


def kb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1024:.1f}"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def markdown_table(report: dict[str, Any]) -> str:
    m = report["machine"]
    during = report["load_average_1min_during"]
    lines = [
        f"Portal pages, {report['date']}, Chromium {report['chromium']}, "
        f"{report['method']['cold_loads_per_page']} cold + "
        f"{report['method']['warm_loads_per_page']} warm loads per page (medians); "
        f"{m['nproc']} CPUs ({m['cpu']}), {m['memory']}; 1-minute load average "
        f"{during['min']:.1f} to {during['max']:.1f} during the run "
        f"(median {during['median']:.1f})",
        "",
        "| Page | Path | cold KB (body) | cold KB (wire) | HTML KB (as sent) | HTML KB if gzipped "
        "| cold requests | warm KB (body) | warm requests | cold LCP ms | warm LCP ms "
        "| cold LCP max ms | non-loopback | errors | P6 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for page in report["pages"]:
        cold, warm = page["cold"], page["warm"]
        lines.append(
            f"| {page['name']} | `{page['path']}` | {kb(cold['body_bytes'])} "
            f"| {kb(cold['wire_bytes'])} | {kb(cold['document_decoded_bytes'])} "
            f"| {kb(cold['document_gzip6_bytes'])} | {cold['network_requests']:.0f} "
            f"| {kb(warm['body_bytes'])} | {warm['network_requests']:.0f} "
            f"| {ms(cold['lcp_ms'])} | {ms(warm['lcp_ms'])} | {ms(page['cold_max_lcp_ms'])} "
            f"| {page['third_party_requests']} | {len(page['errors'])} | {verdict(page)} |"
        )
    return "\n".join(lines)


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


if __name__ == "__main__":
    sys.exit(main())
