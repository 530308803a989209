"""The HTTP transport as a user meets it: retries, waits, typed errors, tokens.

Most tests talk to a small scripted HTTP server of their own (stdlib
``ThreadingHTTPServer`` on 127.0.0.1) that answers a queue of scripted replies,
including misbehaviour no real framework produces on demand (a connection
closed without an answer, a body shorter than its ``Content-Length``), and
records every request it got. A few end-to-end tests then run the transport
against the sandbox server's fault injection.

Timing checks are lower bounds only: a wait that was asked for must have
happened; nothing asserts that the machine was fast.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import brainstem_pandas as bsp
from brainstem_pandas.auth import StaticToken, TokenPair
from brainstem_pandas.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ServerError,
    TransportError,
    UnauthorizedError,
    ValidationError,
)
from brainstem_pandas.transport import RetryPolicy, Transport, parse_retry_after

# Distinctive strings: if one of them shows up in a message, it leaked.
TOKEN = "tok-SECRET-a1b2c3d4e5f6"
ACCESS_1, ACCESS_2 = "acc-SECRET-first-9f8e7d", "acc-SECRET-second-6c5b4a"
REFRESH_1, REFRESH_2 = "ref-SECRET-first-3e2d1c", "ref-SECRET-second-0b9a8f"
SECRETS = (TOKEN, ACCESS_1, ACCESS_2, REFRESH_1, REFRESH_2)

# Retries without noticeable waits, for tests that count requests.
FAST = RetryPolicy(attempts=6, backoff=0.01, max_delay=0.05)
OK = {"ok": True}


# -- the scripted server -------------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer.

    ``action`` is None for a normal answer, ``"close"`` to close the connection
    without answering, ``"reset"`` to drop it with a TCP RST, or ``"truncate"``
    to send the headers with a ``Content-Length`` twice the body's size, the
    body, and then close. ``sleep`` seconds pass before anything is sent.
    """

    status: int = 200
    body: Any = field(default_factory=lambda: dict(OK))
    headers: dict[str, str] = field(default_factory=dict)
    action: str | None = None
    sleep: float = 0.0

    def payload(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


@dataclass
class Seen:
    """A request the scripted server received."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Script = Reply | Callable[[Seen], Reply]


class ScriptedServer:
    """An HTTP/1.1 server on 127.0.0.1 answering scripted replies in order.

    Replies queued for a path (``on``) are used for requests to that path
    (query ignored); everything else takes the next reply of the general queue
    (``queue``). An unscripted request gets a 418, which no test expects.
    """

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._queue: deque[Script] = deque()
        self._paths: dict[str, deque[Script]] = {}
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def queue(self, *replies: Script) -> None:
        with self._lock:
            self._queue.extend(replies)

    def on(self, path: str, *replies: Script) -> None:
        with self._lock:
            self._paths.setdefault(path, deque()).extend(replies)

    def clear(self) -> None:
        """Drop the replies not used yet."""
        with self._lock:
            self._queue.clear()
            self._paths.clear()

    def seen(self, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path.split("?")[0] == path]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def _next(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            own = self._paths.get(seen.path.split("?")[0])
            source = own if own else self._queue
            script = source.popleft() if source else Reply(418, {"detail": "unscripted request"})
        return script(seen) if callable(script) else script

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like a real server
            timeout = 10  # idle keep-alive connections end on their own

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                reply = server._next(seen)
                if reply.sleep:
                    time.sleep(reply.sleep)
                if reply.action == "close":
                    self.close_connection = True
                    return
                if reply.action == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                data, ctype = reply.payload()
                self.send_response(reply.status)
                headers = {"Content-Type": ctype, **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                if reply.action == "truncate":
                    self.send_header("Content-Length", str(2 * len(data)))
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
                pass

        return Handler


@pytest.fixture
def make_server() -> Iterator[Callable[[], ScriptedServer]]:
    started: list[ScriptedServer] = []

    def start() -> ScriptedServer:
        server = ScriptedServer()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: Callable[[], ScriptedServer]) -> ScriptedServer:
    return make_server()


@pytest.fixture
def connect() -> Iterator[Callable[..., Transport]]:
    """Transports with fast retries by default, closed when the test ends."""
    made: list[Transport] = []

    def make(url: str, credentials: Any = None, **options: Any) -> Transport:
        options.setdefault("retry", FAST)
        options.setdefault("timeout", (5.0, 10.0))
        transport = Transport(url, credentials, **options)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into {text!r}"


# -- retries -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_status_is_retried_then_succeeds(server, connect, status):
    server.queue(
        Reply(status, {"detail": "try again"}), Reply(status, {"detail": "try again"}), Reply(200, {"results": [1, 2]})
    )
    transport = connect(server.url)
    assert transport.get("/api/things/") == {"results": [1, 2]}
    assert len(server.seen()) == 3
    assert transport.requests_sent == 3


def test_retry_resends_the_same_request(server, connect):
    server.queue(Reply(503, {"detail": "busy"}), Reply(200, OK))
    transport = connect(server.url, StaticToken(TOKEN))
    transport.get("/api/things/", params={"limit": 5, "offset": 10})
    first, second = server.seen()
    assert first.path == second.path == "/api/things/?limit=5&offset=10"
    assert first.headers["authorization"] == second.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_honoured(server, connect, status):
    server.queue(Reply(status, {"detail": "slow down"}, {"Retry-After": "1"}), Reply(200, OK))
    transport = connect(server.url)
    start = time.monotonic()
    assert transport.get("/api/things/") == OK
    assert time.monotonic() - start >= 0.95
    assert len(server.seen()) == 2


def test_retry_after_http_date_is_honoured(server, connect):
    # HTTP dates have whole seconds: two seconds ahead is at least one second away.
    when = formatdate(time.time() + 2, usegmt=True)
    server.queue(Reply(429, {"detail": "slow down"}, {"Retry-After": when}), Reply(200, OK))
    transport = connect(server.url)
    start = time.monotonic()
    assert transport.get("/api/things/") == OK
    assert time.monotonic() - start >= 0.9
    assert len(server.seen()) == 2


@pytest.mark.parametrize("value", ["0", "-5", "-0.5", "soon", formatdate(time.time() - 3600, usegmt=True)])
def test_useless_retry_after_falls_back_to_backoff(server, connect, value):
    # A server saying "retry now" (or nonsense) gets the ordinary capped backoff:
    # no hot loop, and neither a give-up nor a long wait.
    server.queue(*[Reply(429, {"detail": "slow down"}, {"Retry-After": value}) for _ in range(3)], Reply(200, OK))
    transport = connect(server.url)
    assert transport.get("/api/things/") == OK
    assert len(server.seen()) == 4


def test_rate_limit_reset_is_waited_for_when_remaining_is_zero(server, connect):
    reset = f"{time.time() + 1.5:.3f}"
    server.queue(
        Reply(429, {"detail": "quota"}, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}), Reply(200, OK)
    )
    transport = connect(server.url)
    start = time.monotonic()
    assert transport.get("/api/things/") == OK
    assert time.monotonic() - start >= 1.3
    assert len(server.seen()) == 2


def test_rate_limit_reset_is_ignored_while_requests_remain(server, connect):
    # Honouring a reset 1000 s away would exceed max_wait and raise; backoff does not.
    far = str(int(time.time()) + 1000)
    server.queue(
        Reply(503, {"detail": "busy"}, {"X-RateLimit-Remaining": "7", "X-RateLimit-Reset": far}), Reply(200, OK)
    )
    transport = connect(server.url)
    assert transport.get("/api/things/") == OK
    assert len(server.seen()) == 2


def test_attempts_are_capped(server, connect):
    server.queue(*[Reply(503, {"detail": "upstream exploded"}) for _ in range(10)])
    transport = connect(server.url, retry=RetryPolicy(attempts=3, backoff=0.01))
    with pytest.raises(ServerError) as info:
        transport.get("/api/things/?limit=5")
    assert len(server.seen()) == 3
    exc = info.value
    assert exc.status == 503 and exc.attempts == 3 and exc.method == "GET"
    message = str(exc)
    assert "GET" in message
    assert f"{server.url}/api/things/?limit=5" in message
    assert "upstream exploded" in message


def test_retry_after_beyond_max_wait_gives_up_at_once(server, connect):
    server.queue(Reply(429, {"detail": "Request was throttled."}, {"Retry-After": "3600"}), Reply(200, OK))
    transport = connect(server.url, retry=RetryPolicy(max_wait=120))
    with pytest.raises(RateLimitError) as info:
        transport.get("/api/things/")
    assert info.value.retry_after == 3600
    assert "3600" in str(info.value) and "throttled" in str(info.value)
    assert len(server.seen()) == 1


def test_total_wait_is_capped_across_retries(server, connect):
    # Each wait is allowed on its own; together they pass max_wait, so the
    # transport stops before the third request rather than sleeping on.
    server.queue(*[Reply(429, {"detail": "slow"}, {"Retry-After": "0.6"}) for _ in range(5)], Reply(200, OK))
    transport = connect(server.url, retry=RetryPolicy(attempts=10, max_wait=1.0))
    with pytest.raises(RateLimitError) as info:
        transport.get("/api/things/")
    assert len(server.seen()) == 2
    assert info.value.attempts == 2


@pytest.mark.parametrize("action", ["close", "reset", "truncate"])
def test_broken_connection_is_retried_for_get(server, connect, action):
    server.queue(Reply(200, {"half": "x" * 500}, action=action), Reply(200, {"whole": True}))
    transport = connect(server.url)
    assert transport.get("/api/things/") == {"whole": True}
    assert len(server.seen()) == 2


def test_read_timeout_is_retried_for_get(server, connect):
    server.queue(Reply(200, {"late": True}, sleep=1.0), Reply(200, {"on_time": True}))
    transport = connect(server.url, timeout=(5.0, 0.3))
    assert transport.get("/api/things/") == {"on_time": True}
    assert len(server.seen()) == 2


@pytest.mark.parametrize("action", ["close", "truncate"])
def test_broken_connection_after_all_attempts_is_a_transport_error(server, connect, action):
    server.queue(*[Reply(200, {"half": "x" * 500}, action=action) for _ in range(3)])
    transport = connect(server.url, StaticToken(TOKEN), retry=RetryPolicy(attempts=3, backoff=0.01))
    with pytest.raises(TransportError) as info:
        transport.get("/api/things/")
    assert len(server.seen()) == 3
    assert info.value.attempts == 3
    assert f"{server.url}/api/things/" in str(info.value)
    assert_no_secret(str(info.value), repr(info.value))


def test_unreachable_server_is_a_transport_error(connect):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    transport = connect(url, retry=RetryPolicy(attempts=2, backoff=0.01))
    with pytest.raises(TransportError) as info:
        transport.get("/api/things/")
    assert info.value.attempts == 2 and url in str(info.value)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_post_is_not_retried_on_server_errors(server, connect, status):
    # The request may have been carried out: sending it again could create twice.
    server.queue(Reply(status, {"detail": "boom"}), Reply(201, {"id": 1}))
    transport = connect(server.url)
    with pytest.raises(ServerError) as info:
        transport.request("POST", "/api/things/", json_body={"name": "a"})
    assert info.value.status == status and "boom" in str(info.value)
    assert len(server.seen()) == 1


@pytest.mark.parametrize("action", ["close", "truncate"])
def test_post_is_not_retried_on_connection_errors(server, connect, action):
    server.queue(Reply(201, {"id": 1}, action=action), Reply(201, {"id": 2}))
    transport = connect(server.url)
    with pytest.raises(TransportError) as info:
        transport.request("POST", "/api/things/", json_body={"name": "a"})
    assert info.value.attempts == 1 and "POST" in str(info.value)
    assert len(server.seen()) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_post_is_retried_when_the_server_refused_it(server, connect, status):
    # 429 and 503 mean the request was not processed, so resending is safe.
    server.queue(Reply(status, {"detail": "later"}), Reply(201, {"id": 7}))
    transport = connect(server.url)
    assert transport.request("POST", "/api/things/", json_body={"name": "a"}) == {"id": 7}
    first, second = server.seen()
    assert first.method == second.method == "POST"
    assert first.json() == second.json() == {"name": "a"}


# -- typed errors ----------------------------------------------------------------------


def test_400_with_fields_is_a_validation_error(server, connect):
    body = {"name": ["This field is required."], "projects": ['Invalid pk "x" - object does not exist.']}
    server.queue(Reply(400, body))
    with pytest.raises(ValidationError) as info:
        connect(server.url).request("POST", "/api/things/", json_body={})
    exc = info.value
    assert isinstance(exc, BadRequestError)
    assert exc.errors == body
    assert exc.status == 400 and exc.body == body
    assert "This field is required." in str(exc) and "name" in str(exc)
    assert len(server.seen()) == 1


def test_400_without_fields_is_a_bad_request(server, connect):
    server.queue(Reply(400, {"detail": "Unknown filter 'colour'."}))
    with pytest.raises(BadRequestError) as info:
        connect(server.url).get("/api/things/?colour=red")
    assert not isinstance(info.value, ValidationError)
    assert "Unknown filter 'colour'" in str(info.value)


@pytest.mark.parametrize(
    ("status", "cls"),
    [(401, UnauthorizedError), (403, PermissionDeniedError), (404, NotFoundError), (409, APIError)],
)
def test_error_statuses_raise_their_class(server, connect, status, cls):
    server.queue(Reply(status, {"detail": f"explained {status}"}), Reply(200, OK))
    transport = connect(server.url, StaticToken(TOKEN))
    with pytest.raises(cls) as info:
        transport.get("/api/things/1/")
    exc = info.value
    assert type(exc) is cls
    assert exc.status == status and exc.method == "GET"
    assert f"explained {status}" in str(exc) and f"{server.url}/api/things/1/" in str(exc)
    assert len(server.seen()) == 1  # not retried, StaticToken 401 included
    assert_no_secret(str(exc), repr(exc))


def test_unauthorized_is_also_an_authentication_error(server, connect):
    server.queue(Reply(401, {"detail": "Invalid token."}))
    with pytest.raises(AuthenticationError):
        connect(server.url, StaticToken(TOKEN)).get("/api/things/")


def test_server_error_with_empty_body_says_so(server, connect):
    server.queue(Reply(500, b""))
    with pytest.raises(ServerError) as info:
        connect(server.url, retry=RetryPolicy(attempts=1)).get("/api/things/")
    assert "empty body" in str(info.value)


def test_gateway_html_error_page_is_named_not_dumped(server, connect):
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
    server.queue(*[Reply(502, page, {"Content-Type": "text/html"}) for _ in range(2)])
    with pytest.raises(ServerError) as info:
        connect(server.url, retry=RetryPolicy(attempts=2, backoff=0.01)).get("/api/things/")
    assert "HTML" in str(info.value) and "<h1>" not in str(info.value)


def test_html_200_is_a_response_error(server, connect):
    server.queue(Reply(200, "<!DOCTYPE html><html><body>Sign in</body></html>", {"Content-Type": "text/html"}))
    with pytest.raises(ResponseError) as info:
        connect(server.url).get("/api/things/")
    assert "HTML" in str(info.value) and "not JSON" in str(info.value)
    assert info.value.status == 200


def test_empty_200_is_a_response_error(server, connect):
    server.queue(Reply(200, b"", {"Content-Type": "application/json"}))
    with pytest.raises(ResponseError) as info:
        connect(server.url).get("/api/things/")
    assert "empty body" in str(info.value)


def test_invalid_json_200_is_a_response_error(server, connect):
    server.queue(Reply(200, b'{"results": [1, 2', {"Content-Type": "application/json"}))
    with pytest.raises(ResponseError) as info:
        connect(server.url).get("/api/things/")
    assert "not JSON" in str(info.value)


def test_204_is_none(server, connect):
    server.queue(Reply(204, b""))
    assert connect(server.url).request("DELETE", "/api/things/1/") is None


@pytest.mark.parametrize(
    ("status", "cls", "retry"),
    [(404, NotFoundError, FAST), (503, ServerError, RetryPolicy(attempts=1))],
)
def test_brainmaps_error_bodies_give_their_detail(server, connect, status, cls, retry):
    body = {"error": "Volume not found", "detail": "No volume 'v42' in dataset 'mouse'."}
    server.queue(Reply(status, body))
    with pytest.raises(cls) as info:
        connect(server.url, retry=retry).get("/brainmaps/v1/volumes/v42")
    assert "No volume 'v42' in dataset 'mouse'." in str(info.value)
    assert "Volume not found" in str(info.value)


# -- credentials -----------------------------------------------------------------------


def rotating_refresh(current: list[str], new_access: str, new_refresh: str) -> Callable[[Seen], Reply]:
    """A refresh endpoint that accepts only the current refresh token and rotates it."""

    def answer(seen: Seen) -> Reply:
        if seen.json().get("refresh") != current[0]:
            return Reply(401, {"detail": "Token is invalid or expired", "code": "token_not_valid"})
        current[0] = new_refresh
        return Reply(200, {"access": new_access, "refresh": new_refresh, "expires_in": 3600})

    return answer


def token_pair(server: ScriptedServer) -> TokenPair:
    return TokenPair(
        access=ACCESS_1,
        refresh=REFRESH_1,
        expires_at=time.time() + 3600,
        refresh_url=f"{server.url}/api/auth/token/refresh/",
    )


def test_token_pair_401_refreshes_once_and_retries(server, connect):
    current = [REFRESH_1]
    server.on("/api/auth/token/refresh/", rotating_refresh(current, ACCESS_2, REFRESH_2))
    server.queue(Reply(401, {"detail": "Token expired"}), Reply(200, {"results": ["x"]}))
    pair = token_pair(server)
    transport = connect(server.url, pair)
    assert transport.get("/api/things/") == {"results": ["x"]}
    refreshes = server.seen("/api/auth/token/refresh/")
    assert len(refreshes) == 1 and refreshes[0].json() == {"refresh": REFRESH_1}
    first, second = server.seen("/api/things/")
    assert first.headers["authorization"] == f"Bearer {ACCESS_1}"
    assert second.headers["authorization"] == f"Bearer {ACCESS_2}"
    assert (pair.access.reveal(), pair.refresh.reveal()) == (ACCESS_2, REFRESH_2)
    # Later requests keep the new token, without refreshing again.
    server.queue(Reply(200, OK))
    transport.get("/api/other/")
    assert server.seen("/api/other/")[0].headers["authorization"] == f"Bearer {ACCESS_2}"
    assert len(server.seen("/api/auth/token/refresh/")) == 1


def test_token_pair_second_401_is_not_refreshed_again(server, connect):
    current = [REFRESH_1]
    server.on("/api/auth/token/refresh/", rotating_refresh(current, ACCESS_2, REFRESH_2))
    server.queue(Reply(401, {"detail": "Token expired"}), Reply(401, {"detail": "Still not you"}))
    transport = connect(server.url, token_pair(server))
    with pytest.raises(UnauthorizedError) as info:
        transport.get("/api/things/")
    assert "Still not you" in str(info.value)
    assert len(server.seen("/api/auth/token/refresh/")) == 1
    assert len(server.seen("/api/things/")) == 2


def test_rejected_refresh_is_an_authentication_error(server, connect):
    server.on("/api/auth/token/refresh/", Reply(401, {"detail": "Token is invalid or expired"}))
    server.queue(Reply(401, {"detail": "Token expired"}))
    pair = token_pair(server)
    with pytest.raises(AuthenticationError) as info:
        connect(server.url, pair).get("/api/things/")
    assert_no_secret(str(info.value), repr(info.value), repr(pair))


def test_static_token_401_is_not_retried(server, connect):
    server.queue(Reply(401, {"detail": "Invalid token."}), Reply(200, OK))
    transport = connect(server.url, StaticToken(TOKEN))
    with pytest.raises(UnauthorizedError):
        transport.get("/api/things/")
    assert len(server.seen()) == 1


def test_tokens_never_appear_in_messages_or_reprs(server, connect):
    static = StaticToken(TOKEN)
    pair = token_pair(server)
    failures = [
        Reply(401, {"detail": "Invalid token."}),
        Reply(403, {"detail": f"Bearer {TOKEN} may not do this"}),  # a server echoing the header
        Reply(400, {"detail": f"Invalid token '{TOKEN}'"}),
        Reply(500, b""),
        Reply(200, "<html>login</html>", {"Content-Type": "text/html"}),
        Reply(302, b"", {"Location": "/api/loop/"}),
        Reply(200, OK, action="close"),
    ]
    texts = [repr(static), repr(pair)]
    for reply in failures:
        for credentials in (static, pair):
            server.queue(*([reply] * 7))
            transport = connect(server.url, credentials, retry=RetryPolicy(attempts=1))
            with pytest.raises(Exception) as info:
                transport.get("/api/things/")
            assert isinstance(info.value, bsp.errors.BrainstemError)
            texts += [str(info.value), repr(info.value), repr(transport), repr(credentials)]
            server.clear()
    assert_no_secret(*texts)
    # The token did go where it belongs.
    assert server.seen()[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_authorization_follows_a_redirect_on_the_same_origin(server, connect):
    server.queue(Reply(302, b"", {"Location": "/api/moved/"}), Reply(200, {"moved": True}))
    assert connect(server.url, StaticToken(TOKEN)).get("/api/things/") == {"moved": True}
    first, second = server.seen()
    assert second.path == "/api/moved/"
    assert first.headers["authorization"] == second.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_authorization_is_not_sent_when_redirected_elsewhere(make_server, connect, status):
    home, other = make_server(), make_server()
    home.queue(Reply(status, b"", {"Location": f"{other.url}/landing/?x=1"}))
    other.queue(Reply(200, {"landed": True}))
    transport = connect(home.url, StaticToken(TOKEN))
    assert transport.get("/api/things/", params={"limit": 5}) == {"landed": True}
    assert home.seen()[0].headers["authorization"] == f"Bearer {TOKEN}"
    (landed,) = other.seen()
    assert landed.path == "/landing/?x=1"
    assert "authorization" not in landed.headers


def test_authorization_is_not_sent_to_an_absolute_url_elsewhere(make_server, connect):
    home, other = make_server(), make_server()
    home.queue(Reply(200, {"next": f"{other.url}/api/things/?page=2"}))
    other.queue(Reply(200, {"results": []}))
    transport = connect(home.url, StaticToken(TOKEN))
    page = transport.get("/api/things/")
    assert transport.get(page["next"]) == {"results": []}
    assert home.seen()[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in other.seen()[0].headers


def test_localhost_is_another_origin_than_127_0_0_1(server, connect):
    # Same machine, but another name: the origin check is by scheme, host and port.
    port = server.url.rsplit(":", 1)[1]
    server.queue(Reply(200, OK))
    connect(server.url, StaticToken(TOKEN)).get(f"http://localhost:{port}/api/things/")
    assert "authorization" not in server.seen()[0].headers


def test_401_elsewhere_does_not_spend_the_refresh_token(make_server, connect):
    # Renewing cannot fix a 401 from a server the token was never sent to; a
    # refresh there would only rotate the refresh token for nothing.
    home, other = make_server(), make_server()
    current = [REFRESH_1]
    home.on("/api/auth/token/refresh/", rotating_refresh(current, ACCESS_2, REFRESH_2))
    home.queue(Reply(302, b"", {"Location": f"{other.url}/files/1"}))
    other.queue(Reply(401, {"detail": "Sign in to files"}), Reply(401, {"detail": "Sign in to files"}))
    pair = token_pair(home)
    transport = connect(home.url, pair)
    with pytest.raises(UnauthorizedError):
        transport.get("/api/redirected/")
    with pytest.raises(UnauthorizedError):
        transport.get(f"{other.url}/files/2")
    assert home.seen("/api/auth/token/refresh/") == []
    assert pair.refresh.reveal() == REFRESH_1
    assert all("authorization" not in seen.headers for seen in other.seen())


def test_redirect_loop_is_a_response_error(server, connect):
    server.queue(*[Reply(302, b"", {"Location": "/api/loop/"}) for _ in range(10)])
    with pytest.raises(ResponseError) as info:
        connect(server.url).get("/api/loop/")
    assert "redirects" in str(info.value)


# -- configuration ---------------------------------------------------------------------


def test_token_over_plain_http_to_a_remote_host_is_refused():
    with pytest.raises(ConfigurationError) as info:
        Transport("http://example.org", StaticToken(TOKEN))
    assert "example.org" in str(info.value) and "allow_insecure_http" in str(info.value)
    assert_no_secret(str(info.value))
    Transport("http://example.org", StaticToken(TOKEN), allow_insecure_http=True).close()
    Transport("http://example.org").close()  # no token, nothing to leak
    Transport("https://example.org", StaticToken(TOKEN)).close()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"])
def test_token_over_loopback_http_is_fine(url):
    Transport(url, StaticToken(TOKEN)).close()


@pytest.mark.parametrize("url", ["www.brainstem.org", "ftp://brainstem.org", "https://"])
def test_malformed_server_url_is_a_configuration_error(url):
    with pytest.raises(ConfigurationError):
        Transport(url)


# -- parse_retry_after and RetryPolicy -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        (" 2.5 ", 2.5),
        ("120", 120.0),
        ("0", None),
        ("-1", None),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_parse_retry_after_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date():
    now = 1_445_412_470.0  # 07:27:50 GMT, ten seconds before the header's date
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == pytest.approx(10.0)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now + 10) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now + 60) is None
    assert parse_retry_after("Wed, 32 Oct 2015 07:28:00 GMT", now=now) is None


def test_retry_policy_delay():
    policy = RetryPolicy(backoff=1.0, max_delay=4.0)
    assert policy.delay(0, retry_after=7.0) == 7.0
    for attempt, base in [(0, 1.0), (1, 2.0), (2, 4.0), (5, 4.0)]:
        assert base * 0.5 <= policy.delay(attempt) <= base * 1.5
    assert 0.5 <= policy.delay(0, retry_after=0.0) <= 1.5


# -- end to end against the sandbox's fault injection ----------------------------------

SANDBOX_SESSIONS = "/api/private/stem/session/?limit=5"


def fetch_all(transport: Transport, times: int = 20) -> list[Any]:
    return [transport.get(SANDBOX_SESSIONS) for _ in range(times)]


@pytest.mark.parametrize("faults", [{"503": 0.5}, {"reset": 0.3}, {"truncate": 0.3}])
def test_sandbox_faults_are_ridden_out(make_sandbox, connect, faults):
    sb = make_sandbox(faults=faults, seed=1)
    transport = connect(sb.url, bsp.auth.StaticToken(sb.token), retry=RetryPolicy(attempts=10, backoff=0.01))
    pages = fetch_all(transport)
    assert all(len(page["sessions"]) == 5 and page["count"] > 5 for page in pages)
    assert all(page == pages[0] for page in pages)
    assert transport.requests_sent > 20  # the server did fault, and each fault was retried


def test_sandbox_always_503_gives_up_after_the_attempts(make_sandbox, connect):
    sb = make_sandbox(faults={"503": 1.0})
    transport = connect(sb.url, bsp.auth.StaticToken(sb.token), retry=RetryPolicy(attempts=4, backoff=0.01))
    with pytest.raises(ServerError) as info:
        transport.get(SANDBOX_SESSIONS)
    assert transport.requests_sent == 4 and info.value.attempts == 4
    assert "Injected fault: 503" in str(info.value) and "/api/private/stem/session/" in str(info.value)
    assert_no_secret(str(info.value))
    assert sb.token not in str(info.value)
