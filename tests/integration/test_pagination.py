"""Every record arrives exactly once, whatever the envelope and pagination style."""

from __future__ import annotations

import pytest
import requests

import brainstem_pandas as bsp
from brainstem_pandas.pagination import NextLinkPaginator, PageNumberPaginator, Walk
from brainstem_pandas.sandbox import Sandbox


def truth(sb: Sandbox, path: str = "/api/private/stem/session/", key: str = "sessions") -> set[str]:
    """Ids of every record, walked by hand one page at a time with plain requests."""
    ids, offset = [], 0
    headers = {"Authorization": f"Bearer {sb.token}"}
    while True:
        body = requests.get(
            sb.url + path, params={"limit": 100, "offset": offset, "sort[]": "id"}, headers=headers, timeout=30
        ).json()
        ids += [r["id"] for r in body[key]]
        offset += 100
        if len(body[key]) < 100:
            assert len(ids) == len(set(ids))
            return set(ids)


@pytest.fixture(scope="module")
def envelopes():
    with Sandbox(sessions=900, envelope="meta") as meta, Sandbox(sessions=900, envelope="bare") as bare:
        yield {"meta": meta, "bare": bare}


def _client(sb: Sandbox, **kwargs) -> bsp.Client:
    return bsp.connect(sb.url, token=sb.token, progress=False, **kwargs)


@pytest.mark.parametrize("workers", [1, 8])
def test_count_envelope_every_record_once(sandbox, workers):
    frame = _client(sandbox, workers=workers).read("session")
    assert frame.index.is_unique
    assert set(frame.index) == truth(sandbox)


@pytest.mark.parametrize("envelope", ["meta", "bare"])
def test_meta_and_bare_envelopes_every_record_once(envelopes, envelope):
    sb = envelopes[envelope]
    client = _client(sb)
    frame = client.read("session")
    assert set(frame.index) == truth(sb) and frame.index.is_unique
    pages = list(client.iter_pages("session", include=["projects"]))
    assert all(p.total is None for p in pages) if envelope == "bare" else pages[0].total == len(frame)
    assert sum(len(p.records) for p in pages) == len(frame)


def test_bare_envelope_with_an_exact_multiple_of_the_page_size(envelopes):
    # 600 visible subjects? Whatever the count, a bare walk must stop at the first short
    # or empty page and still return everything.
    sb = envelopes["bare"]
    client = _client(sb)
    expected = truth(sb, "/api/private/stem/subject/", "subjects")
    assert set(client.read("subject").index) == expected


def test_page_size_below_the_maximum(sandbox):
    client = bsp.Client(sandbox.url, bsp.auth.StaticToken(sandbox.token), progress=False, page_size=3)
    frame = client.read("project")
    pages = list(client.iter_pages("project"))
    assert set(frame.index) == truth(sandbox, "/api/private/stem/project/", "projects")
    assert all(len(p.records) <= 3 for p in pages) and len(pages) > 1


def test_page_number_style_brainmaps(sandbox):
    client = bsp.Client(sandbox.url, None, progress=False)  # brainmaps reads are anonymous
    frame = client.read_url("/brainmaps/v1/brains/", paginator=PageNumberPaginator(page_size=40))
    listed = requests.get(sandbox.url + "/brainmaps/v1/brains/", params={"page_size": 1}, timeout=30).json()
    assert len(frame) == listed["count"] == 300 and frame.index.is_unique
    verified = client.read_url("/brainmaps/v1/brains/", params={"verified": "true"})
    assert 0 < len(verified) < len(frame) and verified["verified"].all()


def test_next_link_style_on_both_apis(sandbox):
    transport = bsp.Client(sandbox.url, bsp.auth.StaticToken(sandbox.token), progress=False).transport
    walk = Walk(
        transport,
        transport.url("api/private/stem/session/"),
        [("sort[]", "id")],
        NextLinkPaginator(page_size=100),
        "sessions",
        progress=False,
    )
    ids = [r["id"] for page in walk for r in page.records]
    assert set(ids) == truth(sandbox) and len(ids) == len(set(ids)) and walk.problem() is None
    anonymous = bsp.Client(sandbox.url, None, progress=False).transport  # brainmaps has its own tokens
    brains = Walk(
        anonymous,
        anonymous.url("brainmaps/v1/brains/"),
        [],
        NextLinkPaginator(25, "page_size"),
        "results",
        progress=False,
    )
    assert sum(len(p.records) for p in brains) == 300 and brains.pages == 12


def test_sort_with_ties_returns_every_record(sandbox):
    # Many sessions share a project name; id breaks the ties so offsets are stable.
    client = _client(sandbox, workers=8)
    for sort in (["projects.name"], ["-extra_fields"], ["name_used_in_storage"]):
        frame = client.read("session", sort=sort) if sort != ["-extra_fields"] else None
        if frame is None:
            with pytest.raises(bsp.QueryError):
                client.read("session", sort=sort)
            continue
        assert frame.index.is_unique and set(frame.index) == truth(sandbox)


def test_sorted_reads_keep_the_server_order(sandbox):
    frame = _client(sandbox).read("session", sort=["-date_time"])
    stamps = list(frame["date_time"])
    assert stamps == sorted(stamps, reverse=True)


def test_filters_reach_the_server(sandbox):
    client = _client(sandbox)
    every = client.read("session")
    some = client.read("session", filters={"name.startswith": "MM", "date_time.gte": "2022-01-01"})
    cut = bsp.query.encode_value("2022-01-01")
    expected = every[every["name"].str.startswith("MM") & (every["date_time"] >= cut)]
    assert set(some.index) == set(expected.index) and len(some) > 0


# Stopping early, errors that end a walk, records added during a walk and the paginators' own
# checks are client logic: tests/unit/test_reads_on_mock.py and test_paginators.py drive them on a mock.
