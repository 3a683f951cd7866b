from __future__ import annotations

import pytest

from openipt.testing.personas import Personas, make_personas


@pytest.fixture(autouse=True)
def _default_language():  # type: ignore[no-untyped-def]
    """A request activates its reader's language for the thread (as Django's own
    LocaleMiddleware does); code a test runs outside a request starts in the default."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters live in the cache; no test may inherit another's."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def personas(db: None) -> Personas:
    return make_personas()


@pytest.fixture
def alice_client(client, personas):  # type: ignore[no-untyped-def]
    """A Django test client signed in as Alice (MFA enrolled)."""
    client.force_login(personas.alice)
    return client


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Uploaded files (message attachments) never land in the real ``var/media``."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    # ... and the audit checkpoints (openipt/audit/checkpoints.py) never in the real var/.
    settings.OPENIPT_AUDIT_CHECKPOINT_FILE = tmp_path_factory.mktemp("audit") / "checkpoints.jsonl"
    # ... nor session recordings in the real var/recordings.
    recordings = tmp_path_factory.mktemp("recordings")
    exports = tmp_path_factory.mktemp("exports")  # ... nor FHIR bulk exports in var/exports
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": recordings, "base_url": None},
        },
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": exports, "base_url": None},
        },
    }
