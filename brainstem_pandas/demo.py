"""The main job on the embedded default: a sandbox, every session, a summary.

``brainstem-pandas demo`` starts a local sandbox (no credentials, no network),
reads every session the demo user may see and prints a short summary table.
"""

from __future__ import annotations

import time

import pandas as pd

import brainstem_pandas as bsp


def summarize(sessions: pd.DataFrame, projects: pd.DataFrame) -> pd.DataFrame:
    """Sessions per project: count, first and last date."""
    per = sessions.assign(when=pd.to_datetime(sessions["date_time"], utc=True)).explode("projects")
    table = per.groupby("projects").agg(sessions=("name", "size"), first=("when", "min"), last=("when", "max"))
    table.index = projects.reindex(table.index)["name"].fillna("(not visible)")
    table.index.name = "project"
    return table.sort_values("sessions", ascending=False)


def demo(sessions: int = 2000) -> int:
    """Run the demo; return the process exit code."""
    from brainstem_pandas.sandbox import Sandbox

    print(f"Starting a local BrainSTEM sandbox with {sessions} sessions (first start builds its data)...")
    with Sandbox(sessions=sessions) as sb:
        print(f"Sandbox at {sb.url}, signed in as {sb.email}")
        client = bsp.connect(sb.url, token=sb.token)
        start = time.perf_counter()
        frame = client.read("session")
        projects = client.read("project")
        elapsed = time.perf_counter() - start
    print(f"\nRead {len(frame)} sessions and {len(projects)} projects in {elapsed:.1f} s.\n")
    with pd.option_context("display.width", 120, "display.max_rows", 40):
        print(summarize(frame, projects).to_string())
    return 0
