"""Settings of the wrong type or value are a ConfigurationError saying what to pass, before any request."""

from __future__ import annotations

import pytest

import brainstem_pandas as bsp
from brainstem_pandas.transport import Transport

URL = "http://127.0.0.1:9"  # never reached: every case is refused before a request
TOKEN = "x" * 40

CASES = {
    "url a number": (lambda: bsp.connect(3, token=TOKEN), "must be text such as"),
    "client url a number": (lambda: bsp.Client(3), "must be text such as"),
    "url bytes": (lambda: bsp.connect(b"http://127.0.0.1", token=TOKEN), "must be text such as"),
    "timeout a number": (lambda: bsp.connect(URL, token=TOKEN, timeout=-1), "e.g. (10, 120)"),
    "timeout text": (lambda: bsp.connect(URL, token=TOKEN, timeout="10"), "e.g. (10, 120)"),
    "timeout negative": (lambda: bsp.connect(URL, token=TOKEN, timeout=(1, -2)), "e.g. (10, 120)"),
    "timeout nan": (lambda: bsp.connect(URL, token=TOKEN, timeout=(1, float("nan"))), "e.g. (10, 120)"),
    "timeout infinite": (lambda: bsp.connect(URL, token=TOKEN, timeout=(1, float("inf"))), "e.g. (10, 120)"),
    "timeout booleans": (lambda: bsp.connect(URL, token=TOKEN, timeout=(True, True)), "e.g. (10, 120)"),
    "timeout four parts": (lambda: bsp.connect(URL, token=TOKEN, timeout=(1, 2, 3, 4)), "e.g. (10, 120)"),
    "retry a number": (lambda: bsp.connect(URL, token=TOKEN, retry=3), "must be a RetryPolicy"),
    "max_body zero": (lambda: Transport(URL, max_body=0), "whole number of bytes"),
    "max_body text": (lambda: Transport(URL, max_body="1"), "whole number of bytes"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_careless_setting_says_what_to_pass(name: str) -> None:
    call, phrase = CASES[name]
    with pytest.raises(bsp.ConfigurationError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_good_settings_are_kept() -> None:
    transport = Transport(URL, timeout=(1, 2, 3))
    assert (transport.timeout, transport.deadline) == ((1.0, 2.0), 3.0)


def _client_on_a_mock():
    from brainstem_pandas.testing import MockTransport, serve_offset

    mock = MockTransport(serve_offset([{"id": "9a6e1f4c-61a6-4b8e-9d58-0a4cbd0d6e1a", "name": "s"}], "sessions"))
    client = bsp.Client(URL, None, portal="public", progress=False)
    mock.install(client.transport)
    return client, mock


READS = {
    "on_page not callable": (lambda c: c.read_linked("session", on_page=3), "on_page must be a function"),
    "cancel text": (lambda c: c.read_linked("session", cancel="stop"), "cancel must be a threading.Event"),
    "read_url of a number": (lambda c: c.read_url(3), "url must be the text of a list endpoint"),
    "a billion workers": (lambda c: c.read("session", workers=10**9), "from 1 to 64"),
}


@pytest.mark.parametrize("name", READS)
def test_a_careless_read_argument_is_refused_before_any_request(name: str) -> None:
    client, mock = _client_on_a_mock()
    call, phrase = READS[name]
    with pytest.raises(bsp.ConfigurationError, match=phrase):
        call(client)
    assert mock.requests == []
