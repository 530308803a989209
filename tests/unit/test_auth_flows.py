"""Sign-in and refresh go through the transport: retried, never redirected, refused clearly. On a mock."""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any

import pytest
import requests

import brainstem_pandas as bsp
from brainstem_pandas import auth
from brainstem_pandas.testing import MockTransport, Request, Response, in_order
from brainstem_pandas.transport import RetryPolicy, Transport

ROOT = "https://brainstem.test"
FAST = RetryPolicy(attempts=4, backoff=0.0)
PASSWORD = "pw-correct-horse-battery"
PAIR = {"access": "bst_access_" + "a" * 20, "refresh": "bst_refresh_" + "b" * 20, "expires_in": 3600}
NEW_PAIR = {"access": "bst_access_" + "c" * 20, "refresh": "bst_refresh_" + "d" * 20, "expires_in": 3600}


def sign_in(mock: MockTransport) -> Transport:
    """A sign-in transport (as auth makes it) on ``mock``, with quick retries."""
    return mock.transport(ROOT, retry=FAST, follow_redirects=False, timeout=auth.AUTH_TIMEOUT)


def expired_pair(transport: Transport) -> auth.TokenPair:
    return auth.TokenPair(
        "bst_access_old_" + "x" * 10,
        "bst_refresh_old_" + "y" * 10,
        0.0,
        f"{ROOT}/api/auth/token/refresh/",
        transport=transport,
    )


# -- password sign-in -------------------------------------------------------------------------


def test_password_login_is_retried_through_server_errors_and_resets():
    mock = MockTransport(in_order(Response(502), requests.ConnectionError("reset"), Response(200, PAIR)))
    pair = auth.password_login(ROOT, "me@lab.example", PASSWORD, transport=sign_in(mock))
    assert (pair.access.reveal(), pair.refresh.reveal()) == (PAIR["access"], PAIR["refresh"])
    assert len(mock.requests) == 3 and all(r.path == "/api/auth/token/" for r in mock.requests)
    assert mock.requests[-1].json() == {"email": "me@lab.example", "password": PASSWORD}
    assert all("Authorization" not in r.headers for r in mock.requests)


def test_a_wrong_password_says_what_to_do():
    mock = MockTransport(in_order(Response(401, {"detail": "No active account found with the given credentials"})))
    with pytest.raises(bsp.AuthenticationError, match="answered 401: No active account.*Check the email") as info:
        auth.password_login(ROOT, "me@lab.example", PASSWORD, transport=sign_in(mock))
    assert info.value.status == 401 and PASSWORD not in str(info.value) and len(mock.requests) == 1


def test_a_server_without_password_sign_in_says_so():
    mock = MockTransport(in_order(Response(404, "<html>Not found</html>")))
    with pytest.raises(bsp.AuthenticationError, match="does not offer this sign-in method") as info:
        auth.password_login(ROOT, "me@lab.example", PASSWORD, transport=sign_in(mock))
    assert info.value.status == 404


def test_sign_in_is_never_redirected():
    mock = MockTransport(in_order(Response(307, headers={"Location": "https://elsewhere.test/api/auth/token/"})))
    with pytest.raises(bsp.AuthenticationError, match="redirected to https://elsewhere.test/api/auth/token/"):
        auth.password_login(ROOT, "me@lab.example", PASSWORD, transport=sign_in(mock))
    assert [r.url for r in mock.requests] == [f"{ROOT}/api/auth/token/"]


def test_the_default_sign_in_transport_never_follows_redirects_and_carries_no_token():
    t = auth.sign_in_transport(f"{ROOT}/api/auth/token/")
    assert t.base_url == f"{ROOT}/" and t.credentials is None and not t.follow_redirects
    assert t.retry == auth.SIGN_IN_RETRY and t.retry.attempts > 1


def test_a_password_is_never_sent_over_plain_http_to_another_host():
    mock = MockTransport(in_order(Response(200, PAIR)))
    with pytest.raises(bsp.ConfigurationError, match="allow_insecure_http"):
        auth.password_login("http://brainstem.test", "me@lab.example", PASSWORD, transport=sign_in(mock))
    assert mock.requests == []


def test_an_answer_that_is_not_json_is_a_response_error():
    mock = MockTransport(in_order(Response(200, "<html>a login page</html>")))
    with pytest.raises(bsp.ResponseError, match="did not answer JSON"):
        auth.password_login(ROOT, "me@lab.example", PASSWORD, transport=sign_in(mock))


def test_a_server_that_cannot_be_reached_is_an_authentication_error_naming_the_attempts():
    mock = MockTransport(in_order(requests.ConnectionError("refused")))
    with pytest.raises(bsp.AuthenticationError, match="after 4 attempt.*Is the server URL right") as info:
        auth.password_login(ROOT, "me@lab.example", PASSWORD, transport=sign_in(mock))
    assert info.value.status is None and isinstance(info.value.__cause__, bsp.TransportError)


# -- refresh ----------------------------------------------------------------------------------


def test_a_refresh_survives_a_503_from_the_refresh_endpoint():
    mock = MockTransport(in_order(Response(503), Response(200, NEW_PAIR)))
    pair = expired_pair(sign_in(mock))
    assert pair.header().reveal() == f"Bearer {NEW_PAIR['access']}"
    assert pair.refresh.reveal() == NEW_PAIR["refresh"] and pair.expires_at > time.time()
    assert [r.path for r in mock.requests] == ["/api/auth/token/refresh/"] * 2
    assert mock.requests[0].json() == {"refresh": "bst_refresh_old_" + "y" * 10}


def test_a_read_goes_on_when_the_refresh_endpoint_fails_once():
    # The case: the access token expires mid-read and the refresh endpoint answers one 503.
    served = {"refresh": 0}

    def handler(request: Request) -> Response:
        if request.path == "/api/auth/token/refresh/":
            served["refresh"] += 1
            return Response(503) if served["refresh"] == 1 else Response(200, NEW_PAIR)
        if request.headers.get("Authorization") != f"Bearer {NEW_PAIR['access']}":
            return Response(401, {"detail": "Token expired"})
        return Response(200, {"count": 1, "sessions": [{"id": "s1"}]})

    mock = MockTransport(handler)
    pair = auth.TokenPair("bst_access_old_" + "x" * 10, "r", time.time() + 3600, f"{ROOT}/api/auth/token/refresh/")
    pair.transport = sign_in(mock)
    reader = mock.transport(ROOT, credentials=pair, retry=FAST)
    assert reader.get("api/private/stem/session/") == {"count": 1, "sessions": [{"id": "s1"}]}
    assert served["refresh"] == 2 and pair.access.reveal() == NEW_PAIR["access"]


def test_a_refused_refresh_token_says_sign_in_again():
    mock = MockTransport(in_order(Response(401, {"detail": "Token is invalid or expired"})))
    with pytest.raises(bsp.AuthenticationError, match="(?i)sign in again") as info:
        expired_pair(sign_in(mock)).header()
    assert info.value.status == 401 and "bst_refresh_old" not in str(info.value) and len(mock.requests) == 1


def test_a_refresh_endpoint_that_keeps_failing_is_not_called_the_end_of_the_sign_in():
    mock = MockTransport(in_order(Response(503, {"detail": "maintenance"})))
    with pytest.raises(bsp.AuthenticationError) as info:
        expired_pair(sign_in(mock)).header()
    assert info.value.status == 503 and "sign-in has ended" not in str(info.value)
    assert len(mock.requests) == FAST.attempts


def test_a_refresh_is_never_redirected():
    mock = MockTransport(in_order(Response(308, headers={"Location": "https://elsewhere.test/refresh/"})))
    with pytest.raises(bsp.AuthenticationError, match="https://elsewhere.test/refresh/"):
        expired_pair(sign_in(mock)).header()
    assert len(mock.requests) == 1


# -- the device flow --------------------------------------------------------------------------

DEVICE = {
    "device_code": "dev-" + "z" * 20,
    "user_code": "ABCD-EFGH",
    "verification_uri": f"{ROOT}/device/",
    "verification_uri_complete": f"{ROOT}/device/?code=ABCD-EFGH",
    "interval": 1,
    "expires_in": 60,
}


def device_server(*polls: Any, start: dict[str, Any] | None = None) -> MockTransport:
    answers = iter(polls)

    def handler(request: Request) -> Response:
        if request.path == "/api/auth/device/":
            return Response(200, DEVICE if start is None else start)
        answer = next(answers)
        return answer if isinstance(answer, Response) else Response(200, answer)

    return MockTransport(handler)


def test_the_device_flow_polls_until_approved_through_failures():
    mock = device_server(
        {"status": "authorization_pending"},
        Response(502),  # retried by the transport, not a refusal
        {"error": "slow_down"},
        {"status": "success", "token": "bst_pat_device"},
    )
    login = auth.start_device_login(ROOT, transport=sign_in(mock))
    assert login.user_code == "ABCD-EFGH" and login.transport is not None
    naps: list[float] = []
    assert login.wait(timeout=60, sleep=naps.append).reveal() == "bst_pat_device"
    assert naps == [1.0, 6.0]  # slow_down lengthened the interval by 5 s
    polls = [r for r in mock.requests if r.path == "/api/auth/device/token/"]
    assert len(polls) == 4 and all(r.json() == {"device_code": DEVICE["device_code"]} for r in polls)


def test_a_denied_device_sign_in_says_so():
    login = auth.start_device_login(ROOT, transport=sign_in(device_server({"error": "access_denied"})))
    with pytest.raises(bsp.AuthenticationError, match="denied in the browser"):
        login.poll_once()


def test_a_server_without_device_sign_in_says_so():
    mock = MockTransport(in_order(Response(200, {"detail": "nothing here"})))
    with pytest.raises(bsp.AuthenticationError, match="does not offer browser sign-in"):
        auth.start_device_login(ROOT, transport=sign_in(mock))


# The least a start answer may hold (docs/api.md shows only verification_uri_complete):
# no user code, no verification_uri, no interval.
MINIMAL = {
    "device_code": "dev-" + "m" * 20,
    "verification_uri_complete": f"{ROOT}/account/authorize/?session=s3ss10n",
    "expires_in": 30,
}


def test_browser_sign_in_works_from_the_complete_link_alone():
    pending = {"status": "authorization_pending"}
    mock = device_server(pending, pending, {"status": "success", "token": "bst_pat_minimal"}, start=MINIMAL)
    login = auth.start_device_login(ROOT, transport=sign_in(mock))
    assert (login.user_code, login.verification_uri) == ("", MINIMAL["verification_uri_complete"])
    assert login.instructions == f"To sign in, open {MINIMAL['verification_uri_complete']}"
    naps: list[float] = []
    assert login.wait(sleep=naps.append).reveal() == "bst_pat_minimal"
    assert naps == [5.0, 5.0]  # no interval announced: every 5 s, as the docs poll
    polls = [r for r in mock.requests if r.path == "/api/auth/device/token/"]
    assert [r.json() for r in polls] == [{"device_code": MINIMAL["device_code"]}] * 3


def test_device_login_shows_only_the_link_when_there_is_no_code(monkeypatch):
    mock = device_server({"status": "success", "token": "bst_pat_shown"}, start=MINIMAL)
    monkeypatch.setattr(auth, "sign_in_transport", lambda url: sign_in(mock))
    shown: list[str] = []
    token = auth.device_login(ROOT, open_browser=False, show=shown.append)
    assert token.reveal() == "bst_pat_shown"
    assert shown == [f"To sign in, open {MINIMAL['verification_uri_complete']}", "Signed in."]


def test_polling_an_unapproved_minimal_sign_in_is_bounded_and_names_the_link():
    # A sleep that does not sleep must not turn the wait into a busy loop: the window
    # (30 s) over the default interval (5 s) bounds the polls.
    mock = device_server(*[{"status": "authorization_pending"}] * 50, start=MINIMAL)
    login = auth.start_device_login(ROOT, transport=sign_in(mock))
    with pytest.raises(bsp.AuthenticationError, match="timed out after 30 s") as info:
        login.wait(sleep=lambda seconds: None)
    assert MINIMAL["verification_uri_complete"] in str(info.value)
    assert len([r for r in mock.requests if r.path == "/api/auth/device/token/"]) == 7  # at 0, 5, ..., 30 s


@pytest.mark.parametrize(
    "answer, interval, window",
    [
        ({**MINIMAL, "interval": 0, "expires_in": 10**9}, 1.0, 3600.0),  # too fast, too long: bounded
        ({**MINIMAL, "interval": "soon", "expires_in": None}, 5.0, 900.0),  # not numbers: the defaults
        ({**MINIMAL, "interval": True, "expires_in": float("nan")}, 5.0, 900.0),
        ({**MINIMAL, "interval": 10**6}, 60.0, 30.0),
    ],
)
def test_interval_and_window_from_the_server_stay_within_bounds(answer, interval, window):
    login = auth.start_device_login(ROOT, transport=sign_in(device_server(start=answer)))
    assert (login.interval, login.expires_in) == (interval, window)


@pytest.mark.parametrize(
    "answer",
    [
        {"verification_uri_complete": MINIMAL["verification_uri_complete"], "expires_in": 30},  # no device code
        {"device_code": "dev-" + "m" * 20, "expires_in": 30},  # no link at all
        {**MINIMAL, "verification_uri_complete": "javascript:alert(1)"},  # not a web link
        {**MINIMAL, "device_code": 12345},
    ],
)
def test_a_start_answer_without_a_device_code_or_a_web_link_is_refused(answer):
    mock = device_server(start=answer)
    with pytest.raises(bsp.AuthenticationError, match="does not offer browser sign-in.*personal access token"):
        auth.start_device_login(ROOT, transport=sign_in(mock))
    assert [r.path for r in mock.requests] == ["/api/auth/device/"]  # nothing polled


def test_password_sign_in_is_labelled_legacy_once(monkeypatch):
    monkeypatch.setattr(auth, "_legacy_warned", threading.Event())
    mock = MockTransport(lambda request: Response(200, PAIR))
    with pytest.warns(auth.LegacySignInWarning, match="legacy method.*2026-03-30.*personal access token"):
        auth.password_login(ROOT, "me@lab.example", PASSWORD, transport=sign_in(mock))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auth.password_login(ROOT, "me@lab.example", PASSWORD, transport=sign_in(mock))  # once per process
    assert len(mock.requests) == 2
    assert "Legacy" in (auth.password_login.__doc__ or "")
