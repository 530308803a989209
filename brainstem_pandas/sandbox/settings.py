"""Django settings of the sandbox server.

Everything that varies between runs (database file, envelope, faults) comes from
:mod:`brainstem_pandas.sandbox.config`; this module only wires Django together.
"""

from __future__ import annotations

from pathlib import Path

from brainstem_pandas.sandbox import postgres
from brainstem_pandas.sandbox.config import load_config

CONFIG = load_config()

BASE_DIR = Path(__file__).resolve().parent
# A sandbox is local and throwaway; the key only signs nothing of value.
SECRET_KEY = "brainstem-pandas-sandbox-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "brainstem_pandas.sandbox.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
APPEND_SLASH = True

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "rest_framework",
    "dynamic_rest",
    "brainstem_pandas.sandbox.api",
    "brainstem_pandas.sandbox.brainmaps",
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "brainstem_pandas.sandbox.api.nul.RefuseNul",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = {
    "default": {
        # Django's SQLite with PostgreSQL's text rules and NULL order (see pgsqlite/__init__.py).
        "ENGINE": "brainstem_pandas.sandbox.pgsqlite",
        "NAME": CONFIG.db_path or str(BASE_DIR / "sandbox.sqlite3"),
        # Several worker processes share one file: wait for locks instead of failing.
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
if CONFIG.database == "postgresql":
    # A server the sandbox started itself, reached by its private unix socket (see postgres.py).
    DATABASES["default"] = postgres.django_database(CONFIG.pg_host, CONFIG.pg_port)

PASSWORD_HASHERS = [
    # PBKDF2 with few iterations: the sandbox holds demo passwords only, and
    # logins must stay fast in tests.
    "brainstem_pandas.sandbox.api.auth.FastPBKDF2Hasher",
]

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "brainstem_pandas.sandbox.api.views.exception_handler",
}

DYNAMIC_REST = {
    "ENABLE_LINKS": False,
    "ENABLE_BROWSABLE_API": False,
    "DEBUG": False,
    "MAX_PAGE_SIZE": 100,
    "PAGE_SIZE": 20,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
