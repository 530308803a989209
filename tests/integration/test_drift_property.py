"""The drift proof as a property: any edits between page requests, for any sort and pagination style.

Hypothesis draws a schedule of creates, deletes, renames and re-dates, each to
run just before the k-th page request of a read (counted over the whole read:
its re-walks and check walks too). The edits go through the sandbox's API from a
separate session. Whatever the schedule, a read must hold every record that
existed unchanged throughout it, nothing that never existed and nothing twice --
or raise :class:`~brainstem_pandas.errors.PaginationError` with its figures.

Offset walks go through ``client.read`` (several sorts); page-number and
next-link walks go through ``client.read_url`` against a small proxy
(:class:`hostile.HostileServer`) that turns the sandbox's offset pages into those
styles, with or without the records' ids. Reads run with ``workers=1`` (the k-th
request is then a fixed page), and a few with ``workers=4``.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hostile import Seen, json_reply
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter
from test_drift import writable_projects

import brainstem_pandas as bsp
from brainstem_pandas.pagination import NextLinkPaginator, PageNumberPaginator
from brainstem_pandas.sandbox import Sandbox

SESSIONS = "/api/private/stem/session/"
SIZE = 10  # records per page: a walk of the ~90 visible sessions has ten pages
PROXY = "/proxy/list/"
UNIQUE = itertools.count()  # session names are unique on the server

# Where an edit lands in the sort order: anywhere, or on a page boundary (pages of 10 step by 9).
POSITION = st.one_of(st.integers(0, 99), st.integers(1, 10).map(lambda j: 9 * j))
KINDS = ["create", "create-late", "delete", "rename", "redate", "push", "seam", "seam"]
EDIT = st.tuples(st.sampled_from(KINDS), POSITION)
# Edits come in groups before one request: a rename, a create and a delete together
# keep the total and every seam as they were, which only the proof for sorts sees.
SCHEDULE = st.lists(st.tuples(st.integers(0, 24), st.lists(EDIT, min_size=1, max_size=3)), min_size=1, max_size=4)
PROFILE = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,  # the same schedules on every run (CI reproducible)
    phases=[Phase.explicit, Phase.generate],  # a failure is reported as drawn: shrinking a live server is slow
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Editor:
    """Runs scheduled edits through the sandbox's API, and remembers what each touched."""

    def __init__(self, sb: Sandbox, project: str, editable: list[str], schedule: list, key: str = "name") -> None:
        self.sb, self.project, self.editable, self.key = sb, project, list(editable), key
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {sb.token}"
        self.due: dict[int, list[tuple[str, int]]] = {}
        for k, edits in schedule:
            self.due.setdefault(k, []).extend(edits)
        self.created: set[str] = set()
        self.deleted: set[str] = set()
        self.changed: set[str] = set()
        self.requests = 0
        self.lock = threading.Lock()

    def before_request(self, offset: int) -> None:
        """Called just before each page request (for records from ``offset`` on) is sent: run the edits due now."""
        with self.lock:
            for kind, draw in self.due.pop(self.requests, []):
                self.apply(kind, draw, offset)
            self.requests += 1

    def apply(self, kind: str, draw: int, offset: int = 0) -> None:
        url = self.sb.url + SESSIONS
        if kind == "seam":
            # The case: the record a seam compares moves one place on, a record before it
            # is deleted and one is created at the end; the total and the seam stay as they were.
            order = self.order()
            before = [r["id"] for r in order[:offset] if r["id"] in set(self.editable)]
            self.push(offset, order)
            if before:
                self.apply("delete", self.editable.index(before[-1]))
            self.apply("create-late", draw)
            return
        if kind.startswith("create"):
            # Digits sort before the seeded names, "~" after them: a create at the front or at the end.
            name = f"{'~' if kind == 'create-late' else ''}{draw:04d}-created-{next(UNIQUE)}"
            answer = self.http.post(url, json={"name": name, "projects": [self.project]}, timeout=30)
            assert answer.ok, answer.text
            self.created.add(answer.json()["session"]["id"])
            self.editable.append(answer.json()["session"]["id"])
            return
        if not self.editable:
            return
        if kind == "push":
            self.push(draw)
            return
        sid = self.editable[draw % len(self.editable)]
        if kind == "delete":
            self.http.delete(f"{url}{sid}/", timeout=30).raise_for_status()
            self.editable.remove(sid)
            self.deleted.add(sid)
            return
        # A rename or a new date moves the record in a sort by name or by date_time.
        if kind == "rename":
            change = {"name": f"{draw:04d}-renamed-{next(UNIQUE)}"}
        else:
            change = {"date_time": f"{1990 + draw % 40}-01-01T00:00:00Z"}
        self.patch(sid, change)

    def patch(self, sid: str, change: dict[str, Any]) -> None:
        self.http.patch(f"{self.sb.url}{SESSIONS}{sid}/", json=change, timeout=30).raise_for_status()
        self.changed.add(sid)

    def order(self) -> list[dict[str, Any]]:
        """The visible sessions in the sort order edits aim at."""
        params = {"limit": 100, "sort[]": [self.key, "id"]}
        return self.http.get(self.sb.url + SESSIONS, params=params, timeout=30).json()["sessions"]

    def push(self, position: int, order: list[dict[str, Any]] | None = None) -> None:
        """Move the editable record at or after ``position`` (in the sort order) to just past its successor.

        On a page boundary this is the record a seam compares: with a delete before it
        and a create after, every seam and the total stay as they were.
        """
        order = order or self.order()
        editable = set(self.editable)
        for at in range(min(position, len(order) - 2), len(order) - 1):
            record, successor = order[at], order[at + 1]
            if record["id"] in editable and successor[self.key]:
                if self.key == "name":
                    self.patch(record["id"], {"name": f"{successor['name']}~{next(UNIQUE)}"})
                else:
                    later = successor["date_time"].replace("Z", "").split(".")[0]
                    self.patch(record["id"], {"date_time": f"{later[:-2]}{(int(later[-2:]) + 1) % 60:02d}Z"})
                return


class Scheduled(HTTPAdapter):
    """A requests adapter that lets the editor act just before each list request goes out."""

    def __init__(self, editor: Editor, path: str) -> None:
        super().__init__()
        self.editor, self.path = editor, path

    def send(self, request, **kwargs):  # type: ignore[override]
        if request.method == "GET" and request.path_url.split("?")[0] == self.path:
            query = parse_qs(urlsplit(request.url).query)
            self.editor.before_request(int(query.get("offset", ["0"])[0]))
        return super().send(request, **kwargs)


def sessions_now(sb: Sandbox) -> dict[str, dict[str, Any]]:
    """Every visible session by id, walked by hand while nothing writes."""
    out: dict[str, dict[str, Any]] = {}
    headers = {"Authorization": f"Bearer {sb.token}"}
    while True:
        params = {"limit": 100, "offset": len(out), "sort[]": "id"}
        page = requests.get(sb.url + SESSIONS, params=params, headers=headers, timeout=30).json()["sessions"]
        out.update((r["id"], r) for r in page)
        if len(page) < 100:
            return out


def proxy_script(sb: Sandbox, style: str, with_ids: bool, editor_of: dict[str, Editor], holder: dict[str, str]):
    """Answer page-number or next-link requests from the sandbox's offset pages (sorted by name: records move)."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {sb.token}"

    def script(seen: Seen):
        if style == "page":
            size = int(seen.param("page_size") or SIZE)
            offset = (int(seen.param("page") or 1) - 1) * size
        else:
            size, offset = int(seen.param("limit") or SIZE), int(seen.param("cursor") or 0)
        editor_of["now"].before_request(offset)
        params = [("limit", size), ("offset", offset), ("sort[]", "name"), ("sort[]", "id")]
        body = http.get(sb.url + SESSIONS, params=params, timeout=30).json()
        records = [r if with_ids else {k: v for k, v in r.items() if k != "id"} for r in body["sessions"]]
        following = offset + size < body["count"]
        link = f"{holder['url']}{PROXY}?cursor={offset + size}&limit={size}" if following else None
        return json_reply({"results": records, "count": body["count"], "next": link})

    return script


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Sandbox, str, set[str]]]:
    with Sandbox(sessions=120, seed=11) as sb:
        client = bsp.connect(sb.url, token=sb.token, progress=False)
        projects = writable_projects(client, sb)
        yield sb, min(projects), projects


def editor_for(world, schedule, key: str = "name") -> tuple[Editor, dict[str, dict[str, Any]]]:
    sb, project, projects = world
    before = sessions_now(sb)
    editable = sorted(sid for sid, r in before.items() if r["projects"] and set(r["projects"]) <= projects)
    return Editor(sb, project, editable, schedule, key), before


def check_ids(got: list[str], before: dict[str, Any], editor: Editor) -> None:
    assert len(got) == len(set(got)), "a record arrived twice"
    survivors = set(before) - editor.deleted - editor.changed
    missing = survivors - set(got)
    assert not missing, f"{len(missing)} records that existed unchanged throughout are missing"
    assert set(got) <= set(before) | editor.created, "a record that never existed"


def outcome(read) -> Any:
    """The read's result, or None after an honest PaginationError (with its figures)."""
    try:
        return read()
    except bsp.PaginationError as exc:
        assert exc.walks == 3 and str(exc.received) in str(exc) and "Read again" in str(exc)
        return None


@pytest.mark.parametrize("sort", [None, ["name"], ["-name"], ["date_time"], ["projects.name"]])
@given(schedule=SCHEDULE)
@PROFILE
def test_an_offset_read_under_any_edits_is_complete_or_an_error(world, sort, schedule) -> None:
    editor, before = editor_for(world, schedule, "date_time" if sort == ["date_time"] else "name")
    client = bsp.connect(world[0].url, token=world[0].token, progress=False, workers=1)
    client.options = client.options.but(page_size=SIZE)
    client.transport.session.mount("http://", Scheduled(editor, SESSIONS))
    frame = outcome(lambda: client.read("session", sort=sort))
    if frame is not None:
        check_ids(list(frame.index), before, editor)


@given(schedule=SCHEDULE)
@settings(PROFILE, max_examples=6)
def test_concurrent_offset_reads_under_edits_are_complete_or_an_error(world, schedule) -> None:
    editor, before = editor_for(world, schedule)
    client = bsp.connect(world[0].url, token=world[0].token, progress=False, workers=4)
    client.options = client.options.but(page_size=SIZE)
    client.transport.session.mount("http://", Scheduled(editor, SESSIONS))
    frame = outcome(lambda: client.read_linked("session", sort=["name"])["session"])
    if frame is not None:
        check_ids(list(frame.index), before, editor)


@pytest.mark.parametrize("with_ids", [True, False], ids=["ids", "no-ids"])
@pytest.mark.parametrize("style", ["page", "next"])
@given(schedule=SCHEDULE)
@settings(PROFILE, max_examples=6)
def test_page_number_and_next_link_reads_under_any_edits_are_complete_or_an_error(
    world, hostile, style, with_ids, schedule
) -> None:
    editor, before = editor_for(world, schedule)
    holder: dict[str, str] = {}
    server = hostile(proxy_script(world[0], style, with_ids, {"now": editor}, holder))
    holder["url"] = server.url
    client = bsp.connect(server.url, token="bst_pat_proxy0123456789abcdef", progress=False, workers=1)
    pager = PageNumberPaginator(SIZE) if style == "page" else NextLinkPaginator(SIZE, "limit")
    frame = outcome(lambda: client.read_url(PROXY, "results", paginator=pager))
    if frame is None:
        return
    if with_ids:
        check_ids(list(frame.index), before, editor)
        return
    # Without ids, records are known by content: every unchanged survivor's (name, date_time) must be there.
    unchanged = [r for sid, r in before.items() if sid not in editor.deleted | editor.changed]
    need = Counter((r["name"], r["date_time"] or "") for r in unchanged)
    have = Counter(
        (name, when if isinstance(when, str) else "") for name, when in zip(frame["name"], frame["date_time"])
    )
    assert not need - have, f"records that existed unchanged throughout are missing: {sorted(need - have)[:3]}"
    assert len(frame) <= len(before) + len(editor.created)
