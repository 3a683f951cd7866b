"""The benchmark's ratios to the floor and its comparison with the previous run (bench/report.py).

Plain data in, plain data out: no server is started and no time is measured here.
"""

from __future__ import annotations

import json

import pytest

from bench import report


def _result(name, rps, p50, cpu=None, queries=None):
    return {
        "name": name,
        "path": "/",
        "alone": {"p50_ms": p50, "p95_ms": p50 * 2, "mean_ms": p50},
        "loaded": {"p50_ms": p50 * 3, "p95_ms": p50 * 4, "mean_ms": p50 * 3},
        "requests": 10,
        "errors": 0,
        "requests_per_s": rps,
        "cpu_ms_per_request": cpu,
        "queries_per_request": queries,
    }


def _report(results, floor=None, date="2026-12-01T10:00:00+00:00"):
    return {
        "date": date,
        "database": {"vendor": "sqlite", "version": "3.40.1"},
        "clients": 10_000,
        "machine": {
            "nproc": 2,
            "cpu": "test CPU",
            "load_average_before": [0.5, 0.5, 0.5],
            "load_average_after": [0.7, 0.6, 0.5],
        },
        "load": {
            "requests_per_endpoint": 300,
            "one_at_a_time_per_endpoint": 100,
            "concurrency": 4,
            "gunicorn_workers": 2,
        },
        "results": results,
        **({"floor": floor} if floor else {}),
    }


def test_the_floor_compared_with_is_the_mean_of_its_start_and_end():
    start = _result("floor", 500.0, 2.0, cpu=2.0, queries=2.0)
    end = _result("floor", 700.0, 3.0, cpu=3.0, queries=2.0)
    assert report.combined_floor(start, end) == {
        "requests_per_s": 600.0,
        "alone_p50_ms": 2.5,
        "cpu_ms_per_request": 2.5,
        "queries_per_request": 2.0,
    }


def test_a_missing_figure_at_one_end_uses_the_other():
    start = _result("floor", 500.0, 2.0, cpu=2.0, queries=None)
    end = _result("floor", 700.0, float("nan"), cpu=None, queries=None)
    floor = report.combined_floor(start, end)
    assert floor["alone_p50_ms"] == 2.0
    assert floor["cpu_ms_per_request"] == 2.0
    assert floor["queries_per_request"] is None


def test_ratios_grow_as_a_page_costs_more_than_the_floor():
    floor = {
        "requests_per_s": 600.0,
        "alone_p50_ms": 2.5,
        "cpu_ms_per_request": 2.0,
        "queries_per_request": 2.0,
    }
    page = _result("caseload", 100.0, 30.0, cpu=20.0)
    as_cheap = _result("dashboard", 600.0, 2.5, cpu=2.0)
    no_cpu = _result("session page", 0.0, 10.0, cpu=None)
    report.add_floor_ratios([page, as_cheap, no_cpu], floor)
    assert (page["floor_rps_ratio"], page["floor_ms_ratio"], page["floor_cpu_ratio"]) == (
        6.0,
        12.0,
        10.0,
    )
    assert (as_cheap["floor_rps_ratio"], as_cheap["floor_ms_ratio"]) == (1.0, 1.0)
    assert as_cheap["floor_cpu_ratio"] == 1.0
    # Nothing served or nothing measured: no ratio rather than a division error.
    assert no_cpu["floor_rps_ratio"] is None
    assert no_cpu["floor_cpu_ratio"] is None
    assert no_cpu["floor_ms_ratio"] == 4.0


def _write(directory, name, content):
    path = directory / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_previous_report_is_the_latest_earlier_run_of_the_same_database(tmp_path):
    _write(tmp_path, "20261130T090000Z-sqlite.json", _report([_result("dashboard", 1, 1)]))
    _write(tmp_path, "20261201T090000Z-sqlite.json", _report([], date="wanted"))
    _write(tmp_path, "20261201T100000Z-postgresql.json", _report([]))
    _write(tmp_path, "20261201T110000Z-sqlite.json", "{not json")
    _write(tmp_path, "20261202T090000Z-sqlite.json", _report([], date="later"))
    found = report.previous_report(tmp_path, "sqlite", "20261202T090000Z-sqlite.json")
    assert found is not None
    path, previous = found
    assert path.name == "20261201T090000Z-sqlite.json"
    assert previous["date"] == "wanted"


def test_no_previous_report_for_a_first_run(tmp_path):
    _write(tmp_path, "20261201T100000Z-postgresql.json", _report([]))
    assert report.previous_report(tmp_path, "sqlite", "20261202T090000Z-sqlite.json") is None
    assert report.previous_report(tmp_path / "missing", "sqlite", "x.json") is None
    assert "No earlier run" in report.comparison_table(_report([]), None)


def _row(table, name):
    rows = [line for line in table.splitlines() if line.startswith(f"| {name} |")]
    assert len(rows) == 1, table
    return [cell.strip() for cell in rows[0].strip("|").split("|")]


def test_comparison_puts_each_ratio_beside_the_previous_runs():
    now = _result("caseload", 100.0, 30.0)
    now.update(floor_rps_ratio=6.0, floor_ms_ratio=12.0, floor_cpu_ratio=10.0)
    new_page = _result("session page", 100.0, 30.0)
    new_page.update(floor_rps_ratio=3.0, floor_ms_ratio=2.5, floor_cpu_ratio=None)
    before = _result("caseload", 50.0, 60.0)
    before.update(floor_rps_ratio=12.5, floor_ms_ratio=24.0, floor_cpu_ratio=20.0)
    previous = _report([before], date="2026-11-30T09:00:00+00:00")
    table = report.comparison_table(_report([now, new_page]), previous, "old.json")
    assert "old.json" in table
    assert "2026-11-30T09:00:00+00:00" in table
    assert _row(table, "caseload") == [
        "caseload",
        "6.00",
        "12.50",
        "12.00",
        "24.00",
        "10.00",
        "20.00",
    ]
    # A page the previous run did not measure, or a ratio it could not compute: a dash.
    assert _row(table, "session page") == ["session page", "3.00", "—", "2.50", "—", "—", "—"]


def test_an_older_result_without_a_floor_still_compares():
    now = _result("dashboard", 100.0, 30.0)
    now.update(floor_rps_ratio=6.0, floor_ms_ratio=12.0, floor_cpu_ratio=10.0)
    old_format = {"name": "dashboard", "ratio_to_trivial": 1.0, "requests_per_s": 40.0}
    table = report.comparison_table(_report([now]), _report([old_format]))
    assert _row(table, "dashboard") == ["dashboard", "6.00", "—", "12.00", "—", "10.00", "—"]


def test_markdown_table_shows_the_floor_and_every_page_with_its_ratios():
    floor = {
        "start": _result("floor", 500.0, 2.0, cpu=2.0, queries=2.0),
        "end": _result("floor", 700.0, 3.0, cpu=3.0, queries=2.0),
    }
    page = _result("caseload", 100.0, 30.0, cpu=25.0, queries=22.0)
    report.add_floor_ratios([page], report.combined_floor(floor["start"], floor["end"]))
    table = report.markdown_table(_report([page], floor))
    start = _row(table, "floor (start)")
    assert start[5:] == ["500.0", "—", "—", "2.0", "—", "2.0", "0"]
    caseload = _row(table, "caseload")
    # req/s 100 against a floor of 600; 30 ms against 2.5 ms; 25 ms CPU against 2.5 ms.
    assert caseload[5:] == ["100.0", "6.00", "12.00", "25.0", "10.00", "22.0", "0"]


@pytest.mark.parametrize(
    ("value", "digits", "shown"),
    [(None, 2, "—"), (float("nan"), 2, "—"), (1.234, 2, "1.23"), (22.0, 1, "22.0")],
)
def test_numbers_missing_or_not(value, digits, shown):
    assert report._number(value, digits) == shown
