"""Bad input through the public API: one table of cases, one test.

Every case is a mistake a user can make (a typo, a wrong type, a server that is
not what they think, a folder they cannot write to) and must end in the same
way: the specific typed error, a message that says what to do next, nothing
written and nothing lost on disk or on the server, and no request at all when
the mistake is visible before anything is sent.

The servers here all listen on 127.0.0.1: the shared sandbox, and small
one-answer servers for misbehaviour the sandbox does not produce on demand
(HTML, an empty body, broken JSON, a 500 without a body, a page without its
records key).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd
import pytest
import requests

import brainstem_pandas as bsp
from brainstem_pandas import cli
from brainstem_pandas.errors import (
    AuthenticationError,
    ConfigurationError,
    DamagedSnapshotError,
    NotFoundError,
    PermissionDeniedError,
    QueryError,
    ResponseError,
    ServerError,
    SnapshotError,
    TransportError,
    UnauthorizedError,
    UnknownNameError,
    ValidationError,
)

ROOT = Path(__file__).resolve().parents[2]
# Retries without noticeable waits: a 500 is retried once, not for half a minute.
FAST = bsp.RetryPolicy(attempts=2, backoff=0.01, max_delay=0.02)
# Distinctive token-like strings: if one shows up in a message, it leaked.
BAD_TOKENS = {
    "newline": "tok-SECRET-1234abcd\nX-Other: 1",
    "spaces": "tok SECRET 1234 abcd",
    "non-ascii": "tok-SECRET-1234abcd✓",
}


# -- one-answer servers -------------------------------------------------------------------


class OneAnswerServer:
    """An HTTP server on 127.0.0.1 giving the same answer to every request, and counting them."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status, self.body, self.content_type = status, body, content_type
        self.requests = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                server.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(server.status)
                if server.content_type:
                    self.send_header("Content-Type", server.content_type)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
                pass

        return Handler

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- the world the cases act on -----------------------------------------------------------


@dataclass
class World:
    """What every case may use: the sandbox, a checking client, ids, a reference snapshot."""

    url: str
    token: str
    email: str
    checker: bsp.Client
    project: str  # a project the demo user may change
    readonly: str  # a project the demo user may only read
    session: str  # a session made by this module (updates aim at it, never at seeded data)
    snapshot: Path


@pytest.fixture(scope="module")
def world(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    checker = bsp.connect(sandbox.url, token=sandbox.token, progress=False)
    users = checker.read("project")["users"]
    mine = next(pid for pid, u in users.items() if u.get(sandbox.email, {}).get("can_change"))
    readonly = next(pid for pid, u in users.items() if sandbox.email in u and not u[sandbox.email]["can_change"])
    made = checker.save("session", {"name": "bad-input target", "projects": [mine]})
    try:
        snap = tmp_path_factory.mktemp("reference") / "snap"
        checker.snapshot(snap, models=["session", "project"], include={"session": ["projects"]}, progress=False)
        yield World(sandbox.url, sandbox.token, sandbox.email, checker, mine, readonly, made["id"], snap)
    finally:
        checker.delete("session", made["id"])
        checker.close()


@dataclass
class Ctx:
    """One case's surroundings: its folder, its servers and clients (stopped afterwards)."""

    world: World
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    servers: list[OneAnswerServer] = field(default_factory=list)
    clients: list[bsp.Client] = field(default_factory=list)
    readable: list[Path] = field(default_factory=list)  # snapshots that must stay readable
    child_requests: int = 0  # requests sent by child processes
    _client: bsp.Client | None = None

    @property
    def prev(self) -> Path:
        """A previous snapshot, the target of snapshot cases."""
        return self.tmp / "prev"

    @property
    def client(self) -> bsp.Client:
        """A client of the sandbox, made on first use (its request counter starts at zero)."""
        if self._client is None:
            self._client = self.track(bsp.connect(self.world.url, token=self.world.token, progress=False, retry=FAST))
        return self._client

    def track(self, client: bsp.Client) -> bsp.Client:
        self.clients.append(client)
        return client

    def serving(self, status: int, body: bytes, content_type: str = "application/json") -> bsp.Client:
        """A client of a new one-answer server."""
        server = OneAnswerServer(status, body, content_type)
        self.servers.append(server)
        return self.track(bsp.connect(server.url, token="tok-scripted-1234abcd", progress=False, retry=FAST))

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for server in self.servers:
            server.stop()


# -- the disk, before and after -----------------------------------------------------------


def listing(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (hidden ones too): kind, mode, and size and sha256 for files."""
    out: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                out[rel] = (
                    "file",
                    stat.S_IMODE(info.st_mode),
                    info.st_size,
                    hashlib.sha256(path.read_bytes()).hexdigest(),
                )
    return out


def furnish(ctx: Ctx) -> None:
    """The folder every case starts from: a previous snapshot, a file, a foreign folder, a hidden file."""
    shutil.copytree(ctx.world.snapshot, ctx.prev)
    (ctx.tmp / "notes.txt").write_text("a file, not a folder\n")
    (ctx.tmp / "other").mkdir()
    (ctx.tmp / "other" / "data.csv").write_text("id,name\n1,a\n")
    (ctx.tmp / ".hidden").write_text("dotfiles count too\n")
    ctx.readable.append(ctx.prev)


# -- setups of particular cases -----------------------------------------------------------


def damaged(ctx: Ctx) -> None:
    """A copy of the snapshot with one byte of a Parquet file flipped."""
    shutil.copytree(ctx.prev, ctx.tmp / "damaged")
    file = ctx.tmp / "damaged" / "session" / "part-0.parquet"
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))


def from_the_future(ctx: Ctx) -> None:
    """A copy of the snapshot whose manifest claims a newer format."""
    shutil.copytree(ctx.prev, ctx.tmp / "future")
    manifest = ctx.tmp / "future" / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "format_version": 99}))


def read_only_folder(ctx: Ctx) -> None:
    """A 0o555 folder holding a previous snapshot at the target path."""
    folder = ctx.tmp / "ro"
    shutil.copytree(ctx.prev, folder / "snap")
    folder.chmod(0o555)
    ctx.readable.append(folder / "snap")


# -- the read-only folder case, in a child without root's file capabilities ----------------

_CHILD = r'''
import ctypes, json, os, sys

CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


class Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_file_capabilities():
    """As root, give up the capabilities that ignore permission bits; owner bits then apply."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = Header(0x20080522, 0), (Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    keep = ~((1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH) | (1 << CAP_FOWNER)) & 0xFFFFFFFF
    for name in ("effective", "permitted", "inheritable"):
        setattr(data[0], name, getattr(data[0], name) & keep)
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def probe(folder):
    """Whether a new file can be created in the folder (refused means: refused for want of permission)."""
    name = os.path.join(folder, ".probe-%d" % os.getpid())
    try:
        os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except PermissionError:
        return {"refused": True}
    except OSError as exc:
        return {"refused": False, "error": exc.strerror}
    os.unlink(name)
    return {"refused": False, "error": "the file was created"}


def snapshot(target):
    """A snapshot into the folder: the error it raises, and how many requests went out."""
    import brainstem_pandas as bsp

    client = bsp.connect(os.environ["BRAINSTEM_URL"], progress=False)
    try:
        client.snapshot(target, models=["project"])
    except Exception as exc:
        kind = type(exc)
        return {"error": f"{kind.__module__}.{kind.__qualname__}", "message": str(exc),
                "requests": client.transport.requests_sent}
    return {"error": None, "requests": client.transport.requests_sent}


drop_file_capabilities()
mode, path = sys.argv[1], sys.argv[2]
print(json.dumps(probe(path) if mode == "probe" else snapshot(path)))
'''


class ChildRaised(Exception):
    """An error raised in a child process, by qualified class name."""

    def __init__(self, qualname: str, message: str) -> None:
        super().__init__(message)
        self.qualname = qualname


def run_child(ctx: Ctx, mode: str, path: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTEM_")}
    env.update(
        PYTHONPATH=str(ROOT), BRAINSTEM_URL=ctx.world.url, BRAINSTEM_TOKEN=ctx.world.token, HOME=str(ctx.tmp / "home")
    )
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def snapshot_into_read_only_folder(ctx: Ctx) -> None:
    """Prove the folder refuses a new file to a child, then snapshot into it in such a child."""
    folder = ctx.tmp / "ro"
    probe = run_child(ctx, "probe", folder)
    if not probe["refused"]:
        reason = f"a 0o555 folder did not refuse a new file to a child process: {probe['error']}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    got = run_child(ctx, "snapshot", folder / "snap")
    ctx.child_requests += got["requests"]
    if got["error"] is None:
        pytest.fail("a snapshot into a read-only folder raised nothing")
    raise ChildRaised(got["error"], got["message"])


# -- the command line ---------------------------------------------------------------------


def run_cli(ctx: Ctx, *argv: str | Path) -> None:
    """Run ``brainstem-pandas ARGV``; expect exit status 1 and one line, and re-raise the error behind it."""
    args = [str(a) for a in argv]
    command = args[0]
    original = getattr(cli, f"run_{command}")
    caught: list[BaseException] = []

    def spy(parsed: Any) -> int:
        try:
            return original(parsed)
        except BaseException as exc:  # noqa: BLE001 - only recorded, then raised on
            caught.append(exc)
            raise

    ctx.monkeypatch.setattr(cli, f"run_{command}", spy)
    ctx.monkeypatch.setenv("BRAINSTEM_TOKEN", ctx.world.token)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        status = cli.main(args + ["--quiet"])
    assert status == 1 and caught, f"exit status {status}, stderr {err.getvalue()!r}"
    assert err.getvalue() == f"brainstem-pandas {command}: {caught[0]}\n", "not one clear line"
    assert out.getvalue() == "", "something went to standard output"
    raise caught[0]


# -- the cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A bad input: the call, the error it must raise, and the what-to-do its message must hold.

    ``local``: detectable before sending, so no request may go out. ``writes``: a
    model whose records on the sandbox must be exactly as before.
    """

    id: str
    call: Callable[[Ctx], Any]
    error: type[BaseException]
    todo: str
    local: bool = True
    writes: str | None = None
    setup: Callable[[Ctx], None] | None = None


def query_builder(ctx: Ctx) -> Any:
    """A notebook QueryBuilder on the case's client, reading sessions."""
    from brainstem_pandas.widgets import QueryBuilder

    builder = QueryBuilder(ctx.client)
    builder.model.value = "session"
    return builder


def session(ctx: Ctx, **fields: Any) -> dict[str, Any]:
    """A valid new session, with ``fields`` changed."""
    return {"name": "bad-input new", "projects": [ctx.world.project], **fields}


PAGE_WITHOUT_RECORDS = json.dumps({"count": 1, "next": None, "previous": None, "items": [{"id": "x"}]}).encode()

CASES = [
    # -- names and operators, checked against the catalog
    Case("read-unknown-model", lambda c: c.client.read("sesion"), UnknownNameError, r"Did you mean 'session'"),
    Case(
        "read-unknown-field",
        lambda c: c.client.read("session", filters={"nmae.icontains": "rat"}),
        UnknownNameError,
        r"Did you mean 'name'",
    ),
    Case(
        "read-operator-unfit-for-type",
        lambda c: c.client.read("session", filters={"date_time.icontains": "2024"}),
        QueryError,
        r"use one of: exact, gt",
    ),
    Case(
        "read-date-filter-not-a-date",
        lambda c: c.client.read("session", filters={"date_time.gte": "last week"}),
        QueryError,
        r"write it like 2024-05-01",
    ),
    Case(
        "read-integer-filter-not-a-number",
        lambda c: c.client.read("behavior", filters={"order.gt": "first"}),
        QueryError,
        r"pass a whole number",
    ),
    Case(
        "read-in-given-a-string",
        lambda c: c.client.read("session", filters={"id.in": "abc"}),
        QueryError,
        r"needs a list of values, e\.g\.",
    ),
    Case(
        "read-list-without-in",
        lambda c: c.client.read("session", filters={"name": ["a", "b"]}),
        QueryError,
        r"use 'name\.in'",
    ),
    Case(
        "read-none-as-value",
        lambda c: c.client.read("session", filters={"description": None}),
        QueryError,
        r"use the 'isnull' operator",
    ),
    Case(
        "read-isnull-not-bool",
        lambda c: c.client.read("session", filters={"description.isnull": "yes"}),
        QueryError,
        r"needs True or False",
    ),
    Case(
        "read-path-through-non-relation",
        lambda c: c.client.read("session", filters={"name.length.gt": 3}),
        QueryError,
        r"use 'name' itself",
    ),
    Case(
        "read-unknown-sort-field",
        lambda c: c.client.read("session", sort=["-dat_time"]),
        UnknownNameError,
        r"Did you mean 'date_time'",
    ),
    Case(
        "read-linked-unknown-include",
        lambda c: c.client.read_linked("session", include=["projcts"]),
        UnknownNameError,
        r"Did you mean 'projects'",
    ),
    Case(
        "read-include-not-a-relation",
        lambda c: c.client.read("session", include=["name"]),
        QueryError,
        r"include one of session's relations instead: projects",
    ),
    Case("read-linked-no-model", lambda c: c.client.read_linked([]), ConfigurationError, r"name at least one"),
    Case(
        "read-linked-filters-for-model-not-read",
        lambda c: c.client.read_linked("session", filters={"project": {"name": "x"}}),
        ConfigurationError,
        r"add 'project' to the models",
    ),
    Case(
        "iter-pages-unknown-field",
        lambda c: list(c.client.iter_pages("session", filters={"nmae": "x"})),
        UnknownNameError,
        r"Did you mean 'name'",
    ),
    # -- other arguments
    Case(
        "read-unknown-portal",
        lambda c: c.client.read("session", portal="privat"),
        ConfigurationError,
        r"use 'private' or 'public'",
    ),
    Case(
        "read-on-inconsistency-typo",
        lambda c: c.client.read("session", on_inconsistency="ignore"),
        ConfigurationError,
        r"pass on_inconsistency='raise' or 'warn'",
    ),
    Case(
        "iter-pages-on-inconsistency-typo",
        lambda c: list(c.client.iter_pages("project", on_inconsistency="warning")),
        ConfigurationError,
        r"pass on_inconsistency='raise' or 'warn'",
    ),
    Case("read-workers-zero", lambda c: c.client.read("session", workers=0), ConfigurationError, r"pass workers=1"),
    Case("client-workers-zero", lambda c: bsp.Client(c.world.url, workers=0), ConfigurationError, r"pass workers=1"),
    Case(
        "client-page-size-above-100",
        lambda c: bsp.Client(c.world.url, page_size=101),
        ConfigurationError,
        r"pass page_size=100 or less",
    ),
    Case(
        "read-url-negative-offset",
        lambda c: c.client.read_url(
            "/api/private/stem/session/", "sessions", paginator=bsp.OffsetPaginator(), params={"offset": -5}
        ),
        ConfigurationError,
        r"remove 'offset' from params",
    ),
    Case(
        "get-unknown-model",
        lambda c: c.client.get("sesion", c.world.session),
        UnknownNameError,
        r"Did you mean 'session'",
    ),
    Case("get-without-id", lambda c: c.client.get("session", None), QueryError, r"pass the id of one session"),
    Case(
        "get-id-that-is-a-path",
        lambda c: c.client.get("session", "../project"),
        QueryError,
        r"pass the id of one session",
    ),
    Case(
        "get-record-that-does-not-exist",
        lambda c: c.client.get("session", str(uuid.uuid4())),
        NotFoundError,
        r"Check the id and the portal",
        local=False,
    ),
    # -- connecting and signing in
    Case(
        "connect-url-without-scheme",
        lambda c: bsp.connect("127.0.0.1:8000", token=c.world.token),
        ConfigurationError,
        r"write it like https://www\.brainstem\.org",
    ),
    Case(
        "connect-unknown-portal",
        lambda c: bsp.connect(c.world.url, token=c.world.token, portal="pubic"),
        ConfigurationError,
        r"use 'private' or 'public'",
    ),
    *[
        Case(
            f"connect-token-with-{kind}",
            lambda c, t=token: c.track(bsp.connect(c.world.url, token=t)).read("project"),
            AuthenticationError,
            r"copy the token again",
        )
        for kind, token in BAD_TOKENS.items()
    ],
    Case(
        "connect-token-over-plain-http",
        lambda c: bsp.connect("http://brainstem.example.org", token=c.world.token),
        ConfigurationError,
        r"use https",
    ),
    Case(
        "connect-email-without-password",
        lambda c: bsp.connect(c.world.url, email=c.world.email),
        ConfigurationError,
        r"Pass both email and password",
    ),
    Case(
        "connect-snapshot-and-url",
        lambda c: bsp.connect(c.world.url, snapshot=c.prev),
        ConfigurationError,
        r"Pass either snapshot=",
    ),
    Case(
        "connect-without-any-token",
        lambda c: bsp.connect(c.world.url, interactive=False, token_path=c.tmp / "no-token"),
        AuthenticationError,
        r"Pass token=",
    ),
    Case(
        "connect-wrong-password",
        lambda c: bsp.connect(c.world.url, email=c.world.email, password="not-it"),
        AuthenticationError,
        r"Check the email and password",
        local=False,
    ),
    Case(
        "read-with-revoked-token",
        lambda c: c.track(bsp.connect(c.world.url, token="tok-revoked-1234abcd", progress=False)).read("project"),
        UnauthorizedError,
        r"Sign in again",
        local=False,
    ),
    # -- writes: the documented rules are checked before sending
    Case(
        "create-projects-as-string",
        lambda c: c.client.save("session", session(c, projects=c.world.project)),
        ValidationError,
        r"must be a list of ids.*Fix the fields",
        writes="session",
    ),
    Case(
        "create-extra-fields-bad-key",
        lambda c: c.client.save("session", session(c, extra_fields={"1st trial": 1})),
        ValidationError,
        r"must start with a letter.*Fix the fields",
        writes="session",
    ),
    Case(
        "create-download-link-unknown-repository",
        lambda c: c.client.save(
            "session", session(c, download_links=[{"repository": "Dropbox", "url": "https://dropbox.com/x"}])
        ),
        ValidationError,
        r"is not one of CRCNS, DANDI.*Fix the fields",
        writes="session",
    ),
    Case(
        "create-download-link-without-scheme",
        lambda c: c.client.save(
            "session", session(c, download_links=[{"repository": "DANDI", "url": "dandiarchive.org/dandiset/1"}])
        ),
        ValidationError,
        r"must start with http://.*Fix the fields",
        writes="session",
    ),
    Case(
        "create-not-a-dict",
        lambda c: c.client.save("session", [("name", "x")]),
        ValidationError,
        r"must be a dict of fields",
        writes="session",
    ),
    Case(
        "update-read-only-field",
        lambda c: c.client.save("session", {"epochs": []}, id=c.world.session),
        ValidationError,
        r"is read-only.*Fix the fields",
        writes="session",
    ),
    Case(
        "update-unknown-field",
        lambda c: c.client.save("session", {"nmae": "x"}, id=c.world.session),
        ValidationError,
        r"is not a field of session.*Fix the fields",
        writes="session",
    ),
    Case(
        "update-id-that-is-a-path",
        lambda c: c.client.save("session", {"description": "x"}, id="../project"),
        QueryError,
        r"pass the id of one session",
        writes="session",
    ),
    Case(
        "delete-without-id",
        lambda c: c.client.delete("session", None),
        QueryError,
        r"pass the id of one session",
        writes="session",
    ),
    Case(
        "create-in-read-only-project",
        lambda c: c.client.save("session", session(c, projects=[c.world.readonly])),
        PermissionDeniedError,
        r"Ask a project or group manager",
        local=False,
        writes="session",
    ),
    Case(
        "delete-record-that-does-not-exist",
        lambda c: c.client.delete("session", str(uuid.uuid4())),
        NotFoundError,
        r"Check the id",
        local=False,
        writes="session",
    ),
    Case(
        "offline-save",
        lambda c: bsp.connect(snapshot=c.prev).save("session", session(c)),
        SnapshotError,
        r"Connect to the server for that",
    ),
    # -- servers that answer something else than the API's JSON
    Case(
        "server-answers-html",
        lambda c: c.serving(200, b"<!doctype html><html><body>Welcome</body></html>", "text/html").read("session"),
        ResponseError,
        r"check that the URL is the BrainSTEM server's root",
        local=False,
    ),
    Case(
        "server-answers-empty-body",
        lambda c: c.serving(200, b"").read("session"),
        ResponseError,
        r"check that the URL is the BrainSTEM server's root",
        local=False,
    ),
    Case(
        "server-answers-invalid-json",
        lambda c: c.serving(200, b'{"sessions": [{"id": ').read("session"),
        ResponseError,
        r"check that the URL is the BrainSTEM server's root",
        local=False,
    ),
    Case(
        "server-500-without-body",
        lambda c: c.serving(500, b"", "").read("session"),
        ServerError,
        r"try again later",
        local=False,
    ),
    Case(
        "server-page-without-records-key",
        lambda c: c.serving(200, PAGE_WITHOUT_RECORDS).read("session"),
        ResponseError,
        r"the model is right",
        local=False,
    ),
    Case(
        "server-get-without-record",
        lambda c: c.serving(200, b'{"other": {}}').get("session", c.world.session),
        ResponseError,
        r"check that the URL is the BrainSTEM server's root",
        local=False,
    ),
    Case(
        "server-not-listening",
        lambda c: c.track(bsp.connect(closed_port_url(), token="tok-1234abcd", progress=False, retry=FAST)).read(
            "session"
        ),
        TransportError,
        r"Check the server URL",
        local=False,
    ),
    # -- snapshots
    Case(
        "snapshot-path-is-a-file",
        lambda c: c.client.snapshot(c.tmp / "notes.txt", models=["project"]),
        SnapshotError,
        r"Give a folder path",
    ),
    Case(
        "snapshot-into-foreign-folder",
        lambda c: c.client.snapshot(c.tmp / "other", models=["project"]),
        SnapshotError,
        r"Choose (a|an empty or) new folder",
    ),
    Case(
        "snapshot-into-read-only-folder",
        snapshot_into_read_only_folder,
        SnapshotError,
        r"Choose a folder you can write to",
        setup=read_only_folder,
    ),
    Case(
        "snapshot-unknown-model",
        lambda c: c.client.snapshot(c.prev, models=["sesion"]),
        UnknownNameError,
        r"Did you mean 'session'",
    ),
    Case(
        "snapshot-include-for-model-not-read",
        lambda c: c.client.snapshot(c.prev, models=["session"], include={"subject": ["strain"]}),
        ConfigurationError,
        r"add 'subject' to the models",
    ),
    Case(
        "snapshot-on-inconsistency-typo",
        lambda c: c.client.snapshot(c.prev, models=["project"], on_inconsistency="warning"),
        ConfigurationError,
        r"pass on_inconsistency='raise' or 'warn'",
    ),
    Case(
        "snapshot-over-previous-when-server-fails",
        lambda c: c.serving(500, b"").snapshot(c.prev, models=["project"]),
        ServerError,
        r"try again later",
        local=False,
    ),
    Case(
        "read-snapshot-missing-folder",
        lambda c: bsp.read_snapshot(c.tmp / "nowhere"),
        SnapshotError,
        r"Take one with client\.snapshot",
    ),
    Case(
        "read-snapshot-of-a-file",
        lambda c: bsp.read_snapshot(c.tmp / "notes.txt"),
        SnapshotError,
        r"give the snapshot folder",
    ),
    Case(
        "read-snapshot-damaged",
        lambda c: bsp.read_snapshot(c.tmp / "damaged"),
        DamagedSnapshotError,
        r"Take the snapshot again",
        setup=damaged,
    ),
    Case(
        "read-snapshot-without-manifest",
        lambda c: bsp.read_snapshot(c.tmp / "other"),
        DamagedSnapshotError,
        r"Take the snapshot again",
    ),
    Case(
        "read-snapshot-newer-format",
        lambda c: bsp.read_snapshot(c.tmp / "future"),
        DamagedSnapshotError,
        r"Upgrade brainstem-pandas",
        setup=from_the_future,
    ),
    Case("read-table-unknown", lambda c: bsp.read_table(c.prev, "sesion"), SnapshotError, r"Did you mean 'session'"),
    Case(
        "offline-other-portal",
        lambda c: bsp.connect(snapshot=c.prev).read("session", portal="public"),
        SnapshotError,
        r"take a snapshot with portal='public'",
    ),
    Case(
        "connect-snapshot-missing",
        lambda c: bsp.connect(snapshot=c.tmp / "nowhere"),
        SnapshotError,
        r"Take one with client\.snapshot",
    ),
    # -- the command line
    Case(
        "cli-read-unknown-model",
        lambda c: run_cli(c, "read", "sesion", "--snapshot", c.prev),
        UnknownNameError,
        r"Did you mean 'session'",
    ),
    Case(
        "cli-read-filter-without-value",
        lambda c: run_cli(c, "read", "session", "--filter", "name", "--snapshot", c.prev),
        ConfigurationError,
        r"write FIELD\.OP=VALUE",
    ),
    Case(
        "cli-read-parquet-to-terminal",
        lambda c: run_cli(c, "read", "session", "--format", "parquet", "--snapshot", c.prev),
        ConfigurationError,
        r"give --out FILE",
    ),
    Case(
        "cli-read-out-in-missing-folder",
        lambda c: run_cli(c, "read", "project", "--snapshot", c.prev, "--out", c.tmp / "missing" / "p.csv"),
        ConfigurationError,
        r"Choose an --out path you can write to",
    ),
    Case(
        "cli-read-include-out-is-a-file",
        lambda c: run_cli(
            c, "read", "session", "--include", "projects", "--snapshot", c.prev, "--out", c.tmp / "notes.txt"
        ),
        ConfigurationError,
        r"Choose an --out path you can write to",
    ),
    Case(
        "cli-snapshot-to-a-file",
        lambda c: run_cli(c, "snapshot", c.tmp / "notes.txt", "--models", "project", "--url", c.world.url),
        SnapshotError,
        r"Give a folder path",
    ),
    Case(
        "cli-snapshot-mixed-include",
        lambda c: run_cli(c, "snapshot", c.prev, "--include", "session:projects", "behaviors", "--url", c.world.url),
        ConfigurationError,
        r"give every relation as MODEL:RELATION",
    ),
    *[
        # -- careless hands (issue 14): wrong types and values of every argument, refused before sending
        Case(id, call, error, todo)
        for id, call, error, todo in [
            ("read-model-with-space", lambda c: c.client.read("ses sion"), UnknownNameError, r"Did you mean 'session'"),
            ("read-model-unicode", lambda c: c.client.read("séssion"), UnknownNameError, r"Did you mean 'session'"),
            ("read-model-not-text", lambda c: c.client.read(3), UnknownNameError, r"Known models: behavior"),
            ("read-model-as-list", lambda c: c.client.read(["session"]), UnknownNameError, r"Did you mean 'session'"),
            (
                "read-filters-as-list",
                lambda c: c.client.read("session", filters=[("name", "a")]),
                QueryError,
                r"filters must be a dict like \{'name\.icontains'",
            ),
            (
                "read-filters-as-string",
                lambda c: c.client.read("session", filters="name=a"),
                QueryError,
                r"filters must be a dict like",
            ),
            (
                "read-filter-name-not-text",
                lambda c: c.client.read("session", filters={3: "a"}),
                QueryError,
                r"strings like 'name\.icontains'",
            ),
            (
                "read-filter-value-an-object",
                lambda c: c.client.read("session", filters={"name": {"a": 1}}),
                QueryError,
                r"pass text, a number, True/False or a date",
            ),
            (
                "read-filter-value-bytes",
                lambda c: c.client.read("session", filters={"name": b"rat"}),
                QueryError,
                r"pass text, a number",
            ),
            (
                "read-filter-value-nan",
                lambda c: c.client.read("session", filters={"name": float("nan")}),
                QueryError,
                r"pass text, a number",
            ),
            (
                "read-filter-in-holding-objects",
                lambda c: c.client.read("session", filters={"name.in": [{"a": 1}]}),
                QueryError,
                r"pass text, a number",
            ),
            (
                "read-filter-in-given-a-dict",
                lambda c: c.client.read("session", filters={"name.in": {"a": 1}}),
                QueryError,
                r"needs a list of values",
            ),
            (
                "read-filter-in-holding-none",
                lambda c: c.client.read("session", filters={"name.in": ["a", None]}),
                QueryError,
                r"use the 'isnull' operator",
            ),
            (
                "read-filter-empty-operator",
                lambda c: c.client.read("session", filters={"name.": "rat"}),
                QueryError,
                r"write FIELD or FIELD\.OPERATOR",
            ),
            (
                "read-filter-misspelt-operator",
                lambda c: c.client.read("session", filters={"name.icontain": "rat"}),
                UnknownNameError,
                r"Did you mean 'icontains'",
            ),
            (
                "read-sort-as-dict",
                lambda c: c.client.read("session", sort={"name": 1}),
                QueryError,
                r"sort must be a list of names like",
            ),
            (
                "read-sort-item-not-text",
                lambda c: c.client.read("session", sort=[3]),
                QueryError,
                r"sort must be a list of names",
            ),
            (
                "read-sort-double-minus",
                lambda c: c.client.read("session", sort=["--name"]),
                UnknownNameError,
                r"Did you mean 'name'",
            ),
            (
                "read-linked-include-not-text",
                lambda c: c.client.read_linked("session", include=[3]),
                QueryError,
                r"include must be a list of names like \['projects'",
            ),
            (
                "read-linked-include-nested-lists",
                lambda c: c.client.read_linked("session", include=[["projects"]]),
                QueryError,
                r"include must be a list of names",
            ),
            (
                "read-linked-include-nested-unknown",
                lambda c: c.client.read_linked("session", include=["projects.sesions"]),
                UnknownNameError,
                r"Did you mean 'sessions'",
            ),
            (
                "read-linked-include-for-unknown-model",
                lambda c: c.client.read_linked("session", include={"sesion": ["projects"]}),
                UnknownNameError,
                r"Did you mean 'session'",
            ),
            (
                "read-workers-negative",
                lambda c: c.client.read("session", workers=-1),
                ConfigurationError,
                r"pass workers=1",
            ),
            (
                "read-workers-float",
                lambda c: c.client.read("session", workers=1e9),
                ConfigurationError,
                r"pass workers=1",
            ),
            (
                "read-workers-bool",
                lambda c: c.client.read("session", workers=True),
                ConfigurationError,
                r"pass workers=1",
            ),
            (
                "read-workers-text",
                lambda c: c.client.read("session", workers="4"),
                ConfigurationError,
                r"pass workers=1",
            ),
            (
                "read-portal-typo",
                lambda c: c.client.read("session", portal="pubic"),
                ConfigurationError,
                r"use 'private' or 'public'",
            ),
            (
                "read-portal-not-text",
                lambda c: c.client.read("session", portal=1),
                ConfigurationError,
                r"use 'private' or 'public'",
            ),
            (
                "client-page-size-zero",
                lambda c: bsp.Client(c.world.url, page_size=0),
                ConfigurationError,
                r"pass page_size=100 or less",
            ),
            (
                "client-page-size-text",
                lambda c: bsp.Client(c.world.url, page_size="100"),
                ConfigurationError,
                r"pass page_size=100 or less",
            ),
            ("get-id-with-space", lambda c: c.client.get("session", "a b"), QueryError, r"pass the id of one session"),
            ("get-id-unicode", lambda c: c.client.get("session", "é"), QueryError, r"pass the id of one session"),
            (
                "get-id-an-object",
                lambda c: c.client.get("session", {"id": 1}),
                QueryError,
                r"pass the id of one session",
            ),
            ("get-id-a-list", lambda c: c.client.get("session", [1]), QueryError, r"pass the id of one session"),
            ("get-user-id-fraction", lambda c: c.client.get("user", 1.5), QueryError, r"pass the id of one user"),
            ("get-user-id-bool", lambda c: c.client.get("user", True), QueryError, r"pass the id of one user"),
            (
                "get-include-unknown",
                lambda c: c.client.get("session", c.world.session, include=["projcts"]),
                UnknownNameError,
                r"Did you mean 'projects'",
            ),
            ("get-model-not-text", lambda c: c.client.get(3, c.world.session), UnknownNameError, r"Known models"),
            ("save-model-unknown", lambda c: c.client.save("sesion", {}), UnknownNameError, r"Did you mean 'session'"),
            ("query-unknown-model", lambda c: bsp.Query("sesion"), UnknownNameError, r"Did you mean 'session'"),
            ("query-filters-positional", lambda c: bsp.Query("session", 3), QueryError, r"filters must be a dict"),
            ("query-sort-as-dict", lambda c: bsp.Query("session", sort={"name": 1}), QueryError, r"list of names"),
            (
                "query-with-more-arguments",
                lambda c: c.client.read(bsp.Query("session"), filters={"name": "a"}),
                ConfigurationError,
                r"pass the Query alone",
            ),
            (
                "linked-unknown-table",
                lambda c: bsp.read_snapshot(c.prev)["sesion"],
                bsp.frames.NotInFramesError,
                r"Did you mean 'session'",
            ),
            (
                "linked-merge-unknown-relation",
                lambda c: bsp.read_snapshot(c.prev).merge("session", "projcts"),
                bsp.frames.NotInFramesError,
                r"Did you mean 'projects'",
            ),
            (
                "linked-merge-unknown-table",
                lambda c: bsp.read_snapshot(c.prev).merge("sesion", "projects"),
                bsp.frames.NotInFramesError,
                r"is not a table here: session, project",
            ),
            (
                "linked-merge-how-typo",
                lambda c: bsp.read_snapshot(c.prev).merge("session", "projects", how="lefft"),
                QueryError,
                r"use one of 'left'",
            ),
            (
                "linked-related-unknown-model",
                lambda c: bsp.read_snapshot(c.prev).related("sesion", c.world.session),
                bsp.frames.NotInFramesError,
                r"Did you mean 'session'",
            ),
            (
                "linked-related-unknown-id",
                lambda c: bsp.read_snapshot(c.prev).related("session", "nope"),
                bsp.frames.NotInFramesError,
                r"pass one of lf\['session'\]\.index",
            ),
            (
                "linked-related-unhashable-id",
                lambda c: bsp.read_snapshot(c.prev).related("session", [1]),
                bsp.frames.NotInFramesError,
                r"pass one of lf\['session'\]\.index",
            ),
            (
                "offline-read-unknown-model",
                lambda c: bsp.connect(snapshot=c.prev).read("sesion"),
                UnknownNameError,
                r"Did you mean 'session'",
            ),
            (
                "offline-read-filter-value-an-object",
                lambda c: bsp.connect(snapshot=c.prev).read("session", filters={"name": {"a": 1}}),
                QueryError,
                r"pass text, a number",
            ),
            (
                "cli-read-filter-without-field",
                lambda c: run_cli(c, "read", "session", "--filter", "=rat", "--snapshot", c.prev),
                ConfigurationError,
                r"write FIELD\.OP=VALUE",
            ),
            (
                "cli-read-filter-empty-value",
                lambda c: run_cli(c, "read", "session", "--filter", "name=", "--snapshot", c.prev),
                ConfigurationError,
                r"name\.isnull=true for a missing value",
            ),
            (
                "cli-read-filter-misspelt-operator",
                lambda c: run_cli(c, "read", "session", "--filter", "name.icontain=rat", "--snapshot", c.prev),
                UnknownNameError,
                r"Did you mean 'icontains'",
            ),
            (
                "cli-read-filter-empty-operator",
                lambda c: run_cli(c, "read", "session", "--filter", "name.=rat", "--snapshot", c.prev),
                QueryError,
                r"write FIELD or FIELD\.OPERATOR",
            ),
            (
                "cli-read-isnull-not-bool",
                lambda c: run_cli(c, "read", "session", "--filter", "description.isnull=maybe", "--snapshot", c.prev),
                ConfigurationError,
                r"isnull takes true or false",
            ),
            (
                "cli-read-sort-unknown",
                lambda c: run_cli(c, "read", "session", "--sort=-nmae", "--snapshot", c.prev),
                UnknownNameError,
                r"Did you mean 'name'",
            ),
            (
                "cli-read-include-unknown",
                lambda c: run_cli(
                    c, "read", "session", "--include", "projcts", "--snapshot", c.prev, "--out", c.tmp / "o"
                ),
                UnknownNameError,
                r"Did you mean 'projects'",
            ),
            (
                "cli-snapshot-workers-zero",
                lambda c: run_cli(
                    c, "snapshot", c.tmp / "new", "--models", "project", "--workers", "0", "--url", c.world.url
                ),
                ConfigurationError,
                r"pass workers=1",
            ),
            (
                "widget-filter-unknown-field",
                lambda c: query_builder(c).add_filter("nmae", "icontains", "rat"),
                UnknownNameError,
                r"Did you mean 'name'",
            ),
            (
                "widget-filter-unknown-operator",
                lambda c: query_builder(c).add_filter("name", "icontain", "rat"),
                UnknownNameError,
                r"Did you mean 'icontains'",
            ),
            (
                "widget-filter-value-an-object",
                lambda c: query_builder(c).add_filter("name", "icontains", {"a": 1}),
                QueryError,
                r"pass text, a number",
            ),
            (
                "cli-snapshot-unknown-model",
                lambda c: run_cli(c, "snapshot", c.tmp / "new", "--models", "sesion", "--url", c.world.url),
                UnknownNameError,
                r"Did you mean 'session'",
            ),
        ]
    ],
]


def qualified(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def raised(case: Case, ctx: Ctx) -> tuple[str, str]:
    """The qualified class name and message of the error ``case`` raises."""
    try:
        case.call(ctx)
    except ChildRaised as exc:
        return exc.qualname, str(exc)
    except Exception as exc:  # noqa: BLE001 - the class is the subject of the test
        return qualified(type(exc)), str(exc)
    pytest.fail("no error was raised")


def records(world: World, model: str) -> pd.DataFrame:
    return world.checker.read(model, progress=False).sort_index()


@pytest.fixture
def ctx(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ctx]:
    for name in [n for n in os.environ if n.startswith("BRAINSTEM_")]:
        monkeypatch.delenv(name)
    # No token cache file from the machine; the home folder does not even exist.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    made = Ctx(world, tmp_path, monkeypatch)
    furnish(made)
    try:
        yield made
    finally:
        made.close()
        if (tmp_path / "ro").exists():
            (tmp_path / "ro").chmod(0o755)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every HTTP request any requests session sends from this process."""
    urls: list[str] = []
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        urls.append(f"{request.method} {request.url}")
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    return urls


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_raises_a_typed_error_that_says_what_to_do_and_changes_nothing(
    case: Case, ctx: Ctx, sent: list[str]
) -> None:
    if case.setup:
        case.setup(ctx)
    disk = listing(ctx.tmp)
    stored = records(ctx.world, case.writes) if case.writes else None
    first = len(sent)

    kind, message = raised(case, ctx)
    requests_out = sent[first:]

    assert kind == qualified(case.error), f"{kind} instead of {case.error.__name__}: {message}"
    assert re.search(case.todo, message, re.IGNORECASE | re.DOTALL), f"no what-to-do ({case.todo!r}) in: {message}"
    assert ctx.world.token not in message and not any(t in message for t in BAD_TOKENS.values())
    assert listing(ctx.tmp) == disk, "the folder changed"
    for snap in ctx.readable:
        assert bsp.read_snapshot(snap).manifest == bsp.read_snapshot(ctx.world.snapshot).manifest
    if case.local:
        assert requests_out == [] and ctx.child_requests == 0, f"sent for a local mistake: {requests_out}"
        assert all(c.transport.requests_sent == 0 for c in ctx.clients)
        assert all(s.requests == 0 for s in ctx.servers)
    if stored is not None:
        pd.testing.assert_frame_equal(records(ctx.world, case.writes), stored)
