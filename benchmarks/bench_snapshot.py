"""Parquet snapshots of 100,000 sessions: write and read times, size on disk, peak memory.

Usage: python benchmarks/bench_snapshot.py [--sessions 100000] [--include behaviors dataacquisition manipulations]

Against one sandbox, each step runs in a fresh Python process so that its peak
resident memory (``ru_maxrss``) is its own:

- ``read_linked``: ``client.read_linked("session", include=...)`` in memory;
- ``snapshot``: ``client.snapshot(path, models=["session"], include=...)`` (fetch + write);
- ``read_snapshot``: reading that snapshot back (checksums verified);
- ``full snapshot``: every model the demo user can read (no includes), written and read.

The relations are the session's own to-many ones. ``projects`` is left out: the
sandbox lists each project's ~10,000 visible session ids in every sideloaded
project, which makes a page 3 MB and 10 s of server time at this size.

Memory is reported as the peak minus the process's resident size after imports
and connecting (what the work itself added). Target: the snapshot's peak is at
most half of ``read_linked``'s. The JSON payload is the body bytes the server
sent during the snapshot walk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, os, resource, sys, time
import brainstem_pandas as bsp
from brainstem_pandas import snapshot
from brainstem_pandas.snapshot import read_snapshot

writing = [0.0]
commit = snapshot.SnapshotWriter.commit

def timed_commit(self, *args, **kwargs):
    # The writing proper: every table from the scratch batches to Parquet, the manifest, the rename.
    began = time.perf_counter()
    try:
        return commit(self, *args, **kwargs)
    finally:
        writing[0] += time.perf_counter() - began

snapshot.SnapshotWriter.commit = timed_commit

def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024

task, url, path, include = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
client = bsp.connect(url, progress=False)  # the token comes from BRAINSTEM_TOKEN, not the command line
received = [0]

def count(response, *args, **kwargs):
    # The header, not the body: the transport streams the body itself, and reading it here
    # would leave nothing for the client. The sandbox frames every answer with Content-Length.
    received[0] += int(response.headers.get("Content-Length") or 0)

client.transport.session.hooks["response"].append(count)
base = rss_kib()
start = time.perf_counter()
if task == "read_linked":
    lf = client.read_linked("session", include=include)
    rows = sum(len(df) for df in lf.to_dict().values())
elif task == "snapshot":
    manifest = client.snapshot(path, models=["session"], include=include)
    rows = sum(t["rows"] for t in manifest["tables"].values())
elif task == "full":
    manifest = client.snapshot(path)
    rows = sum(t["rows"] for t in manifest["tables"].values())
else:
    lf = read_snapshot(path)
    rows = sum(len(df) for df in lf.to_dict().values())
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "commit_seconds": writing[0], "base_kib": base,
                   "peak_kib": peak, "rows": rows, "json_bytes": received[0]}))
"""


def run(task: str, url: str, token: str, path: Path, include: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, task, url, str(path), json.dumps(include)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "BRAINSTEM_TOKEN": token},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def mib(kib: float) -> str:
    return f"{kib / 1024:8.1f} MiB"


def folder_bytes(path: Path) -> int:
    # Every file, the tables' folders included (format 2 keeps each table in a folder of its own).
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--include", nargs="*", default=["behaviors", "dataacquisition", "manipulations"])
    parser.add_argument("--no-full", action="store_true", help="skip the snapshot of every model")
    args = parser.parse_args()

    from brainstem_pandas.sandbox import Sandbox

    work = Path(tempfile.mkdtemp(prefix="bench-snapshot-"))
    try:
        print(f"Starting a sandbox with {args.sessions:,} sessions (first start builds its data)...", flush=True)
        with Sandbox(sessions=args.sessions) as sb:
            print(f"session with include={args.include}\n", flush=True)
            snap = work / "sessions"
            memory = run("read_linked", sb.url, sb.token, snap, args.include)
            written = run("snapshot", sb.url, sb.token, snap, args.include)
            read = run("read", sb.url, sb.token, snap, args.include)
            full = None if args.no_full else run("full", sb.url, sb.token, work / "full", [])
            full_read = None if full is None else run("read", sb.url, sb.token, work / "full", [])
        size = folder_bytes(snap)
        grow_mem = memory["peak_kib"] - memory["base_kib"]
        grow_snap = written["peak_kib"] - written["base_kib"]
        print(f"rows in all tables          : {written['rows']:>12,}")
        print(f"read_linked (fetch, memory) : {memory['seconds']:8.1f} s")
        print(
            f"snapshot (fetch + write)    : {written['seconds']:8.1f} s   "
            f"(of which {written['commit_seconds']:.1f} s writing Parquet at the end; the sandbox answers "
            "this second walk from its cache)"
        )
        print(f"read_snapshot (verified)    : {read['seconds']:8.2f} s")
        print(f"JSON payload                : {written['json_bytes'] / 2**20:8.1f} MiB")
        print(f"snapshot on disk            : {size / 2**20:8.1f} MiB   = {size / written['json_bytes']:.3f}x JSON")
        print(
            f"peak memory read_linked     : {mib(memory['peak_kib'])} (+{mib(grow_mem).strip()} over "
            f"{mib(memory['base_kib']).strip()} after imports)"
        )
        print(
            f"peak memory snapshot        : {mib(written['peak_kib'])} (+{mib(grow_snap).strip()} over "
            f"{mib(written['base_kib']).strip()} after imports)"
        )
        print(
            f"snapshot / read_linked      : {grow_snap / grow_mem:8.2f}x of the added memory, "
            f"{written['peak_kib'] / memory['peak_kib']:.2f}x of the whole process (target <= 0.5x)"
        )
        print(f"peak memory read_snapshot   : {mib(read['peak_kib'])}")
        if full is not None and full_read is not None:
            full_size = folder_bytes(work / "full")
            tables = len(json.loads((work / "full" / "manifest.json").read_text())["tables"])
            print(f"\nfull snapshot (every readable model, {tables} tables, {full['rows']:,} rows)")
            print(
                f"write (fetch + write)       : {full['seconds']:8.1f} s   "
                f"(of which {full['commit_seconds']:.1f} s writing Parquet at the end)"
            )
            print(f"read_snapshot (verified)    : {full_read['seconds']:8.2f} s")
            print(f"JSON payload                : {full['json_bytes'] / 2**20:8.1f} MiB")
            print(
                f"snapshot on disk            : {full_size / 2**20:8.1f} MiB   = "
                f"{full_size / full['json_bytes']:.3f}x JSON"
            )
            print(
                f"peak memory                 : {mib(full['peak_kib'])} (+"
                f"{mib(full['peak_kib'] - full['base_kib']).strip()} after imports)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
