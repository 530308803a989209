"""Fault injection of the sandbox server, seen from a client.

Each test talks to a real gunicorn (``--preload``, gthread, 2 workers x 4
threads) serving a tiny WSGI app wrapped by
:func:`brainstem_pandas.sandbox.faults.wrap_wsgi`, so that shared state across
worker processes and the connection-level faults are exercised for real.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests

from brainstem_pandas.sandbox.config import ENV_VAR, SandboxConfig
from brainstem_pandas.sandbox.faults import wrap_wsgi

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKERS, THREADS = 2, 4

# The app every server runs: a JSON echo naming the worker that answered.
APP_SOURCE = """
import json
import os

from brainstem_pandas.sandbox.config import load_config
from brainstem_pandas.sandbox.faults import wrap_wsgi


def echo(environ, start_response):
    body = json.dumps(
        {"path": environ["PATH_INFO"], "pid": os.getpid(), "padding": "x" * 2000}
    ).encode()
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


application = wrap_wsgi(echo, load_config())
"""


class GunicornServer:
    """A gunicorn subprocess on a free loopback port, serving ``APP_SOURCE``."""

    def __init__(self, config: SandboxConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.log_path = workdir / f"gunicorn-{id(self)}.log"
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> GunicornServer:
        # Binding here and handing the socket over (fd://) avoids racing for a
        # port between choosing it and gunicorn binding it.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        env = dict(os.environ)
        env[ENV_VAR] = self.config.to_json()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.workdir), str(REPO_ROOT), env.get("PYTHONPATH")]))
        cmd = [
            sys.executable, "-m", "gunicorn",
            "--preload",
            "--worker-class", "gthread",
            "--workers", str(WORKERS),
            "--threads", str(THREADS),
            "--bind", f"fd://{listener.fileno()}",
            "--graceful-timeout", "3",
            "--log-level", "info",
            # Several servers run at once: keep them off the shared default
            # control socket in $HOME.
            "--no-control-socket",
            "faults_app:application",
        ]  # fmt: skip
        try:
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    cmd,
                    cwd=self.workdir,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(listener.fileno(),),
                )
        finally:
            listener.close()  # gunicorn holds its own copy now
        return self

    def wait_ready(self, timeout: float = 30.0) -> GunicornServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"gunicorn exited early:\n{self.log()}")
            try:
                if requests.get(self.url + "/sandbox/health/", timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        pytest.fail(f"gunicorn did not become ready:\n{self.log()}")

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults_app")
    (path / "faults_app.py").write_text(APP_SOURCE)
    return path


@contextmanager
def running(workdir: Path, *configs: SandboxConfig) -> Iterator[list[GunicornServer]]:
    """Run one server per config, started side by side, stopped on exit."""
    servers: list[GunicornServer] = []
    try:
        for config in configs:
            servers.append(GunicornServer(config, workdir).start())
        yield [server.wait_ready() for server in servers]
    finally:
        for server in servers:  # signal all first: they shut down side by side
            server.terminate()
        for server in servers:
            server.stop()


@pytest.fixture
def serve(workdir: Path) -> Iterator[Callable[..., list[GunicornServer]]]:
    """Start servers for the given configs; they stop when the test ends."""
    with ExitStack() as stack:
        yield lambda *configs: stack.enter_context(running(workdir, *configs))


def outcome(url: str, **kwargs) -> int | str:
    """What a client sees: a status code, ``"reset"`` or ``"truncate"``."""
    try:
        return requests.get(url, timeout=10, **kwargs).status_code
    except requests.exceptions.ChunkedEncodingError:
        return "truncate"
    except requests.exceptions.ConnectionError:
        return "reset"


def outcomes(url: str, n: int) -> list[int | str]:
    """Outcomes of ``n`` sequential requests, each on a fresh connection."""
    return [outcome(f"{url}/api/items/{i}/") for i in range(n)]


def assert_clean_log(server: GunicornServer) -> None:
    log = server.log()
    assert "Traceback" not in log and "Error handling request" not in log, log


# --------------------------------------------------------------------------
# Off and latency
# --------------------------------------------------------------------------


def test_wrap_is_identity_when_nothing_is_enabled():
    def app(environ, start_response):
        return []

    assert wrap_wsgi(app, SandboxConfig()) is app
    assert wrap_wsgi(app, SandboxConfig(faults={"503": 0.0})) is app
    assert wrap_wsgi(app, SandboxConfig(latency_ms=5)) is not app


def test_pass_through_when_off(serve):
    (server,) = serve(SandboxConfig(seed=1))
    for path in ("/api/private/stem/session/", "/brainmaps/atlas/", "/sandbox/health/"):
        resp = requests.get(server.url + path, timeout=10)
        assert resp.status_code == 200
        assert resp.json()["path"] == path
        assert "X-RateLimit-Limit" not in resp.headers


def test_latency_is_added_to_api_requests(serve):
    (server,) = serve(SandboxConfig(latency_ms=300))
    for path in ("/api/items/", "/brainmaps/atlas/"):
        start = time.monotonic()
        resp = requests.get(server.url + path, timeout=10)
        assert resp.status_code == 200
        assert time.monotonic() - start >= 0.3


# --------------------------------------------------------------------------
# Injected answers
# --------------------------------------------------------------------------


def test_server_errors_carry_json_bodies(serve):
    third = 1 / 3
    (server,) = serve(SandboxConfig(seed=3, faults={"500": third, "502": third, "503": third}))
    reasons = {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
    }
    seen: set[int] = set()
    for i in range(30):
        prefix = "/api" if i % 2 else "/brainmaps"
        resp = requests.get(f"{server.url}{prefix}/items/{i}/", timeout=10)
        assert resp.status_code in reasons
        assert resp.headers["Content-Type"] == "application/json"
        detail = f"Injected fault: {resp.status_code} {reasons[resp.status_code]}"
        if prefix == "/api":
            assert resp.json() == {"detail": detail}
        else:
            assert resp.json() == {"error": reasons[resp.status_code], "detail": detail}
        seen.add(resp.status_code)
    assert seen == set(reasons)


def test_429_comes_in_bursts_with_retry_after(serve):
    burst = 3
    (server,) = serve(SandboxConfig(seed=5, faults={"429": 0.15}, burst_429=burst, retry_after=2))
    codes = []
    for i in range(90):
        prefix = "/api" if i % 2 else "/brainmaps"
        resp = requests.get(f"{server.url}{prefix}/items/{i}/", timeout=10)
        codes.append(resp.status_code)
        if resp.status_code == 429:
            assert resp.headers["Retry-After"] == "2"
            detail = "Request was throttled. Expected available in 2 seconds."
            if prefix == "/api":
                assert resp.json() == {"detail": detail}
            else:
                assert resp.json() == {"error": "Rate limit exceeded", "detail": detail}
        else:
            assert resp.status_code == 200
    runs = [len(run) for run in "".join("x" if c == 429 else "." for c in codes).split(".")]
    finished = runs[:-1]  # the last run may still be going on
    assert [n for n in finished if n]  # at least one burst happened
    # Back-to-back bursts merge, so a run is a whole number of bursts.
    assert all(n % burst == 0 for n in finished), runs


def test_reset_drops_the_connection(serve):
    (server,) = serve(SandboxConfig(faults={"reset": 1.0}))
    # More resets than the server has threads: none of them may stay stuck.
    for i in range(WORKERS * THREADS + 4):
        with pytest.raises(requests.exceptions.ConnectionError) as info:
            requests.get(f"{server.url}/api/items/{i}/", timeout=10)
        assert "reset" in repr(info.value).lower()
    assert requests.get(server.url + "/sandbox/health/", timeout=10).status_code == 200
    assert_clean_log(server)


def test_truncate_cuts_the_body_and_keeps_serving(serve):
    (server,) = serve(SandboxConfig(faults={"truncate": 1.0}))
    for i in range(WORKERS * THREADS + 4):
        resp = requests.get(f"{server.url}/api/items/{i}/", timeout=10, stream=True)
        assert resp.status_code == 200
        assert resp.headers["Connection"] == "close"
        assert int(resp.headers["Content-Length"]) > 2000
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            _ = resp.content
        resp.close()
    # The same session keeps working after its connection broke.
    with requests.Session() as session:
        assert outcome(f"{server.url}/api/items/x/") == "truncate"
        assert session.get(server.url + "/sandbox/health/", timeout=10).ok
        assert outcome(f"{server.url}/brainmaps/items/x/") == "truncate"
        assert session.get(server.url + "/sandbox/health/", timeout=10).ok
    assert_clean_log(server)


# --------------------------------------------------------------------------
# Determinism and fractions
# --------------------------------------------------------------------------

MIXED = {"500": 0.1, "502": 0.05, "503": 0.1, "reset": 0.05, "truncate": 0.05}
N_MIXED = 300


@pytest.fixture(scope="module")
def mixed_runs(workdir: Path) -> list[list[int | str]]:
    """Outcome sequences of three fresh servers: seeds 11, 11 and 12."""
    configs = (SandboxConfig(seed=seed, faults=MIXED) for seed in (11, 11, 12))
    with running(workdir, *configs) as servers, ThreadPoolExecutor(3) as pool:
        return list(pool.map(lambda server: outcomes(server.url, N_MIXED), servers))


def test_same_seed_same_faults(mixed_runs):
    first, same_seed, other_seed = mixed_runs
    assert first == same_seed
    assert first != other_seed


def test_fault_fractions_are_roughly_respected(mixed_runs):
    counts = Counter(mixed_runs[0])
    expected = {int(k) if k.isdigit() else k: v for k, v in MIXED.items()}
    for kind, rate in expected.items():
        assert abs(counts[kind] / N_MIXED - rate) < 0.06, counts
    assert abs(counts[200] / N_MIXED - (1 - sum(MIXED.values()))) < 0.1, counts


# --------------------------------------------------------------------------
# Rate limiting
# --------------------------------------------------------------------------


def sessions_per_worker(url: str, stack: ExitStack) -> list[requests.Session]:
    """One kept-alive session per worker process.

    Fresh connections are opened until each worker has accepted one; a
    kept-alive connection stays with its worker, so requests can then be
    spread over both workers at will. Each probe uses its own credentials so
    the probes do not count against the client under test.
    """
    found: dict[int, requests.Session] = {}
    for i in range(200):
        session = stack.enter_context(requests.Session())
        probe = session.get(f"{url}/api/probe/", headers={"Authorization": f"Token p{i}"}, timeout=10)
        found.setdefault(probe.json()["pid"], session)
        if len(found) == WORKERS:
            return list(found.values())
    pytest.fail(f"only {len(found)} of {WORKERS} workers accepted connections")


def test_rate_limit_is_shared_by_all_workers(serve):
    limit = 40
    (server,) = serve(SandboxConfig(rate_limit=limit, rate_window=60))
    auth = {"Authorization": "Token shared"}
    with ExitStack() as stack:
        sessions = sessions_per_worker(server.url, stack)
        answers = [
            sessions[i % WORKERS].get(f"{server.url}/api/items/{i}/", headers=auth, timeout=10) for i in range(limit)
        ]
        assert [r.status_code for r in answers] == [200] * limit
        assert len({r.json()["pid"] for r in answers}) == WORKERS
        # One count for all workers: each remaining value shows up exactly once.
        remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in answers]
        assert remaining == list(range(limit - 1, -1, -1))
        assert {r.headers["X-RateLimit-Limit"] for r in answers} == {str(limit)}
        reset = int(answers[0].headers["X-RateLimit-Reset"])
        assert time.time() - 1 <= reset <= time.time() + 61

        for session in sessions:  # over the limit, whichever worker answers
            throttled = session.get(f"{server.url}/api/items/", headers=auth, timeout=10)
            assert throttled.status_code == 429
            wait = int(throttled.headers["Retry-After"])
            assert 1 <= wait <= 60
            assert throttled.headers["X-RateLimit-Remaining"] == "0"
            assert throttled.json() == {"detail": f"Request was throttled. Expected available in {wait} seconds."}
            brainmaps = session.get(f"{server.url}/brainmaps/atlas/", headers=auth, timeout=10)
            assert brainmaps.status_code == 429
            assert brainmaps.json()["error"] == "Rate limit exceeded"

    # Other clients have their own window; health checks are never counted.
    other = requests.get(f"{server.url}/api/items/", headers={"Authorization": "Token b"}, timeout=10)
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Remaining"] == str(limit - 1)
    health = requests.get(f"{server.url}/sandbox/health/", headers=auth, timeout=10)
    assert health.status_code == 200
    assert "X-RateLimit-Limit" not in health.headers


def test_health_is_never_faulted_or_limited(serve):
    (server,) = serve(SandboxConfig(faults={"503": 1.0}, rate_limit=1))
    assert outcome(server.url + "/api/items/") == 503
    assert outcome(server.url + "/api/items/") == 429
    for _ in range(10):
        resp = requests.get(server.url + "/sandbox/health/", timeout=10)
        assert resp.status_code == 200
        assert json.loads(resp.content)["path"] == "/sandbox/health/"
        assert "X-RateLimit-Remaining" not in resp.headers
