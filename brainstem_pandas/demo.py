"""The main job on the embedded default: a sandbox, every session, a summary.

``brainstem-pandas demo`` starts a local sandbox (no credentials, no network),
reads every session the demo user may see and prints a short summary table.
"""

from __future__ import annotations

import time

import pandas as pd
import requests

from brainstem_pandas import catalog


def read_all(url: str, token: str, model: str) -> pd.DataFrame:
    """Every record of ``model`` by limit/offset, as a DataFrame indexed by id."""
    spec = catalog.model(model)
    endpoint = f"{url}/api/private/{spec.app}/{spec.segment}/"
    records: list[dict] = []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        offset = 0
        while True:
            page = http.get(endpoint, params={"limit": 100, "offset": offset, "sort[]": "id"}, timeout=60)
            page.raise_for_status()
            body = page.json()
            records += body[spec.list_key]
            offset += 100
            if offset >= body["count"]:
                break
    return pd.DataFrame.from_records(records).set_index("id")


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
        start = time.perf_counter()
        frame = read_all(sb.url, sb.token, "session")
        projects = read_all(sb.url, sb.token, "project")
        elapsed = time.perf_counter() - start
    print(f"\nRead {len(frame)} sessions and {len(projects)} projects in {elapsed:.1f} s.\n")
    with pd.option_context("display.width", 120, "display.max_rows", 40):
        print(summarize(frame, projects).to_string())
    return 0
