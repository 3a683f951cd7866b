"""OpenIPT settings: one module, driven by the environment (see .env.example).

These are the production settings. The test suite runs under ``config.test_settings``,
which imports these and overrides a few explicitly; nothing here guesses whether it is
running under a test runner.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from openipt.core.env import (
    env_bool,
    env_int,
    env_list,
    env_str,
    secret_key_from_file,
)
from openipt.core.net import trusted_networks

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("OPENIPT_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or secret_key_from_file(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# Behind TLS (every real deployment) set OPENIPT_HTTPS=1: secure cookies, HSTS, redirect.
# It is off by default only so that `make run` works on http://127.0.0.1:8000.
HTTPS = env_bool("OPENIPT_HTTPS", False)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "template_partials",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "oauth2_provider",
    "openipt.core",
    "openipt.accounts",
    "openipt.audit",
    "openipt.clients",
    "openipt.measures",
    "openipt.treatment",
    "openipt.scheduling",
    "openipt.engagement",
    "openipt.fhir",
    "openipt.portal",
    "openipt.api",
    "openipt.workspace",
    "openipt.testing",
]

# The security headers wrap everything, so they come first: a response made by any later
# middleware (the MFA redirect, the 404 a client account gets on a staff URL, the idle
# time-out redirect, an error page) passes back out through them (docs/quality.md S10).
# Static files: WhiteNoise answers them itself without calling the middlewares after it,
# so it sits after the three header middlewares that apply to files too (HSTS, nosniff,
# Referrer-Policy, COOP from SecurityMiddleware; X-Frame-Options; a CSP, which also
# disarms an SVG opened directly) and before NoStoreMiddleware: fingerprinted static files
# are public and meant to be cached for long. Setting three headers keeps them fast.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "openipt.core.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "openipt.core.middleware.SessionTimeoutMiddleware",
    "openipt.accounts.middleware.MembershipMiddleware",
    "openipt.accounts.middleware.MfaRequiredMiddleware",
    "openipt.accounts.middleware.ClientBoundaryMiddleware",
    "openipt.engagement.middleware.LanguageMiddleware",
    "openipt.core.submissions.SubmissionMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "openipt.core.context_processors.shell",
                # Main navigation by role (``nav_items``) and the open-alert count shared by
                # its Alerts badge and the dashboard (``open_alert_count``, computed once,
                # lazily).
                "openipt.workspace.context_processors.navigation",
            ],
            # ``{% csrf_token %}`` also adds the one-time submission token that makes a
            # repeated POST return the first result (openipt/core/submissions.py).
            "builtins": ["openipt.core.templatetags.submissions"],
        },
    }
]

# Every form field renders through templates/components/field.html (openipt/core/forms.py).
FORM_RENDERER = "openipt.core.forms.FormRenderer"

# Database: SQLite under var/ by default; PostgreSQL through DATABASE_URL.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "openipt.sqlite3"),
            # A kept connection per worker thread: no file open and PRAGMAs per request.
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=FULL;"
                    "PRAGMA busy_timeout=20000;"
                    "PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "openipt_cache",
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "core:home"

# django-allauth: email login, no self sign-up (staff are invited), MFA by TOTP + codes.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "openipt.accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "5/5m/ip,5/5m/key",
    "reset_password": "5/m/ip,3/5m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "signup": "10/m/ip",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "OpenIPT"
MFA_RECOVERY_CODE_COUNT = 10
# TOTP secrets and recovery-code seeds are encrypted at rest (Fernet) by this adapter.
# MFA code entry is throttled by ACCOUNT_RATE_LIMITS["login_failed"] (per IP and per user).
MFA_ADAPTER = "openipt.accounts.mfa_adapter.MfaAdapter"

# SMART App Launch (OAuth 2, docs/smart.md, ADR 23): authorisation code with PKCE (S256
# only), tokens stored as SHA-256 checksums only, access tokens for an hour, refresh tokens
# rotated on every use. Scopes are SMART scopes, parsed by openipt/api/smart.py.
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("OPENIPT_SMART_REFRESH_DAYS", 90) * 86400,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    "OAUTH2_VALIDATOR_CLASS": "openipt.api.oauth_validator.SmartValidator",
    "SCOPES_BACKEND_CLASS": "openipt.api.smart.SmartScopes",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
# DOT's own models, named so that openipt/api's models (and migrations) can point at them.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 - a model
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"

OPENIPT_FIELD_ENCRYPTION_KEY = env_str("OPENIPT_FIELD_ENCRYPTION_KEY")
OPENIPT_INVITATION_DAYS = env_int("OPENIPT_INVITATION_DAYS", 7)
# Measures: an unacknowledged risk alert escalates to the supervisor after this many minutes;
# an assigned questionnaire not completed this many days after its due date expires.
OPENIPT_ALERT_ESCALATION_MINUTES = env_int("OPENIPT_ALERT_ESCALATION_MINUTES", 60)
OPENIPT_ASSIGNMENT_EXPIRY_DAYS = env_int("OPENIPT_ASSIGNMENT_EXPIRY_DAYS", 7)
# Break-glass: how long an emergency access to a client outside one's care team lasts
# (docs/adr/0016-emergency-access.md).
OPENIPT_BREAK_GLASS_MINUTES = env_int("OPENIPT_BREAK_GLASS_MINUTES", 60)
# Research export: every combination of age band, format and start year must be shared by at
# least this many courses (docs/adr/0019-research-export.md).
OPENIPT_EXPORT_MIN_K = env_int("OPENIPT_EXPORT_MIN_K", 5)

# Sessions: idle time-out (minutes) and an absolute lifetime (hours).
OPENIPT_IDLE_TIMEOUT_MINUTES = env_int("OPENIPT_IDLE_TIMEOUT_MINUTES", 15)
OPENIPT_SESSION_MAX_HOURS = env_int("OPENIPT_SESSION_MAX_HOURS", 12)
SESSION_COOKIE_AGE = OPENIPT_SESSION_MAX_HOURS * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# Transport security.
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("OPENIPT_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("OPENIPT_HSTS_SECONDS", 31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("OPENIPT_BEHIND_PROXY") else None
)
# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For names the client:
# the audit source address and the rate limits use the rightmost hop that is not one of
# them (openipt/core/net.py). Empty: the header is ignored and REMOTE_ADDR is the client.
OPENIPT_TRUSTED_PROXIES = env_list("OPENIPT_TRUSTED_PROXIES")
trusted_networks(OPENIPT_TRUSTED_PROXIES)  # a typo stops start-up rather than trusting nobody
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# Email: console by default; SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "OpenIPT <no-reply@openipt.invalid>")
# Seconds the worker waits for the mail server before it gives up and retries later
# (requests never wait for it: emails go through the outbox, openipt/core/outbox.py).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
OPENIPT_BASE_URL = env_str("OPENIPT_BASE_URL", "http://127.0.0.1:8000")

# Background tasks (django-tasks, database backend; `make run` starts the worker).
TASKS = {
    "default": {
        "BACKEND": env_str("OPENIPT_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Scheduling: reminder lead times (hours before an appointment, comma-separated), the
# channels used (email, sms) and the SMS backend (a class with ``send(to, text)``).
OPENIPT_REMINDER_LEAD_HOURS = [
    int(hours) for hours in env_list("OPENIPT_REMINDER_LEAD_HOURS", ["24"])
]
OPENIPT_REMINDER_CHANNELS = env_list("OPENIPT_REMINDER_CHANNELS", ["email"])
# Questionnaire reminders: hours before 09:00 (practice time) on the day a questionnaire is due.
OPENIPT_QUESTIONNAIRE_REMINDER_LEAD_HOURS = [
    int(hours) for hours in env_list("OPENIPT_QUESTIONNAIRE_REMINDER_LEAD_HOURS", ["24"])
]
OPENIPT_SMS_BACKEND = env_str("OPENIPT_SMS_BACKEND", "openipt.scheduling.sms.ConsoleSmsBackend")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]  # English dates as "4 December 2026"
TIME_ZONE = env_str("OPENIPT_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    # Session recordings, sealed (only ciphertext is stored); any Django storage backend,
    # e.g. django-storages for object storage (docs/adr/0021-session-recordings.md).
    "recordings": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "recordings", "base_url": None},
    },
    # FHIR bulk export files (NDJSON), deleted when they expire (docs/fhir-api.md).
    "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "exports", "base_url": None},
    },
}
MEDIA_ROOT = VAR_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Uploads larger than this go to a temporary file instead of memory (recordings are large).
FILE_UPLOAD_MAX_MEMORY_SIZE = 1_048_576
OPENIPT_RECORDING_MAX_MB = env_int("OPENIPT_RECORDING_MAX_MB", 200)
# The fidelity rating scale new ratings use, and folders holding a programme's own licensed
# scale files (docs/adr/0020-fidelity-ratings.md); ours ships in openipt/treatment/.
OPENIPT_FIDELITY_SCALE = env_str("OPENIPT_FIDELITY_SCALE", "ipt-fidelity")
OPENIPT_FIDELITY_SCALE_DIRS = env_list("OPENIPT_FIDELITY_SCALE_DIRS")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("OPENIPT_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

OPENIPT_CLIENTS_PER_PAGE = 25
LOGIN_URL_PATH = "/accounts/login/"
STATIC_URL_PATH = "/static/"

# Idempotent background tasks that `manage.py periodic` enqueues (serve runs it every minute).
OPENIPT_PERIODIC_TASKS = [
    "openipt.core.tasks.worker_heartbeat",
    "openipt.core.tasks.deliver_outbox",
    "openipt.core.tasks.forget_old_submissions",
    "openipt.core.tasks.reclaim_stalled_tasks",
    "openipt.audit.tasks.checkpoint_audit_head",
    "openipt.accounts.tasks.send_weekly_staff_summaries",
    "openipt.measures.tasks.escalate_overdue_alerts",
    "openipt.measures.tasks.refresh_assignments",
    "openipt.scheduling.tasks.send_due_reminders",
    "openipt.treatment.tasks.delete_expired_recordings",
    "openipt.fhir.tasks.delete_expired_exports",
]
# How long the files of a FHIR bulk export can be downloaded before they are deleted.
OPENIPT_EXPORT_RETENTION_HOURS = env_int("OPENIPT_EXPORT_RETENTION_HOURS", 24)
OPENIPT_PERIODIC_SECONDS = env_int("OPENIPT_PERIODIC_SECONDS", 60)
# A background task still marked running after this long is taken to have lost its worker
# and is queued again (openipt/core/task_reclaim.py); longer than tasks normally run.
OPENIPT_TASK_LEASE_SECONDS = env_int("OPENIPT_TASK_LEASE_SECONDS", 600)

# The audit log is append-only (database triggers, see openipt/audit/triggers.py), so
# ``manage.py flush`` refuses to run on a database that holds one. Only the test settings
# (config/test_settings.py) turn this on, so that the test runner's flush between
# transactional tests may lift the triggers for a moment. Never enable it in production.
OPENIPT_ALLOW_AUDIT_TRIGGER_BYPASS = False

# Where the audit chain's head is anchored outside the database (append-only JSON lines;
# openipt/audit/checkpoints.py). Best on other storage than the database.
OPENIPT_AUDIT_CHECKPOINT_FILE = Path(
    env_str("OPENIPT_AUDIT_CHECKPOINT_FILE", str(VAR_DIR / "audit-checkpoints.jsonl"))
)
