"""The main job on the embedded default: a sandbox, a full snapshot, a summary.

``brainstem-pandas demo`` starts a local sandbox (no credentials, no network),
snapshots every model the demo user may read into a Parquet folder, prints a
table of what the snapshot holds, then reads the snapshot back offline and
prints sessions per project.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from brainstem_pandas.connection import connect
from brainstem_pandas.frames import LinkedFrames
from brainstem_pandas.snapshot import read_snapshot


def sessions_per_project(lf: LinkedFrames) -> pd.DataFrame:
    """Sessions per project (through the ``session.projects`` link table): count, first and last date.

    Examples
    --------
    >>> table = sessions_per_project(client.read_linked("session", include=["projects"]))
    >>> list(table.columns), table.index.name
    (['sessions', 'first', 'last'], 'project')
    """
    pairs = lf.merge("session", "projects")
    table = pairs.groupby("projects.name").agg(
        sessions=("session_id", "size"), first=("date_time", "min"), last=("date_time", "max")
    )
    table.index.name = "project"
    return table.sort_values("sessions", ascending=False)


def summary(manifest: dict[str, Any], path: str) -> str:
    """A snapshot's tables as a small text table (rows, columns, size) with a heading.

    Examples
    --------
    >>> print(summary(client.snapshot(tmp / "snap", models=["project"]), "snap"))
    Snapshot snap: ... tables, ... rows, ... MiB, from http://127.0.0.1:... (private portal)
    ...
    project ...
    """
    rows = [
        {
            "table": name,
            "kind": t["kind"],
            "rows": t["rows"],
            "columns": len(t["columns"]),
            "KiB": round(t["bytes"] / 1024, 1),
        }
        for name, t in manifest["tables"].items()
    ]
    table = pd.DataFrame(rows).set_index("table")
    shown = table[table["rows"] > 0]
    lines = [
        f"Snapshot {path}: {len(table)} tables, {int(table['rows'].sum()):,} rows, "
        f"{table['KiB'].sum() / 1024:.1f} MiB, from {manifest['server']} ({manifest['portal']} portal)",
        f"{manifest['started']} -> {manifest['finished']}",
        "",
    ]
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        lines.append(shown.to_string())
    empty = sorted(set(table.index) - set(shown.index))
    if empty:
        lines.append(f"\n{len(empty)} empty tables: {', '.join(empty)}")
    if manifest.get("skipped"):
        lines.append("skipped (not readable): " + ", ".join(manifest["skipped"]))
    return "\n".join(lines)


def demo(sessions: int = 2000, out: str | Path = "snapshots/sandbox") -> int:
    """Run the demo; return the process exit code."""
    from brainstem_pandas.sandbox import Sandbox

    print(f"Starting a local BrainSTEM sandbox with {sessions} sessions (first start builds its data)...")
    with Sandbox(sessions=sessions) as sb:
        print(f"Sandbox at {sb.url}, signed in as {sb.email}")
        client = connect(sb.url, token=sb.token)
        start = time.perf_counter()
        manifest = client.snapshot(out)
        elapsed = time.perf_counter() - start
    print(f"\nSnapshot of every readable model written in {elapsed:.1f} s.\n")
    print(summary(manifest, str(out)))
    lf = read_snapshot(out)  # the server is gone: from here on, offline
    print(f"\nRead back offline: {len(lf['session'])} sessions, {len(lf['project'])} projects.\n")
    with pd.option_context("display.width", 120, "display.max_rows", 40):
        print(sessions_per_project(lf).to_string())
    return 0
