"""Time to generate the sandbox's seeded data (issue: 100,000 sessions in under a minute).

Usage: python benchmarks/bench_seed.py [--sessions 100000] [--seed 0]

Builds a fresh database in a temporary folder (never the cache) in a child
process, exactly as ``Sandbox`` does, and prints the wall time of the whole
build and the number of rows written per table group.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from brainstem_pandas.sandbox import _run_child
from brainstem_pandas.sandbox.config import SandboxConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        start = time.perf_counter()
        _run_child(
            ["build", "--sessions", str(args.sessions), "--seed", str(args.seed)],
            SandboxConfig(db_path=str(db)),
            timeout=900,
        )
        elapsed = time.perf_counter() - start
        con = sqlite3.connect(db)
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table' and name like 'api_%'")]
        rows = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
        con.close()
        size = db.stat().st_size
    total = sum(rows.values())
    print(f"sessions generated     : {rows.get('api_session', 0):,}")
    print(f"rows written (all)     : {total:,} in {len(tables)} tables")
    for name in (
        "api_session",
        "api_session_projects",
        "api_sessiondatastorage",
        "api_behavior",
        "api_dataacquisition",
        "api_manipulation",
        "api_epoch",
        "api_subject",
        "api_procedure",
    ):
        print(f"  {name:<24}: {rows.get(name, 0):,}")
    print(f"database size          : {size / 2**20:.1f} MiB")
    print(f"build time (schema + data, one process): {elapsed:.1f} s  (target < 60 s)")


if __name__ == "__main__":
    main()
