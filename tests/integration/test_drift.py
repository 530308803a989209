"""Records created and deleted while a read walks its pages: never a silent gap.

A writer thread changes the sandbox through its API while the client reads. Each
read must either return a complete, consistent result (after re-walking) or raise
:class:`~brainstem_pandas.errors.PaginationError` with its figures.

"Complete" is checked against what the writer did: every record that existed
for the whole read (there before it started and not deleted while it ran) must
be in the result; nothing may be in it that never existed; nothing twice.
"""

from __future__ import annotations

import random
import threading

import pytest
import requests

import brainstem_pandas as bsp
from brainstem_pandas.sandbox import Sandbox

SESSIONS = "/api/private/stem/session/"


def ids_now(sb: Sandbox) -> set[str]:
    """Every session id, walked by hand with plain requests while nothing writes."""
    ids: list[str] = []
    headers = {"Authorization": f"Bearer {sb.token}"}
    while True:
        body = requests.get(
            sb.url + SESSIONS, params={"limit": 100, "offset": len(ids), "sort[]": "id"}, headers=headers, timeout=30
        ).json()
        ids += [r["id"] for r in body["sessions"]]
        if len(body["sessions"]) < 100:
            assert len(ids) == len(set(ids))
            return set(ids)


class Churn:
    """Creates and deletes sessions from a background thread, and remembers which.

    Each round creates one session and deletes one, so the total hardly moves: the
    pages shift under the reader while the announced count stays (nearly) the same,
    which is the case a count check alone cannot see.

    Parameters
    ----------
    sb : Sandbox
        The server to change.
    deletable : list of str
        Ids the demo user may delete, in the order to delete them.
    project : str
        A project the demo user may add sessions to.
    seed : int
        Seeds the order of creating and deleting in each round.
    """

    def __init__(self, sb: Sandbox, deletable: list[str], project: str, seed: int) -> None:
        self.sb, self.deletable, self.project = sb, list(deletable), project
        self.random = random.Random(seed)
        self.created: set[str] = set()
        self.deleted: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {self.sb.token}"
            n = 0
            while not self.stop.is_set() and self.deletable:
                steps = [self._create, self._delete]
                self.random.shuffle(steps)
                for step in steps:
                    step(http, n)
                n += 1

    def _create(self, http: requests.Session, n: int) -> None:
        answer = http.post(self.sb.url + SESSIONS, json={"name": f"churn-{n}", "projects": [self.project]}, timeout=30)
        answer.raise_for_status()
        self.created.add(answer.json()["session"]["id"])

    def _delete(self, http: requests.Session, n: int) -> None:
        victim = self.deletable.pop(0)
        # Marked before the request: a record being deleted may or may not be read.
        self.deleted.add(victim)
        http.delete(f"{self.sb.url}{SESSIONS}{victim}/", timeout=30).raise_for_status()

    def __enter__(self) -> "Churn":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


class Mover:
    """Renames sessions from a background thread so that they sort first.

    The count never changes, yet each rename moves a record from a page not yet
    read to one already read (when reading sorted by name): exactly the gap a
    count check cannot see.
    """

    def __init__(self, sb: Sandbox, movable: list[str]) -> None:
        self.sb, self.movable = sb, list(movable)
        self.moved: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {self.sb.token}"
            while not self.stop.is_set() and self.movable:
                sid = self.movable.pop()
                name = f"!moved-{len(self.moved):04d}"
                http.patch(f"{self.sb.url}{SESSIONS}{sid}/", json={"name": name}, timeout=30).raise_for_status()
                self.moved.append(sid)

    def __enter__(self) -> "Mover":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


def writable_projects(client: bsp.Client, sb: Sandbox) -> set[str]:
    """Projects in which the demo user may add, change and delete sessions."""
    users = client.read("project")["users"]
    return {pid for pid, members in users.items() if (members.get(sb.email) or {}).get("can_change")}


def deletable_sessions(client: bsp.Client, projects: set[str]) -> list[str]:
    """Sessions only in writable projects, lowest ids first: deleting them shifts every later page."""
    sessions = client.read("session")
    return sorted(sid for sid, linked in sessions["projects"].items() if linked and set(linked) <= projects)


def check_read(read, before: set[str], churn: Churn) -> str:
    """Run ``read`` and check it is complete and consistent, or an honest error.

    Returns "complete" or "error", so the caller can see which happened.
    """
    try:
        frame = read()
    except bsp.PaginationError as exc:
        assert exc.expected is not None and exc.walks == 3
        assert str(exc.expected) in str(exc) and "walk" in str(exc)
        return "error"
    got = list(frame.index)
    assert len(got) == len(set(got)), "a record arrived twice"
    survivors = before - churn.deleted
    missing = survivors - set(got)
    assert not missing, f"{len(missing)} records that existed during the whole read are missing"
    assert set(got) <= before | churn.created, "a record that never existed"
    return "complete"


@pytest.fixture
def churned(make_sandbox):
    sb = make_sandbox(sessions=900, latency_ms=25, seed=5)
    client = bsp.connect(sb.url, token=sb.token, progress=False, workers=2)
    projects = writable_projects(client, sb)
    return sb, client, min(projects), deletable_sessions(client, projects)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_creates_and_deletes_during_a_read_leave_no_silent_gap(churned, seed):
    sb, client, project, deletable = churned
    before = ids_now(sb)
    with Churn(sb, deletable, project, seed) as churn:
        outcome = check_read(lambda: client.read("session"), before, churn)
    assert churn.created and churn.deleted  # the writer did run alongside the read
    if outcome == "complete":
        # A complete read under churn can only come from a clean (re-)walk.
        assert ids_now(sb) >= before - churn.deleted


def test_read_linked_under_churn_is_complete_or_an_error(churned):
    sb, client, project, deletable = churned
    before = ids_now(sb)
    with Churn(sb, deletable, project, seed=4) as churn:

        def read():
            return client.read_linked("session", include=["behaviors"])["session"]

        check_read(read, before, churn)
    assert churn.created and churn.deleted


def test_after_the_writer_stops_the_read_is_exact(churned):
    sb, client, project, deletable = churned
    with Churn(sb, deletable[:20], project, seed=6) as churn:
        churn.thread.join(timeout=60)  # let it finish its 20 rounds
    assert set(client.read("session").index) == ids_now(sb)


def test_records_renamed_across_pages_during_a_sorted_read_leave_no_silent_gap(churned):
    sb, client, project, deletable = churned
    before = ids_now(sb)
    # The writable sessions that sort last by name: each rename moves one to the front.
    names = client.read("session")["name"]
    movable = sorted(deletable, key=lambda sid: names[sid])
    with Mover(sb, movable) as mover:
        try:
            frame = client.read("session", sort=["name"])
        except bsp.PaginationError as exc:
            assert exc.walks == 3 and exc.expected == len(before) and str(exc.received) in str(exc)
            frame = None
    assert mover.moved  # the renames did run alongside the read
    if frame is not None:
        got = list(frame.index)
        assert len(got) == len(set(got))
        assert set(got) == before  # nothing was created or deleted: every record must be there


def create_past(http: requests.Session, sb: Sandbox, project: str, boundary: str, name: str) -> str:
    """Create a session whose id sorts after ``boundary``, and return its id.

    The server draws ids at random; one that sorts before the boundary would land
    on a page already read and undo the shift the test needs, so it is deleted and
    drawn again.
    """
    for n in range(100):
        answer = http.post(sb.url + SESSIONS, json={"name": f"{name}-{n}", "projects": [project]}, timeout=30)
        answer.raise_for_status()
        sid = answer.json()["session"]["id"]
        if sid > boundary:
            return sid
        http.delete(f"{sb.url}{SESSIONS}{sid}/", timeout=30).raise_for_status()
    raise AssertionError(f"no id past {boundary} in 100 draws")


def id_at(http: requests.Session, sb: Sandbox, position: int) -> str:
    """The id of the session at ``position`` in id order, now."""
    body = http.get(sb.url + SESSIONS, params={"limit": 1, "offset": position, "sort[]": "id"}, timeout=30).json()
    return body["sessions"][0]["id"]


def test_a_create_and_a_delete_between_two_pages_are_seen_and_re_walked(churned, monkeypatch):
    # The case a count check cannot see: one record deleted from an early page and one
    # created, both between the requests for page 1 and page 2. Every page announces
    # the same total and the walk receives as many unique records as announced, yet
    # without the seam check the record pushed from page 2 onto page 1 is never read.
    sb, client, project, deletable = churned
    client = bsp.connect(sb.url, token=sb.token, progress=False, workers=1)
    before = ids_now(sb)
    ordered = sorted(before)
    # A record on page 1: deleting it shifts every later page by one...
    victim = min(deletable)
    assert ordered.index(victim) < 99
    created: set[str] = set()
    real_get = client.transport.get
    calls: list[int] = []

    def get(url, params=None, **kwargs):
        offset = dict(params or []).get("offset")
        if offset not in (None, 0) and not calls:
            with requests.Session() as http:
                http.headers["Authorization"] = f"Bearer {sb.token}"
                http.delete(f"{sb.url}{SESSIONS}{victim}/", timeout=30).raise_for_status()
                # ...and one created past page 1's last record keeps the total as it was.
                created.add(create_past(http, sb, project, ordered[99], "between"))
            calls.append(offset)
        return real_get(url, params=params, **kwargs)

    monkeypatch.setattr(client.transport, "get", get)
    walks = []
    real_walk = client._walk
    monkeypatch.setattr(client, "_walk", lambda *a, **k: walks.append(1) or real_walk(*a, **k))
    frame = client.read("session")
    assert calls and len(walks) == 2  # the change happened mid-walk, and the walk was done again
    assert set(frame.index) == ids_now(sb) == (before - {victim}) | created
    assert frame.index.is_unique


def test_a_walk_with_a_shifted_seam_names_the_pages(churned, monkeypatch):
    sb, client, project, deletable = churned
    client = bsp.connect(sb.url, token=sb.token, progress=False, workers=1)
    total = len(ids_now(sb))
    victims = iter(sorted(deletable))
    rounds = iter(range(10_000))
    real_get = client.transport.get

    def get(url, params=None, **kwargs):
        # Before every page after the first: delete the lowest remaining record, and create
        # one past the record that ended the page before (so the two do not cancel out).
        offset = dict(params or []).get("offset")
        if offset not in (None, 0):
            with requests.Session() as http:
                http.headers["Authorization"] = f"Bearer {sb.token}"
                ended = id_at(http, sb, offset)
                http.delete(f"{sb.url}{SESSIONS}{next(victims)}/", timeout=30).raise_for_status()
                create_past(http, sb, project, ended, f"churn-seam-{next(rounds)}")
        return real_get(url, params=params, **kwargs)

    monkeypatch.setattr(client.transport, "get", get)
    with pytest.raises(bsp.PaginationError) as info:
        client.read("session")
    message = str(info.value)
    # Each round deletes one and creates one: the total never moves, only the seams show it.
    assert info.value.walks == 3 and info.value.expected == total
    assert "pages shifted during the walk: page 2 began with record" in message
    assert f"{info.value.received} unique records received, {info.value.expected} announced" in message


def test_a_rename_a_create_and_a_delete_between_two_pages_of_a_sorted_read_are_re_walked(churned, monkeypatch):
    # The case: sorted by name, the record that ended page 1 is renamed just past the
    # record after it, a record before it is deleted and one is created at the end. Page 2 still
    # begins with the renamed record and the total never moves, yet the record after it, which
    # existed unchanged throughout, falls between the pages. The check walk in id order sees it.
    sb, client, project, deletable = churned
    client = bsp.connect(sb.url, token=sb.token, progress=False, workers=1)
    order = list(client.read("session", sort=["name"]).index)
    editable = set(deletable)
    size = next(n for n in range(10, 101) if order[n - 1] in editable and any(s in editable for s in order[: n - 1]))
    client.options = client.options.but(page_size=size)
    seam, survivor = order[size - 1], order[size]
    victim = next(s for s in order[: size - 1] if s in editable)
    names = client.read("session")["name"]
    real_get, done, walks = client.transport.get, [], []

    def get(url, params=None, **kwargs):
        if dict(params or []).get("offset") == size - 1 and ("sort[]", "name") in list(params or []) and not done:
            with requests.Session() as http:
                http.headers["Authorization"] = f"Bearer {sb.token}"
                change = {"name": f"{names[survivor]}~moved"}
                http.patch(f"{sb.url}{SESSIONS}{seam}/", json=change, timeout=30).raise_for_status()
                http.delete(f"{sb.url}{SESSIONS}{victim}/", timeout=30).raise_for_status()
                body = {"name": "~~~ created last", "projects": [project]}
                http.post(sb.url + SESSIONS, json=body, timeout=30).raise_for_status()
            done.append(1)
        return real_get(url, params=params, **kwargs)

    monkeypatch.setattr(client.transport, "get", get)
    real_walk = client._walk
    monkeypatch.setattr(client, "_walk", lambda *a, **k: walks.append(1) or real_walk(*a, **k))
    frame = client.read("session", sort=["name"])
    assert done and len(walks) == 2  # the gap was seen, and the read walked again
    assert survivor in frame.index and set(frame.index) == ids_now(sb)
