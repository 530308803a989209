"""A scriptable loopback server that answers as a lying, broken or malicious BrainSTEM would.

Each request is handed to a *script*, a function of the :class:`Seen` request that returns
the :class:`Reply` to send: any status, headers and body, with the framing chosen on purpose
(a true or lying ``Content-Length``, chunked, or none with the connection closed), a body cut
short, gzip-encoded (and cut inside the compressed stream), delayed, trickled a few bytes at a
time, or a connection reset without a word. It listens on 127.0.0.1 on a free port, records
every request it saw, and stops when the ``with`` block ends.

>>> with HostileServer(lambda seen: Reply(body={"sessions": [], "count": 0})) as server:
...     import requests
...     requests.get(server.url + "/api/private/stem/session/").json()
{'sessions': [], 'count': 0}
"""

from __future__ import annotations

import gzip as gzip_module
import json
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    number: int  # 0 for the first request the server saw
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    """What to send back, byte for byte.

    ``body`` may be bytes, text, or anything JSON-serialisable (sent as JSON). ``framing`` is
    ``"length"`` (``Content-Length``: the true length, or ``content_length`` if given, which may
    lie), ``"chunked"`` or ``"close"`` (no length; the connection is closed after the body).
    ``cut`` sends only the first ``cut`` bytes of the (encoded) body, then closes. ``trickle``
    is ``(bytes, seconds)``: the body is written that many bytes at a time with that pause.
    ``reset`` closes the connection at once with a TCP reset, sending nothing.
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    framing: str = "length"
    content_length: int | None = None
    cut: int | None = None
    gzip: bool = False
    delay: float = 0.0
    trickle: tuple[int, float] | None = None
    reset: bool = False

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            raw = self.body
        elif isinstance(self.body, str):
            raw = self.body.encode()
        else:
            raw = json.dumps(self.body).encode()
        return gzip_module.compress(raw) if self.gzip else raw


Script = Callable[[Seen], Reply]


def json_reply(body: Any, status: int = 200, **options: Any) -> Reply:
    """A JSON answer with the right content type."""
    headers = {"Content-Type": "application/json", **options.pop("headers", {})}
    return Reply(status=status, body=body, headers=headers, **options)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the tests read server.seen
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        parts = urlsplit(self.path)
        seen = self.server.record(
            self.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            dict(self.headers),
            self.rfile.read(length) if length else b"",
        )
        reply = self.server.script(seen)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.reset:
            self._reset()
            return
        self._send(reply)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _send(self, reply: Reply) -> None:
        body = reply.encoded()
        self.send_response_only(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.gzip:
            self.send_header("Content-Encoding", "gzip")
        if reply.framing == "length":
            self.send_header("Content-Length", str(len(body) if reply.content_length is None else reply.content_length))
        elif reply.framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        closing = reply.framing == "close" or reply.cut is not None
        if closing:
            self.send_header("Connection", "close")
        self.end_headers()
        if reply.cut is not None:
            body = body[: reply.cut]
        self._write_body(body, reply)
        if closing:
            self.close_connection = True

    def _write_body(self, body: bytes, reply: Reply) -> None:
        step, pause = reply.trickle or (len(body) or 1, 0.0)
        chunked = reply.framing == "chunked"
        try:
            for start in range(0, len(body), step):
                piece = body[start : start + step]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                self.wfile.flush()
                if pause:
                    time.sleep(pause)
            if chunked and reply.cut is None:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: that is its right
            self.close_connection = True


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, script: Script) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    def record(self, method: str, path: str, query: dict, headers: dict, body: bytes) -> Seen:
        with self._lock:
            seen = Seen(len(self.seen), method, path, query, headers, body)
            self.seen.append(seen)
        return seen


class HostileServer:
    """A loopback HTTP server answering every request with ``script(seen)``.

    Attributes
    ----------
    url : str
        ``http://127.0.0.1:PORT`` (no trailing slash).
    seen : list of Seen
        Every request received, in order.
    """

    def __init__(self, script: Script) -> None:
        self._server = _Server(script)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def seen(self) -> list[Seen]:
        return self._server.seen

    @property
    def script(self) -> Script:
        return self._server.script

    @script.setter
    def script(self, script: Script) -> None:
        self._server.script = script

    def start(self) -> "HostileServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "HostileServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
