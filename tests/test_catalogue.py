"""The Spanish catalogue is complete (docs/translation.md): nothing untranslated or fuzzy,
placeholders and tags intact, every string of the code in it, and compiled."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOGUE.with_suffix(".mo")


def _checker():
    script = ROOT / "scripts/check_messages.py"
    spec = importlib.util.spec_from_file_location("check_messages", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_messages"] = module
    spec.loader.exec_module(module)
    return module


check = _checker()


def test_the_spanish_catalogue_has_no_untranslated_fuzzy_or_broken_entry():
    entries = check.parse(CATALOGUE.read_text(encoding="utf-8"))
    assert len(entries) > 2000
    assert check.problems(entries) == []


def test_the_checker_finds_each_kind_of_problem(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        '#, fuzzy\nmsgid ""\nmsgstr "Language: es\\n"\n\n'
        'msgid "Hello %(name)s"\nmsgstr "Hola"\n\n'
        'msgid "<b>Bold</b>"\nmsgstr "Negrita"\n\n'
        "#, fuzzy\n"
        'msgid "Save"\nmsgstr "Guardar"\n\n'
        'msgid "Line\\n"\nmsgstr "Línea"\n\n'
        'msgid "Empty"\nmsgstr ""\n\n'
        'msgid "One day"\nmsgid_plural "%(n)s days"\nmsgstr[0] "Un día"\nmsgstr[1] "%(n)s días"\n',
        encoding="utf-8",
    )
    found = check.problems(check.parse(po.read_text(encoding="utf-8")))
    assert len(found) == 7, found
    assert check.main([str(po)]) == 1
    assert any("header" in problem for problem in found)
    assert any("(form 2)" in problem for problem in found)


def test_the_compiled_catalogue_is_current_and_speaks_spanish():
    assert COMPILED.exists(), "make install compiles locale/*/LC_MESSAGES/django.mo"
    assert COMPILED.stat().st_mtime >= CATALOGUE.stat().st_mtime, "run make install again"
    with translation.override("es"):
        assert translation.gettext("Sign out") == "Cerrar sesión"
        assert translation.gettext("Role dispute") == "Disputa de roles"


@pytest.mark.skipif(
    shutil.which("xgettext") is None and not os.environ.get("OPENIPT_REQUIRE_GETTEXT"),
    reason="needs GNU gettext (make messages); .ci/run installs it and requires it",
)
def test_every_string_of_the_code_is_in_the_catalogue(tmp_path):
    """``makemessages`` on a copy of the code: any string it finds that the committed
    catalogue does not translate comes out untranslated, and fails here."""
    skip = shutil.ignore_patterns("tests", "__pycache__", "static", "*.pyc")
    for name in ("openipt", "templates", "config"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=skip)
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    shutil.copytree(ROOT / "locale", tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo"))
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "es", "-e", "html,txt,py",
         "--no-obsolete", "-v", "0"],
        cwd=tmp_path, check=True, capture_output=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings",
             "OPENIPT_VAR_DIR": str(tmp_path / "var")},
    )  # fmt: skip
    regenerated = check.parse((tmp_path / "locale/es/LC_MESSAGES/django.po").read_text("utf-8"))
    missing = [p for p in check.problems(regenerated) if "untranslated" in p or "fuzzy" in p]
    assert missing == [], "run `make messages` and translate:\n" + "\n".join(missing[:40])
