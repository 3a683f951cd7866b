"""The languages OpenIPT speaks, and rendering something in a given person's language.

The interface, the portal, e-mails, text messages and PDFs exist in every language of
``settings.LANGUAGES`` (docs/translation.md). A person's language is a code from that list;
anything else (an empty choice, a code from old data) falls back to the default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils import translation
from django.utils.text import capfirst


def codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def supported(code: str | None) -> str:
    """``code`` if OpenIPT speaks it (``es-MX`` counts as ``es``), else the default."""
    if code:
        base = code.lower().split("-")[0]
        if base in codes():
            return base
    return str(settings.LANGUAGE_CODE)


def name(code: str | None) -> str:
    """The language's name in the current language ("Spanish", or "Español" in Spanish)."""
    wanted = supported(code)
    return str(dict(settings.LANGUAGES)[wanted])


@contextmanager
def speaking(code: str | None) -> Iterator[str]:
    """Render what is inside in ``code``'s language (mails, texts, PDFs for someone else)."""
    chosen = supported(code)
    with translation.override(chosen):
        yield chosen


def choices_in_own_names() -> list[tuple[str, str]]:
    """Form choices naming each language in itself ("English", "Español"), so a person
    can find their own language whatever the page's language is."""
    return [(code, capfirst(translation.get_language_info(code)["name_local"])) for code in codes()]
