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
