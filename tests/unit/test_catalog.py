"""The catalog: every model, its keys and fields, and helpful errors for wrong names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import brainstem_pandas as bsp
from brainstem_pandas import catalog

REFERENCE = Path(__file__).resolve().parents[2] / "brainstem_pandas" / "catalog.json"


def test_every_reference_model_is_known_with_its_keys():
    raw = json.loads(REFERENCE.read_text())["models"]
    assert len(catalog.all_models()) == len(raw) == 48
    for entry in raw:
        m = catalog.model(entry["model"])
        assert (m.app, m.list_key, m.detail_key) == (entry["app"], entry["list_key"], entry["detail_key"])
        assert m.field_names == [f["name"] for f in entry["fields"]]


def test_models_frame_lists_every_model():
    table = bsp.models()
    assert len(table) == 48
    assert table.loc["dataacquisition", "list_key"] == "data_acquisitions"
    assert table.loc["consumablestock", "list_key"] == "consumable stocks"
    assert "projects->project[]" in table.loc["session", "relations"]
    assert not table.loc["project_membership_invitation", "public"]


@pytest.mark.parametrize(
    "alias, name",
    [
        ("project_membership_invitation", "project_membership_invitation"),
        ("projectmembershipinvitation", "project_membership_invitation"),
        ("groupmembershiprequest", "group_membership_request"),
        ("Session", "session"),
    ],
)
def test_official_client_and_url_spellings_resolve(alias, name):
    assert catalog.model(alias).name == name


def test_unknown_model_suggests_the_closest_names():
    with pytest.raises(bsp.UnknownNameError) as info:
        catalog.model("sesion")
    assert "session" in info.value.suggestions
    assert "Did you mean 'session'" in str(info.value)
    assert isinstance(info.value, bsp.QueryError) and isinstance(info.value, LookupError)


def test_unknown_field_suggests_the_closest_names():
    with pytest.raises(bsp.UnknownNameError) as info:
        catalog.model("session").field("date_tme")
    assert info.value.suggestions[0] == "date_time"
    assert "of session" in str(info.value)


def test_relations_and_id_types():
    session = catalog.model("session")
    projects = session.field("projects")
    assert projects.related_model == "project" and projects.many
    assert catalog.model("user").id_type == "integer"
    assert catalog.model("session").id_type == "uuid"
