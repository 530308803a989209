"""Faults, latency and rate limits chosen at start reach clients of the full sandbox."""

from __future__ import annotations

import time

import pytest
import requests

SESSIONS = "/api/private/stem/session/"


def _get(sb, path: str = SESSIONS, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {sb.token}"}
    return requests.get(sb.url + path, headers=headers, timeout=30, **kwargs)


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_error_faults(make_sandbox, kind):
    sb = make_sandbox(faults={kind: 1.0})
    r = _get(sb)
    assert r.status_code == int(kind) and "Injected" in r.json()["detail"]
    brainmaps = requests.get(sb.url + "/brainmaps/v1/brains/", timeout=30)
    assert brainmaps.status_code == int(kind) and {"error", "detail"} <= set(brainmaps.json())
    assert requests.get(sb.url + "/sandbox/health/", timeout=30).ok


def test_429_bursts_carry_retry_after(make_sandbox):
    sb = make_sandbox(faults={"429": 1.0}, retry_after=2)
    r = _get(sb)
    assert r.status_code == 429 and r.headers["Retry-After"] == "2" and r.json()["detail"]


def test_connection_resets(make_sandbox):
    sb = make_sandbox(faults={"reset": 1.0})
    with pytest.raises(requests.ConnectionError):
        _get(sb)
    assert requests.get(sb.url + "/sandbox/health/", timeout=30).ok


def test_truncated_bodies(make_sandbox):
    sb = make_sandbox(faults={"truncate": 1.0})
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        _get(sb, params={"limit": 100}).json()


def test_seeded_fault_mix_repeats_exactly(make_sandbox):
    faults = {"503": 0.3, "500": 0.1, "429": 0.1}
    runs = []
    for _ in range(2):
        sb = make_sandbox(faults=faults, seed=7, burst_429=1)
        runs.append([_get(sb, params={"limit": 1}).status_code for _ in range(40)])
        sb.stop()
    assert runs[0] == runs[1]
    assert {200, 503} <= set(runs[0])


def test_latency_is_added_to_api_requests(make_sandbox):
    sb = make_sandbox(latency_ms=300)
    start = time.monotonic()
    assert _get(sb, params={"limit": 1}).ok
    assert time.monotonic() - start >= 0.3


def test_rate_limit_headers_and_429(make_sandbox):
    sb = make_sandbox(rate_limit=5, rate_window=60)
    answers = [_get(sb, params={"limit": 1}) for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 5 + [429]
    assert answers[0].headers["X-RateLimit-Limit"] == "5"
    assert [int(r.headers["X-RateLimit-Remaining"]) for r in answers[:5]] == [4, 3, 2, 1, 0]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert int(answers[-1].headers["X-RateLimit-Reset"]) > time.time()
