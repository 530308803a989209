"""Reading every session under each envelope: concurrent ``read`` vs a sequential walk, a bare-requests floor, a replay.

Usage: python benchmarks/bench_fetch.py [--sessions 10000] [--latency-ms 50] [--workers 8] [--repeat 3]
                                        [--envelopes count,meta,bare,docs,pages] [--no-official] [--no-cache]

For each envelope the sandbox offers (``count``, ``meta``, ``bare``, ``docs``, ``pages``)
a sandbox starts with ``--latency-ms`` added to every request and about ``--sessions``
sessions visible to the demo user; on each portal it times, best of ``--repeat``:

- ``read``: ``client.read("session")`` with ``--workers`` (the envelope detected from the first answer);
- ``sequential``: the same read with one worker (timed once: it is the slow one);
- ``floor``: a bare ``requests`` loop GETting the very pages ``read`` asked for (the first
  one alone, then the rest with the same concurrency; no parsing): a lower bound for any client;
- ``replay``: ``read`` against a replay server holding the sandbox's answers in memory and
  sleeping the latency (a thread per connection, no lock held while sleeping, almost no
  CPU per request), so the two-core sandbox's CPU does not cap the client. Its time is
  compared with the latency bound: ``(1 + ceil((pages - 1) / workers)) x latency``, the
  first page alone (it tells the total) and then every other page a sequential read
  needs in rounds of ``workers``.

Targets: ``read`` at least 5x faster than ``sequential`` and within 1.25x of ``floor``;
``replay`` within 1.15x of the bound. With the ``count`` envelope the official client
(brainstem-python-api-tools, ``load_all=True``) is timed too (``--no-official`` skips it).
The sandbox keeps rendered answers until the next write (as a production API cache
would); ``--no-cache`` measures with every page rendered by Django.
Figures are printed; nothing here fails on time.
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import HTTPAdapter

import brainstem_pandas as bsp
from brainstem_pandas.sandbox import Sandbox

# The demo user sees 7 of every 10 seeded sessions (the rest belong to other labs).
VISIBLE_SHARE = 0.7
ENVELOPES = ("count", "meta", "bare", "docs", "pages")
Key = tuple[str, tuple[tuple[str, str], ...]]


def key_of(url: str) -> Key:
    parts = urlsplit(url)
    return parts.path, tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


class Recorder:
    """The URLs a client asked for, in order; :meth:`record` then fetches their answers once (by path and query)."""

    def __init__(self) -> None:
        self.answers: dict[Key, tuple[int, bytes]] = {}
        self.urls: list[str] = []
        self.lock = threading.Lock()

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        # The URL only: the client reads the body itself, as a stream.
        with self.lock:
            self.urls.append(response.url)

    def record(self, token: str) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {token}"
            for url in dict.fromkeys(self.urls):
                r = session.get(url, timeout=120)
                self.answers[key_of(url)] = (r.status_code, r.content)


class ReplayServer:
    """Serves recorded answers from memory after ``latency`` seconds; unknown URLs are fetched from ``origin`` once."""

    def __init__(self, answers: dict[Key, tuple[int, bytes]], latency: float, origin: str, token: str) -> None:
        self.answers, self.latency, self.origin, self.token = answers, latency, origin, token
        self.misses = 0
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the sandbox's server

            def do_GET(self) -> None:  # noqa: N802 (the http.server name)
                status, body = replay.answer(self.path)
                time.sleep(replay.latency)  # no lock is held: concurrent requests sleep together
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str) -> tuple[int, bytes]:
        found = self.answers.get(key_of(path))
        if found is None:  # a page the recording run did not ask for (speculation differs run to run)
            self.misses += 1
            r = requests.get(self.origin + path, headers={"Authorization": f"Bearer {self.token}"}, timeout=60)
            found = self.answers[key_of(path)] = (r.status_code, r.content)
        return found

    def __enter__(self) -> "ReplayServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_read(
    url: str, token: str, portal: str, workers: int, recorder: Recorder | None = None
) -> tuple[float, int, int]:
    client = bsp.connect(url, token=token, workers=workers, progress=False)
    if recorder is not None:
        client.transport.session.hooks["response"].append(recorder.hook)
    start = time.perf_counter()
    frame = client.read("session", portal=portal)
    elapsed = time.perf_counter() - start
    sent = client.transport.requests_sent
    client.close()
    return elapsed, sent, len(frame)


def run_official(sb: Sandbox) -> tuple[float, int, int]:
    from brainstem_api_tools import BrainstemClient

    client = BrainstemClient(token=sb.token, url=sb.url)
    calls = []
    real_get = client._session.get

    def counting_get(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real_get(*args, **kwargs)

    client._session.get = counting_get
    start = time.perf_counter()
    combined = client.load("session", load_all=True)
    return time.perf_counter() - start, len(calls), len(combined["sessions"])


def run_floor(urls: list[str], token: str, workers: int) -> tuple[float, int, int]:
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=workers, pool_maxsize=workers))
    session.headers["Authorization"] = f"Bearer {token}"

    def fetch(url: str) -> int:
        return len(session.get(url, timeout=120).content)

    start = time.perf_counter()
    fetch(urls[0])  # page one first, as any client must (it tells the total)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fetch, urls[1:]))
    elapsed = time.perf_counter() - start
    session.close()
    return elapsed, len(urls), 0


def best(run: Callable[[], tuple[float, int, int]], repeat: int) -> tuple[float, int, int]:
    runs = [run() for _ in range(repeat)]
    return min(runs)


def measure(sb: Sandbox, envelope: str, portal: str, args: argparse.Namespace) -> dict[str, Any]:
    """One row: the envelope on one portal."""
    latency = args.latency_ms / 1000
    recorder = Recorder()
    run_read(sb.url, sb.token, portal, args.workers, recorder)  # warms the sandbox's cache, records the pages
    urls = list(recorder.urls)
    sequential = run_read(sb.url, sb.token, portal, 1, recorder)
    read = best(lambda: run_read(sb.url, sb.token, portal, args.workers), args.repeat)
    floor = best(lambda: run_floor(urls, sb.token, args.workers), args.repeat)
    recorder.record(sb.token)
    with ReplayServer(recorder.answers, latency, sb.url, sb.token) as replay:
        run_read(replay.url, sb.token, portal, args.workers)  # fetches what the recording missed, once
        replayed = best(lambda: run_read(replay.url, sb.token, portal, args.workers), args.repeat)
        misses = replay.misses
    pages = sequential[1]
    bound = (1 + math.ceil((pages - 1) / args.workers)) * latency
    return {
        "envelope": envelope,
        "portal": portal,
        "records": read[2],
        "read": read,
        "sequential": sequential,
        "floor": floor,
        "replay": replayed,
        "pages": pages,
        "bound": bound,
        "misses": misses,
    }


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"\nlatency: {args.latency_ms:g} ms   workers: {args.workers}   repeats: {args.repeat} (best shown; "
        f"sequential once)   sandbox cache: {'off' if args.no_cache else 'on'}"
    )
    head = (
        f"{'envelope':<8} {'portal':<8} {'records':>7} {'read s':>7} {'req':>4} {'seq s':>6} {'req':>4} "
        f"{'floor s':>7} {'replay s':>8} {'bound s':>7} {'pages':>5} | {'vs seq':>6} {'vs floor':>8} {'vs bound':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['envelope']:<8} {r['portal']:<8} {r['records']:>7} {r['read'][0]:>7.2f} {r['read'][1]:>4} "
            f"{r['sequential'][0]:>6.2f} {r['sequential'][1]:>4} {r['floor'][0]:>7.2f} {r['replay'][0]:>8.2f} "
            f"{r['bound']:>7.2f} {r['pages']:>5} | {r['sequential'][0] / r['read'][0]:>5.1f}x "
            f"{r['read'][0] / r['floor'][0]:>7.2f}x {r['replay'][0] / r['bound']:>7.2f}x"
        )
    print("targets: vs seq >= 5x, vs floor <= 1.25x, vs bound <= 1.15x")
    print("req: requests sent by one read (with the check walk and any speculative page past the end)")
    misses = {f"{r['envelope']}/{r['portal']}": r["misses"] for r in rows}
    print(f"replay misses (pages fetched from the sandbox once): {json.dumps(misses)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10_000, help="sessions visible to the demo user")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--envelopes", default=",".join(ENVELOPES))
    parser.add_argument("--no-official", action="store_true", help="skip the official client (count envelope)")
    parser.add_argument(
        "--no-cache", action="store_true", help="start the sandbox without its answer cache (raw Django cost per page)"
    )
    args = parser.parse_args()
    seeded = round(args.sessions / VISIBLE_SHARE)
    rows, official = [], None
    for envelope in args.envelopes.split(","):
        print(f"sandbox: {seeded} sessions, envelope {envelope}, {args.latency_ms:g} ms latency per request ...")
        with Sandbox(sessions=seeded, latency_ms=args.latency_ms, cache=not args.no_cache, envelope=envelope) as sb:
            rows += [measure(sb, envelope, portal, args) for portal in ("private", "public")]
            if envelope == "count" and not args.no_official:
                run_official(sb)  # warm the cache for its URLs
                official = run_official(sb)
    report(rows, args)
    count = next((r for r in rows if r["envelope"] == "count" and r["portal"] == "private"), None)
    if official is not None and count is not None:
        print(
            f"official client (count, private): {official[0]:.2f} s, {official[1]} requests, {official[2]} records: "
            f"read is {official[0] / count['read'][0]:.1f}x faster (target >= 5x)"
        )


if __name__ == "__main__":
    main()
