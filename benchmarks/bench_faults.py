"""Reading through faults: the same result as without them, and how much longer it takes.

Usage: python benchmarks/bench_faults.py [--sessions 10000] [--latency-ms 20] [--repeat 3] [--seed 0]

Starts two sandboxes with the same seeded data (about ``--sessions`` sessions
visible to the demo user) and ``--latency-ms`` added to every request; one also
injects, seeded, 10% 5xx, 5% 429 with ``Retry-After: 1``, 2% connection resets and
1% truncated bodies. Each is read ``--repeat`` times with
``read_linked("session", include=["behaviors", "dataacquisition", "manipulations"])``
using the default retry policy; every faulty read is checked table for table
against the fault-free one. Prints the times, the retries by reason and the ratio.

Target: at most 3x the fault-free time. Figures are printed; nothing here fails on time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd

import brainstem_pandas as bsp
from brainstem_pandas.sandbox import Sandbox

FAULTS = {"500": 0.034, "502": 0.033, "503": 0.033, "429": 0.05, "reset": 0.02, "truncate": 0.01}
INCLUDE = ["behaviors", "dataacquisition", "manipulations"]
# The demo user sees about three in four seeded sessions.
VISIBLE_SHARE = 0.75


def timed_read(sb: Sandbox) -> tuple[float, bsp.LinkedFrames, bsp.Client]:
    """One read with a fresh client: seconds, the frames, and the client (for its counters)."""
    client = bsp.connect(sb.url, token=sb.token, progress=False)
    start = time.perf_counter()
    frames = client.read_linked("session", include=INCLUDE)
    return time.perf_counter() - start, frames, client


def same(a: bsp.LinkedFrames, b: bsp.LinkedFrames) -> bool:
    """Whether two reads are equal table for table."""
    if a.tables.keys() != b.tables.keys():
        return False
    try:
        for name in a.tables:
            pd.testing.assert_frame_equal(a[name], b[name])
    except AssertionError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10_000, help="sessions visible to the demo user")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and of the faults")
    parser.add_argument(
        "--burst-429", type=int, default=1, help="requests throttled per drawn 429 (1: 5%% of requests answer 429)"
    )
    args = parser.parse_args()
    seeded = round(args.sessions / VISIBLE_SHARE)
    print(
        f"starting two sandboxes with {seeded} seeded sessions, {args.latency_ms:g} ms latency; "
        f"faults: {FAULTS}, 429 bursts of {args.burst_429}"
    )
    with (
        Sandbox(sessions=seeded, seed=args.seed, latency_ms=args.latency_ms) as clean_sb,
        Sandbox(
            sessions=seeded, seed=args.seed, latency_ms=args.latency_ms, faults=FAULTS, burst_429=args.burst_429
        ) as faulty_sb,
    ):
        # One untimed read each, so that both servers' answer caches are equally warm.
        _, expected, _ = timed_read(clean_sb)
        timed_read(faulty_sb)
        clean_times, faulty_times, equal = [], [], []
        retries: dict[str, int] = {}
        requests = []
        for _ in range(args.repeat):
            clean_times.append(timed_read(clean_sb)[0])
            seconds, got, client = timed_read(faulty_sb)
            faulty_times.append(seconds)
            equal.append(same(got, expected))
            for reason, n in client.transport.retries.items():
                retries[reason] = retries.get(reason, 0) + n
            requests.append(client.transport.requests_sent)
    rows = sum(len(t) for t in expected.tables.values())
    clean, faulty = statistics.median(clean_times), statistics.median(faulty_times)
    print(
        f"sessions read                 : {len(expected['session']):>9,}  ({rows:,} rows in "
        f"{len(expected.tables)} tables)"
    )
    print(
        f"fault-free read (median of {args.repeat}) : {clean:9.2f} s   runs: "
        + ", ".join(f"{t:.2f}" for t in clean_times)
    )
    print(f"read through faults (median)  : {faulty:9.2f} s   runs: " + ", ".join(f"{t:.2f}" for t in faulty_times))
    print("requests per faulty read      : " + ", ".join(map(str, requests)))
    print("retries by reason (all runs)  : " + ", ".join(f"{k} x{v}" for k, v in sorted(retries.items())))
    print(f"equal to the fault-free read  : {sum(equal)} of {len(equal)} runs")
    print(f"faulty / fault-free           : {faulty / clean:9.2f}x   (target <= 3x)")


if __name__ == "__main__":
    main()
