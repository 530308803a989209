"""Sources and the one Client over them, without a server: a mock transport, and snapshots written from it."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pandas as pd
import pytest

import brainstem_pandas as bsp
from brainstem_pandas.client import Client, ReadProgress, SnapshotClient
from brainstem_pandas.errors import Cancelled
from brainstem_pandas.query import Query
from brainstem_pandas.sources import HttpSource, ReadOptions, SnapshotSource
from brainstem_pandas.testing import MOCK_URL, MockTransport, Request, Response, serve_offset

SESSIONS = [{"id": str(uuid.UUID(int=n)), "name": f"session {n}", "projects": []} for n in range(1, 251)]


def mocked(handler=None, **options) -> tuple[Client, MockTransport]:
    client = Client(MOCK_URL, progress=False, **options)
    mock = MockTransport(handler or serve_offset(SESSIONS, "sessions"))
    mock.install(client.transport)
    return client, mock


def test_an_http_source_walks_the_query_parameters_and_pages():
    source = HttpSource(MOCK_URL)
    mock = MockTransport(serve_offset(SESSIONS, "sessions"))
    mock.install(source.transport)
    query = Query("session", filters={"name.icontains": "session"}, sort=["-name"])
    pages = list(source.walk(query, ReadOptions(progress=False, workers=1)))
    # A sort other than id is followed by a check walk in id order (3 pages each; see pagination's docstring).
    assert sum(len(p.records) for p in pages) == 250 and len(mock.requests) == 6
    first = mock.requests[0]
    assert first.path == "/api/private/stem/session/"
    assert first.query[: len(query.params)] == list(query.params)
    assert mock.requests[3].query[:2] == [("filter{name.icontains}", "session"), ("sort[]", "id")]


def test_read_and_read_linked_give_every_record():
    client, mock = mocked()
    assert list(client.read("session").index) == [s["id"] for s in SESSIONS]
    assert len(client.read_linked("session")["session"]) == 250
    assert len(mock.requests) == 6


def test_a_bad_query_sends_nothing():
    client, mock = mocked()
    for call in (
        lambda: client.read("session", filters={"nme": "x"}),
        lambda: client.read_linked(["session", "project"], include={"subject": ["strain"]}),
        lambda: client.iter_pages("session", sort=["nonsense"]),
        lambda: client.read("session", workers=0),
        lambda: client.read("session", portal="secret"),
    ):
        with pytest.raises(bsp.BrainstemError):
            call()
    assert mock.requests == []


def test_on_page_is_told_each_page_as_it_is_added():
    client, _ = mocked()
    seen: list[ReadProgress] = []
    client.read_linked("session", on_page=seen.append)
    assert [(s.model, s.records, s.total, s.walk) for s in seen] == [
        ("session", 100, 250, 1),
        ("session", 199, 250, 1),
        ("session", 250, 250, 1),
    ]
    assert [len(s.page.records) for s in seen] == [100, 99, 51]  # the seam record is counted once


def test_a_walk_whose_pages_do_not_add_up_is_read_again_and_on_page_says_so():
    walks: list[int] = []
    serve = serve_offset(SESSIONS, "sessions")

    def dropping_once(request: Request) -> Response:
        answer = serve(request)
        if request.params.get("offset") == "0":
            walks.append(1)
        if len(walks) == 1 and request.params.get("offset") == "99":  # one record lost, on the first walk only
            return Response(200, {**answer.body, "sessions": answer.body["sessions"][:-1]})
        return answer

    client, _ = mocked(dropping_once)
    seen: list[ReadProgress] = []
    lf = client.read_linked("session", on_page=seen.append)
    assert len(walks) == 2 and len(lf["session"]) == 250
    assert seen[-1].walk == 2 and seen[-1].records == 250
    assert [s.records for s in seen if s.walk == 2] == [100, 199, 250]  # the second walk counts afresh


@pytest.mark.parametrize("kind", ["event", "callable"])
def test_cancel_stops_the_read_before_the_next_page(kind):
    client, mock = mocked(workers=1)
    event = threading.Event()
    cancel = event if kind == "event" else event.is_set
    with pytest.raises(Cancelled, match="cancelled after 100 records"):
        client.read_linked("session", on_page=lambda _step: event.set(), cancel=cancel)
    assert len(mock.requests) == 1  # no page was asked for after the cancel


def test_a_cancel_set_before_the_read_sends_nothing():
    client, mock = mocked()
    event = threading.Event()
    event.set()
    with pytest.raises(Cancelled):
        client.read_linked("session", cancel=event)
    assert mock.requests == []


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    client, _ = mocked()
    client.snapshot(tmp_path / "snap", models=["session"])
    return tmp_path / "snap"


def test_a_snapshot_client_answers_as_the_server_did(snapshot):
    client, _ = mocked()
    offline = bsp.connect(snapshot=snapshot)
    assert isinstance(offline, SnapshotClient) and isinstance(offline.backend, SnapshotSource)
    # The columns the mock server sent (the fields it left out come back empty, not null, offline).
    sent = ["name", "projects"]
    everything = client.read("session")[sent]
    pd.testing.assert_frame_equal(offline.read("session")[sent], everything)
    # The mock server does not filter; the snapshot does, as the server would.
    got = offline.read("session", filters={"name.icontains": "SESSION 1"}, sort=["-name"])[sent]
    want = everything[everything["name"].str.contains("session 1")].sort_values("name", ascending=False)
    pd.testing.assert_frame_equal(got, want)
    assert offline.readable_models() == ["session"]
    assert offline.get("session", SESSIONS[0]["id"])["name"] == "session 1"
    assert offline.url == MOCK_URL and offline.portal == "private"
    assert repr(offline).startswith(f"<brainstem_pandas.SnapshotClient {snapshot} (offline; taken from {MOCK_URL}")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.save("session", {"name": "x"}),
        lambda c: c.delete("session", SESSIONS[0]["id"]),
        lambda c: c.read_url("/brainmaps/v1/brains/"),
        lambda c: c.read_url_linked("/brainmaps/v1/brains/", "brain"),
        lambda c: c.endpoint("session"),
        lambda c: c.transport,
    ],
    ids=["save", "delete", "read_url", "read_url_linked", "endpoint", "transport"],
)
def test_what_needs_the_server_is_refused_offline_saying_why(snapshot, call):
    with pytest.raises(bsp.SnapshotError, match="is a snapshot, read offline.*Connect to the server for that"):
        call(bsp.connect(snapshot=snapshot))


def test_a_snapshot_answers_only_its_own_portal(snapshot):
    offline = bsp.connect(snapshot=snapshot)
    for call in (
        lambda: offline.read("session", portal="public"),
        lambda: offline.get("session", SESSIONS[0]["id"], portal="public"),
        lambda: offline.readable_models("public"),
    ):
        with pytest.raises(bsp.SnapshotError, match="holds the private portal"):
            call()


def test_any_source_can_back_a_client(snapshot):
    client = Client(backend=SnapshotSource(snapshot), progress=False)
    assert len(client.read("session")) == 250 and "SnapshotSource" in repr(client)
    with pytest.raises(bsp.ConfigurationError, match="either a backend or a server"):
        Client("https://example.org", backend=SnapshotSource(snapshot))


def test_a_query_made_once_can_be_read_again():
    client, mock = mocked()
    query = Query("session", filters={"name.icontains": "session"}, sort=["-name"])
    frame = client.read(query)
    assert len(frame) == 250 and mock.requests[0].query[: len(query.params)] == list(query.params)
    assert len(client.read_linked(query)["session"]) == 250 and len(list(client.iter_pages(query))) == 3
    with pytest.raises(bsp.ConfigurationError, match="pass the Query alone"):
        client.read(query, portal="public")
