"""Client reads on a mock server: stopping early, errors that end a walk, and records added meanwhile.

Moved from tests/integration/test_pagination.py, where each started a sandbox with
added latency: what they check is the client's walking, which a mock drives as well.
"""

from __future__ import annotations

import threading

import pytest

import brainstem_pandas as bsp
from brainstem_pandas.testing import MOCK_URL, MockTransport, Request, Response, serve_offset


def session(n: int) -> dict:
    return {"id": f"{n:08d}-0000-4000-8000-000000000000", "name": f"s{n}"}


def sessions(count: int, start: int = 1000) -> list[dict]:
    return [session(n) for n in range(start, start + count)]


def client_on(handler, **options) -> tuple[bsp.Client, MockTransport]:
    client = bsp.Client(MOCK_URL, None, progress=False, **options)
    mock = MockTransport(handler)
    mock.install(client.transport)
    return client, mock


def page_threads_finish() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("bsp-page"):
            thread.join(10)
            assert not thread.is_alive()


def test_stopping_early_cancels_outstanding_pages():
    serve, stalled = serve_offset(sessions(210), "sessions"), threading.Event()

    def handler(request: Request) -> Response:
        if request.params["offset"] != "0":
            stalled.wait(10)  # slow pages: still on the wire when the consumer stops
        return serve(request)

    client, mock = client_on(handler, workers=2)
    pages = client.iter_pages("session")
    next(pages)
    pages.close()
    sent = client.transport.requests_sent
    stalled.set()
    page_threads_finish()
    assert client.transport.requests_sent == sent == len(mock.requests)  # nothing new after the consumer stopped
    assert sent < 7  # 210 sessions are 3 pages of 100... far fewer than a full queue of work


def test_an_error_cancels_the_rest_of_the_walk():
    serve = serve_offset(sessions(1400), "sessions")
    failing = {"99", "198", "297", "396"}

    def handler(request: Request) -> Response:
        return Response(503) if request.params["offset"] in failing else serve(request)

    client, mock = client_on(handler, workers=4, retry=bsp.RetryPolicy(attempts=1))
    with pytest.raises(bsp.ServerError):
        client.read("session")
    page_threads_finish()
    assert client.transport.requests_sent < 14  # 14 pages would be a full walk


class Writer:
    """Adds a session in front of the list before every second page, until stopped (another user writing)."""

    def __init__(self, data: list[dict]) -> None:
        self.data, self.writing, self.lock = data, True, threading.Lock()
        self.serve, self.count = serve_offset(data, "sessions"), 0

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.count += 1
            if self.writing and self.count % 2 == 0:
                self.data.insert(0, session(1000 - self.count))
            return self.serve(request)


def test_records_added_during_the_walk_are_never_a_silent_gap():
    data = sessions(900)
    writer = Writer(data)
    client, _ = client_on(writer, workers=2)
    with pytest.raises(bsp.PaginationError) as info:
        client.read("session")
    assert info.value.expected is not None and info.value.walks == 3
    assert "changed during the walk" in str(info.value) or "announced" in str(info.value)
    # Once the writer stops, a read is complete and agrees with the server's records.
    writer.writing = False
    assert set(client.read("session").index) == {r["id"] for r in data}


def test_warn_instead_of_raise(recwarn):
    client, _ = client_on(Writer(sessions(900)), workers=2)
    frame = client.read("session", on_inconsistency="warn")
    assert frame.index.is_unique and len(frame) > 600
    assert any("Incomplete read" in str(w.message) for w in recwarn)
