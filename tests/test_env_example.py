""".env.example documents every variable the settings read."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

READERS = re.compile(r"""env_(?:str|bool|int|list)\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in [*Path(settings.BASE_DIR, "config").rglob("*.py"),
                 *Path(settings.BASE_DIR, "openipt").rglob("*.py")]:  # fmt: skip
        if "tests" not in path.parts:
            names.update(READERS.findall(path.read_text(encoding="utf-8")))
    return names


def test_env_example_documents_every_setting():
    documented = set(
        re.findall(
            r"^#?\s*([A-Z][A-Z0-9_]*)=", Path(settings.BASE_DIR, ".env.example").read_text(), re.M
        )
    )
    missing = sorted(variables_read_by_the_code() - documented)
    assert missing == [], "Add these to .env.example: " + ", ".join(missing)


def test_the_reader_finds_variables():
    assert {"DATABASE_URL", "OPENIPT_HTTPS", "OPENIPT_BIND"} <= variables_read_by_the_code()
