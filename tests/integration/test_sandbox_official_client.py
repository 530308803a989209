"""The official client, brainstem-python-api-tools, runs its documented calls unmodified."""

from __future__ import annotations

import pytest
import requests
from brainstem_api_tools import BrainstemClient

from brainstem_pandas import catalog
from brainstem_pandas.sandbox import Sandbox


@pytest.fixture(scope="module")
def sb():
    with Sandbox(sessions=300, seed=0) as server:
        yield server


@pytest.fixture(scope="module")
def client(sb):
    return BrainstemClient(token=sb.token, url=sb.url)


@pytest.fixture(scope="module")
def truth(sb) -> list[dict]:
    """Every session the demo user may see, walked with plain requests."""
    out, offset = [], 0
    headers = {"Authorization": f"Bearer {sb.token}"}
    while True:
        page = requests.get(
            f"{sb.url}/api/private/stem/session/", params={"limit": 100, "offset": offset}, headers=headers, timeout=30
        ).json()
        out += page["sessions"]
        offset += 100
        if offset >= page["count"]:
            return out


def test_load_with_filters_sort_limit_offset(client, truth):
    prefix = truth[0]["name"][:2]
    resp = client.load("session", filters={"name.icontains": prefix.lower()}, sort=["-date_time"], limit=5, offset=2)
    assert resp.status_code == 200
    wanted = sorted(
        (s for s in truth if prefix.lower() in s["name"].lower()), key=lambda s: (s["date_time"], s["id"]), reverse=True
    )
    got = resp.json()["sessions"]
    assert [s["date_time"] for s in got] == [s["date_time"] for s in wanted[2:7]]


def test_load_all_without_include_returns_every_record(client, truth):
    combined = client.load("session", load_all=True)
    assert len(combined["sessions"]) == len(truth) > 100
    assert {s["id"] for s in combined["sessions"]} == {s["id"] for s in truth}


def test_load_by_id_and_convenience_loader(client, truth):
    one = client.load("session", id=truth[0]["id"]).json()
    assert one == {"session": truth[0]}
    project = truth[0]["projects"][0]
    by_project = client.load_session(projects=project, include=[], load_all=True)["sessions"]
    assert {s["id"] for s in by_project} == {s["id"] for s in truth if project in s["projects"]}


def test_save_creates_and_updates_and_delete_removes(client, sb, truth):
    projects = client.load("project", load_all=True)["projects"]
    mine = next(p for p in projects if p["users"].get(sb.email, {}).get("can_change"))
    created = client.save(
        "session",
        data={
            "name": "official-client-session",
            "projects": [mine["id"]],
            "description": "made by the official client",
        },
    )
    assert created.status_code == 201, created.text
    sid = created.json()["session"]["id"]
    updated = client.save("session", id=sid, data={"description": "changed"})
    assert updated.status_code == 200 and updated.json()["session"]["description"] == "changed"
    assert client.load("session", id=sid).json()["session"]["description"] == "changed"
    deleted = client.delete("session", id=sid)
    assert deleted.status_code == 204
    assert client.load("session", id=sid).status_code == 404


def test_public_portal_through_the_official_client(client):
    resp = client.load("project", portal="public", load_all=True)
    assert resp["projects"] and all(p["is_public"] for p in resp["projects"])


class Runaway(Exception):
    """Raised to stop a client that keeps paging past the end."""


def test_official_client_cannot_finish_a_read_with_include(client, truth):
    # The bug the client core fixes: with include[], dynamic-rest answers the
    # sideloads before the primary records, so the official client takes the
    # sideload key ("projects") for the records key. It then compares the number
    # of projects with the session count and pages on past the last record,
    # forever; the sessions it keeps are those of page one only.
    offsets: list[int] = []
    real_get = client._session.get

    def counting_get(url, params=None, **kwargs):
        offsets.append(int(params.get("offset", 0)))
        if len(offsets) > 10:
            raise Runaway
        return real_get(url, params=params, **kwargs)

    client._session.get = counting_get
    try:
        with pytest.raises(Runaway):
            client.load("session", include=["projects"], load_all=True)
    finally:
        client._session.get = real_get
    assert max(offsets) > len(truth)  # it asked for pages that cannot exist


# The official Python client puts its own names, with underscores, into the URL;
# the docs and the MATLAB client use the segments without them.
SPELLED = {
    "project_membership_invitation": "projectmembershipinvitation",
    "project_group_membership_invitation": "projectgroupmembershipinvitation",
    "group_membership_invitation": "groupmembershipinvitation",
    "group_membership_request": "groupmembershiprequest",
}


@pytest.mark.parametrize("name", list(SPELLED))
def test_invitations_and_requests_answer_at_the_official_clients_spelling(client, sb, name):
    m = catalog.model(name)
    assert m.url_segments == (SPELLED[name], name)
    resp = client.load(name, load_all=True)
    headers = {"Authorization": f"Bearer {sb.token}"}
    documented = requests.get(f"{sb.url}/api/private/{m.app}/{SPELLED[name]}/", headers=headers, timeout=30)
    assert documented.status_code == 200
    expected = documented.json()[m.list_key]
    assert expected, f"the seed gives the demo user some {name} records"
    assert resp[m.list_key] == expected
    one = client.load(name, id=expected[0]["id"])
    assert one.status_code == 200 and one.json() == {m.detail_key: expected[0]}


def test_an_invitation_is_accepted_through_the_official_clients_spelling(make_sandbox):
    sb = make_sandbox(sessions=20)
    client = BrainstemClient(token=sb.token, url=sb.url)
    invitation = client.load("project_membership_invitation", load_all=True)["project_membership_invitations"][0]
    assert client.load("project", id=invitation["project"]).status_code == 404
    accepted = client.load("project_membership_invitation", id=invitation["id"], options="accept/")
    assert accepted.status_code == 200, accepted.text
    assert client.load("project", id=invitation["project"]).status_code == 200
