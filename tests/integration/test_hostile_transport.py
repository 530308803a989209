"""The transport, sign-in and detail rows of the hostile table: each a script for a lying server.

Every case runs through the public API against a :class:`hostile.HostileServer` and asserts
the exact result or the :class:`~brainstem_pandas.BrainstemError` subclass, a phrase of the
message telling the user what to do, and how many requests the server saw (bounded by
construction: small retry policies, a small whole-answer deadline and a small body cap).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest
from hostile import HostileServer, Reply, Seen, json_reply

import brainstem_pandas as bsp
from brainstem_pandas import auth
from brainstem_pandas.pagination import NextLinkPaginator
from brainstem_pandas.transport import RetryPolicy, Transport

TOKEN = "bst_pat_hostile0123456789abcdef"
RETRY = RetryPolicy(attempts=3, backoff=0.0, max_delay=0.0, max_wait=5.0)
TIMEOUT = (2.0, 0.5, 1.0)  # connect, per read, whole answer: a trickle ends at 1 s
SID = "00000000-0000-4000-8000-000000000001"
PAGE = {"sessions": [{"id": SID, "name": "s1"}], "count": 1, "next": None, "previous": None}
LIST = "/api/private/stem/session/"
DEEP = b"[" * 3000 + b"]" * 3000


def _flatten(result: Any) -> Any:
    if hasattr(result, "columns"):
        ids = result["id"] if "id" in result.columns else result.index
        return sorted(map(str, ids))
    return result


@dataclass(frozen=True)
class Case:
    """One hostile behaviour: the server's script, what the user does, and what must happen."""

    name: str
    script: Callable[[Seen, str], Reply]  # also given the URL of a second server, "OTHER"
    act: str  # "read", "get", "password", "device", "refresh"
    error: type[BaseException] | None  # None: the call succeeds with ``result``
    phrase: str  # in the message (what to do), or the result's repr
    requests: int  # exactly this many requests reached the server
    result: Any = None


def always(reply: Reply) -> Callable[[Seen, str], Reply]:
    return lambda seen, other: reply


def then(*replies: Reply) -> Callable[[Seen, str], Reply]:
    return lambda seen, other: replies[min(seen.number, len(replies) - 1)]


def page_link(link: Callable[[str, str], str]) -> Callable[[Seen, str], Reply]:
    """Page one links to ``link(own_url, other_url)``."""

    def script(seen: Seen, other: str) -> Reply:
        return json_reply({**PAGE, "count": 2, "next": link(seen.headers["Host"], other)})

    return script


OK = json_reply(PAGE)
SIGNED = json_reply({"access": "bst_access_hostile0123456789", "refresh": "bst_refresh_hostile0123456789"})
DEVICE = {"device_code": "devcode0123456789abcdef", "user_code": "ABCD-1234", "verification_uri": "http://x/d"}

CASES = [
    # -- list endpoint ----------------------------------------------------------------------
    Case("5xx forever", always(json_reply({"detail": "down"}, 503)), "read", bsp.ServerError, "try again later", 3),
    Case("5xx then ok", then(json_reply({}, 502), OK), "read", None, SID, 2, [SID]),
    Case(
        "429 forever, Retry-After 0",
        always(json_reply({}, 429, headers={"Retry-After": "0"})),
        "read",
        bsp.RateLimitError,
        "Wait and try again",
        3,
    ),
    Case(
        "429 with a huge Retry-After",
        always(json_reply({}, 429, headers={"Retry-After": "86400"})),
        "read",
        bsp.RateLimitError,
        "Wait and try again",
        1,
    ),
    Case("resets forever", always(Reply(reset=True)), "read", bsp.TransportError, "Check the server URL", 3),
    Case("reset then ok", then(Reply(reset=True), OK), "read", None, SID, 2, [SID]),
    Case(
        "trickled body past the deadline",
        always(json_reply({**PAGE, "pad": "x" * 400}, trickle=(20, 0.1))),
        "read",
        bsp.TransportError,
        "Check the server URL",
        3,
    ),
    Case(
        "large chunked body trickled (read() would wait for a whole chunk)",
        always(json_reply({**PAGE, "pad": "x" * 100_000}, framing="chunked", trickle=(50, 0.05))),
        "read",
        bsp.TransportError,
        "Check the server URL",
        3,
    ),
    Case(
        "lying Content-Length",
        always(json_reply(PAGE, content_length=2000)),
        "read",
        bsp.TransportError,
        "Check the server URL",
        3,
    ),
    Case(
        "close-framed body cut, then whole",
        then(json_reply(PAGE, framing="close", cut=30), OK),
        "read",
        None,
        SID,
        2,
        [SID],
    ),
    Case(
        "close-framed body cut forever",
        always(json_reply(PAGE, framing="close", cut=30)),
        "read",
        bsp.ResponseError,
        "try again later",
        3,
    ),
    Case(
        "chunked body cut, then whole",
        then(json_reply(PAGE, framing="chunked", cut=30), OK),
        "read",
        None,
        SID,
        2,
        [SID],
    ),
    Case(
        "gzip cut under a matching length, then whole",
        then(json_reply(PAGE, gzip=True, cut=40, framing="length"), OK),
        "read",
        None,
        SID,
        2,
        [SID],
    ),
    Case(
        "gzip garbage",
        always(Reply(body=b"\x1f\x8bnot gzip at all", headers={"Content-Encoding": "gzip"})),
        "read",
        bsp.TransportError,
        "Check the server URL",
        3,
    ),
    Case(
        "HTML 200",
        always(Reply(body="<html>login</html>", headers={"Content-Type": "text/html"})),
        "read",
        bsp.ResponseError,
        "check that the URL is the BrainSTEM server's root",
        1,
    ),
    Case(
        "Content-Type says JSON, body is HTML",
        always(Reply(body="<html>x</html>", headers={"Content-Type": "application/json"})),
        "read",
        bsp.ResponseError,
        "check that the URL",
        1,
    ),
    Case("deeply nested JSON", always(Reply(body=DEEP)), "read", bsp.ResponseError, "tell the server's admins", 1),
    Case(
        "body over the cap",
        always(json_reply({**PAGE, "pad": "x" * 20_000})),
        "read",
        bsp.ResponseError,
        "larger max_body",
        1,
    ),
    Case(
        "gzip bomb over the cap",
        always(json_reply({**PAGE, "pad": "0" * 200_000}, gzip=True)),
        "read",
        bsp.ResponseError,
        "larger max_body",
        1,
    ),
    Case(
        "redirect loop",
        always(Reply(302, headers={"Location": "/api/private/stem/session/"})),
        "read",
        bsp.ResponseError,
        "redirecting in a loop",
        6,
    ),
    Case(
        "backslash link",
        lambda seen, url: Reply(headers={"Location": "http://127.0.0.1:9\\@" + url[7:] + "/"}),
        "link",
        bsp.ResponseError,
        "Check the server address",
        0,
    ),
    Case(
        "userinfo link",
        lambda seen, url: Reply(headers={"Location": "http://me:pw@" + url[7:] + "/"}),
        "link",
        bsp.ResponseError,
        "Check the server address",
        0,
    ),
    # next links, followed by a next-link walk (read_url): the walk refuses any other origin
    Case(
        "walk: backslash next link",
        page_link(lambda own, other: f"http://{other[7:]}\\@{own}{LIST}?p=2"),
        "walk",
        bsp.ResponseError,
        "Check the server address",
        1,
    ),
    Case(
        "walk: userinfo next link",
        page_link(lambda own, other: f"http://me:pw@{own}{LIST}?p=2"),
        "walk",
        bsp.ResponseError,
        "Check the server address",
        1,
    ),
    Case(
        "walk: next link to https",
        page_link(lambda own, other: f"https://{own}{LIST}?p=2"),
        "walk",
        bsp.ResponseError,
        "Check the server address",
        1,
    ),
    Case(
        "walk: next link to another port",
        page_link(lambda own, other: f"{other}{LIST}?p=2"),
        "walk",
        bsp.ResponseError,
        "Check the server address",
        1,
    ),
    Case(
        "walk: next link with a space",
        page_link(lambda own, other: f"http://{own} {LIST}?p=2"),
        "walk",
        bsp.ResponseError,
        "Check the server address",
        1,
    ),
    Case(
        "401 then 401 (nothing to renew)",
        always(json_reply({"detail": "bad token"}, 401)),
        "read",
        bsp.UnauthorizedError,
        "Sign in again",
        1,
    ),
    Case(
        "401, renewed, 401 again (renewal fails to cure)",
        lambda seen, other: SIGNED if seen.path.startswith("/api/auth/") else json_reply({"detail": "no"}, 401),
        "pair",
        bsp.UnauthorizedError,
        "Sign in again",
        3,
    ),
    # -- detail endpoint ----------------------------------------------------------------------
    Case("get: 404", always(json_reply({"detail": "Not found."}, 404)), "get", bsp.NotFoundError, "Check the id", 1),
    Case(
        "get: 500 then ok",
        then(json_reply({}, 500), json_reply({"session": {"id": SID, "name": "s1"}})),
        "get",
        None,
        "s1",
        2,
        "s1",
    ),
    Case(
        "get: HTML 200",
        always(Reply(body="<html></html>", headers={"Content-Type": "text/html"})),
        "get",
        bsp.ResponseError,
        "check that the URL",
        1,
    ),
    Case(
        "get: redirect loop",
        always(Reply(301, headers={"Location": "/x/"})),
        "get",
        bsp.ResponseError,
        "redirecting in a loop",
        6,
    ),
    Case(
        "get: record key missing",
        always(json_reply({"other": {}})),
        "get",
        bsp.ResponseError,
        "the model is the one meant",
        1,
    ),
    Case(
        "get: record of the wrong type",
        always(json_reply({"session": [1, 2]})),
        "get",
        bsp.ResponseError,
        "the model is the one meant",
        1,
    ),
    Case(
        "get: null record",
        always(json_reply({"session": None})),
        "get",
        bsp.ResponseError,
        "the model is the one meant",
        1,
    ),
    Case(
        "get: a JSON array",
        always(json_reply([{"id": SID}])),
        "get",
        bsp.ResponseError,
        "the model is the one meant",
        1,
    ),
    Case(
        "get: redirect on the same server, followed with the token",
        then(
            Reply(301, headers={"Location": f"{LIST}{SID}/?moved=1"}),
            json_reply({"session": {"id": SID, "name": "s1"}}),
        ),
        "get",
        None,
        "s1",
        2,
        "s1",
    ),
    Case(
        "token endpoint 500 then 200", then(json_reply({}, 500), SIGNED), "password", None, "signed in", 2, "signed in"
    ),
    Case(
        "token endpoint 200 HTML",
        always(Reply(body="<html></html>", headers={"Content-Type": "text/html"})),
        "password",
        bsp.ResponseError,
        "is this a BrainSTEM server",
        1,
    ),
    Case(
        "token endpoint 200 without access",
        always(json_reply({"detail": "ok"})),
        "password",
        bsp.AuthenticationError,
        "personal access token",
        1,
    ),
    Case(
        "token endpoint redirects",
        always(Reply(307, headers={"Location": "http://127.0.0.1:1/steal"})),
        "password",
        bsp.AuthenticationError,
        "connect to its new address",
        1,
    ),
    Case(
        "token endpoint cut body, then whole",
        then(json_reply({"access": "x" * 40}, framing="close", cut=10), SIGNED),
        "password",
        None,
        "signed in",
        2,
        "signed in",
    ),
    Case(
        "device start without user_code",
        always(json_reply({"device_code": "d" * 20, "verification_uri": "u"})),
        "device",
        bsp.AuthenticationError,
        "does not offer browser sign-in",
        1,
    ),
    Case(
        "device poll interval 0, pending forever",
        lambda seen, other: json_reply(
            {**DEVICE, "interval": 0, "expires_in": 1} if seen.number == 0 else {"status": "authorization_pending"}
        ),
        "device",
        bsp.AuthenticationError,
        "Run the sign-in again",
        7,
    ),
    Case(
        "device poll slow_down loop",
        lambda seen, other: json_reply(
            {**DEVICE, "interval": 0, "expires_in": 1} if seen.number == 0 else {"error": "slow_down"}
        ),
        "device",
        bsp.AuthenticationError,
        "Run the sign-in again",
        3,
    ),
    Case(
        "device poll expired_token",
        lambda seen, other: json_reply(DEVICE if seen.number == 0 else {"error": "expired_token"}),
        "device",
        bsp.AuthenticationError,
        "start again",
        2,
    ),
    Case(
        "refresh endpoint 503 forever",
        always(json_reply({"detail": "down"}, 503)),
        "refresh",
        bsp.AuthenticationError,
        "Try again later",
        5,
    ),
    Case(
        "refresh endpoint 401",
        always(json_reply({"detail": "expired"}, 401)),
        "refresh",
        bsp.AuthenticationError,
        "sign in again",
        1,
    ),
]


def _act(case: Case, url: str) -> Any:
    if case.act == "read":
        client = bsp.connect(url, token=TOKEN, retry=RETRY, timeout=TIMEOUT, progress=False, workers=1)
        client.transport.max_body = 8192
        return client.read("session")
    if case.act == "pair":
        client = bsp.connect(url, token=TOKEN, retry=RETRY, timeout=TIMEOUT, progress=False, workers=1)
        client.transport.credentials = auth.TokenPair(
            TOKEN, "bst_refresh_hostile9876543210", 1e12, f"{url}/api/auth/token/refresh/", transport=_sign_in(url)
        )
        return client.read("session")
    if case.act == "walk":
        client = bsp.connect(url, token=TOKEN, retry=RETRY, timeout=TIMEOUT, progress=False)
        return client.read_url(LIST, "sessions", paginator=NextLinkPaginator(100, "limit"))
    if case.act == "link":
        client = bsp.connect(url, token=TOKEN, retry=RETRY, timeout=TIMEOUT, progress=False)
        return client.transport.get(case.script(None, url).headers["Location"])  # type: ignore[arg-type]
    if case.act == "get":
        client = bsp.connect(url, token=TOKEN, retry=RETRY, timeout=TIMEOUT, progress=False)
        return client.get("session", SID)["name"]
    if case.act == "password":
        bsp.connect(url, email="me@lab.example", password="pw-hostile-0123456789", retry=RETRY, progress=False)
        return "signed in"
    if case.act == "device":
        login = auth.start_device_login(url, transport=_sign_in(url))
        return login.wait(timeout=1.0)  # polls at least 0.2 s apart: at most 6 in the second
    pair = auth.TokenPair(
        "bst_access_old0123456789",
        "bst_refresh_old0123456789",
        0.0,
        f"{url}/api/auth/token/refresh/",
        transport=_sign_in(url),
    )
    return pair.header()


def _expire(login: auth.DeviceLogin) -> None:
    login.expires_in = 0.0


def _sign_in(url: str) -> Transport:
    return Transport(
        url, timeout=TIMEOUT, retry=RetryPolicy(attempts=5, backoff=0.0, max_delay=0.0), follow_redirects=False
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_transport(case: Case, hostile: Callable[..., HostileServer]) -> None:
    other = hostile(lambda seen: json_reply(PAGE))
    server = hostile(lambda seen: case.script(seen, other.url))
    if case.error is None:
        assert _flatten(_act(case, server.url)) == case.result
    else:
        with pytest.raises(case.error) as info:
            _act(case, server.url)
        assert case.phrase in str(info.value)
    if case.act == "device":  # polls are paced by time: bounded, not exact
        assert 1 <= len(server.seen) <= case.requests, [s.path for s in server.seen]
    else:
        assert len(server.seen) == case.requests, [s.path for s in server.seen]
    # The token never reaches another server, whatever the links and redirects say.
    assert not other.seen
    assert all("Authorization" not in s.headers for s in server.seen if s.path.startswith("/api/auth/"))
    if case.act == "get" and case.error is None:  # a read that worked carried the token on every hop
        assert all(s.headers.get("Authorization") == f"Bearer {TOKEN}" for s in server.seen)


def test_a_redirect_to_another_host_never_carries_the_token(hostile: Callable[..., HostileServer]) -> None:
    other = hostile(lambda seen: json_reply(PAGE))
    server = hostile(lambda seen: Reply(302, headers={"Location": other.url + "/api/private/stem/session/"}))
    client = bsp.connect(server.url, token=TOKEN, retry=RETRY, timeout=TIMEOUT, progress=False)
    client.read("session")
    assert server.seen[0].headers.get("Authorization") == f"Bearer {TOKEN}"
    assert len(other.seen) >= 1 and all("Authorization" not in s.headers for s in other.seen)


@pytest.mark.parametrize("url", ["http://me:pw@127.0.0.1:9/", "http://127.0.0.1:9\\@evil.example/"])
def test_credentials_or_backslashes_in_the_server_url_are_refused(url: str) -> None:
    for call in (
        lambda: bsp.connect(url, token=TOKEN, progress=False),
        lambda: bsp.connect(url, email="a@b.c", password="pw-hostile-0123456789", progress=False),
        lambda: Transport(url),
        lambda: auth.start_device_login(url),
        lambda: bsp.Client(url, auth.StaticToken(TOKEN), progress=False),
    ):
        with pytest.raises(bsp.ConfigurationError) as info:
            call()
        assert "pw" not in str(info.value).replace("password", "")
        assert "token=" in str(info.value) or "Write it like" in str(info.value)
