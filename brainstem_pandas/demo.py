"""The main job on the embedded default: a sandbox, a full snapshot, a summary.

``brainstem-pandas demo`` starts a local sandbox (no credentials, no network),
snapshots every model the demo user may read into a Parquet folder, prints a
table of what the snapshot holds, then reads the snapshot back offline and
prints sessions per project.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

import brainstem_pandas as bsp
from brainstem_pandas.frames import LinkedFrames


def sessions_per_project(lf: LinkedFrames) -> pd.DataFrame:
    """Sessions per project (through the ``session.projects`` link table): count, first and last date.

    Examples
    --------
    >>> sessions_per_project(bsp.read_snapshot("snapshots/sandbox"))  # doctest: +SKIP
    """
    pairs = lf.merge("session", "projects")
    table = pairs.groupby("projects.name").agg(
        sessions=("session_id", "size"), first=("date_time", "min"), last=("date_time", "max")
    )
    table.index.name = "project"
    return table.sort_values("sessions", ascending=False)


def demo(sessions: int = 2000, out: str | Path = "snapshots/sandbox") -> int:
    """Run the demo; return the process exit code."""
    from brainstem_pandas.cli import summary
    from brainstem_pandas.sandbox import Sandbox

    print(f"Starting a local BrainSTEM sandbox with {sessions} sessions (first start builds its data)...")
    with Sandbox(sessions=sessions) as sb:
        print(f"Sandbox at {sb.url}, signed in as {sb.email}")
        client = bsp.connect(sb.url, token=sb.token)
        start = time.perf_counter()
        manifest = client.snapshot(out)
        elapsed = time.perf_counter() - start
    print(f"\nSnapshot of every readable model written in {elapsed:.1f} s.\n")
    print(summary(manifest, str(out)))
    lf = bsp.read_snapshot(out)  # the server is gone: from here on, offline
    print(f"\nRead back offline: {len(lf['session'])} sessions, {len(lf['project'])} projects.\n")
    with pd.option_context("display.width", 120, "display.max_rows", 40):
        print(sessions_per_project(lf).to_string())
    return 0
