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
    # burst_429=1: each 429 is one request, so 5% of requests are throttled (the sandbox
    # otherwise throttles the next three requests after each drawn 429).
    with (
        Sandbox(sessions=SEEDED, seed=SEED) as clean,
        Sandbox(sessions=SEEDED, seed=SEED, faults=FAULTS, burst_429=1) as faulty,
    ):
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


@pytest.mark.parametrize(
    "faults, error",
    [
        ({"503": 1.0}, bsp.ServerError),
        ({"500": 0.5, "502": 0.5}, bsp.ServerError),
        ({"429": 1.0}, bsp.RateLimitError),
        ({"reset": 1.0}, bsp.TransportError),
        ({"truncate": 1.0}, bsp.TransportError),
    ],
    ids=["503", "500-502", "429", "reset", "truncate"],
)
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


class PagedServer:
    """A list of 1,000 records on 127.0.0.1; the first request for one page is throttled.

    Records the order in which requests were answered, and for each request as it
    starts, its offset and how many requests are then in flight (itself included);
    an offset of -1 marks the moment the 429 was answered.
    """

    def __init__(self, throttled_offset: int) -> None:
        import http.server
        import json
        import threading
        import time
        from urllib.parse import parse_qs, urlsplit

        self.log: list[str] = []
        self.starts: list[tuple[int, int]] = []
        self.in_flight = self.most = 0
        lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                offset, limit = int(query["offset"][0]), int(query["limit"][0])
                with lock:
                    outer.in_flight += 1
                    outer.most = max(outer.most, outer.in_flight)
                    outer.starts.append((offset, outer.in_flight))
                    first = f"{offset}" not in outer.log and f"{offset} throttled" not in outer.log
                time.sleep(0.05)  # long enough for the walk's requests to overlap
                throttle = offset == throttled_offset and first
                body = (
                    {"detail": "slow down"}
                    if throttle
                    else {
                        "count": 1000,
                        "sessions": [{"id": f"{i:04d}"} for i in range(offset, min(offset + limit, 1000))],
                    }
                )
                data = json.dumps(body).encode()
                with lock:
                    outer.in_flight -= 1
                    outer.log.append(f"{offset} throttled" if throttle else f"{offset}")
                    if throttle:
                        outer.starts.append((-1, outer.in_flight))  # marks the moment the 429 went out
                self.send_response(429 if throttle else 200)
                if throttle:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "PagedServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_page_waiting_out_retry_after_does_not_hold_up_the_others():
    with PagedServer(throttled_offset=99) as server:
        client = bsp.connect(server.url, token="bst_pat_test0123456789", progress=False, workers=3)
        frame = client.read_url("/api/private/stem/session/", "sessions", paginator=bsp.OffsetPaginator())
    assert list(frame.index) == [f"{i:04d}" for i in range(1000)]
    # Never more requests on the wire than workers, and all of them were used...
    assert server.most == 3
    # ...also while page 2 waited its second: the waiting page gave up its place on the
    # wire, so the other pages went on three at a time, not two.
    answered = server.starts.index(next(s for s in server.starts if s[0] == -1))
    retry = [i for i, (offset, _) in enumerate(server.starts) if offset == 99][-1]
    meanwhile = server.starts[answered + 1 : retry]
    assert len(meanwhile) >= 3 and max(n for _, n in meanwhile) == 3, server.starts
