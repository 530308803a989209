"""A pytest plugin: the sandbox's Django configured in the test process, so its modules can be imported.

The sandbox's models, serializers, views, permissions and seed modules define
Django models and REST framework classes when they are imported, which needs
configured settings and a populated app registry. The server's own processes
configure Django before importing them; ``pytest --doctest-modules`` imports them
to find their examples. This plugin configures Django with the sandbox's
settings and an in-memory database (no example touches it: examples that need
data use the live ``sandbox``) the first time a module under the sandbox is
collected, so runs that collect no sandbox module never import Django.

Register it in the root ``conftest.py`` with
``pytest_plugins = ["brainstem_pandas.sandbox.pytest_plugin"]``, or on the
command line with ``-p brainstem_pandas.sandbox.pytest_plugin``.

Examples
--------
>>> configure_django()  # configured once per process; again, a no-op
>>> from brainstem_pandas.sandbox.api.models import MODELS
>>> MODELS["session"]._meta.db_table
'api_session'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from brainstem_pandas.sandbox.config import ENV_VAR, SandboxConfig

SETTINGS = "brainstem_pandas.sandbox.settings"
SANDBOX = Path(__file__).resolve().parent


def configure_django() -> None:
    """Configure Django with the sandbox's settings and an in-memory database, once per process.

    The environment is left as it was, so servers started later (their child
    processes copy it) get their own configuration.
    """
    import django
    from django.apps import apps
    from django.conf import settings

    if apps.ready:
        return
    if settings.configured:
        django.setup()
        return
    saved = {k: os.environ.get(k) for k in (ENV_VAR, "DJANGO_SETTINGS_MODULE")}
    # An in-memory database: a stray query could not leave a file in the package.
    os.environ[ENV_VAR] = SandboxConfig(db_path=":memory:").to_json()
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    try:
        django.setup()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def pytest_collect_file(file_path: Path, parent: Any) -> None:
    """Configure Django before the first sandbox module is imported for its doctests."""
    if file_path.suffix == ".py" and SANDBOX in file_path.resolve().parents:
        configure_django()
