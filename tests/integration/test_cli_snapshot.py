"""``brainstem-pandas snapshot``, ``diff`` and ``read`` in a real subprocess against the sandbox."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import brainstem_pandas as bsp
from brainstem_pandas.cli import parse_filters
from brainstem_pandas.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]


def cli(sandbox, *args: str, token: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTEM_")}
    env.update(PYTHONPATH=str(ROOT), BRAINSTEM_URL=sandbox.url, HOME=str(ROOT / ".no-home"))
    if token:
        env["BRAINSTEM_TOKEN"] = sandbox.token
    return subprocess.run(
        [sys.executable, "-m", "brainstem_pandas.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def client(sandbox):
    with bsp.connect(sandbox.url, token=sandbox.token, progress=False) as c:
        yield c


def test_snapshot_command_writes_a_snapshot_and_prints_a_summary(sandbox, client, tmp_path):
    out = cli(
        sandbox, "snapshot", str(tmp_path / "s"), "--models", "session", "project", "--include", "session:projects"
    )
    assert out.returncode == 0, out.stderr
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert list(manifest["queries"]) == ["session", "project"]
    assert manifest["queries"]["session"]["include"] == ["projects"]
    assert f"Snapshot {tmp_path / 's'}: {len(manifest['tables'])} tables" in out.stdout
    assert f"session{' ' * 10}" in out.stdout or "session " in out.stdout
    assert "session:" in out.stderr  # a progress bar per model
    lf = bsp.read_snapshot(tmp_path / "s")
    assert len(lf["session"]) == len(client.read("session"))


def test_snapshot_command_on_the_public_portal_needs_no_token(sandbox, client, tmp_path):
    out = cli(sandbox, "snapshot", str(tmp_path / "pub"), "--models", "project", "--portal", "public", token=False)
    assert out.returncode == 0, out.stderr
    lf = bsp.read_snapshot(tmp_path / "pub")
    assert lf.manifest["portal"] == "public"
    assert set(lf["project"].index) == set(client.read("project", portal="public").index)


def test_snapshot_command_errors_are_one_clear_line(sandbox, tmp_path):
    (tmp_path / "file").write_text("x")
    out = cli(sandbox, "snapshot", str(tmp_path / "file"), "--models", "project")
    assert out.returncode == 1 and "is a file" in out.stderr and "Traceback" not in out.stderr
    out = cli(sandbox, "snapshot", str(tmp_path / "s"), "--models", "sesion")
    assert out.returncode == 1 and "Did you mean 'session'" in out.stderr
    out = cli(sandbox, "snapshot", str(tmp_path / "s"), "--models", "project", token=False)
    assert out.returncode == 1 and "No BrainSTEM token found" in out.stderr
    assert not (tmp_path / "s").exists()


def test_diff_command(sandbox, client, tmp_path):
    projects = client.read("project")
    mine = next(pid for pid, users in projects["users"].items() if users.get(sandbox.email, {}).get("can_change"))
    client.snapshot(tmp_path / "a", models=["session"])
    made = client.save("session", {"name": "cli diff", "projects": [mine]})
    try:
        client.snapshot(tmp_path / "b", models=["session"])
    finally:
        client.delete("session", made["id"])
    out = cli(sandbox, "diff", str(tmp_path / "a"), str(tmp_path / "b"))
    assert out.returncode == 0, out.stderr
    assert "session: 1 added, 0 removed, 0 changed" in out.stdout
    out = cli(sandbox, "diff", str(tmp_path / "a"), str(tmp_path / "b"), "--json")
    assert json.loads(out.stdout) == {"session": {"added": [made["id"]], "removed": [], "changed": {}}}
    out = cli(sandbox, "diff", str(tmp_path / "a"), str(tmp_path / "a"))
    assert out.stdout.strip() == "No differences."
    out = cli(sandbox, "diff", str(tmp_path / "a"), str(tmp_path / "nowhere"))
    assert out.returncode == 1 and "does not exist" in out.stderr


def test_read_command_writes_csv_to_stdout(sandbox, client):
    out = cli(sandbox, "read", "session", "--filter", "name.icontains=mm", "--sort=-date_time", "--quiet")
    assert out.returncode == 0, out.stderr
    got = pd.read_csv(io.StringIO(out.stdout), index_col="id")
    want = client.read("session", filters={"name.icontains": "mm"}, sort=["-date_time"])
    assert got.index.tolist() == want.index.tolist() and len(want) > 0
    assert got["name"].tolist() == want["name"].tolist()


def test_read_command_json_and_parquet_files(sandbox, client, tmp_path):
    want = client.read("session", filters={"date_time.gte": "2022-01-01"})
    out = cli(
        sandbox,
        "read",
        "session",
        "--filter",
        "date_time.gte=2022-01-01",
        "--format",
        "json",
        "--out",
        str(tmp_path / "s.json"),
        "--quiet",
    )
    assert out.returncode == 0, out.stderr
    records = json.loads((tmp_path / "s.json").read_text())
    assert sorted(r["id"] for r in records) == sorted(want.index)
    out = cli(
        sandbox,
        "read",
        "session",
        "--filter",
        "date_time.gte=2022-01-01",
        "--format",
        "parquet",
        "--out",
        str(tmp_path / "s.parquet"),
        "--quiet",
    )
    assert out.returncode == 0, out.stderr
    table = pd.read_parquet(tmp_path / "s.parquet")
    assert sorted(table.index if table.index.name == "id" else table["id"]) == sorted(want.index)
    assert os.listdir(tmp_path) == ["s.json", "s.parquet"] or sorted(os.listdir(tmp_path)) == ["s.json", "s.parquet"]


def test_read_command_with_include_writes_one_file_per_table(sandbox, client, tmp_path):
    out = cli(sandbox, "read", "session", "--include", "projects", "--out", str(tmp_path / "t"), "--quiet")
    assert out.returncode == 0, out.stderr
    files = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert {"session.csv", "project.csv", "session.projects.csv"} <= set(files)
    links = pd.read_csv(tmp_path / "t" / "session.projects.csv")
    assert len(links) == len(client.read_linked("session", include=["projects"]).links["session.projects"])


def test_read_command_offline_from_a_snapshot(sandbox, client, tmp_path):
    client.snapshot(tmp_path / "snap", models=["session", "project"])
    out = cli(
        sandbox,
        "read",
        "session",
        "--snapshot",
        str(tmp_path / "snap"),
        "--filter",
        "name.icontains=mm",
        "--sort=-date_time",
        "--quiet",
        token=False,
    )
    assert out.returncode == 0, out.stderr
    got = pd.read_csv(io.StringIO(out.stdout), index_col="id")
    want = client.read("session", filters={"name.icontains": "mm"}, sort=["-date_time"])
    assert got.index.tolist() == want.index.tolist()


def test_read_command_bad_input(sandbox, tmp_path):
    out = cli(sandbox, "read", "session", "--filter", "nosuchfield=1")
    assert out.returncode == 1 and "Unknown field 'nosuchfield'" in out.stderr
    out = cli(sandbox, "read", "session", "--format", "parquet")
    assert out.returncode == 1 and "--out FILE" in out.stderr
    out = cli(sandbox, "read", "session", "--include", "projects")
    assert out.returncode == 1 and "--out FOLDER" in out.stderr
    out = cli(sandbox, "read", "session", "--filter", "name")
    assert out.returncode == 1 and "FIELD.OP=VALUE" in out.stderr


def test_parse_filters():
    assert parse_filters(["name.icontains=a=b", "id.in=x,y", "description.isnull=True"]) == {
        "name.icontains": "a=b",
        "id.in": ["x", "y"],
        "description.isnull": True,
    }
    with pytest.raises(ConfigurationError, match="isnull takes true or false"):
        parse_filters(["description.isnull=maybe"])
