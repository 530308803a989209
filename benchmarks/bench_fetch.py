"""Reading every session: brainstem_pandas vs the official client vs a bare requests floor.

Usage: python benchmarks/bench_fetch.py [--sessions 10000] [--latency-ms 50] [--workers 8] [--repeat 3]

Starts a sandbox with ``--latency-ms`` added to every request and about
``--sessions`` sessions visible to the demo user, then times, best of ``--repeat``:

- ``read``: ``bsp.connect(...).read("session")`` (concurrent pages, typed DataFrame);
- ``official``: ``BrainstemClient.load("session", load_all=True)`` (brainstem-python-api-tools);
- ``floor``: a bare ``requests`` loop that only GETs the same pages with the same
  concurrency (no parsing): the lower bound for any client.

Targets: ``read`` at least 5x faster than ``official`` and within 1.25x of ``floor``.
The sandbox keeps rendered answers until the next write (as a production API
cache would), so that its two-core CPU does not hide the clients' differences;
``--no-cache`` measures with every page rendered by Django.
Figures are printed; nothing here fails on time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from brainstem_api_tools import BrainstemClient
from requests.adapters import HTTPAdapter

import brainstem_pandas as bsp
from brainstem_pandas.sandbox import Sandbox

# The demo user sees 7 of every 10 seeded sessions (the rest belong to other labs).
VISIBLE_SHARE = 0.7


def run_read(sb: Sandbox, workers: int) -> tuple[float, int, int]:
    client = bsp.connect(sb.url, token=sb.token, workers=workers, progress=False)
    start = time.perf_counter()
    frame = client.read("session")
    elapsed = time.perf_counter() - start
    requests_sent = client.transport.requests_sent
    client.close()
    return elapsed, requests_sent, len(frame)


def run_official(sb: Sandbox) -> tuple[float, int, int]:
    client = BrainstemClient(token=sb.token, url=sb.url)
    calls = []
    real_get = client._session.get

    def counting_get(*args, **kwargs):
        calls.append(1)
        return real_get(*args, **kwargs)

    client._session.get = counting_get
    start = time.perf_counter()
    combined = client.load("session", load_all=True)
    elapsed = time.perf_counter() - start
    return elapsed, len(calls), len(combined["sessions"])


def run_floor(sb: Sandbox, workers: int, total: int) -> tuple[float, int, int]:
    url = f"{sb.url}/api/private/stem/session/"
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=workers, pool_maxsize=workers))
    session.headers["Authorization"] = f"Bearer {sb.token}"

    def fetch(offset: int) -> int:
        r = session.get(url, params=[("sort[]", "id"), ("limit", 100), ("offset", offset)], timeout=120)
        return len(r.content)

    start = time.perf_counter()
    fetch(0)  # page one first, as any client must (it tells the total)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fetch, range(100, total, 100)))
    elapsed = time.perf_counter() - start
    session.close()
    return elapsed, len(range(0, total, 100)), total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10_000, help="sessions visible to the demo user")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-cache", action="store_true", help="start the sandbox without its answer cache (raw Django cost per page)"
    )
    args = parser.parse_args()
    seeded = round(args.sessions / VISIBLE_SHARE)
    print(f"building/starting a sandbox with {seeded} sessions, {args.latency_ms:g} ms latency per request ...")
    with Sandbox(sessions=seeded, latency_ms=args.latency_ms, cache=not args.no_cache) as sb:
        total = run_read(sb, args.workers)[2]
        # Warm the sandbox's answer cache in both worker processes for every
        # client's URLs, so each client is timed against the same warm server.
        run_read(sb, args.workers)
        run_official(sb)
        run_floor(sb, args.workers, total)
        results = {"read": [], "official": [], "floor": []}
        for _ in range(args.repeat):
            results["read"].append(run_read(sb, args.workers))
            results["official"].append(run_official(sb))
            results["floor"].append(run_floor(sb, args.workers, total))
    print(
        f"\nsessions read: {total}   latency: {args.latency_ms:g} ms   workers: {args.workers}   "
        f"repeats: {args.repeat} (best and median shown)   sandbox cache: {'off' if args.no_cache else 'on'}"
    )
    print(f"{'client':<10} {'best s':>8} {'median s':>9} {'requests':>9} {'records':>8}")
    best = {}
    for name, runs in results.items():
        times = [r[0] for r in runs]
        best[name] = min(times)
        print(f"{name:<10} {min(times):>8.2f} {statistics.median(times):>9.2f} {runs[0][1]:>9} {runs[0][2]:>8}")
    print(f"\nread vs official: {best['official'] / best['read']:.1f}x faster (target >= 5x)")
    print(f"read vs floor:    {best['read'] / best['floor']:.2f}x the floor's time (target <= 1.25x)")


if __name__ == "__main__":
    main()
