"""Create, update and delete through the sandbox, with the documented validation."""

from __future__ import annotations

import pytest
import requests

from brainstem_pandas.sandbox import Sandbox

SESSIONS = "/api/private/stem/session/"


@pytest.fixture(scope="module")
def sb():
    # Writes get their own server so that no other test sees their records.
    with Sandbox(sessions=300, seed=0) as server:
        yield server


@pytest.fixture
def api(sb):
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {sb.token}"
        yield s


@pytest.fixture(scope="module")
def writable(sb) -> dict:
    """A project the demo user may change, and data storages of their groups."""
    headers = {"Authorization": f"Bearer {sb.token}"}
    projects = requests.get(
        sb.url + "/api/private/stem/project/", params={"limit": 100}, headers=headers, timeout=30
    ).json()["projects"]
    mine = next(p for p in projects if p["users"].get(sb.email, {}).get("can_change"))
    readonly = next(p for p in projects if sb.email in p["users"] and not p["users"][sb.email]["can_change"])
    # Data storages of the demo user's own lab, and of labs the demo user is not in
    # (their public storages are visible but may not be attached).
    groups = requests.get(
        sb.url + "/api/private/users/group/", params={"limit": 100}, headers=headers, timeout=30
    ).json()["groups"]
    lab = next(g for g in groups if g["users"].get(sb.email, {}).get("is_owner"))
    strangers = {g["name"].split()[0] for g in groups if sb.email not in g["users"]}
    storages = requests.get(
        sb.url + "/api/private/personal_attributes/datastorage/", params={"limit": 100}, headers=headers, timeout=30
    ).json()["datastorages"]
    own = [s["id"] for s in storages if s["name"].split()[0] == lab["name"].split()[0]]
    other = [s["id"] for s in storages if s["name"].split()[0] in strangers]
    return {"project": mine["id"], "readonly": readonly["id"], "storages": own, "foreign_storages": other}


def create(api, sb, data, path=SESSIONS) -> requests.Response:
    return api.post(sb.url + path, json=data, timeout=30)


def test_create_returns_201_under_the_detail_key(sb, api, writable):
    r = create(
        api,
        sb,
        {
            "name": "w-create-1",
            "projects": [writable["project"]],
            "date_time": "2026-01-02T03:04:05Z",
            "tags": ["new"],
            "extra_fields": {"rig": "A", "trials": 12},
            "download_links": [{"repository": "DANDI", "url": "https://dandiarchive.org/x"}],
        },
    )
    assert r.status_code == 201, r.text
    assert list(r.json()) == ["session"]
    session = r.json()["session"]
    assert session["name"] == "w-create-1" and session["projects"] == [writable["project"]]
    assert session["date_time"] == "2026-01-02T03:04:05Z"
    got = api.get(f"{sb.url}{SESSIONS}{session['id']}/", timeout=30).json()["session"]
    assert got == session


def test_patch_and_put_update_and_delete_gives_204(sb, api, writable):
    sid = create(api, sb, {"name": "w-upd", "projects": [writable["project"]]}).json()["session"]["id"]
    url = f"{sb.url}{SESSIONS}{sid}/"
    r = api.patch(url, json={"description": "changed"}, timeout=30)
    assert r.status_code == 200 and r.json()["session"]["description"] == "changed"
    assert r.json()["session"]["name"] == "w-upd"
    r = api.put(url, json={"name": "w-upd-put", "projects": [writable["project"]]}, timeout=30)
    assert r.status_code == 200 and r.json()["session"]["name"] == "w-upd-put"
    r = api.delete(url, timeout=30)
    assert r.status_code == 204 and r.content == b""
    assert api.get(url, timeout=30).status_code == 404


def test_datastorage_order_is_kept_as_sent(sb, api, writable):
    order = list(reversed(writable["storages"][:2]))
    assert len(order) == 2
    r = create(api, sb, {"name": "w-ds", "projects": [writable["project"]], "datastorage": order})
    assert r.status_code == 201, r.text
    assert r.json()["session"]["datastorage"] == order


def test_data_storages_of_other_labs_cannot_be_attached(sb, api, writable):
    r = create(
        api,
        sb,
        {"name": "w-ds-foreign", "projects": [writable["project"]], "datastorage": writable["foreign_storages"][:1]},
    )
    assert r.status_code == 403 and "data storage" in r.json()["detail"]


def test_new_records_get_empty_json_values_not_null(sb, api, writable):
    session = create(api, sb, {"name": "w-empty", "projects": [writable["project"]]}).json()["session"]
    assert session["extra_fields"] == {} and session["download_links"] == [] and session["tags"] == []


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"name": "w-bad-1", "projects": "PROJECT"}, "projects"),
        ({"name": "w-bad-2", "projects": []}, "projects"),
        ({"name": "w-bad-3"}, "projects"),
        ({"projects": ["PROJECT"]}, "name"),
        ({"name": "w-bad-4", "projects": ["not-a-uuid"]}, "projects"),
        ({"name": "w-bad-5", "projects": ["PROJECT"], "extra_fields": {"1st": 1}}, "extra_fields"),
        ({"name": "w-bad-6", "projects": ["PROJECT"], "extra_fields": {"ok": [1, 2]}}, "extra_fields"),
        ({"name": "w-bad-7", "projects": ["PROJECT"], "extra_fields": {"bad-key": "x"}}, "extra_fields"),
        (
            {
                "name": "w-bad-8",
                "projects": ["PROJECT"],
                "download_links": [{"repository": "Dropbox", "url": "https://x.org"}],
            },
            "download_links",
        ),
        (
            {
                "name": "w-bad-9",
                "projects": ["PROJECT"],
                "download_links": [{"repository": "DANDI", "url": "dandiarchive.org/1"}],
            },
            "download_links",
        ),
        ({"name": "w-bad-10", "projects": ["PROJECT"], "date_time": "yesterday"}, "date_time"),
        ({"name": "x" * 101, "projects": ["PROJECT"]}, "name"),
        ({"name": "w-bad-11", "projects": ["PROJECT"], "tags": "one"}, "tags"),
    ],
)
def test_validation_errors_name_each_bad_field(sb, api, writable, payload, field):
    payload = {k: ([writable["project"]] if v == ["PROJECT"] else v) for k, v in payload.items()}
    before = api.get(sb.url + SESSIONS, params={"limit": 1}, timeout=30).json()["count"]
    r = create(api, sb, payload)
    assert r.status_code == 400, r.text
    body = r.json()
    assert field in body and isinstance(body[field], list) and body[field]
    assert field in body["detail"]
    assert api.get(sb.url + SESSIONS, params={"limit": 1}, timeout=30).json()["count"] == before


def test_unique_name_is_enforced(sb, api, writable):
    assert create(api, sb, {"name": "w-unique", "projects": [writable["project"]]}).status_code == 201
    r = create(api, sb, {"name": "w-unique", "projects": [writable["project"]]})
    assert r.status_code == 400 and "name" in r.json()


def test_choices_are_enforced(sb, api, writable):
    strain = api.get(sb.url + "/api/private/taxonomies/strain/", params={"limit": 1}, timeout=30).json()["strains"][0][
        "id"
    ]
    base = {"name": "w-subject", "projects": [writable["project"]], "strain": strain}
    r = create(api, sb, {**base, "sex": "X"}, path="/api/private/stem/subject/")
    assert r.status_code == 400 and "sex" in r.json()
    r = create(api, sb, {**base, "sex": "F", "status": "active"}, path="/api/private/stem/subject/")
    assert r.status_code == 201, r.text
    assert r.json()["subject"]["strain"] == strain


def test_read_only_fields_are_ignored_on_write(sb, api, writable):
    r = create(
        api,
        sb,
        {"name": "w-ro", "projects": [writable["project"]], "behaviors": ["x"], "name_used_in_storage": "sneaky"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["session"]["behaviors"] == [] and r.json()["session"]["name_used_in_storage"] == ""


def test_list_payload_and_non_json_are_rejected(sb, api):
    r = api.post(sb.url + SESSIONS, json=[{"name": "a"}], timeout=30)
    assert r.status_code == 400 and "detail" in r.json()
    r = api.post(sb.url + SESSIONS, data="{broken", headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 400 and "detail" in r.json()


def test_errors_are_json_with_a_detail(sb, api, anon):
    cases = [
        (api.get, f"{sb.url}{SESSIONS}00000000-0000-4000-8000-000000000000/", 404),
        (api.get, f"{sb.url}{SESSIONS}not-a-uuid/", 404),
        (api.get, f"{sb.url}/api/private/stem/nosuchmodel/", 404),
        (api.get, f"{sb.url}/api/elsewhere/stem/session/", 404),
        (anon.get, f"{sb.url}{SESSIONS}", 401),
        (api.post, f"{sb.url}/api/private/users/user/", 405),
    ]
    for method, url, code in cases:
        r = method(url, timeout=30)
        assert r.status_code == code, (url, r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/json")
        assert isinstance(r.json()["detail"], str) and r.json()["detail"]


def test_created_records_show_up_as_sideloads_of_their_session(sb, api, writable):
    sid = create(api, sb, {"name": "w-side", "projects": [writable["project"]]}).json()["session"]["id"]
    setup = api.get(sb.url + "/api/private/personal_attributes/setup/", params={"limit": 1}, timeout=30).json()[
        "setups"
    ][0]
    assay = api.get(
        sb.url + "/api/private/personal_attributes/behavioralassay/", params={"limit": 1}, timeout=30
    ).json()["behavioralassays"][0]
    subject = api.get(
        sb.url + "/api/private/stem/subject/", params={"filter{projects.id}": writable["project"]}, timeout=30
    ).json()["subjects"][0]
    r = create(
        api,
        sb,
        {
            "session": sid,
            "subjects": [subject["id"]],
            "setup": setup["id"],
            "behavioralassay": assay["id"],
            "notes": "new",
        },
        path="/api/private/modules/behavior/",
    )
    assert r.status_code == 201, r.text
    body = api.get(sb.url + SESSIONS, params={"filter{id}": sid, "include[]": "behaviors"}, timeout=30).json()
    assert [b["id"] for b in body["behaviors"]] == [r.json()["behavior"]["id"]]
