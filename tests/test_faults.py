"""A misbehaving server: the read comes out exactly as without faults, or as a typed error naming the page.

Two sandboxes hold the same seeded data (about 10,000 sessions visible to the demo
user); one injects, request by request and seeded, 10% 5xx, 5% 429 with
``Retry-After``, 2% connection resets and 1% truncated bodies. Reading sessions
with three includes from both must give identical tables. The time it takes is
measured by ``benchmarks/bench_faults.py``, not asserted here.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

import brainstem_pandas as bsp
from brainstem_pandas.sandbox import Sandbox

# 10% 5xx split over the three kinds the sandbox injects, then 429, resets, truncations.
FAULTS = {"500": 0.034, "502": 0.033, "503": 0.033, "429": 0.05, "reset": 0.02, "truncate": 0.01}
INCLUDE = ["behaviors", "dataacquisition", "manipulations"]
# The demo user sees about three in four seeded sessions: this seeds about 10,000 visible ones.
SEEDED = 13_334
SEED = int(os.environ.get("BSP_TEST_SEED", "0"))
# Quick retries for the cases that must fail: what is bounded is the number of attempts.
QUICK = bsp.RetryPolicy(attempts=4, backoff=0.01, max_wait=5.0)


@pytest.fixture(scope="module")
def servers():
    with Sandbox(sessions=SEEDED, seed=SEED) as clean, Sandbox(sessions=SEEDED, seed=SEED, faults=FAULTS) as faulty:
        yield clean, faulty


def read(sb: Sandbox) -> tuple[bsp.LinkedFrames, bsp.Client]:
    client = bsp.connect(sb.url, token=sb.token, progress=False)
    return client.read_linked("session", include=INCLUDE), client


def test_a_read_through_faults_equals_the_fault_free_read(servers):
    clean_sb, faulty_sb = servers
    expected, clean = read(clean_sb)
    got, faulty = read(faulty_sb)
    assert len(expected["session"]) >= 9_000  # the scale the issue asks for
    assert got.tables.keys() == expected.tables.keys()
    for name, table in expected.tables.items():
        assert got[name].index.is_unique or not table.index.is_unique, name  # nothing duplicated
        pd.testing.assert_frame_equal(got[name], table, obj=name)
    # Every kind of fault really happened, and each one was retried:
    retried = faulty.transport.retries
    assert {"500", "502", "503", "429"} <= set(retried), retried
    assert retried["ConnectionError"] > 0 and retried["ChunkedEncodingError"] > 0, retried
    assert not clean.transport.retries
    # ...and nothing else: the same pages were asked for, once each plus one per retry.
    assert faulty.transport.requests_sent == clean.transport.requests_sent + sum(retried.values())


@pytest.mark.parametrize("faults, error", [
    ({"503": 1.0}, bsp.ServerError),
    ({"500": 0.5, "502": 0.5}, bsp.ServerError),
    ({"429": 1.0}, bsp.RateLimitError),
    ({"reset": 1.0}, bsp.TransportError),
    ({"truncate": 1.0}, bsp.TransportError),
], ids=["503", "500-502", "429", "reset", "truncate"])
def test_faults_no_retry_can_beat_give_a_typed_error_naming_the_page(make_sandbox, faults, error):
    sb = make_sandbox(sessions=300, faults=faults, seed=SEED)
    client = bsp.connect(sb.url, token=sb.token, progress=False, retry=QUICK)
    with pytest.raises(error) as info:
        client.read_linked("session", include=INCLUDE)
    message = str(info.value)
    assert message.startswith("Page 1 (limit=100, offset=0): GET ")
    assert info.value.where == "Page 1 (limit=100, offset=0)"
    # Bounded: the attempts the policy allows for page one, and not one request more. A 429
    # saying "retry after 1 s" is waited for without using up an attempt, up to max_wait.
    bound = int(QUICK.max_wait) + 1 if error is bsp.RateLimitError else QUICK.attempts
    assert client.transport.requests_sent == bound
    assert info.value.attempts == bound
    assert "try again" in message.lower()


def test_a_later_page_that_cannot_be_fetched_is_named(make_sandbox):
    # Two requests a minute: pages 1 and 2 arrive, page 3 is throttled for far longer
    # than the policy will wait, so the client stops at once and says which page.
    sb = make_sandbox(sessions=600, rate_limit=2, rate_window=600)
    client = bsp.connect(sb.url, token=sb.token, progress=False, workers=1, retry=QUICK)
    with pytest.raises(bsp.RateLimitError) as info:
        client.read("session")
    assert info.value.where == "Page 3 (limit=100, offset=198)"
    assert "Wait and try again" in str(info.value)
    assert client.transport.requests_sent == 3
