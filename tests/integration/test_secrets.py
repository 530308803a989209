"""Secrets never leak: end to end, through every channel a user, a log reader or a colleague sees.

1. One scan over everything: a sandbox, distinctive secrets (personal access tokens,
   an email + password giving rotating access/refresh tokens, a device code), all
   logging captured at DEBUG for every logger, every warning recorded, and the
   toolkit exercised broadly (connect each way, reads, writes, a failure of each
   kind, snapshots, the CLI, the widgets, one notebook). Every text collected is
   scanned for every secret, whole and by the first 12 characters of its random
   part. A planted secret shows that the scanner and the captures work.
2. The token cache file: 0600 in a 0700 folder, also with a permissive umask, and
   a wider existing file is narrowed.
3. The token goes nowhere else: not to another server through a ``next`` link or a
   redirect (sign-in requests included), and not over plain http to a host that
   is not loopback without ``allow_insecure_http=True`` (no network: name lookups
   are answered here).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import socket
import sqlite3
import stat
import threading
import traceback
import types
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from hostile import Reply

import brainstem_pandas as bsp
from brainstem_pandas import auth
from brainstem_pandas.cli import main as cli_main
from brainstem_pandas.cli import write_env_file
from brainstem_pandas.sandbox import Sandbox
from brainstem_pandas.transport import RetryPolicy, Secret

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "01_quickstart.ipynb"
WAIT = 120  # seconds for a widget's background job; only a hung job gets near it
QUICK = RetryPolicy(attempts=2, backoff=0.01, max_delay=0.02)
MISSING_ID = "00000000-0000-4000-8000-000000000000"
# Sandbox tokens open with a fixed kind marker ("bst_refresh_" is 12 characters by itself):
# the prefix check must look at the random part.
KIND_MARKER = re.compile(r"^bst_[a-z]+_")


# -- what was seen, and the scanner -----------------------------------------------------------


@dataclass
class Collected:
    """Everything the toolkit showed, wrote or logged, by channel."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    blobs: list[tuple[str, bytes]] = field(default_factory=list)

    def text(self, channel: str, *values: Any) -> None:
        for value in values:
            self.texts.append((channel, value if isinstance(value, str) else repr(value)))

    def obj(self, channel: str, value: Any) -> None:
        self.text(channel, repr(value), str(value))

    def error(self, channel: str, exc: BaseException) -> None:
        """Message, repr, args, attributes and traceback of ``exc`` and of every cause and context.

        The tracebacks are also formatted showing every frame's locals, as
        ``traceback.TracebackException(capture_locals=True)`` and IPython's verbose mode
        (``%xmode Verbose``) print them; the frames of this test file (which holds the
        secrets on purpose) are left out, every frame of the library and of requests,
        urllib3 and http.client is in.
        """
        todo, seen = [exc], set()
        while todo:
            current = todo.pop()
            if current is None or id(current) in seen:
                continue
            seen.add(id(current))
            current.__traceback__ = without_test_frames(current.__traceback__)
            self.text(
                channel,
                str(current),
                repr(current),
                repr(current.args),
                repr(getattr(current, "__dict__", {})),
                "".join(traceback.format_exception(current)),
            )
            todo += [current.__cause__, current.__context__]
        self.text(f"{channel} (traceback with locals)", with_locals(exc))
        self.text(f"{channel} (IPython verbose traceback)", ipython_verbose(exc))

    def blob(self, channel: str, data: bytes) -> None:
        self.blobs.append((channel, data))


TEST_FILES = (str(Path(__file__).resolve().parent),)


def without_test_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """``tb`` without the frames of the test files (they hold the secrets to find, on purpose)."""
    kept = []
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(TEST_FILES):
            kept.append(tb)
        tb = tb.tb_next
    rebuilt = None
    for frame in reversed(kept):
        rebuilt = types.TracebackType(rebuilt, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    return rebuilt


def with_locals(exc: BaseException) -> str:
    """``exc`` and its chain as ``traceback`` prints it with ``capture_locals=True``."""
    return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())


def ipython_verbose(exc: BaseException) -> str:
    """``exc`` as IPython prints it in verbose mode (``%xmode Verbose``: every frame's variables)."""
    from IPython.core.ultratb import VerboseTB

    return VerboseTB(theme_name="nocolor", include_vars=True).text(type(exc), exc, exc.__traceback__)


@dataclass
class Secrets:
    """Secret strings by name. ``fixed`` ones (a published demo password) are checked whole only."""

    values: dict[str, str] = field(default_factory=dict)
    fixed: set[str] = field(default_factory=set)

    def add(self, name: str, value: Any, fixed: bool = False) -> None:
        if isinstance(value, Secret):  # the library holds them so; the scan looks for the value
            value = value.reveal()
        if not isinstance(value, str) or not value or value in self.values.values():
            return
        key = name if name not in self.values else f"{name}#{len(self.values)}"
        self.values[key] = value
        if fixed:
            self.fixed.add(key)

    def needles(self) -> list[tuple[str, str]]:
        """(label, text to look for): each secret, and the first 12 characters of its random part."""
        out = []
        for name, value in self.values.items():
            out.append((f"{name} (whole)", value))
            prefix = KIND_MARKER.sub("", value)[:12]
            if name not in self.fixed and prefix != value:
                assert len(prefix) == 12, f"{name} is too short to be a useful secret"
                out.append((f"{name} (first 12 characters)", prefix))
        return out


def find_leaks(collected: Collected, known: Secrets) -> list[str]:
    """One line per secret found, naming the channel and showing a little context."""
    found = []
    for label, needle in known.needles():
        for channel, text in collected.texts:
            at = text.find(needle)
            if at >= 0:
                found.append(f"{label} in {channel}: ...{text[max(0, at - 60) : at + 60]!r}...")
        for channel, data in collected.blobs:
            if needle.encode() in data:
                found.append(f"{label} in {channel} (bytes)")
    return found


# -- capturing logging and warnings ------------------------------------------------------------


class Keep(logging.Handler):
    """A handler that keeps every record."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def every_log_record() -> Iterator[Keep]:
    """Every logger at DEBUG into one handler (loggers that do not propagate get it directly)."""
    keep = Keep()
    root = logging.getLogger()
    loggers = [root] + [x for x in logging.root.manager.loggerDict.values() if isinstance(x, logging.Logger)]
    saved = [(x, x.level, x.disabled) for x in loggers]
    disabled = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    root.addHandler(keep)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if not logger.propagate and logger is not root:
            logger.addHandler(keep)
    try:
        yield keep
    finally:
        for logger, level, was_disabled in saved:
            logger.removeHandler(keep)
            logger.setLevel(level)
            logger.disabled = was_disabled
        logging.disable(disabled)


def collect_records(collected: Collected, records: list[logging.LogRecord]) -> None:
    formatter = logging.Formatter("%(name)s %(levelname)s %(threadName)s %(message)s")
    for record in records:
        try:
            formatted = formatter.format(record)  # the message with its exception and stack, as a log shows it
        except Exception as exc:  # a malformed record must not hide the others
            formatted = f"unformattable record {record.msg!r}: {exc!r}"
        collected.text(f"log {record.name}", formatted, repr(record.msg), repr(record.args))


def collect_warnings(collected: Collected, caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        collected.text(
            f"warning {w.category.__name__}",
            str(w.message),
            repr(w.message.args),
            warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line),
        )


# -- a small recording HTTP server -------------------------------------------------------------


@dataclass
class Seen:
    """A request a stub server received (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[Seen], tuple[int, dict[str, str], Any]]


class Stub:
    """An HTTP server on 127.0.0.1 (free port) answering with ``answer(seen)`` and recording requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer, self.seen = answer, []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass  # stderr is a scanned channel; a stub's chatter is not the toolkit's

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
                )
                stub.seen.append(seen)
                status, headers, body = stub.answer(seen)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def stubs() -> Iterator[Callable[[Answer], Stub]]:
    """Start stub servers; all are stopped when the test ends."""
    started: list[Stub] = []

    def start(answer: Answer) -> Stub:
        started.append(Stub(answer))
        return started[-1]

    yield start
    for stub in started:
        stub.stop()


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the scan: a sandbox with distinctive secrets ----------------------------------------------


@dataclass
class Run:
    """One scan: the server, the secrets met so far, and what was collected."""

    sb: Sandbox
    work: Path
    collected: Collected = field(default_factory=Collected)
    known: Secrets = field(default_factory=Secrets)
    email: str = ""
    password: str = ""
    failures: dict[str, BaseException] = field(default_factory=dict)

    def call(self, label: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn``; collect the repr and str of what it returns."""
        result = fn()
        self.collected.obj(f"result of {label}", result)
        return result

    def fail(self, label: str, fn: Callable[[], Any], expected: type[BaseException]) -> BaseException:
        """Run ``fn``, which must raise ``expected``; collect the exception and its chain."""
        with pytest.raises(expected) as info:
            fn()
        self.collected.error(f"error of {label}", info.value)
        self.failures[label] = info.value
        return info.value


def spy_on_sign_ins(monkeypatch: pytest.MonkeyPatch, known: Secrets) -> None:
    """Note every secret a sign-in request sends or receives (passwords, refresh tokens, device codes)."""
    real = auth._post_json

    def spy(url: str, payload: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        for key in ("password", "refresh", "device_code"):
            known.add(f"sent {key}", payload.get(key), fixed=payload.get(key) == "sandbox-demo-password")
        answer = real(url, payload, *args, **kwargs)
        for key in ("access", "refresh", "token", "device_code"):
            known.add(f"issued {key}", answer.get(key))
        return answer

    monkeypatch.setattr(auth, "_post_json", spy)


def issue_pat(sb: Sandbox) -> str:
    """A fresh personal access token of the demo user."""
    r = requests.post(f"{sb.url}/api/token/", json={"username": sb.email, "password": sb.password}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["access"]


def revoke(sb: Sandbox, token: str) -> None:
    """Revoke a token in the server's database (the sandbox has no endpoint for it)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with sqlite3.connect(sb.config.db_path, timeout=30) as con:
        assert con.execute("UPDATE api_token SET revoked = 1 WHERE digest = ?", (digest,)).rowcount == 1


def exercise_connections(run: Run, monkeypatch: pytest.MonkeyPatch) -> dict[str, bsp.Client]:
    """Connect every way; return the clients."""
    sb, c = run.sb, run.collected
    clients = {"argument": run.call("connect(token=)", lambda: bsp.connect(sb.url, token=sb.token, progress=False))}
    for name in ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN"):
        with monkeypatch.context() as m:
            m.setenv(name, sb.token)
            clients[name] = run.call(f"connect() with {name}", lambda: bsp.connect(sb.url, workers=2))
    auth.save_token(run.known.values["second user's token"])  # the default cache file, HOME is temporary
    clients["cache"] = run.call("connect() with the cache file", lambda: bsp.connect(sb.url, progress=False))
    clients["pair"] = run.call(
        "connect(email=, password=)",
        lambda: bsp.connect(sb.url, email=run.email, password=run.password, progress=False),
    )
    clients["demo pair"] = run.call(
        "demo connect(email=, password=)", lambda: bsp.connect(sb.url, email=sb.email, password=sb.password, workers=3)
    )
    clients["public"] = run.call("connect(portal='public')", lambda: bsp.connect(sb.url, portal="public"))
    clients["direct"] = run.call(
        "Client(StaticToken)", lambda: bsp.Client(sb.url, auth.StaticToken(sb.token), progress=False, retry=QUICK)
    )
    for client in clients.values():
        c.obj("client", client)
        c.obj("transport", client.transport)
        c.obj("credentials", client.transport.credentials)
        c.text("session headers", repr(dict(client.transport.session.headers)))
    return clients


def exercise_reads(run: Run, clients: dict[str, bsp.Client]) -> None:
    """Reads of every kind, with the PAT and with rotating access tokens."""
    for name in ("argument", "demo pair", "pair", "public"):
        client = clients[name]
        frame = run.call(
            f"{name}: read", lambda: client.read("session", filters={"name.icontains": "a"}, sort=["-date_time"])
        )
        if len(frame):
            run.call(f"{name}: get", lambda: client.get("session", frame.index[0], include=["projects"]))
    lf = run.call("read_linked", lambda: clients["demo pair"].read_linked("session", include=["projects", "behaviors"]))
    run.call("merge", lambda: lf.merge("session", "projects"))
    run.call(
        "read_linked of two models",
        lambda: clients["argument"].read_linked(["project", "subject"], include={"subject": ["projects"]}),
    )
    for page in clients["demo pair"].iter_pages("project", include=["sessions"], progress=True):
        run.collected.obj("page", page)
    run.call("readable_models", clients["cache"].readable_models)


def writable_projects(client: bsp.Client, email: str) -> tuple[str, str]:
    """A project the demo user may change, and one they may only read."""
    body = client.transport.get(client.endpoint("project"), params=[("limit", "100")])
    projects = body["projects"]
    mine = next(p["id"] for p in projects if p["users"].get(email, {}).get("can_change"))
    readonly = next(p["id"] for p in projects if email in p["users"] and not p["users"][email]["can_change"])
    return mine, readonly


def exercise_writes_and_failures(run: Run, clients: dict[str, bsp.Client]) -> None:
    """Create, update, delete, and a failing request of each kind."""
    sb, client = run.sb, clients["demo pair"]
    mine, readonly = writable_projects(client, sb.email)
    name = f"secrets-{secrets.token_hex(4)}"
    created = run.call("save (create)", lambda: client.save("session", {"name": name, "projects": [mine]}))
    run.call("save (update)", lambda: client.save("session", {"description": "changed"}, id=created["id"]))
    run.fail(
        "400 from the server", lambda: client.save("session", {"name": name, "projects": [mine]}), bsp.ValidationError
    )
    run.fail("400 before sending", lambda: client.save("session", {"name": "x", "projects": mine}), bsp.ValidationError)
    run.fail(
        "403",
        lambda: clients["argument"].save("session", {"name": name + "-ro", "projects": [readonly]}),
        bsp.PermissionDeniedError,
    )
    run.call("delete", lambda: client.delete("session", created["id"]))
    run.fail("404 get", lambda: client.get("session", MISSING_ID), bsp.NotFoundError)
    run.fail("404 delete", lambda: clients["argument"].delete("session", created["id"]), bsp.NotFoundError)
    run.fail("query error", lambda: client.read("session", filters={"nmae.icontains": "a"}), bsp.QueryError)

    unknown = "bst_pat_" + secrets.token_urlsafe(32)
    revoked = issue_pat(sb)
    run.known.add("unknown token", unknown)
    run.known.add("revoked token", revoked)
    revoke(sb, revoked)
    for label, token in (("401 unknown token", unknown), ("401 revoked token", revoked)):
        run.fail(label, lambda: bsp.connect(sb.url, token=token, progress=False).read("project"), bsp.UnauthorizedError)
    wrong = run.known.values["wrong password"]
    run.fail("wrong password", lambda: bsp.connect(sb.url, email=run.email, password=wrong), bsp.AuthenticationError)

    pair = auth.password_login(sb.url, run.email, run.password)
    bogus = "bst_refresh_" + secrets.token_urlsafe(32)
    run.known.add("bogus refresh token", bogus)
    pair.refresh, pair.expires_at = bogus, 0.0  # expired, and its refresh token refused
    run.fail(
        "refresh refused", lambda: bsp.Client(sb.url, pair, progress=False).read("project"), bsp.AuthenticationError
    )
    run.collected.obj("refused pair", pair)

    nowhere = f"http://127.0.0.1:{closed_port()}"
    run.fail(
        "unreachable (token)",
        lambda: bsp.Client(nowhere, auth.StaticToken(sb.token), retry=QUICK, progress=False).read("session"),
        bsp.TransportError,
    )
    run.fail(
        "unreachable (password)",
        lambda: bsp.connect(nowhere, email=run.email, password=run.password),
        bsp.AuthenticationError,
    )
    # Refused before any connection is made: no network involved.
    run.fail(
        "plain http elsewhere", lambda: bsp.connect("http://brainstem.invalid", token=sb.token), bsp.ConfigurationError
    )


def exercise_pagination_error(run: Run, stubs: Callable[[Answer], Stub]) -> None:
    """A server announcing more records than it gives: PaginationError, then the warning variant."""
    short = stubs(
        lambda seen: (200, {}, {"count": 3, "next": None, "previous": None, "projects": [{"id": "p1"}, {"id": "p2"}]})
    )
    client = bsp.Client(short.url, auth.StaticToken(run.sb.token), progress=False, retry=QUICK)
    run.fail("pagination", lambda: client.read("project"), bsp.PaginationError)
    run.call("pagination warning", lambda: client.read("project", on_inconsistency="warn"))
    assert all(s.headers.get("authorization") == f"Bearer {run.sb.token}" for s in short.seen)


def exercise_device_login(run: Run) -> None:
    """A browser sign-in started, polled, cancelled, and one that times out unapproved."""
    device = run.call("start_device_login", lambda: auth.start_device_login(run.sb.url))
    assert device.poll_once() is None
    run.fail("device sign-in cancelled", lambda: device.wait(cancelled=lambda: True), bsp.AuthenticationError)
    run.fail(
        "device sign-in timed out",
        lambda: bsp.login(run.sb.url, open_browser=False, timeout=0.3, remember=False),
        bsp.AuthenticationError,
    )


def exercise_snapshots(run: Run, clients: dict[str, bsp.Client]) -> tuple[Path, Path]:
    """Two snapshots with a change between them, read back, diffed, and answered offline."""
    a, b = run.work / "snap-a", run.work / "snap-b"
    include = {"session": ["projects", "behaviors"]}
    run.call("snapshot a", lambda: clients["demo pair"].snapshot(a, models=["project", "session"], include=include))
    mine, _ = writable_projects(clients["argument"], run.sb.email)
    created = clients["argument"].save("session", {"name": f"secrets-snap-{secrets.token_hex(3)}", "projects": [mine]})
    run.call("snapshot b", lambda: clients["argument"].snapshot(b, models=["project", "session"], include=include))
    clients["argument"].delete("session", created["id"])
    run.call("read_snapshot", lambda: bsp.read_snapshot(a))
    run.call("diff", lambda: bsp.diff_snapshots(a, b))
    offline = run.call("connect(snapshot=)", lambda: bsp.connect(snapshot=b))
    run.call("offline read", lambda: offline.read("session", filters={"name.icontains": "secrets"}))
    run.fail("offline write", lambda: offline.save("session", {"name": "x"}), bsp.SnapshotError)
    return a, b


def exercise_cli(run: Run, a: Path, b: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line: snapshot, read, diff, and a refused token."""
    out, server = run.work / "cli", ["--url", run.sb.url]
    commands = [
        ["snapshot", str(out / "snap"), "--models", "project", "session", "--include", "session:projects", *server],
        ["read", "session", "--filter", "name.icontains=a", "--sort=-date_time", "--format", "json", *server],
        ["read", "project", "--format", "csv", *server],
        ["read", "session", "--include", "projects", "--out", str(out / "tables"), "--format", "parquet", *server],
        ["read", "session", "--snapshot", str(a), "--format", "json", "--quiet"],
        ["diff", str(a), str(b)],
        ["diff", str(a), str(b), "--json"],
    ]
    with monkeypatch.context() as m:
        m.setenv("BRAINSTEM_TOKEN", run.sb.token)
        for argv in commands:
            assert cli_main(argv) == 0, argv
        m.setenv("BRAINSTEM_TOKEN", run.known.values["unknown token"])
        assert cli_main(["read", "project", "--url", run.sb.url, "--quiet"]) == 1


def widget_tree(roots: list[Any]) -> list[Any]:
    """Every live widget, and every widget reachable from ``roots`` through its traits."""
    import ipywidgets as widgets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Widget.widgets: the registry of live widgets
        stack = list(widgets.Widget.widgets.values()) + list(roots)
    found: dict[int, Any] = {}
    while stack:
        widget = stack.pop()
        if id(widget) in found:
            continue
        found[id(widget)] = widget
        for key in widget.keys:
            value = getattr(widget, key, None)
            items = value if isinstance(value, (list, tuple)) else [value]
            stack.extend(v for v in items if isinstance(v, widgets.Widget))
    return list(found.values())


def exercise_widgets(run: Run, clients: dict[str, bsp.Client]) -> None:
    """Sign-in forms (token, password, refused, remembered), the query builder and the explorer."""
    from brainstem_pandas.widgets import Explorer, LoginForm, QueryBuilder

    sb, roots = run.sb, []

    def sign_in(method: str, **values: Any) -> LoginForm:
        form = LoginForm(sb.url, method=method)
        for name, value in values.items():
            getattr(form, name).value = value
        form.sign_in(wait=True, timeout=WAIT)
        roots.append(form)
        return form

    assert sign_in("token", token=sb.token).client is not None
    assert sign_in("password", email=run.email, password=run.password).client is not None
    assert sign_in("token", token=run.known.values["unknown token"]).error.value
    assert sign_in("password", email=run.email, password=run.known.values["wrong password"]).error.value
    assert sign_in("token", token=run.known.values["second user's token"], remember=True).client

    builder = QueryBuilder(clients["demo pair"])
    builder.model.value = "session"
    builder.add_filter("name", "icontains", "a")
    builder.includes["projects"].value = True
    builder.load(wait=True, timeout=WAIT)
    assert builder.result is not None, builder.error.value
    explorer = Explorer(clients["argument"])
    explorer.snapshot_path.value = str(run.work / "explorer-snapshot")
    explorer.write_snapshot(wait=True, timeout=WAIT)
    explorer.builder.load(wait=True, timeout=WAIT)
    explorer.csv_folder.value = str(run.work / "explorer-csv")
    explorer.write_csv()
    signing = Explorer(url=sb.url)
    signing.login.token.value = sb.token
    signing.login.sign_in(wait=True, timeout=WAIT)
    signing.wait(WAIT)
    assert signing.client is not None
    roots += [builder, explorer, signing]

    for widget in widget_tree(roots):
        run.collected.text(
            f"widget state {type(widget).__name__}", json.dumps(widget.get_state(), default=repr), repr(widget)
        )
    for form in roots:
        run.collected.obj("widget object", form)


def exercise_notebook(run: Run, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """01_quickstart, connected through BRAINSTEM_URL and BRAINSTEM_TOKEN; collect its executed outputs."""
    import nbformat
    from jupyter_env import isolated_jupyter
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    connect_cell = next(cell.source for cell in nb.cells if cell.cell_type == "code" and "bsp.connect(" in cell.source)
    assert 'os.environ.get("BRAINSTEM_TOKEN")' in connect_cell, "the notebook no longer reads BRAINSTEM_TOKEN"
    folder = run.work / "notebook"
    folder.mkdir()
    with monkeypatch.context() as m:
        for name, value in isolated_jupyter(tmp / "jupyter").items():
            m.setenv(name, value)
        m.setenv("BRAINSTEM_URL", run.sb.url)
        m.setenv("BRAINSTEM_TOKEN", run.sb.token)
        m.delenv("BRAINSTEM_API_TOKEN", raising=False)
        NotebookClient(
            nb, timeout=300, startup_timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
    printed = "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", []))
    assert f"Using the server at {run.sb.url}" in printed, "the notebook did not use the sandbox it was given"
    run.collected.text("executed notebook", nbformat.writes(nb))


def collect_files(collected: Collected, folder: Path) -> None:
    """Every file's bytes; for Parquet files also their key-value metadata and their rows."""
    import pyarrow.parquet as pq

    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        collected.blob(f"file {name}", path.read_bytes())
        if path.suffix == ".parquet":
            meta = pq.read_metadata(path).metadata or {}
            collected.text(f"parquet metadata {name}", repr(meta), *(v.decode(errors="replace") for v in meta.values()))
            collected.text(f"parquet rows {name}", repr(pq.read_table(path).to_pylist()))


def planted_secret_is_found(run: Run, keep: Keep) -> None:
    """The scan can fail: a secret logged through urllib3's logger and warned is found in both channels."""
    token = run.sb.token
    logging.getLogger("urllib3.connectionpool").debug("planted %s", token[:20])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(f"planted {KIND_MARKER.sub('', token)[:12]}", UserWarning)
    probe = Collected()
    collect_records(probe, [r for r in keep.records if r.msg == "planted %s"])
    collect_warnings(probe, caught)
    channels = {line.split(" in ", 1)[1].split(":")[0] for line in find_leaks(probe, run.known)}
    assert channels == {"log urllib3.connectionpool", "warning UserWarning"}, channels


@pytest.mark.timeout(300)
def test_no_secret_appears_anywhere(make_sandbox, stubs, tmp_path, monkeypatch, capfd):
    """Exercise the toolkit broadly; no secret appears in any text, log, warning, file or output."""
    import ipywidgets  # noqa: F401  (imported before logging is captured, so its loggers are known)
    import nbclient  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN", "BRAINSTEM_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(work)  # anything written to a relative default path lands in the scanned folder

    # Access tokens live 4 s, so reads renew them and refresh tokens rotate along the way.
    run = Run(sb=make_sandbox(access_ttl=4), work=work)
    run.email = f"secrets-{secrets.token_hex(4)}@lab.example"
    run.password = "pw-" + secrets.token_urlsafe(24)
    run.known.add("demo token", run.sb.token)
    run.known.add("demo password", run.sb.password, fixed=True)
    run.known.add("password", run.password)
    run.known.add("wrong password", "pw-" + secrets.token_urlsafe(24))
    run.known.add("second user's token", run.sb.add_user(run.email, run.password))
    spy_on_sign_ins(monkeypatch, run.known)
    capfd.readouterr()  # the sandbox's start-up chatter is not the toolkit's

    with every_log_record() as keep, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clients = exercise_connections(run, monkeypatch)
        exercise_reads(run, clients)
        exercise_writes_and_failures(run, clients)
        exercise_pagination_error(run, stubs)
        exercise_device_login(run)
        a, b = exercise_snapshots(run, clients)
        exercise_cli(run, a, b, monkeypatch)
        exercise_widgets(run, clients)
        exercise_notebook(run, tmp_path, monkeypatch)
        for client in clients.values():
            run.collected.obj("client at the end", client)
            run.known.add("last access", getattr(client.transport.credentials, "access", None))
            run.known.add("last refresh", getattr(client.transport.credentials, "refresh", None))

        c = run.collected
        collect_records(c, keep.records)
        collect_warnings(c, caught)
        out, err = capfd.readouterr()
        c.text("stdout", out)
        c.text("stderr", err)
        collect_files(c, work)

        # The run met what it claims: sign-ins issued tokens, logs and warnings were captured.
        assert any(name.startswith("issued refresh") for name in run.known.values)
        assert sum(name.startswith("issued access") for name in run.known.values) >= 3  # four password sign-ins
        assert any(name.startswith("issued device_code") for name in run.known.values)
        assert any(r.name.startswith("urllib3") for r in keep.records), "urllib3's debug log was not captured"
        assert any(issubclass(w.category, RuntimeWarning) for w in caught), "the inconsistency warning is missing"
        assert "brainstem-pandas read" in err and "Snapshot" in out
        assert (work / "snap-a" / "manifest.json").exists()

        leaks = find_leaks(c, run.known)
        assert not leaks, f"{len(leaks)} secret(s) leaked:\n" + "\n".join(leaks[:40])
        planted_secret_is_found(run, keep)


def test_the_scanner_finds_whole_secrets_and_prefixes_in_every_kind_of_channel():
    known = Secrets()
    known.add("token", "bst_refresh_" + "Q" * 5 + secrets.token_urlsafe(24))
    known.add("demo password", "sandbox-demo-password", fixed=True)
    token = known.values["token"]
    c = Collected()
    c.text("clean", "nothing here; bst_refresh_ alone is no secret, nor is sandbox-demo")
    assert find_leaks(c, known) == []
    c.error("error", _chained(token[12:24]))
    c.blob("file x.parquet", b"\x00PAR1" + token.encode() + b"\x00")
    c.text("log", "signed in with sandbox-demo-password")
    found = find_leaks(c, known)
    assert any(line.startswith("token (first 12 characters) in error") for line in found), found
    assert any(line.startswith("token (whole) in file x.parquet") for line in found), found
    assert any(line.startswith("demo password (whole) in log") for line in found), found


def _chained(secret: str) -> BaseException:
    """An error whose secret sits only two links down: in the context of its cause."""
    middle = ValueError("middle")
    middle.__context__ = KeyError(secret)
    outer = RuntimeError("outer")
    outer.__cause__ = middle
    return outer


# -- 2. the token cache file -------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run with this umask: a permissive one shows the modes are set, not inherited by luck."""
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME in a temporary folder with no ~/.config yet."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    assert auth.token_file() == folder / ".config" / "brainstem" / "token"
    return folder


def test_default_token_cache_is_created_private(umask, home):
    path = auth.save_token("bst_pat_" + secrets.token_urlsafe(16))
    assert path == home / ".config" / "brainstem" / "token"
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700  # created by the save
    assert mode(path.parent.parent) == 0o700  # ~/.config too, created on the way


def test_wider_token_cache_is_narrowed(umask, home):
    path = auth.token_file()
    path.parent.mkdir(parents=True)
    path.write_text("old")
    path.chmod(0o666)
    path.parent.chmod(0o777)
    auth.save_token("bst_pat_narrowed")
    assert path.read_text() == "bst_pat_narrowed"
    assert (mode(path), mode(path.parent)) == (0o600, 0o700)


def test_remember_me_in_the_sign_in_form_writes_a_private_cache(umask, home, sandbox):
    from brainstem_pandas.widgets import LoginForm

    form = LoginForm(sandbox.url)
    form.token.value, form.remember.value = sandbox.token, True
    form.sign_in(wait=True, timeout=WAIT)
    assert form.client is not None, form.error.value
    path = auth.token_file()
    assert path.read_text() == sandbox.token
    assert (mode(path), mode(path.parent)) == (0o600, 0o700)


def test_cli_env_file_with_a_token_is_private_even_over_a_wider_one(umask, tmp_path):
    path = tmp_path / "sandbox.env"
    path.write_text("old")
    path.chmod(0o666)
    write_env_file(path, {"BRAINSTEM_TOKEN": "bst_pat_env-file"})
    assert mode(path) == 0o600 and "bst_pat_env-file" in path.read_text()


# -- 3. the token goes nowhere else ------------------------------------------------------------

TOKEN = "bst_pat_" + secrets.token_urlsafe(24)
PASSWORD = "pw-" + secrets.token_urlsafe(24)


def list_page(records: list[dict], next_url: str | None, count: int = 2) -> dict:
    return {"count": count, "next": next_url, "previous": None, "results": records}


def assert_no_secret_arrived(stub: Stub, *secret_values: str) -> None:
    for seen in stub.seen:
        assert "authorization" not in seen.headers, seen
        for value in secret_values:
            assert value.encode() not in seen.body and value not in seen.path, seen


def two_servers_with_a_foreign_next_link(stubs: Callable[[Answer], Stub]) -> tuple[Stub, Stub]:
    other = stubs(lambda seen: (200, {}, list_page([{"id": "foreign"}], None)))
    home = stubs(lambda seen: (200, {}, list_page([{"id": "home"}], f"{other.url}/api/things/?page=2")))
    return home, other


def test_next_link_to_another_server_never_carries_the_token(stubs):
    home, other = two_servers_with_a_foreign_next_link(stubs)
    client = bsp.Client(home.url, auth.StaticToken(TOKEN), progress=False, retry=QUICK)
    with contextlib.suppress(bsp.BrainstemError):  # refusing the link is fine too (see below)
        client.read_url("/api/things/", paginator=bsp.NextLinkPaginator())
    assert home.seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert_no_secret_arrived(other, TOKEN)


def test_model_reads_never_follow_a_foreign_next_link(stubs):
    # read() plans limit/offset pages from the count: a next link elsewhere is not even visited.
    other = stubs(lambda seen: (200, {}, {}))
    home = stubs(lambda seen: (200, {}, {"count": 1, "next": f"{other.url}/steal/", "projects": [{"id": "p1"}]}))
    client = bsp.Client(home.url, auth.StaticToken(TOKEN), progress=False)
    assert list(client.read("project").index) == ["p1"]
    assert other.seen == []


def test_next_link_to_another_server_is_refused(stubs):
    home, other = two_servers_with_a_foreign_next_link(stubs)
    client = bsp.Client(home.url, auth.StaticToken(TOKEN), progress=False, retry=QUICK)
    with pytest.raises(bsp.ResponseError, match=re.escape(f"127.0.0.1:{other.port}")):
        client.read_url("/api/things/", paginator=bsp.NextLinkPaginator())
    assert other.seen == []


def redirecting(status: int, target: Stub) -> Answer:
    return lambda seen: (status, {"Location": f"{target.url}{seen.path}"}, None)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_another_server_never_carries_the_token(stubs, status):
    other = stubs(lambda seen: (200, {}, {"session": {"id": "s1", "name": "elsewhere"}}))
    home = stubs(redirecting(status, other))
    client = bsp.Client(home.url, auth.StaticToken(TOKEN), progress=False, retry=QUICK)
    with contextlib.suppress(bsp.BrainstemError):
        client.get("session", "s1")
    with contextlib.suppress(bsp.BrainstemError):
        client.save("session", {"name": "moved", "projects": ["p1"]})
    assert home.seen and all(s.headers["authorization"] == f"Bearer {TOKEN}" for s in home.seen)
    assert other.seen, "the redirect was not followed at all; this test would prove nothing"
    assert_no_secret_arrived(other, TOKEN)


SIGN_INS = {
    "password": lambda url: auth.password_login(url, "me@lab.example", PASSWORD),
    "refresh": lambda url: auth.TokenPair(
        "bst_access_" + "a" * 20, "bst_refresh_" + PASSWORD, 0.0, f"{url}/api/auth/token/refresh/"
    ).header(),
    "device poll": lambda url: auth.DeviceLogin(
        url, "dev-" + PASSWORD, "ABCD-EFGH", f"{url}/a/", f"{url}/a/", 1.0, 60.0
    ).poll_once(),
}


@pytest.mark.parametrize("status", [302, 307, 308])
@pytest.mark.parametrize("sign_in", list(SIGN_INS))
def test_sign_in_requests_are_not_redirected_to_another_server(stubs, sign_in, status):
    other = stubs(lambda seen: (200, {}, {"access": "x", "refresh": "y", "status": "authorization_pending"}))
    home = stubs(redirecting(status, other))
    with pytest.raises(bsp.AuthenticationError) as info:
        SIGN_INS[sign_in](home.url)
    assert PASSWORD.encode() in home.seen[0].body  # it was sent where it belongs
    assert_no_secret_arrived(other, PASSWORD)
    assert other.url in str(info.value) and PASSWORD not in str(info.value)


# -- plain http to a host that is not loopback ------------------------------------------------

REMOTE = "api.brainstem.test"  # a reserved name; its lookups are answered here, never by DNS


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Answer name lookups here: REMOTE is this machine, loopback is itself, anything else fails."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(str(host))
        if host == REMOTE:
            return real("127.0.0.1", port, *args, **kwargs)
        if host in ("127.0.0.1", "localhost", "::1"):
            return real(host, port, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"no network in tests: {host}")

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return asked


def sign_in_server(stubs: Callable[[Answer], Stub]) -> Stub:
    pair = {"access": "bst_access_" + "b" * 24, "refresh": "bst_refresh_" + "c" * 24, "expires_in": 3600}
    return stubs(lambda seen: (200, {}, pair if seen.path.startswith("/api/auth/") else {"count": 0, "results": []}))


WAYS = {
    "connect(token=)": lambda url, **kw: bsp.connect(url, token=TOKEN, **kw).transport.get("/api/x/"),
    "Client(StaticToken)": lambda url, **kw: bsp.Client(url, auth.StaticToken(TOKEN), **kw).transport.get("/api/x/"),
    "connect(email=, password=)": lambda url, **kw: bsp.connect(
        url, email="me@lab.example", password=PASSWORD, **kw
    ).transport.get("/api/x/"),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_plain_http_to_a_remote_host_is_refused_before_connecting(stubs, lookups, way):
    server = sign_in_server(stubs)
    with pytest.raises(bsp.ConfigurationError, match="allow_insecure_http"):
        WAYS[way](f"http://{REMOTE}:{server.port}")
    assert REMOTE not in lookups, "a connection was attempted before the refusal"
    assert server.seen == []


@pytest.mark.parametrize("way", list(WAYS))
def test_plain_http_to_a_remote_host_is_allowed_when_asked_for(stubs, lookups, way):
    server = sign_in_server(stubs)
    WAYS[way](f"http://{REMOTE}:{server.port}", allow_insecure_http=True)
    assert REMOTE in lookups
    assert server.seen[-1].path == "/api/x/" and server.seen[-1].headers["authorization"].startswith("Bearer ")


def test_sign_in_form_refuses_plain_http_to_a_remote_host(stubs, lookups):
    from brainstem_pandas.widgets import LoginForm

    server = sign_in_server(stubs)
    form = LoginForm(f"http://{REMOTE}:{server.port}", method="password")
    form.email.value, form.password.value = "me@lab.example", PASSWORD
    form.sign_in(wait=True, timeout=WAIT)
    assert form.client is None and "allow_insecure_http" in form.error.value
    assert REMOTE not in lookups and server.seen == []
    assert form.password.value == ""


# -- locals-showing tracebacks of every error path, one by one ---------------------------------

LOCAL_TOKEN = "bst_pat_" + secrets.token_urlsafe(24)
LOCAL_PASSWORD = "pw-" + secrets.token_urlsafe(24)
LOCAL_REFRESH = "bst_refresh_" + secrets.token_urlsafe(24)
FAST = RetryPolicy(attempts=2, backoff=0.0, max_delay=0.0)


class Call:
    """``fn(*args, **kwargs)`` with a repr that hides them (this frame is the test's, not the library's)."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def __repr__(self) -> str:
        return "Call(...)"

    def __call__(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


def _pair(url: str) -> auth.TokenPair:
    return auth.TokenPair(LOCAL_TOKEN, LOCAL_REFRESH, 0.0, f"{url}/api/auth/token/refresh/", transport=_quick(url))


def _quick(url: str) -> Any:
    from brainstem_pandas.transport import Transport

    return Transport(url, timeout=(1.0, 0.3, 1.0), retry=FAST, follow_redirects=False)


def _read(url: str, credentials: Any = None) -> Any:
    client = bsp.connect(url, token=LOCAL_TOKEN, retry=FAST, timeout=(1.0, 0.3, 1.0), progress=False)
    if credentials is not None:
        client.transport.credentials = credentials
    return client.read("session")


def _device(url: str) -> Any:
    return auth.start_device_login(url, transport=_quick(url)).wait(timeout=0.3)


LOCALS_CASES = {
    "wrong token (401)": (lambda s: Reply(401, body={"detail": "bad"}), lambda url: Call(_read, url)),
    "refresh refused": (
        lambda s: Reply(400 if "refresh" in s.path else 401, body={"detail": "no"}),
        lambda url: Call(_read, url, _pair(url)),
    ),
    "refresh endpoint down": (lambda s: Reply(503, body={}), lambda url: Call(_read, url, _pair(url))),
    "timeout (trickled body)": (
        lambda s: Reply(body=b"[" + b" " * 200, trickle=(5, 0.1)),
        lambda url: Call(_read, url),
    ),
    "reset": (lambda s: Reply(reset=True), lambda url: Call(_read, url)),
    "sign-in 400": (
        lambda s: Reply(400, body={"detail": "wrong"}),
        lambda url: Call(bsp.connect, url, email="a@b.c", password=LOCAL_PASSWORD, retry=FAST, progress=False),
    ),
    "sign-in 500": (
        lambda s: Reply(500, body={}),
        lambda url: Call(auth.password_login, url, "a@b.c", LOCAL_PASSWORD, transport=_quick(url)),
    ),
    "sign-in answers a token then the read is refused": (
        lambda s: (
            Reply(body={"access": LOCAL_TOKEN, "refresh": LOCAL_REFRESH})
            if s.path.startswith("/api/auth/")
            else Reply(403, body={"detail": "no"})
        ),
        lambda url: Call(
            lambda: bsp.connect(url, email="a@b.c", password=LOCAL_PASSWORD, retry=FAST, progress=False).read("session")
        ),
    ),
    "device flow denied": (
        lambda s: (
            Reply(body={"device_code": LOCAL_REFRESH, "user_code": "AB", "verification_uri": "https://u.test/"})
            if s.path == "/api/auth/device/"
            else Reply(body={"error": "access_denied"})
        ),
        lambda url: Call(_device, url),
    ),
}


@pytest.mark.parametrize("name", list(LOCALS_CASES))
def test_locals_showing_tracebacks_hold_no_secret(name: str, hostile: Callable[..., Any]) -> None:
    script, call = LOCALS_CASES[name]
    server = hostile(script)
    with pytest.raises(bsp.BrainstemError) as info:
        call(server.url)()
    exc = info.value
    exc.__traceback__ = without_test_frames(exc.__traceback__)
    texts = {"capture_locals": with_locals(exc), "IPython verbose": ipython_verbose(exc)}
    for label, text in texts.items():
        for secret in (LOCAL_TOKEN, LOCAL_PASSWORD, LOCAL_REFRESH):
            assert secret not in text and secret[8:20] not in text, f"{label} shows a secret"
    # The secrets did travel (to where they belong), so the scan is not vacuous.
    sent = [json.dumps([seen.headers, seen.body.decode()]) for seen in server.seen]
    assert any(secret in text for text in sent for secret in (LOCAL_TOKEN, LOCAL_PASSWORD, LOCAL_REFRESH))


def test_connection_refused_traceback_holds_no_secret() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(bsp.TransportError) as info:
        Call(_read, f"http://127.0.0.1:{port}")()
    exc = info.value
    exc.__traceback__ = without_test_frames(exc.__traceback__)
    assert exc.__cause__ is None and exc.__context__ is None  # summarised, not chained
    for text in (with_locals(exc), ipython_verbose(exc)):
        assert LOCAL_TOKEN not in text and LOCAL_TOKEN[8:20] not in text


def test_the_token_cache_is_not_read_or_written_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("bst_pat_planted-by-someone-else")
    link = tmp_path / "token"
    link.symlink_to(target)
    with pytest.raises(bsp.ConfigurationError, match="symbolic link.*Delete the link"):
        auth.load_cached_token(link)
    with pytest.raises(bsp.ConfigurationError, match="symbolic link.*Delete the link"):
        auth.save_token("bst_pat_mine-0123456789", link)
    assert target.read_text() == "bst_pat_planted-by-someone-else"  # nothing written through the link


def test_a_cache_file_others_can_read_is_narrowed_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("bst_pat_wide-open-0123456789")
    path.chmod(0o644)
    with pytest.warns(UserWarning, match=f"{re.escape(str(path))} was readable by others.*now 0600"):
        found = auth.load_cached_token(path)
    assert found is not None and found.reveal() == "bst_pat_wide-open-0123456789"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once narrowed, no warning again
        auth.load_cached_token(path)


def test_credentials_in_the_login_form_address_are_refused_and_cleared() -> None:
    from brainstem_pandas.widgets import LoginForm

    form = LoginForm(f"http://me:{LOCAL_PASSWORD}@127.0.0.1:9")
    form.token.value = LOCAL_TOKEN
    form.sign_in_button.click()
    form.wait(10)
    assert form.client is None and "pass token=" in form.error.value
    state = json.dumps([form.url.get_state(), form.error.get_state(), form.status.get_state()], default=str)
    assert LOCAL_PASSWORD not in state and LOCAL_PASSWORD not in repr(form) and form.token.value == ""
