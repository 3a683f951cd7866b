"""Fail unless the strict set has 100% branch coverage in the last test run's data.

``make test`` runs this after pytest (which writes ``.coverage`` with ``--cov``). The
strict set is the pure clinical code (scoring, the IPT protocol rules, session formats),
the permission policy and the append-only audit log: code whose every branch is a rule
somebody relies on. Each entry must still exist, so a module that moves fails here loudly
instead of silently dropping out of the check.

Usage: ``python scripts/coverage_strict.py [DATA_FILE]`` (default: ``.coverage``).
"""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path

import coverage

BASE_DIR = Path(__file__).resolve().parent.parent

# Paths relative to the repository root; a directory means every .py file under it.
STRICT = [
    "openipt/ipt",
    "openipt/measures/scoring",
    "openipt/treatment/protocol.py",
    "openipt/treatment/formats.py",
    "openipt/accounts/policy.py",
    "openipt/audit",
]
# Never part of the strict set (and omitted from measurement in pyproject.toml anyway).
EXCLUDED = ["*/tests/*", "*/migrations/*"]


def include_patterns() -> list[str]:
    patterns = []
    for entry in STRICT:
        path = BASE_DIR / entry
        if path.is_dir():
            patterns.append(f"{path}/*")
        elif path.is_file():
            patterns.append(str(path))
        else:
            sys.exit(
                f"coverage_strict: {entry} does not exist; if it moved, update STRICT in "
                f"{Path(__file__).relative_to(BASE_DIR)}."
            )
    return patterns


def main(argv: list[str]) -> int:
    data_file = Path(argv[1]) if len(argv) > 1 else BASE_DIR / ".coverage"
    cov = coverage.Coverage(data_file=str(data_file), config_file=str(BASE_DIR / "pyproject.toml"))
    if list(data_file.parent.glob(data_file.name + ".*")):
        cov.combine(keep=False)  # parallel data files left by an interrupted run
        cov.save()
    if not data_file.exists():
        print(f"coverage_strict: no coverage data at {data_file}; run pytest --cov first.")
        return 2
    cov.load()
    patterns = include_patterns()
    measured = [
        name
        for name in cov.get_data().measured_files()
        if any(fnmatch.fnmatch(name, pattern) for pattern in patterns)
        and not any(fnmatch.fnmatch(name, pattern) for pattern in EXCLUDED)
    ]
    if not measured:
        print("coverage_strict: none of the strict modules were measured.")
        return 2
    print("Strict coverage (100% of lines and branches required):")
    try:
        total = cov.report(
            include=patterns,
            omit=EXCLUDED,
            precision=1,
            show_missing=True,
            skip_covered=False,
        )
    except coverage.exceptions.NoDataError:
        print("coverage_strict: no data for the strict modules.")
        return 2
    if total < 100:
        print(f"coverage_strict: FAILED, the strict set is at {total:.1f}%, not 100%.")
        return 1
    print("coverage_strict: the strict set is fully covered.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
