"""The transport on a mock: retries (5xx, 429 with Retry-After, resets, cut-off bodies), redirects, errors."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

import brainstem_pandas as bsp
from brainstem_pandas.testing import MockTransport, Request, Response, in_order
from brainstem_pandas.transport import RetryPolicy, Transport

FAST = RetryPolicy(attempts=4, backoff=0.0)
OK = Response(200, {"ok": True})


class Token:
    """Credentials that count their renewals."""

    def __init__(self, value: str = "bst_pat_one", renews: bool = True) -> None:
        self.value, self.renews, self.renewed = value, renews, 0

    def header(self) -> str | None:
        return f"Bearer {self.value}"

    def renew(self, failed_header: str | None) -> bool:
        self.renewed += 1
        if self.renews:
            self.value = "bst_pat_two"
        return self.renews


def mock_of(*answers: Response | BaseException) -> MockTransport:
    return MockTransport(in_order(*answers))


def transport(mock: MockTransport, **options: Any) -> Transport:
    return mock.transport(retry=options.pop("retry", FAST), **options)


# -- retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(status):
    mock = mock_of(Response(status), Response(status), OK)
    t = transport(mock)
    assert t.get("api/x/") == {"ok": True}
    assert len(mock.requests) == 3 and t.requests_sent == 3 and t.retries[str(status)] == 2


def test_a_server_that_keeps_failing_gives_a_server_error_with_its_attempts():
    mock = mock_of(Response(503, {"detail": "down for maintenance"}))
    with pytest.raises(bsp.ServerError, match="answered 503: down for maintenance") as info:
        transport(mock).get("api/x/")
    assert info.value.attempts == 4 == len(mock.requests) and info.value.status == 503


def test_connection_resets_are_retried_then_reported():
    mock = mock_of(requests.ConnectionError("reset by peer"), OK)
    assert transport(mock).get("api/x/") == {"ok": True} and len(mock.requests) == 2
    dead = mock_of(requests.ConnectionError("reset by peer"))
    with pytest.raises(bsp.TransportError, match="failed after 4 attempt\\(s\\): ConnectionError: reset") as info:
        transport(dead).get("api/x/")
    # The cause is summarised in the message, not chained: its frames hold the raw request headers.
    assert info.value.attempts == 4 and info.value.__cause__ is None and info.value.__context__ is None


def test_timeouts_are_retried():
    mock = mock_of(requests.ReadTimeout("slow"), OK)
    t = transport(mock)
    assert t.get("api/x/") == {"ok": True} and t.retries["ReadTimeout"] == 1


def test_a_cut_off_body_is_retried():
    mock = mock_of(Response(200, {"sessions": list(range(100))}, truncated=True), OK)
    t = transport(mock)
    assert t.get("api/x/") == {"ok": True}
    assert len(mock.requests) == 2 and t.retries["ChunkedEncodingError"] == 1


def test_a_429_with_retry_after_waits_without_using_up_a_try():
    paced = Response(429, {"detail": "slow down"}, {"Retry-After": "0.001"})
    mock = mock_of(*[paced] * 6, OK)  # more 429s than tries: each says how long to wait
    t = transport(mock, retry=RetryPolicy(attempts=2, backoff=0.0))
    assert t.get("api/x/") == {"ok": True} and len(mock.requests) == 7 and t.retries["429"] == 6


def test_a_429_asking_for_too_long_a_wait_is_a_rate_limit_error_at_once():
    mock = mock_of(Response(429, {"detail": "quota"}, {"Retry-After": "3600"}))
    with pytest.raises(bsp.RateLimitError, match="retry after 3600 s") as info:
        transport(mock).get("api/x/")
    assert info.value.retry_after == 3600 and len(mock.requests) == 1


def test_a_used_up_rate_window_is_waited_for():
    window = Response(429, {}, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0.001"})
    mock = mock_of(window, OK)
    assert transport(mock, retry=RetryPolicy(attempts=1)).get("api/x/") == {"ok": True}


def test_posts_are_retried_only_where_the_server_did_not_act():
    # A 500 to a POST may have created the record: sending it again could create it twice.
    mock = mock_of(Response(500), OK)
    with pytest.raises(bsp.ServerError):
        transport(mock).request("POST", "api/x/", json_body={"name": "a"})
    assert len(mock.requests) == 1
    busy = mock_of(Response(503), Response(429), Response(201, {"id": 1}))
    assert transport(busy).request("POST", "api/x/", json_body={"name": "a"}) == {"id": 1}
    assert len(busy.requests) == 3 and busy.requests[0].json() == {"name": "a"}
    # A caller that knows the POST is safe to repeat (a sign-in) says so.
    safe = mock_of(Response(500), requests.ConnectionError("reset"), OK)
    assert transport(safe).request("POST", "api/x/", json_body={}, idempotent=True) == {"ok": True}


def test_slots_are_given_up_while_waiting_to_retry():
    slots = threading.BoundedSemaphore(1)
    seen: list[bool] = []

    def handler(request: Request) -> Response:
        # While a request is on the wire, its slot is taken; a free slot here would be a leak.
        seen.append(slots.acquire(blocking=False))
        return Response(503) if len(seen) == 1 else OK

    t = transport(MockTransport(handler))
    assert t.get("api/x/", slots=slots) == {"ok": True} and seen == [False, False]
    assert slots.acquire(blocking=False)  # given back at the end


def test_a_cancelled_request_is_not_sent_nor_retried():
    cancel = threading.Event()
    cancel.set()
    mock = mock_of(OK)
    with pytest.raises(bsp.TransportError, match="not sent"):
        transport(mock).get("api/x/", cancel=cancel)
    assert mock.requests == []
    stop = threading.Event()

    def handler(request: Request) -> Response:
        stop.set()  # the consumer stops while this request is on the wire
        return Response(503)

    failing = MockTransport(handler)
    with pytest.raises(bsp.TransportError, match="not sent"):
        transport(failing).get("api/x/", cancel=stop)
    assert len(failing.requests) == 1


# -- credentials and redirects ----------------------------------------------------------------


def test_a_401_renews_the_token_once_and_retries():
    token = Token()
    mock = mock_of(Response(401, {"detail": "expired"}), OK)
    assert transport(mock, credentials=token).get("api/x/") == {"ok": True}
    assert token.renewed == 1
    assert [r.headers["Authorization"] for r in mock.requests] == ["Bearer bst_pat_one", "Bearer bst_pat_two"]


def test_a_401_that_renewal_cannot_cure_is_an_unauthorized_error():
    token = Token(renews=False)
    mock = mock_of(Response(401, {"detail": "Invalid token."}))
    with pytest.raises(bsp.UnauthorizedError, match="answered 401: Invalid token") as info:
        transport(mock, credentials=token).get("api/x/")
    assert isinstance(info.value, bsp.AuthenticationError) and info.value.status == 401
    assert token.renewed == 1 and len(mock.requests) == 1


def test_redirects_are_followed_and_the_token_stays_home():
    def handler(request: Request) -> Response:
        if request.url.startswith("https://brainstem.test/api/old/"):
            return Response(302, headers={"Location": "/api/new/"})
        if request.url.startswith("https://brainstem.test/api/new/"):
            return Response(301, headers={"Location": "https://elsewhere.test/api/x/"})
        return OK

    mock = MockTransport(handler)
    assert transport(mock, credentials=Token()).get("api/old/", params={"a": 1}) == {"ok": True}
    assert [r.url for r in mock.requests] == [
        "https://brainstem.test/api/old/?a=1",
        "https://brainstem.test/api/new/",
        "https://elsewhere.test/api/x/",
    ]
    assert ["Authorization" in r.headers for r in mock.requests] == [True, True, False]


def test_a_transport_that_does_not_follow_redirects_names_the_target():
    mock = mock_of(Response(307, headers={"Location": "https://elsewhere.test/login/"}))
    with pytest.raises(bsp.ResponseError, match="redirected the request to https://elsewhere.test/login/") as info:
        transport(mock, follow_redirects=False).request("POST", "api/auth/token/", json_body={"password": "x"})
    assert info.value.location == "https://elsewhere.test/login/" and info.value.status == 307
    assert len(mock.requests) == 1


def test_endless_redirects_stop():
    mock = mock_of(Response(302, headers={"Location": "/api/loop/"}))
    with pytest.raises(bsp.ResponseError, match="more than 5 redirects"):
        transport(mock).get("api/loop/")
    assert len(mock.requests) == 6


# -- error mapping ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, bsp.BadRequestError),
        (401, bsp.UnauthorizedError),
        (403, bsp.PermissionDeniedError),
        (404, bsp.NotFoundError),
        (409, bsp.APIError),
        (501, bsp.ServerError),
    ],
)
def test_statuses_map_to_their_errors(status, error):
    mock = mock_of(Response(status, {"detail": "no such thing"}))
    with pytest.raises(error) as info:
        transport(mock, retry=RetryPolicy(attempts=1)).get("api/x/", params={"q": "1"})
    assert type(info.value) is error and info.value.status == status and info.value.detail == "no such thing"
    assert str(info.value).startswith(f"GET https://brainstem.test/api/x/?q=1 answered {status}: no such thing.")
    assert info.value.method == "GET" and info.value.body == {"detail": "no such thing"}


def test_field_errors_become_a_validation_error():
    mock = mock_of(Response(400, {"name": ["This field is required."], "projects": "Invalid pk."}))
    with pytest.raises(bsp.ValidationError) as info:
        transport(mock).request("POST", "api/x/", json_body={})
    assert info.value.errors == {"name": ["This field is required."], "projects": ["Invalid pk."]}
    assert "name: This field is required." in str(info.value)


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (Response(200, "<html><body>Login</body></html>", {"Content-Type": "text/html"}), "answered HTML, not JSON"),
        (Response(200, "plain words"), "answered text, not JSON"),
        (Response(200), "empty body where JSON was expected"),
    ],
)
def test_answers_that_are_not_json_are_response_errors(answer, said):
    with pytest.raises(bsp.ResponseError, match=said) as info:
        transport(mock_of(answer)).get("api/x/")
    assert info.value.status == 200


def test_an_html_error_page_is_summarised():
    mock = mock_of(Response(404, "<!doctype html><h1>Not Found</h1>"))
    with pytest.raises(bsp.NotFoundError, match="an HTML page, not JSON"):
        transport(mock).get("api/x/")


def test_204_is_none():
    assert transport(mock_of(Response(204))).request("DELETE", "api/x/1/") is None


def test_tokens_never_appear_in_messages():
    mock = mock_of(Response(400, {"detail": "bad token Bearer bst_pat_abcdefgh12345678"}))
    with pytest.raises(bsp.BadRequestError) as info:
        transport(mock).get("api/x/")
    assert "bst_pat_abcdefgh12345678" not in str(info.value) and "Bearer ***" in str(info.value)
