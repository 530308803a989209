"""Integration tests of the sandbox's brainmaps API, over real HTTP.

They use the session-scoped ``sandbox`` fixture (``sandbox.url``,
``sandbox.email``, ``sandbox.password``) whose database was seeded by
:func:`brainstem_pandas.sandbox.brainmaps.seed.generate` with 300 brains.
Tests that write clean up after themselves, so brain counts stay at 300.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

N_SEEDED = 300
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
}


# ---------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def api(sandbox: Any) -> str:
    """Base URL of the brainmaps API, ending in a slash."""
    return sandbox.url + "/brainmaps/v1/"


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    """A session that waits out rate-limit 429s, which are not under test here."""
    session = requests.Session()
    retry = Retry(
        total=5,
        status_forcelist=[429],
        allowed_methods=None,
        respect_retry_after_header=True,
        raise_on_status=False,
        backoff_factor=0.2,
    )
    session.mount("http://", HTTPAdapter(max_retries=retry))
    yield session
    session.close()


def login(http: requests.Session, api: str, email: str, password: str) -> requests.Response:
    return http.post(api + "auth/login/", json={"email": email, "password": password})


@pytest.fixture(scope="module")
def demo_auth(http: requests.Session, api: str, sandbox: Any) -> Iterator[dict[str, Any]]:
    """Token header and user record of the demo account, logged out at the end."""
    response = login(http, api, sandbox.email, sandbox.password)
    assert response.status_code == 200, response.text
    body = response.json()
    headers = {"Authorization": f"Token {body['token']}"}
    yield {"headers": headers, "user": body["user"]}
    http.post(api + "auth/logout/", headers=headers)


def walk(http: requests.Session, url: str, headers: dict | None = None, **params: Any) -> tuple[list[dict], list[dict]]:
    """Follow ``next`` links from `url`; return all records and every page body."""
    pages = [http.get(url, params=params, headers=headers).json()]
    while pages[-1]["next"]:
        pages.append(http.get(pages[-1]["next"], headers=headers).json())
    records = [record for page in pages for record in page["results"]]
    return records, pages


def assert_error(response: requests.Response, status: int, title: str) -> Any:
    """Check an error response's status and body; return its ``detail``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == title
    assert body["detail"]
    return body["detail"]


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.fixture
def new_brain(http: requests.Session, api: str, demo_auth: dict) -> Iterator[dict]:
    """A brain created by the demo user, deleted afterwards whatever happens."""
    response = http.post(
        api + "brains/",
        headers=demo_auth["headers"],
        json={"name": "Test brain", "species": "Mus musculus", "description": "Scratch scan of the visual cortex."},
    )
    assert response.status_code == 201, response.text
    brain = response.json()
    yield brain
    http.delete(f"{api}brains/{brain['id']}/", headers=demo_auth["headers"])


@pytest.fixture(scope="module")
def all_brains(http: requests.Session, api: str) -> list[dict]:
    records, _ = walk(http, api + "brains/", page_size=100)
    return records


# ---------------------------------------------------------------------------
# Pagination


def test_pagination_walks_every_brain_exactly_once(http, api, sandbox):
    records, pages = walk(http, api + "brains/", page_size=37)
    ids = [r["id"] for r in records]
    assert pages[0]["count"] == len(records) == len(set(ids))
    assert ids == sorted(ids)  # stable ordering by id
    readable = {r["readable_id"] for r in records}
    assert {f"BM-{i:06d}" for i in range(1, N_SEEDED + 1)} <= readable
    assert len(pages) == -(-pages[0]["count"] // 37)
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    for number, page in enumerate(pages, start=1):
        assert len(page["results"]) == (37 if page["next"] else len(records) - 37 * (number - 1))
        if page["next"]:
            assert page["next"].startswith(sandbox.url + "/brainmaps/v1/brains/")
            assert query(page["next"]) == {"page": [str(number + 1)], "page_size": ["37"]}
        if page["previous"]:
            assert page["previous"].startswith(sandbox.url + "/brainmaps/v1/brains/")
            assert query(page["previous"])["page"] == [str(number - 1)]


def test_previous_links_walk_back(http, api):
    last = http.get(api + "brains/", params={"page_size": 100, "page": 3}).json()
    pages = [last]
    while pages[-1]["previous"]:
        pages.append(http.get(pages[-1]["previous"]).json())
    assert len(pages) == 3
    assert pages[-1]["results"][0]["id"] == 1


def test_default_page_size_is_20(http, api):
    body = http.get(api + "brains/").json()
    assert body["count"] >= N_SEEDED
    assert len(body["results"]) == 20
    assert query(body["next"]) == {"page": ["2"]}


def test_page_size_is_capped_at_100(http, api):
    body = http.get(api + "brains/", params={"page_size": 1000}).json()
    assert len(body["results"]) == 100


@pytest.mark.parametrize("page", ["999", "0", "abc"])
def test_out_of_range_page_is_404_with_error_body(http, api, page):
    response = http.get(api + "brains/", params={"page": page})
    detail = assert_error(response, 404, "Resource not found")
    assert page in detail
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("endpoint", ["categories/", "species/"])
def test_other_lists_paginate(http, api, endpoint):
    records, pages = walk(http, api + endpoint, page_size=5)
    assert len(pages) > 1
    assert pages[0]["count"] == len(records) == len({r["id"] for r in records})


# ---------------------------------------------------------------------------
# Categories and species


def test_categories_list_and_detail(http, api):
    records, _ = walk(http, api + "categories/")
    names = {r["name"] for r in records}
    assert {"Cephalopods", "Birds", "Rodents", "Primates", "Fish"} <= names
    cephalopods = http.get(api + "categories/Cephalopods/").json()
    assert cephalopods["name"] == "Cephalopods"
    assert set(cephalopods) == {"id", "name", "description"}
    assert_error(http.get(api + "categories/Dragons/"), 404, "Resource not found")


def test_species_filters_and_search(http, api):
    rodents, _ = walk(http, api + "species/", category="rodents")  # spec's example, lower case
    assert rodents and all(s["category"] == "Rodents" for s in rodents)
    assert "Mus musculus" in {s["scientific_name"] for s in rodents}

    exact = http.get(api + "species/", params={"scientific_name": "Danio rerio"}).json()
    assert exact["count"] == 1 and exact["results"][0]["common_name"] == "Zebrafish"

    mice = http.get(api + "species/", params={"search": "mouse"}).json()["results"]
    assert "Mus musculus" in {s["scientific_name"] for s in mice}
    for species in mice:
        assert "mouse" in " ".join(str(v) for v in species.values()).lower()

    nothing = http.get(api + "species/", params={"category": "Dragons"}).json()
    assert nothing["count"] == 0 and nothing["results"] == []


@pytest.mark.parametrize("name", ["Mus musculus", "mus-musculus"])
def test_species_detail_by_name(http, api, name):
    # requests encodes the space as %20.
    response = http.get(f"{api}species/{name}/")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scientific_name"] == "Mus musculus"
    assert body["category"] == "Rodents"


def test_unknown_species_is_404(http, api):
    assert_error(http.get(api + "species/Homo erectus/"), 404, "Resource not found")


# ---------------------------------------------------------------------------
# Brain filters, search and detail


@pytest.mark.parametrize("value", ["Mus musculus", "mus-musculus"])
def test_filter_brains_by_species(http, api, all_brains, value):
    records, pages = walk(http, api + "brains/", species=value, page_size=100)
    expected = [b["id"] for b in all_brains if b["species"] == "Mus musculus"]
    assert expected and pages[0]["count"] == len(expected)
    assert [r["id"] for r in records] == expected


def test_filter_brains_by_verified(http, api, all_brains):
    counts = {}
    for word, flag in [("true", True), ("false", False)]:
        records, pages = walk(http, api + "brains/", verified=word, page_size=100)
        assert all(r["verified"] is flag for r in records)
        counts[flag] = pages[0]["count"]
    assert counts[True] > 0 and counts[False] > 0
    assert counts[True] + counts[False] == len(all_brains)


def test_spec_example_species_slug_and_verified(http, api, all_brains):
    body = http.get(api + "brains/", params={"species": "mus-musculus", "verified": "true"}).json()
    expected = [b for b in all_brains if b["species"] == "Mus musculus" and b["verified"]]
    assert body["count"] == len(expected) > 0


def test_filter_brains_by_uploader(http, api, all_brains, demo_auth):
    demo_id = demo_auth["user"]["id"]
    records, pages = walk(http, api + "brains/", uploader=demo_id, page_size=100)
    assert records and all(r["uploader"] == demo_id for r in records)
    assert pages[0]["count"] == sum(b["uploader"] == demo_id for b in all_brains)


@pytest.mark.parametrize("param,value", [("verified", "maybe"), ("uploader", "me")])
def test_bad_filter_value_is_400_naming_the_parameter(http, api, param, value):
    detail = assert_error(http.get(api + "brains/", params={param: value}), 400, "Invalid request parameters")
    assert param in detail


def test_search_brains(http, api, all_brains):
    records, pages = walk(http, api + "brains/", search="cortex", page_size=100)
    expected = [b["id"] for b in all_brains if "cortex" in (b["name"] + " " + b["description"]).lower()]
    assert expected and [r["id"] for r in records] == expected
    assert pages[0]["count"] == len(expected)


def test_brain_by_readable_id(http, api):
    response = http.get(api + "brains/by_readable_id/", params={"readable_id": "BM-000123"})
    assert response.status_code == 200, response.text
    brain = response.json()
    assert brain["readable_id"] == "BM-000123" and brain["id"] == 123
    assert http.get(api + "brains/123/").json() == brain
    for key in ["name", "description", "species", "uploader", "verified", "upload_date"]:
        assert key in brain


def test_brain_by_readable_id_errors(http, api):
    detail = assert_error(http.get(api + "brains/by_readable_id/"), 400, "Invalid request parameters")
    assert "readable_id" in detail
    missing = http.get(api + "brains/by_readable_id/", params={"readable_id": "BM-999999"})
    assert "BM-999999" in assert_error(missing, 404, "Resource not found")
    assert_error(http.get(api + "brains/999999/"), 404, "Resource not found")


def test_unknown_endpoint_is_404_json(http, api):
    assert_error(http.get(api + "no-such-thing/"), 404, "Resource not found")


# ---------------------------------------------------------------------------
# Authentication


def test_login_me_logout(http, api, sandbox):
    response = login(http, api, sandbox.email, sandbox.password)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token", "user"}
    assert set(body["user"]) == {"id", "email", "first_name", "last_name"}
    assert body["user"]["email"] == sandbox.email
    token = body["token"]

    for scheme in ["Token", "Bearer"]:
        me = http.get(api + "auth/me/", headers={"Authorization": f"{scheme} {token}"})
        assert me.status_code == 200, me.text
        assert me.json() == body["user"]

    out = http.post(api + "auth/logout/", headers={"Authorization": f"Token {token}"})
    assert out.status_code == 204
    again = http.get(api + "auth/me/", headers={"Authorization": f"Token {token}"})
    assert_error(again, 401, "Authentication required")


def test_tokens_are_per_login(http, api, sandbox, demo_auth):
    # Logging out one session must not end another (the module's demo token).
    token = login(http, api, sandbox.email, sandbox.password).json()["token"]
    assert token != demo_auth["headers"]["Authorization"].split()[1]
    http.post(api + "auth/logout/", headers={"Authorization": f"Bearer {token}"})
    assert http.get(api + "auth/me/", headers=demo_auth["headers"]).status_code == 200


def test_me_needs_a_token(http, api):
    detail = assert_error(http.get(api + "auth/me/"), 401, "Authentication required")
    assert detail == "Please log in to access this resource"


def test_wrong_password_is_401(http, api, sandbox):
    assert_error(login(http, api, sandbox.email, "not-the-password"), 401, "Authentication required")


def test_login_validation_names_fields(http, api):
    detail = assert_error(http.post(api + "auth/login/", json={}), 400, "Invalid request parameters")
    assert set(detail) == {"email", "password"}


def test_invalid_token_is_401(http, api):
    response = http.get(api + "brains/", headers={"Authorization": "Token nonsense"})
    assert_error(response, 401, "Authentication required")


# ---------------------------------------------------------------------------
# Writes


def test_writes_need_authentication(http, api):
    response = http.post(api + "brains/", json={"name": "x", "species": "Mus musculus"})
    assert_error(response, 401, "Authentication required")
    assert_error(http.delete(api + "brains/1/"), 401, "Authentication required")
    assert_error(http.get(api + "file-uploads/"), 401, "Authentication required")


def test_create_patch_delete_brain(http, api, demo_auth, new_brain):
    headers = demo_auth["headers"]
    assert re.fullmatch(r"BM-\d{6}", new_brain["readable_id"])
    assert new_brain["uploader"] == demo_auth["user"]["id"]
    assert new_brain["species"] == "Mus musculus"
    assert new_brain["verified"] is False
    assert new_brain["file_upload"] is None

    found = http.get(api + "brains/by_readable_id/", params={"readable_id": new_brain["readable_id"]}).json()
    assert found == new_brain

    url = f"{api}brains/{new_brain['id']}/"
    patched = http.patch(url, headers=headers, json={"name": "Renamed", "verified": True})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Renamed"
    assert patched.json()["verified"] is False  # curators verify, not uploaders
    assert patched.json()["description"] == new_brain["description"]

    deleted = http.delete(url, headers=headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert deleted.headers["Access-Control-Allow-Origin"] == "*"
    assert_error(http.get(url), 404, "Resource not found")


def test_create_brain_multipart_with_file(http, api, demo_auth):
    content = b"\x1f\x8b fake NIfTI bytes " * 100
    response = http.post(
        api + "brains/",
        headers=demo_auth["headers"],
        data={
            "name": "Uploaded brain",
            "species": "Danio rerio",
            "description": "Whole-brain light-sheet scan of the optic tectum.",
        },
        files={"file": ("zebrafish.nii.gz", content, "application/gzip")},
    )
    assert response.status_code == 201, response.text
    brain = response.json()
    try:
        assert brain["species"] == "Danio rerio"
        assert brain["file_name"] == "zebrafish.nii.gz"
        assert brain["file_size"] == len(content)
        uploads, _ = walk(http, api + "file-uploads/", demo_auth["headers"], page_size=100)
        assert brain["file_upload"] in {u["id"] for u in uploads}
    finally:
        http.delete(f"{api}brains/{brain['id']}/", headers=demo_auth["headers"])


def test_cannot_change_another_users_brain(http, api, demo_auth, all_brains):
    demo_id = demo_auth["user"]["id"]
    other = next(b for b in all_brains if b["uploader"] != demo_id)
    url = f"{api}brains/{other['id']}/"
    headers = demo_auth["headers"]
    assert_error(http.patch(url, headers=headers, json={"name": "Mine now"}), 403, "Permission denied")
    assert_error(http.delete(url, headers=headers), 403, "Permission denied")
    assert http.get(url).json() == other


def test_put_is_not_allowed(http, api, demo_auth, new_brain):
    response = http.put(
        f"{api}brains/{new_brain['id']}/", headers=demo_auth["headers"], json={"name": "x", "species": "Mus musculus"}
    )
    assert_error(response, 405, "Method not allowed")


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"species": "Mus musculus"}, "name"),
        ({"name": "", "species": "Mus musculus"}, "name"),
        ({"name": "x" * 201, "species": "Mus musculus"}, "name"),
        ({"name": "No species"}, "species"),
        ({"name": "Bad species", "species": "Canis dirus"}, "species"),
        ({"name": "Bad upload", "species": "Mus musculus", "file_upload": 10**9}, "file_upload"),
    ],
)
def test_create_validation_names_the_field(http, api, demo_auth, payload, field):
    response = http.post(api + "brains/", headers=demo_auth["headers"], json=payload)
    detail = assert_error(response, 400, "Invalid request parameters")
    assert isinstance(detail, dict) and field in detail, detail


def test_cannot_attach_another_users_upload(http, api, demo_auth, all_brains):
    demo_id = demo_auth["user"]["id"]
    other = next(b for b in all_brains if b["uploader"] != demo_id and b["file_upload"])
    response = http.post(
        api + "brains/",
        headers=demo_auth["headers"],
        json={"name": "Borrowed file", "species": "Mus musculus", "file_upload": other["file_upload"]},
    )
    detail = assert_error(response, 400, "Invalid request parameters")
    assert "file_upload" in detail


def test_patch_validation_names_the_field(http, api, demo_auth, new_brain):
    response = http.patch(
        f"{api}brains/{new_brain['id']}/", headers=demo_auth["headers"], json={"species": "Canis dirus"}
    )
    detail = assert_error(response, 400, "Invalid request parameters")
    assert "Canis dirus" in detail["species"]


def test_malformed_json_is_400(http, api, demo_auth):
    headers = {**demo_auth["headers"], "Content-Type": "application/json"}
    response = http.post(api + "brains/", headers=headers, data=b"{not json")
    assert_error(response, 400, "Invalid request parameters")


# ---------------------------------------------------------------------------
# File uploads


def test_file_uploads_create_and_list(http, api, demo_auth):
    content = b"scan bytes " * 1000
    response = http.post(
        api + "file-uploads/", headers=demo_auth["headers"], files={"file": ("scan.tif", content, "image/tiff")}
    )
    assert response.status_code == 201, response.text
    upload = response.json()
    assert upload["filename"] == "scan.tif"
    assert upload["size"] == len(content)
    assert upload["checksum"] == hashlib.sha256(content).hexdigest()
    assert upload["user"] == demo_auth["user"]["id"]

    uploads, _ = walk(http, api + "file-uploads/", demo_auth["headers"], page_size=100)
    assert upload["id"] in {u["id"] for u in uploads}
    assert all(u["user"] == demo_auth["user"]["id"] for u in uploads)


def test_file_upload_needs_a_file(http, api, demo_auth):
    detail = assert_error(
        http.post(api + "file-uploads/", headers=demo_auth["headers"], data={}), 400, "Invalid request parameters"
    )
    assert "file" in detail


# ---------------------------------------------------------------------------
# CORS


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "brains/"),
        ("GET", "species/Mus musculus/"),
        ("GET", "brains/?page=999"),
        ("GET", "auth/me/"),
        ("OPTIONS", "brains/"),
        ("OPTIONS", "file-uploads/"),
    ],
)
def test_cors_headers(http, api, method, path):
    response = http.request(method, api + path)
    assert response.status_code < 500
    for name, value in CORS.items():
        assert response.headers[name] == value


def test_cors_preflight_needs_no_token(http, api):
    response = http.options(
        api + "auth/me/",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Headers"] == CORS["Access-Control-Allow-Headers"]
