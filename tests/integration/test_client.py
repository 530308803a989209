"""Client.read / iter_pages / get / save / delete against a live sandbox."""

from __future__ import annotations

import pandas as pd
import pytest
from brainstem_api_tools import BrainstemClient

import brainstem_pandas as bsp
from brainstem_pandas.sandbox import Sandbox


@pytest.fixture(scope="module")
def sb():
    # 250+ visible sessions and writes of our own: a private server.
    with Sandbox(sessions=400, seed=0) as server:
        yield server


@pytest.fixture(scope="module")
def client(sb):
    with bsp.connect(sb.url, token=sb.token, progress=False) as c:
        yield c


@pytest.fixture(scope="module")
def my_project(client, sb) -> str:
    projects = client.read("project")
    return next(pid for pid, users in projects["users"].items() if users.get(sb.email, {}).get("can_change"))


def test_read_returns_typed_frame_indexed_by_id(client):
    frame = client.read("session")
    assert frame.index.name == "id" and frame.index.dtype == "string"
    assert str(frame["date_time"].dtype) == "datetime64[us, UTC]"
    assert frame["name"].dtype == "string"
    assert isinstance(frame["projects"].iloc[0], list)
    users = client.read("user")
    assert users.index.dtype == "Int64"


def test_empty_result_has_the_same_columns_and_dtypes(client):
    full = client.read("session")
    empty = client.read("session", filters={"name": "no such session"})
    assert empty.empty
    assert list(empty.columns) == list(full.columns)
    assert empty.dtypes.equals(full.dtypes)
    assert empty.index.dtype == full.index.dtype


def test_include_keeps_every_record_where_the_official_client_does_not(client, sb):
    ours = client.read("session", include=["projects"])
    pages = list(client.iter_pages("session", include=["projects"]))
    sideloaded = {p["id"] for page in pages for p in page.related["projects"]}
    assert len(ours) > 100
    assert sideloaded == {pid for ids in ours["projects"] for pid in ids}
    # The same data through the official client: it cannot finish the read.
    official = BrainstemClient(token=sb.token, url=sb.url)
    real_get, calls = official._session.get, []

    def counting(*args, **kwargs):
        calls.append(kwargs.get("params", {}).get("offset"))
        if len(calls) > 3 * (len(ours) // 100 + 1):
            raise RuntimeError("official client still paging")
        return real_get(*args, **kwargs)

    official._session.get = counting
    with pytest.raises(RuntimeError, match="still paging"):
        official.load("session", include=["projects"], load_all=True)


def test_iter_pages_carries_sideloaded_and_nested_related_records(client):
    pages = list(client.iter_pages("subject", include=["procedures.brain_region", "strain"]))
    assert {"procedures", "brain_regions", "strains"} <= set(pages[0].related)
    by_id = {r["id"] for page in pages for r in page.records}
    assert len(by_id) == sum(len(page.records) for page in pages)


def test_get_returns_one_record_and_can_embed(client):
    frame = client.read("session")
    sid = frame.index[0]
    record = client.get("session", sid)
    assert record["id"] == sid and record["name"] == frame.loc[sid, "name"]
    embedded = client.get("session", sid, include=["projects"])
    assert isinstance(embedded["projects"][0], dict)
    with pytest.raises(bsp.NotFoundError):
        client.get("session", "00000000-0000-4000-8000-000000000000")


def test_save_creates_updates_and_delete_removes(client, my_project):
    created = client.save("session", {"name": "client-made", "projects": [my_project], "extra_fields": {"rig": "B"}})
    assert created["name"] == "client-made" and created["projects"] == [my_project]
    updated = client.save("session", {"description": "now with notes"}, id=created["id"])
    assert updated["description"] == "now with notes" and updated["name"] == "client-made"
    assert client.read("session", filters={"name": "client-made"}).index.tolist() == [created["id"]]
    client.delete("session", created["id"])
    assert client.read("session", filters={"name": "client-made"}).empty


@pytest.mark.parametrize(
    "data, field",
    [
        ({"name": "x", "projects": "PROJECT"}, "projects"),
        ({"name": "x", "projects": []}, "projects"),
        ({"projects": ["PROJECT"]}, "name"),
        ({"name": "x", "projects": ["PROJECT"], "extra_fields": {"9lives": 1}}, "extra_fields"),
        (
            {"name": "x", "projects": ["PROJECT"], "download_links": [{"repository": "DANDI", "url": "dandi/1"}]},
            "download_links",
        ),
        ({"name": "x", "projects": ["PROJECT"], "behaviors": []}, "behaviors"),
        ({"name": "x", "projects": ["PROJECT"], "colour": "red"}, "colour"),
    ],
)
def test_documented_rules_are_checked_before_sending(client, my_project, data, field):
    data = {k: ([my_project] if v == ["PROJECT"] else v) for k, v in data.items()}
    sent = client.transport.requests_sent
    with pytest.raises(bsp.ValidationError) as info:
        client.save("session", data)
    assert field in info.value.errors
    assert field in str(info.value)
    assert client.transport.requests_sent == sent  # nothing was sent


def test_server_validation_errors_are_typed_with_fields(client, my_project):
    client.save("session", {"name": "dup-name", "projects": [my_project]})
    with pytest.raises(bsp.ValidationError) as info:
        client.save("session", {"name": "dup-name", "projects": [my_project]})
    assert "name" in info.value.errors and info.value.status == 400


def test_permission_denied_is_typed(client, sb):
    projects = client.read("project")
    readonly = next(
        pid for pid, users in projects["users"].items() if sb.email in users and not users[sb.email]["can_change"]
    )
    with pytest.raises(bsp.PermissionDeniedError, match="permission"):
        client.save("session", {"name": "not allowed", "projects": [readonly]})


def test_models_with_approvals_answer_with_the_pending_record(client):
    pending = client.save("species", {"name": "Mesocricetus auratus novus", "description": "hamster"})
    assert pending["status"] == "pending" and pending["action"] == "add"


def test_public_portal_per_call_and_per_client(client, sb):
    public = client.read("project", portal="public")
    assert len(public) < len(client.read("project")) and public["is_public"].all()
    anonymous = bsp.connect(sb.url, portal="public", progress=False, token=None, token_path="/nonexistent/token")
    assert set(anonymous.read("project").index) == set(public.index)


def test_unknown_portal_and_model_fail_early(client):
    with pytest.raises(bsp.ConfigurationError, match="portal"):
        client.read("session", portal="secret")
    with pytest.raises(bsp.UnknownNameError, match="Did you mean 'session'"):
        client.read("sessions")


def test_repr_shows_the_server_never_the_token(client, sb):
    text = repr(client)
    assert sb.url in text and sb.token not in text and "argument" in text


def test_progress_bar_counts_records(sb, capsys):
    with bsp.connect(sb.url, token=sb.token, progress=True) as c:
        frame = c.read("session")
    err = capsys.readouterr().err
    assert f"{len(frame)}/{len(frame)}" in err and "records" in err


def test_read_frame_matches_the_records_the_server_holds(client, sb):
    import requests

    body = requests.get(
        f"{sb.url}/api/private/stem/session/",
        params={"limit": 5, "sort[]": "id"},
        headers={"Authorization": f"Bearer {sb.token}"},
        timeout=30,
    ).json()
    frame = client.read("session")
    for record in body["sessions"]:
        row = frame.loc[record["id"]]
        assert row["name"] == record["name"]
        assert row["date_time"] == pd.Timestamp(record["date_time"])
        assert row["projects"] == record["projects"] and row["extra_fields"] == record["extra_fields"]


def test_a_request_stopped_by_the_client_checks_says_it_was_not_sent(client):
    with pytest.raises(bsp.ValidationError) as caught:
        client.save("session", {"name": "no projects list", "projects": "not-a-list"})
    assert "was not sent" in str(caught.value) and "answered" not in str(caught.value)
    assert caught.value.status == 0 and "projects" in caught.value.errors
