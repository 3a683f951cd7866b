"""The floor's settings: Django's defaults with session sign-in and one page.

What is shared with OpenIPT is taken from ``config.settings`` itself, so it cannot drift:
the database engine and every database option (SQLite pragmas, transaction mode, kept
connections; the PostgreSQL server, user and connection settings), the secret key and the
allowed hosts. Only the database name differs: ``floor.sqlite3`` beside the bench
database in ``OPENIPT_VAR_DIR``, or the PostgreSQL database ``OPENIPT_BENCH_FLOOR_DATABASE``
(``openipt_bench_floor``). The middleware is ``startproject``'s, without messages, plus the
bench's query counter (``OPENIPT_BENCH_COUNT_QUERIES=0`` leaves it out, as for OpenIPT).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from config import settings as openipt

FLOOR_DIR = Path(__file__).resolve().parent

DEBUG = False
SECRET_KEY = openipt.SECRET_KEY
ALLOWED_HOSTS = openipt.ALLOWED_HOSTS

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if os.environ.get("OPENIPT_BENCH_COUNT_QUERIES", "1") != "0":
    MIDDLEWARE = ["bench.query_count.QueryCountMiddleware", *MIDDLEWARE]

ROOT_URLCONF = "bench.floor.urls"
WSGI_APPLICATION = "bench.floor.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [FLOOR_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    }
]


def _database() -> dict[str, Any]:
    shared = dict(openipt.DATABASES["default"])
    if shared["ENGINE"] == "django.db.backends.sqlite3":
        shared["NAME"] = str(openipt.VAR_DIR / "floor.sqlite3")
    else:
        shared["NAME"] = os.environ.get("OPENIPT_BENCH_FLOOR_DATABASE", "openipt_bench_floor")
    return shared


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
