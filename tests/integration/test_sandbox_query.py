"""The sandbox's list answers: envelopes, pagination, filters, sorting, includes."""

from __future__ import annotations

from datetime import datetime
from typing import Iterator

import pytest
import requests

SESSIONS = "/api/private/stem/session/"
SUBJECTS = "/api/private/stem/subject/"


def get(http: requests.Session, sandbox, path: str, **params) -> dict:
    r = http.get(sandbox.url + path, params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def walk(http, sandbox, path: str, limit: int = 100, **params) -> list[dict]:
    """Every record of a list, by limit/offset."""
    records, offset = [], 0
    while True:
        page = get(http, sandbox, path, limit=limit, offset=offset, **params)
        key = next(
            k
            for k in page
            if k not in ("count", "next", "previous", "meta") and k in ("sessions", "subjects", "projects", "behaviors")
        )
        records += page[key]
        offset += limit
        if offset >= page["count"]:
            return records


# -- envelopes and pagination ---------------------------------------------------


def test_default_limit_is_20_and_max_is_100(sandbox, http):
    assert len(get(http, sandbox, SESSIONS)["sessions"]) == 20
    assert len(get(http, sandbox, SESSIONS, limit=500)["sessions"]) == 100


def test_count_envelope_links_and_offsets(sandbox, http):
    first = get(http, sandbox, SESSIONS, limit=10)
    assert list(first)[:3] == ["count", "next", "previous"]
    assert first["previous"] is None and "offset=10" in first["next"]
    second = requests.get(first["next"], headers=http.headers, timeout=30).json()
    assert {s["id"] for s in second["sessions"]}.isdisjoint({s["id"] for s in first["sessions"]})
    assert second["previous"] is not None
    last = get(http, sandbox, SESSIONS, limit=10, offset=first["count"] - 3)
    assert len(last["sessions"]) == 3 and last["next"] is None


def test_walking_offsets_returns_every_record_once(sandbox, http):
    total = get(http, sandbox, SESSIONS, limit=1)["count"]
    records = walk(http, sandbox, SESSIONS, limit=37)
    ids = [r["id"] for r in records]
    assert len(ids) == total == len(set(ids))


@pytest.fixture(scope="module")
def meta_and_bare():
    from brainstem_pandas.sandbox import Sandbox

    with Sandbox(sessions=300, envelope="meta") as meta, Sandbox(sessions=300, envelope="bare") as bare:
        yield meta, bare


def test_meta_envelope_reports_total_results(sandbox, http, meta_and_bare):
    meta, _ = meta_and_bare
    body = requests.get(
        meta.url + SESSIONS, params={"limit": 7}, headers={"Authorization": f"Bearer {meta.token}"}, timeout=30
    ).json()
    assert set(body) == {"meta", "sessions"}
    assert body["meta"]["total_results"] == get(http, sandbox, SESSIONS, limit=1)["count"]
    assert body["meta"]["limit"] == 7 and body["meta"]["offset"] == 0


def test_bare_envelope_has_only_the_list_key(meta_and_bare):
    _, bare = meta_and_bare
    headers = {"Authorization": f"Bearer {bare.token}"}
    body = requests.get(
        bare.url + SESSIONS, params={"limit": 7, "include[]": "projects"}, headers=headers, timeout=30
    ).json()
    assert set(body) == {"projects", "sessions"} and len(body["sessions"]) == 7
    # A client walks until a short page.
    seen, offset = [], 0
    while True:
        page = requests.get(
            bare.url + SESSIONS, params={"limit": 100, "offset": offset}, headers=headers, timeout=30
        ).json()["sessions"]
        seen += page
        offset += 100
        if len(page) < 100:
            break
    assert len(seen) == len({s["id"] for s in seen}) > 100


# -- filters -----------------------------------------------------------------------


# Filters and sorts run on SQLite and on PostgreSQL (the real service's database).


@pytest.fixture(scope="module")
def db_http(db_sandbox) -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {db_sandbox.token}"
        yield s


@pytest.fixture(scope="module")
def all_sessions(db_sandbox) -> list[dict]:
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {db_sandbox.token}"
        return walk(s, db_sandbox, SESSIONS)


def ids(records) -> set[str]:
    return {r["id"] for r in records}


def test_exact_and_text_filters(db_sandbox, db_http, all_sessions):
    target = all_sessions[5]
    name = target["name"]
    exact = get(db_http, db_sandbox, SESSIONS, **{"filter{name}": name})["sessions"]
    assert ids(exact) == {target["id"]}
    prefix = name.split("_")[0]
    cases = {
        "icontains": (prefix.lower(), lambda n: prefix.lower() in n.lower()),
        "iexact": (name.upper(), lambda n: n.lower() == name.lower()),
        "startswith": (prefix, lambda n: n.startswith(prefix)),
        "istartswith": (prefix.lower(), lambda n: n.lower().startswith(prefix.lower())),
        "endswith": (name[-6:], lambda n: n.endswith(name[-6:])),
        "iendswith": (name[-6:].upper(), lambda n: n.lower().endswith(name[-6:].lower())),
    }
    for op, (value, keep) in cases.items():
        got = walk(db_http, db_sandbox, SESSIONS, **{f"filter{{name.{op}}}": value})
        assert ids(got) == ids(s for s in all_sessions if keep(s["name"])), op
        assert got, op


def test_comparison_filters_on_datetimes(db_sandbox, db_http, all_sessions):
    cut = "2022-06-01T00:00:00Z"
    when = {s["id"]: datetime.fromisoformat(s["date_time"].replace("Z", "+00:00")) for s in all_sessions}
    limit = datetime.fromisoformat(cut.replace("Z", "+00:00"))
    for op, keep in (
        ("gt", lambda d: d > limit),
        ("gte", lambda d: d >= limit),
        ("lt", lambda d: d < limit),
        ("lte", lambda d: d <= limit),
    ):
        got = walk(db_http, db_sandbox, SESSIONS, **{f"filter{{date_time.{op}}}": cut})
        assert ids(got) == {i for i, d in when.items() if keep(d)}, op


def test_in_filter_and_related_paths(db_sandbox, db_http, all_sessions):
    wanted = [all_sessions[0]["id"], all_sessions[3]["id"], all_sessions[9]["id"]]
    got = get(db_http, db_sandbox, SESSIONS, **{"filter{id.in}": wanted})["sessions"]
    assert ids(got) == set(wanted)
    project = all_sessions[0]["projects"][0]
    related = walk(db_http, db_sandbox, SESSIONS, **{"filter{projects.id}": project})
    assert ids(related) == ids(s for s in all_sessions if project in s["projects"])
    subjects = walk(db_http, db_sandbox, SUBJECTS, **{"filter{projects.id}": project, "filter{sex}": "F"})
    assert subjects and all(s["sex"] == "F" and project in s["projects"] for s in subjects)


def test_unknown_filter_field_is_a_400_with_detail(db_sandbox, db_http):
    r = db_http.get(db_sandbox.url + SESSIONS, params={"filter{nonsense}": "x"}, timeout=30)
    assert r.status_code == 400 and "detail" in r.json()


# -- sorting --------------------------------------------------------------------------


def test_sort_descending_and_multiple_keys(db_sandbox, db_http, all_sessions):
    desc = walk(db_http, db_sandbox, SESSIONS, **{"sort[]": "-date_time"})
    stamps = [s["date_time"] for s in desc]
    assert stamps == sorted(stamps, reverse=True)
    multi = walk(db_http, db_sandbox, SUBJECTS, **{"sort[]": ["sex", "-name"]})
    keys = [(s["sex"], s["name"]) for s in multi]
    assert keys == sorted(keys, key=lambda k: (k[0], [-ord(c) for c in k[1]]))


def test_nulls_sort_last_ascending_and_first_descending_as_on_postgresql(db_sandbox, db_http):
    up = walk(db_http, db_sandbox, SUBJECTS, **{"sort[]": ["death_date", "id"]})
    down = walk(db_http, db_sandbox, SUBJECTS, **{"sort[]": ["-death_date", "id"]})
    dead = sum(s["death_date"] is not None for s in up)
    assert 0 < dead < len(up)
    assert all(s["death_date"] is None for s in up[dead:]) and all(s["death_date"] is None for s in down[:-dead])


def test_contains_is_case_sensitive_and_icontains_is_not(db_sandbox, db_http, all_sessions):
    prefix = all_sessions[0]["name"][:2]  # upper-case letters, e.g. "MM"
    assert prefix.isupper()
    lower = walk(db_http, db_sandbox, SESSIONS, **{"filter{name.contains}": prefix.lower()})
    folded = walk(db_http, db_sandbox, SESSIONS, **{"filter{name.icontains}": prefix.lower()})
    assert ids(lower) == ids(s for s in all_sessions if prefix.lower() in s["name"])
    assert ids(folded) == ids(s for s in all_sessions if prefix in s["name"].upper()) != set()


def test_sort_with_ties_and_id_keeps_every_record(db_sandbox, db_http, all_sessions):
    # Many sessions share a project: sorting on it alone has ties; with id the
    # order is total and offset pages neither repeat nor skip a record.
    got = walk(db_http, db_sandbox, SESSIONS, limit=23, **{"sort[]": ["projects.name", "id"]})
    assert len(got) == len(ids(got)) == len(all_sessions)


# -- includes and sideloading ------------------------------------------------------------


def test_include_sideloads_related_records_under_their_list_keys(sandbox, http):
    for form in ("dataacquisition", "dataacquisition.*"):
        body = get(http, sandbox, SESSIONS, limit=30, **{"include[]": [form, "projects"]})
        assert list(body)[-1] == "sessions"  # sideloads come first, as dynamic-rest answers
        acquisitions = {a["id"]: a for a in body["data_acquisitions"]}
        wanted = {i for s in body["sessions"] for i in s["dataacquisition"]}
        assert set(acquisitions) == wanted
        assert all(acquisitions[i]["session"] == s["id"] for s in body["sessions"] for i in s["dataacquisition"])
        assert {p["id"] for p in body["projects"]} == {i for s in body["sessions"] for i in s["projects"]}


def test_nested_include_sideloads_every_level(sandbox, http):
    body = get(http, sandbox, SUBJECTS, limit=20, **{"include[]": ["procedures.brain_region", "strain.species"]})
    assert {"procedures", "brain_regions", "strains", "species", "subjects"} <= set(body)
    regions = {r["id"] for r in body["brain_regions"]}
    assert {p["brain_region"] for p in body["procedures"] if p["brain_region"]} <= regions
    assert {s["species"] for s in body["strains"]} <= {s["id"] for s in body["species"]}


def test_sideloading_false_embeds_records_inline(sandbox, http):
    body = get(http, sandbox, SESSIONS, limit=50, sideloading="false", **{"include[]": ["behaviors", "datastorage"]})
    assert set(body) == {"count", "next", "previous", "sessions"}
    session = next(s for s in body["sessions"] if s["behaviors"] and s["datastorage"])
    assert isinstance(session["behaviors"][0], dict) and session["behaviors"][0]["session"] == session["id"]
    assert isinstance(session["datastorage"][0], dict)


def test_datastorage_keeps_its_stored_order(sandbox, http, all_sessions):
    # Order is meaningful; the same order appears as ids and embedded records.
    multi = [s for s in all_sessions if len(s["datastorage"]) > 1]
    assert multi
    body = get(
        http, sandbox, SESSIONS, sideloading="false", **{"include[]": "datastorage", "filter{id}": multi[0]["id"]}
    )
    assert [d["id"] for d in body["sessions"][0]["datastorage"]] == multi[0]["datastorage"]
    orders = {tuple(s["datastorage"]) for s in multi}
    assert any(list(o) != sorted(o) for o in orders), "order must come from the link table, not from ids"


def test_include_of_an_unknown_field_is_a_400(sandbox, http):
    r = http.get(sandbox.url + SESSIONS, params={"include[]": "nonsense"}, timeout=30)
    assert r.status_code == 400 and "detail" in r.json()
