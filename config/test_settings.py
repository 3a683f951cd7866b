"""Settings for the test suite: the production settings plus explicit test overrides.

pytest uses this module (``DJANGO_SETTINGS_MODULE`` in pyproject.toml, ``--ds`` in the
Makefile). Every difference from production is listed here; ``config.settings`` itself
never checks whether it is running under a test runner.
"""

from __future__ import annotations

from config.settings import *  # noqa: F403
from config.settings import PASSWORD_HASHERS, STORAGES

# Rate-limit counters and other cache entries stay in memory (the root conftest clears
# them between tests), so tests need no cache table.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Argon2 is deliberately slow; tests use a fast hasher except where they check hashing.
# Argon2 stays second, so hashes made by the production hasher still verify.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

# Templates may name static files that collectstatic has not processed into the manifest.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The test runner flushes the database after every transactional test (pytest-django's
# ``transactional_db`` and ``live_server``); the ``flush`` command may lift the audit
# log's append-only triggers for that flush and puts them straight back. Production
# settings leave this False, and flush then refuses (openipt/audit/management/commands).
OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS = True

# Tasks run at once in tests: an email queued in the outbox (openipt/core/outbox.py) is
# delivered when the test's transaction commits, as the worker would deliver it moments
# later. The production path (database backend, worker, retries, a refusing or silent mail
# server) is tested with the database backend in openipt/core/tests/test_outbox.py.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
