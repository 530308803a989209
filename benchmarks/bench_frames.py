"""Building LinkedFrames from decoded pages: time and memory against json.loads and a naive baseline.

Usage: python benchmarks/bench_frames.py [--sessions 100000] [--include projects behaviors dataacquisition]

Reads every page of ``session`` with three sideloaded relations from a sandbox
(raw bytes kept in memory), then measures, on the same payload:

- ``decode``: ``json.loads`` of every page;
- ``build``: :class:`FrameBuilder` over the decoded pages (the LinkedFrames build);
- ``baseline``: a naive ``pd.json_normalize`` of the records and of each sideloaded
  list, plus one ``explode`` per list-valued column (every to-many relation);
- peak memory of the build (Python allocations traced by tracemalloc plus the
  pyarrow pool's peak) against the memory of the finished frames.

Targets: build <= 1.0x decode, >= 3x faster than baseline, peak <= 2x frames.
"""

from __future__ import annotations

import argparse
import gc
import json
import pickle
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pyarrow as pa
import requests

from brainstem_pandas.frames import FrameBuilder
from brainstem_pandas.pagination import Page, split_answer
from brainstem_pandas.sandbox import Sandbox, _source_digest, cache_dir

VISIBLE_SHARE = 0.7  # the demo user sees 7 of every 10 seeded sessions


def fetch_raw(sb: Sandbox, include: list[str]) -> list[bytes]:
    url = f"{sb.url}/api/private/stem/session/"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sb.token}"
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=8)
    session.mount("http://", adapter)
    includes = [("include[]", f"{i}.*") for i in include]

    def get(offset: int) -> bytes:
        r = session.get(url, params=[("limit", 100), ("offset", offset), ("sort[]", "id"), *includes], timeout=300)
        r.raise_for_status()
        return r.content

    total = json.loads(get(0))["count"]
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(get, range(0, total, 100)))


def build(pages: list[Page], include: list[str]):
    builder = FrameBuilder("session", include=include)
    for page in pages:
        builder.add_page(page)
    return builder.finish()


def baseline(bodies: list[dict], include: list[str]) -> dict[str, pd.DataFrame]:
    """What a pandas user would write: normalise each list, explode each to-many relation."""
    tables = {"session": pd.json_normalize([r for b in bodies for r in b["sessions"]])}
    for key in {k for b in bodies for k in b if k not in ("count", "next", "previous", "sessions")}:
        tables[key] = pd.json_normalize([r for b in bodies for r in b.get(key, [])]).drop_duplicates("id")
    out = dict(tables)
    for name, frame in tables.items():
        for col in frame.columns:
            first = frame[col].dropna().head(50)
            if len(first) and first.map(lambda v: isinstance(v, list)).all():
                out[f"{name}.{col}"] = frame[["id", col]].explode(col)  # one explode per relation
    return out


def frames_bytes(lf) -> int:
    return int(sum(df.memory_usage(deep=True, index=True).sum() for df in lf.to_dict().values()))


def timed(fn, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000, help="sessions visible to the demo user")
    parser.add_argument("--include", nargs="+", default=["projects", "behaviors", "dataacquisition"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    seeded = round(args.sessions / VISIBLE_SHARE)
    # The pages are kept on disk: reading 1,000 pages with sideloads from a
    # two-core sandbox takes minutes, and every run measures the same payload.
    # Keyed by the sandbox's source digest too: a changed server means new pages.
    saved = cache_dir() / f"bench-pages-{seeded}-{'-'.join(args.include)}-{_source_digest()}.pickle"
    if saved.exists():
        raw = pickle.loads(saved.read_bytes())
        print(f"using the pages saved in {saved}")
    else:
        print(f"building/starting a sandbox with {seeded} sessions and reading every page ...", flush=True)
        with Sandbox(sessions=seeded) as sb:
            raw = fetch_raw(sb, args.include)
        saved.write_bytes(pickle.dumps(raw))
    payload = sum(map(len, raw))

    decode_s, bodies = timed(lambda: [json.loads(b) for b in raw], args.repeat)
    pages = [Page(n, *split_answer(b, "sessions")[:2]) for n, b in enumerate(bodies)]
    build_s, lf = timed(lambda: build(pages, args.include), args.repeat)
    base_s, _ = timed(lambda: baseline(bodies, args.include), args.repeat)

    size = frames_bytes(lf)
    del lf
    gc.collect()
    pool = pa.default_memory_pool()
    tracemalloc.start()
    before_arrow = pool.max_memory() or 0
    lf = build(pages, args.include)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    arrow_peak = max((pool.max_memory() or 0) - before_arrow, 0)
    peak = traced_peak + arrow_peak

    sessions = len(lf["session"])
    print(
        f"\nsessions: {sessions:,}   pages: {len(raw):,}   payload: {payload / 2**20:.1f} MiB   "
        f"includes: {', '.join(args.include)}"
    )
    for name, df in lf.to_dict().items():
        if len(df):
            print(f"  {name:<34} {len(df):>9,} rows")
    print(f"\njson.loads (decode)        : {decode_s:6.2f} s")
    print(f"LinkedFrames build         : {build_s:6.2f} s   = {build_s / decode_s:.2f}x decode (target <= 1.0x)")
    print(f"naive json_normalize+explode: {base_s:6.2f} s   build is {base_s / build_s:.1f}x faster (target >= 3x)")
    print(f"finished frames memory     : {size / 2**20:7.1f} MiB")
    print(f"peak memory while building : {peak / 2**20:7.1f} MiB   = {peak / size:.2f}x frames (target <= 2x)")


if __name__ == "__main__":
    main()
