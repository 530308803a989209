"""Map-like JSON fields against the sandbox: project and group members as child tables, one row per key.

``read_linked`` gives ``project.users``, ``project.groups`` and ``group.users``; a snapshot
writes and reads them back exactly; an offline read rebuilds the server's objects from them;
a diff names a changed member permission by (project id, e-mail). The CLI's CSV export holds
JSON text in nested cells and the plain text of each description.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

import brainstem_pandas as bsp
from brainstem_pandas.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
READER = {"can_change": False, "is_manager": False, "is_owner": False}


@pytest.fixture(scope="module")
def client(sandbox):
    with bsp.connect(sandbox.url, token=sandbox.token, progress=False) as c:
        yield c


@pytest.fixture(scope="module")
def snap(client, tmp_path_factory):
    path = tmp_path_factory.mktemp("maps") / "snap"
    client.snapshot(path, models=["project", "group"])
    return path


def as_maps(table: pd.DataFrame, parent: str, key: str) -> dict:
    """parent id -> {key: entry} from a map table, as the API sends the objects."""
    out: dict = {}
    for row in table.astype(object).where(table.notna(), None).to_dict("records"):
        entry = {k: v for k, v in row.items() if k not in (parent, key) and v is not None}
        out.setdefault(row[parent], {})[row[key]] = entry
    return out


def by_key(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(list(table.columns[:2])).reset_index(drop=True)


def test_read_linked_gives_one_row_per_member_equal_to_the_servers_objects(client):
    flat = client.read("project")  # the flat read keeps each object as sent
    lf = client.read_linked("project")
    assert not [c for c in lf["project"].columns if c.startswith(("users.", "groups."))]
    users, groups = lf.children["project.users"], lf.children["project.groups"]
    assert users.columns.tolist() == ["project_id", "user", "can_change", "is_manager", "is_owner"]
    assert str(users["can_change"].dtype) == "boolean" and len(users) == sum(map(len, flat["users"]))
    assert as_maps(users, "project_id", "user") == {pid: u for pid, u in flat["users"].items() if u}
    assert as_maps(groups, "project_id", "group") == {pid: g for pid, g in flat["groups"].items() if g}
    assert len(groups) > 0 and users["user"].str.contains("@").all()
    members = client.read_linked("group").children["group.users"]
    assert str(members["group_id"].dtype) == "Int64"
    assert as_maps(members, "group_id", "user") == {gid: u for gid, u in client.read("group")["users"].items() if u}


def test_merge_counts_members_per_project(client):
    lf = client.read_linked("project")
    counts = lf.merge("project", "users", how="inner").groupby("name").size()
    flat = client.read("project")
    assert counts.to_dict() == {flat.at[pid, "name"]: len(u) for pid, u in flat["users"].items() if u}


def test_a_snapshot_writes_and_reads_the_map_tables_back_exactly(client, snap):
    online, back = client.read_linked("project"), bsp.read_snapshot(snap)
    for name in ("project.users", "project.groups", "group.users"):
        assert name in back.children and back.manifest["tables"][name]["rows"] == len(back.children[name])
    for name in ("project.users", "project.groups"):
        pd.testing.assert_frame_equal(by_key(back.children[name]), by_key(online.children[name]), obj=name)


def test_offline_reads_answer_as_the_server_does(client, snap):
    offline = bsp.connect(snapshot=snap)
    for model in ("project", "group"):
        mine = [r for p in offline.iter_pages(model, sort=["id"]) for r in p.records]
        theirs = [r for p in client.iter_pages(model, sort=["id"]) for r in p.records]
        assert mine == theirs and any(r["users"] for r in theirs)
    pid = client.read("project").index[0]
    assert offline.get("project", pid) == client.get("project", pid)
    pd.testing.assert_series_equal(offline.read("project")["users"], client.read("project")["users"])
    pd.testing.assert_frame_equal(
        by_key(offline.read_linked("project").children["project.users"]),
        by_key(client.read_linked("project").children["project.users"]),
    )


def test_a_diff_reports_a_changed_member_permission_by_key(client, sandbox, tmp_path):
    others = {e for u in client.read("project")["users"] for e in u if e != sandbox.email}
    member = sorted(others)[0]
    project = client.save("project", {"name": f"map diff {uuid.uuid4().hex[:8]}"})
    pid = project["id"]
    try:
        client.save("project", {"users": {member: READER}}, id=pid)
        client.snapshot(tmp_path / "a", models=["project"])
        client.save("project", {"users": {member: {"can_change": True}}}, id=pid)
        client.snapshot(tmp_path / "b", models=["project"])
        diff = bsp.diff_snapshots(tmp_path / "a", tmp_path / "b")
        assert diff["project.users"] == {"added": [], "removed": [], "changed": {f"{pid} {member}": ["can_change"]}}
        assert diff["project"] == {"added": [], "removed": [], "changed": {pid: ["users"]}}
        assert "project.groups" not in diff
    finally:
        client.delete("project", pid)


def test_the_cli_csv_export_holds_json_in_nested_cells_and_plain_descriptions(sandbox, client):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTEM_")}
    env.update(PYTHONPATH=str(ROOT), BRAINSTEM_URL=sandbox.url, BRAINSTEM_TOKEN=sandbox.token, HOME=str(ROOT / ".nh"))
    out = subprocess.run(
        [sys.executable, "-m", "brainstem_pandas.cli", "read", "project", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(out.stdout))}
    flat = client.read("project")
    assert set(rows) == set(flat.index)
    for pid, row in rows.items():
        assert json.loads(row["users"]) == flat.at[pid, "users"]
        assert json.loads(row["tags"]) == list(flat.at[pid, "tags"])
        assert row["description"] == (flat.at[pid, "description"] if pd.notna(flat.at[pid, "description"]) else "")
        assert row["description_text"] == (bsp.plain_text(row["description"]) if row["description"] else "")
    assert any(r["description"].startswith("<p>") and "<" not in r["description_text"] for r in rows.values())


def test_the_readme_members_example_runs_as_written(client, tmp_path, monkeypatch):
    section = (ROOT / "README.md").read_text().split("## Members as tables, and exports", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope: dict = {"client": client, "bsp": bsp, "Sandbox": Sandbox}
    exec(compile(code, "README.md", "exec"), scope)
    assert len(scope["managers"]) > 0 and scope["managers"]["users.user"].str.contains("@").all()
    assert [p.name for p in scope["paths"]] == [f"{name}.csv" for name in scope["lf"].to_dict()]
    assert bsp.catalog.model("project").field("users").map.key == "user"
    assert not scope["texts"].dropna().str.contains("<p>").any() and scope["texts"].notna().any()
