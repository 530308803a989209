"""The main job on the embedded default: a sandbox, a full snapshot, a summary.

``brainstem-pandas demo`` starts a local sandbox (no credentials, no network),
snapshots every model the demo user may read into a Parquet folder, prints a
table of what the snapshot holds, then reads the snapshot back offline and
prints sessions per project.
"""

from __future__ import annotations

import textwrap
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


def summary(manifest: dict[str, Any], path: str, short: bool = False) -> str:
    """A snapshot's tables as a small text table (rows, columns, size) with a heading.

    ``short`` lists only the model tables; link and child tables are summed up in one line.

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
    shown = table[(table["rows"] > 0) & ((table["kind"] == "table") | (not short))]
    lines = [
        f"Snapshot {path}: {len(table)} tables, {int(table['rows'].sum()):,} rows, "
        f"{table['KiB'].sum() / 1024:.1f} MiB, from {manifest['server']} ({manifest['portal']} portal)",
        f"{manifest['started']} -> {manifest['finished']}",
        "",
    ]
    others = table[table["kind"] != "table"]
    if short:  # the model tables' rows in a few wrapped lines, the link and child tables summed up
        listed = ", ".join(f"{name} {int(rows):,}" for name, rows in shown["rows"].items())
        lines += textwrap.wrap(f"Rows per model: {listed}.", width=100)
        lines.append(f"Also {len(others)} link and child tables ({int(others['rows'].sum()):,} rows).")
    else:
        with pd.option_context("display.width", 120, "display.max_rows", 200):
            lines.append(shown.to_string())
    empty = sorted(set(table[table["rows"] == 0].index) - (set(others.index) if short else set()))
    if empty:
        lines.append(f"\n{len(empty)} empty tables: {', '.join(empty)}")
    if manifest.get("skipped"):
        lines.append("skipped (not readable): " + ", ".join(manifest["skipped"]))
    return "\n".join(lines)


def visible_note(seeded: int, visible: int) -> str:
    """Why the demo user sees fewer sessions than were seeded.

    Examples
    --------
    >>> print(visible_note(2000, 1400))
    The sandbox seeded 2,000 sessions; the demo user may see 1,400 of them (70%): the others belong to
    other labs' projects that are not public, and a BrainSTEM server answers only with what you may see.
    """
    share = f" ({visible / seeded:.0%})" if seeded else ""
    return (
        f"The sandbox seeded {seeded:,} sessions; the demo user may see {visible:,} of them{share}: the others "
        "belong to\nother labs' projects that are not public, and a BrainSTEM server answers only with what you "
        "may see."
    )


def next_steps(out: str | Path) -> str:
    """What to try after the demo: the notebooks, the widget, the snapshot offline, brainstem.org."""
    return "\n".join(
        [
            "Next steps:",
            "  notebooks    jupyter lab notebooks/01_quickstart.ipynb  (each starts its own sandbox; or open the",
            "               repository on mybinder.org)",
            "  the widget   in a notebook: from brainstem_pandas.widgets import Explorer; Explorer()",
            f'  offline      bsp.connect(snapshot="{out}").read("session")',
            "  a sandbox    brainstem-pandas sandbox  (prints its URL and a token; keeps serving until Ctrl-C)",
            "  brainstem.org  brainstem-pandas login  (browser sign-in, token saved), then bsp.connect(); or set",
            "               BRAINSTEM_TOKEN to a personal access token from https://www.brainstem.org/private/users/tokens/",
        ]
    )


def demo(sessions: int = 2000, out: str | Path = "snapshots/sandbox") -> int:
    """Run the demo; return the process exit code."""
    from brainstem_pandas.progress import overall_progress
    from brainstem_pandas.sandbox import Sandbox

    print(f"Starting a local BrainSTEM sandbox with {sessions:,} sessions (the first start builds its data)...")
    with Sandbox(sessions=sessions) as sb:
        print(f"Sandbox at {sb.url}, signed in as {sb.email}; snapshotting every model the demo user may read:")
        client = connect(sb.url, token=sb.token)
        start = time.perf_counter()
        with overall_progress(len(client.readable_models("private")), "snapshot"):
            manifest = client.snapshot(out)
        elapsed = time.perf_counter() - start
    print(f"\nSnapshot of every readable model written in {elapsed:.1f} s.\n")
    print(summary(manifest, str(out), short=True))
    lf = read_snapshot(out)  # the server is gone: from here on, offline
    print(f"\nRead back offline: {len(lf['session'])} sessions, {len(lf['project'])} projects.")
    print(visible_note(sessions, len(lf["session"])) + "\n")
    with pd.option_context("display.width", 120, "display.max_rows", 40):
        print(sessions_per_project(lf).to_string())
    print("\n" + next_steps(out))
    return 0
