"""Every catalogued model answers list and detail with exactly the documented fields."""

from __future__ import annotations

import pytest
import requests

from brainstem_pandas import catalog

MODELS = list(catalog.all_models().values())


def _url(sandbox, m: catalog.Model, portal: str = "private") -> str:
    return f"{sandbox.url}/api/{portal}/{m.app}/{m.segment}/"


@pytest.mark.parametrize("m", MODELS, ids=[m.name for m in MODELS])
def test_list_and_detail_carry_exactly_the_documented_fields(sandbox, http: requests.Session, m):
    listing = http.get(_url(sandbox, m), params={"limit": 2}, timeout=30)
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert set(body) == {"count", "next", "previous", m.list_key}
    records = body[m.list_key]
    assert records, f"the seeded sandbox shows the demo user no {m.name}"
    assert list(records[0]) == m.field_names

    detail = http.get(f"{_url(sandbox, m)}{records[0]['id']}/", timeout=30)
    assert detail.status_code == 200, detail.text
    assert list(detail.json()) == [m.detail_key]
    assert detail.json()[m.detail_key] == records[0]


@pytest.mark.parametrize("m", [m for m in MODELS if "public" in m.portals["list"]], ids=lambda m: m.name)
def test_public_list_uses_the_same_keys(sandbox, anon: requests.Session, m):
    listing = anon.get(_url(sandbox, m, "public"), params={"limit": 1}, timeout=30)
    assert listing.status_code == 200, listing.text
    assert m.list_key in listing.json()
    for record in listing.json()[m.list_key]:
        assert list(record) == m.field_names


def test_ids_are_strings_except_users_and_groups(sandbox, http):
    for name, expected in (("session", str), ("user", int), ("group", int)):
        m = catalog.model(name)
        record = http.get(_url(sandbox, m), params={"limit": 1}, timeout=30).json()[m.list_key][0]
        assert isinstance(record["id"], expected)
