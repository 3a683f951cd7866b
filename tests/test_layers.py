"""The layer contract (pyproject.toml ``[tool.importlinter]``, docs/adr/0013-layers.md) holds,
and breaking it fails ``make lint``: an import from a lower app into a higher one is caught."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(root)},
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package and the contract, to break without touching the real tree."""
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(
        ROOT / "openipt", root / "openipt", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_tree_keeps_its_layers() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_an_import_from_clients_into_portal_breaks_the_contract(tree_copy: Path) -> None:
    module = tree_copy / "openipt" / "clients" / "selectors.py"
    original = module.read_text()
    module.write_text(original + "\nfrom openipt.portal import selectors as _portal  # noqa\n")
    try:
        result = _lint_imports(tree_copy)
    finally:
        module.write_text(original)
    assert result.returncode != 0
    assert "openipt.clients is not allowed to import openipt.portal" in result.stdout


def test_django_in_the_pure_vocabulary_breaks_the_contract(tree_copy: Path) -> None:
    module = tree_copy / "openipt" / "ipt" / "vocabulary.py"
    original = module.read_text()
    module.write_text(original + "\nimport django  # noqa\n")
    try:
        result = _lint_imports(tree_copy)
    finally:
        module.write_text(original)
    assert result.returncode != 0
    assert "openipt.ipt is not allowed to import django" in result.stdout


def test_no_email_is_sent_outside_the_worker():
    """Requests queue email (openipt/core/outbox.py); only the worker's senders talk SMTP."""
    root = Path(__file__).resolve().parents[1]
    allowed = {root / "openipt/core/outbox.py", root / "openipt/scheduling/reminders.py"}
    senders = re.compile(
        r"(?<!def )\b(send_mail|send_mass_mail|mail_admins|mail_managers)\(|\.send\(\)"
    )
    offenders = [
        str(path)
        for path in (root / "openipt").rglob("*.py")
        if "tests" not in path.parts
        and path not in allowed
        and senders.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
