"""WSGI entry of the sandbox: Django, wrapped in the fault and rate-limit layer."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brainstem_pandas.sandbox.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

from brainstem_pandas.sandbox.config import load_config  # noqa: E402
from brainstem_pandas.sandbox.faults import wrap_wsgi  # noqa: E402

application = wrap_wsgi(get_wsgi_application(), load_config())
