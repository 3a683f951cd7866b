"""Ratios to the floor, the markdown tables and the previous run: plain data, no Django.

A report is the dict bench/run.py writes as JSON to bench/results/. Its ``floor`` holds
the reference project measured at the start and at the end of the run; every page is
compared with the mean of the two:

- ``floor_rps_ratio``: floor requests per second ÷ the page's, under load (how many times
  fewer requests the page serves);
- ``floor_ms_ratio``: the page's median ÷ the floor's median, one request at a time (how
  many times longer a request takes);
- ``floor_cpu_ratio``: the page's server CPU per request ÷ the floor's (how many times
  more work the server does; the least disturbed by other work on the machine).

All three are 1 for a page as cheap as the floor and grow as the page costs more.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

Report = dict[str, Any]
Row = dict[str, Any]

# The ratios, as (key in a result, column heading).
RATIOS = (
    ("floor_rps_ratio", "floor ÷ page req/s"),
    ("floor_ms_ratio", "page ÷ floor ms"),
    ("floor_cpu_ratio", "page ÷ floor CPU"),
)


def combined_floor(start: Row, end: Row) -> Row:
    """The floor the pages are compared with: the mean of its two measurements."""

    def mean(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None and not math.isnan(v)]
        return round(statistics.fmean(known), 2) if known else None

    return {
        "requests_per_s": mean([start["requests_per_s"], end["requests_per_s"]]),
        "alone_p50_ms": mean([start["alone"]["p50_ms"], end["alone"]["p50_ms"]]),
        "cpu_ms_per_request": mean([start["cpu_ms_per_request"], end["cpu_ms_per_request"]]),
        "queries_per_request": mean([start["queries_per_request"], end["queries_per_request"]]),
    }


def add_floor_ratios(results: list[Row], floor: Row) -> None:
    """Set the ratios on every result (None where a figure is missing or zero)."""
    for result in results:
        result["floor_rps_ratio"] = _ratio(floor["requests_per_s"], result["requests_per_s"])
        result["floor_ms_ratio"] = _ratio(result["alone"]["p50_ms"], floor["alone_p50_ms"])
        result["floor_cpu_ratio"] = _ratio(
            result.get("cpu_ms_per_request"), floor["cpu_ms_per_request"]
        )


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or math.isnan(numerator) or not denominator:
        return None
    if math.isnan(denominator):
        return None
    return round(numerator / denominator, 2)


def previous_report(results_dir: Path, vendor: str, before: str) -> tuple[Path, Report] | None:
    """The latest result file of the same database older than the file named ``before``.

    Files are named ``<UTC time stamp>-<vendor>.json``, so their names sort by time.
    Unreadable files are skipped.
    """
    candidates = sorted(results_dir.glob(f"*-{vendor}.json"), reverse=True)
    for path in candidates:
        if path.name >= before:
            continue
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(report, dict) and isinstance(report.get("results"), list):
            return path, report
    return None


def _number(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def markdown_table(report: Report) -> str:
    db, load, m = report["database"], report["load"], report["machine"]
    lines = [
        f"{report['clients']:,} clients · {db['vendor']} {db['version']} · "
        f"{load['gunicorn_workers']} gunicorn workers · {m['nproc']} CPUs ({m['cpu']}) · "
        f"{report['date']} · load average before/after "
        f"{m['load_average_before'][0]:.2f}/{m['load_average_after'][0]:.2f}",
        f"Alone: {load['one_at_a_time_per_endpoint']} requests one at a time. "
        f"Load: {load['requests_per_endpoint']} requests, concurrency {load['concurrency']}.",
        "",
        "| Endpoint | alone p50 ms | alone p95 ms | load p50 ms | load p95 ms | load req/s "
        "| floor ÷ page req/s | page ÷ floor ms | CPU ms/req | page ÷ floor CPU | queries/req "
        "| errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    floor = report.get("floor") or {}
    rows = [
        {**floor[key], "name": f"floor ({key})"} for key in ("start", "end") if key in floor
    ] + list(report["results"])
    for r in rows:
        alone, loaded = r["alone"], r["loaded"]
        lines.append(
            f"| {r['name']} | {alone['p50_ms']} | {alone['p95_ms']} "
            f"| {loaded['p50_ms']} | {loaded['p95_ms']} | {r['requests_per_s']} "
            f"| {_number(r.get('floor_rps_ratio'))} | {_number(r.get('floor_ms_ratio'))} "
            f"| {_number(r.get('cpu_ms_per_request'), 1)} | {_number(r.get('floor_cpu_ratio'))} "
            f"| {_number(r.get('queries_per_request'), 1)} | {r['errors']} |"
        )
    return "\n".join(lines)


def comparison_table(report: Report, previous: Report | None, previous_name: str = "") -> str:
    """Each page's ratios to the floor beside the previous run's (— where it had none)."""
    if previous is None:
        return "No earlier run of this database in bench/results/ to compare with."
    before = {r["name"]: r for r in previous["results"]}
    lines = [
        f"Ratios to the floor, this run beside the previous one ({previous_name or 'earlier'}"
        f", {previous.get('date', '?')}, {previous.get('clients', 0):,} clients):",
        "",
        "| Endpoint | " + " | ".join(f"{heading} | previous" for _key, heading in RATIOS) + " |",
        "|---|" + "---:|---:|" * len(RATIOS),
    ]
    for r in report["results"]:
        old = before.get(r["name"], {})
        cells = []
        for key, _heading in RATIOS:
            cells += [_number(r.get(key)), _number(old.get(key))]
        lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
