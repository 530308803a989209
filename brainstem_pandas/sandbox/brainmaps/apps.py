"""Django app configuration of the brainmaps sandbox API."""

from __future__ import annotations

from django.apps import AppConfig


class BrainmapsConfig(AppConfig):
    """The brainmaps API: a second, differently shaped REST API for the sandbox.

    BrainSTEM and brainmaps disagree on almost everything a client has to
    handle (auth header, envelope, pagination, error bodies), which is why the
    sandbox serves both.
    """

    name = "brainstem_pandas.sandbox.brainmaps"
    label = "brainmaps"
    verbose_name = "brainmaps API"
    default_auto_field = "django.db.models.AutoField"
