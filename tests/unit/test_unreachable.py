"""A server that cannot be reached at all is given up after two tries, with a message saying what to check."""

from __future__ import annotations

import socket

import pytest
import requests
import urllib3.exceptions

import brainstem_pandas as bsp
from brainstem_pandas.testing import MockTransport, Response, in_order
from brainstem_pandas.transport import RetryPolicy, Transport

EIGHT = RetryPolicy(attempts=8, backoff=0.0)


def refused() -> requests.ConnectionError:
    # As requests raises it: a MaxRetryError whose reason is urllib3's NewConnectionError, caused by the OS error.
    new = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")
    new.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/api/x/", new))


def unknown_name() -> requests.ConnectionError:
    reason = urllib3.exceptions.NameResolutionError("brainstem.orgg", None, socket.gaierror(-2, "Name not known"))
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/api/x/", reason))


@pytest.mark.parametrize(
    "failure, said, advice",
    [
        (refused, "the connection was refused", "check the server URL (its port)"),
        (unknown_name, "the server's name could not be resolved", "the spelling of its host"),
        (lambda: requests.exceptions.SSLError("certificate verify failed"), "TLS", "check the server URL's scheme"),
    ],
)
def test_an_unreachable_server_gets_two_tries_and_says_what_to_check(failure, said, advice):
    mock = MockTransport(lambda request: (_ for _ in ()).throw(failure()))
    with pytest.raises(bsp.TransportError) as info:
        mock.transport(retry=EIGHT).get("api/x/")
    assert len(mock.requests) == 2 and info.value.attempts == 2 and info.value.unreachable
    text = str(info.value)
    assert text.startswith("The server cannot be reached") and said in text and advice.lower() in text.lower()


def test_a_refused_try_then_an_answer_reads():
    mock = MockTransport(in_order(refused(), Response(200, {"ok": True})))
    assert mock.transport(retry=EIGHT).get("api/x/") == {"ok": True} and len(mock.requests) == 2


def test_a_reset_is_still_retried_as_often_as_the_policy_says():
    mock = MockTransport(lambda request: (_ for _ in ()).throw(requests.ConnectionError("reset by peer")))
    with pytest.raises(bsp.TransportError) as info:
        mock.transport(retry=EIGHT).get("api/x/")
    assert len(mock.requests) == 8 and not info.value.unreachable


def test_a_closed_loopback_port_is_given_up_after_two_connection_attempts():
    with socket.socket() as probe:  # bound, never listening: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        transport = Transport(f"http://127.0.0.1:{port}", retry=EIGHT)
        with pytest.raises(bsp.TransportError, match="connection was refused.*is running") as info:
            transport.get("api/x/")
    assert transport.requests_sent == 2 and info.value.attempts == 2
