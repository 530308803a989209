"""Parquet snapshots: exact read-back, manifest and provenance, streaming, atomicity, damage, diffs, interop."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import brainstem_pandas as bsp
from brainstem_pandas import snapshot as snap
from brainstem_pandas.errors import DamagedSnapshotError, SnapshotError
from brainstem_pandas.frames import BATCH, FrameBuilder, TypeConflictWarning
from brainstem_pandas.snapshot import write as snap_write

ROOT = Path(__file__).resolve().parents[2]
INCLUDE = ["projects", "behaviors", "dataacquisition"]


@pytest.fixture(scope="module")
def client(sandbox):
    with bsp.connect(sandbox.url, token=sandbox.token, progress=False) as c:
        yield c


@pytest.fixture(scope="module")
def full(client, tmp_path_factory):
    """A snapshot of every model the demo user can read, and its manifest."""
    path = tmp_path_factory.mktemp("full") / "snap"
    return path, client.snapshot(path)


def assert_same_frames(got, want) -> None:
    assert list(got.tables) == list(want.tables)
    assert list(got.links) == list(want.links)
    assert list(got.children) == list(want.children)
    for name, frame in want.to_dict().items():
        pd.testing.assert_frame_equal(got.to_dict()[name], frame, obj=name)
    assert got.relations == want.relations


# -- exact read-back --------------------------------------------------------------------


def test_full_snapshot_reads_back_equal_to_the_same_read_in_memory(client, full):
    path, manifest = full
    assert manifest["skipped"] == {}
    in_memory = client.read_linked(list(manifest["queries"]))
    assert_same_frames(bsp.read_snapshot(path), in_memory)
    # Every readable model is there, with its link tables and child tables.
    assert set(manifest["queries"]) == set(client.readable_models())
    assert {"session.projects", "project.sessions", "session.download_links"} <= set(manifest["tables"])


def test_snapshot_of_one_model_with_includes_equals_read_linked(client, tmp_path):
    manifest = client.snapshot(tmp_path / "s", models=["session"], include=INCLUDE)
    want = client.read_linked("session", include=INCLUDE)
    got = bsp.read_snapshot(tmp_path / "s")
    assert_same_frames(got, want)
    assert str(got["session"]["date_time"].dtype) == "datetime64[us, UTC]"
    assert got["session"].index.dtype == "string"
    assert manifest["queries"]["session"]["include"] == INCLUDE
    assert manifest["queries"]["session"]["records"] == len(want["session"])


def test_filtered_snapshot_with_no_match_keeps_every_column_and_dtype(client, tmp_path):
    client.snapshot(tmp_path / "none", models=["session"], filters={"name": "no such session"})
    got = bsp.read_snapshot(tmp_path / "none")
    want = client.read_linked("session", filters={"name": "no such session"})
    assert len(got["session"]) == 0
    assert_same_frames(got, want)


def test_per_model_include_and_filters(client, tmp_path):
    manifest = client.snapshot(
        tmp_path / "pm",
        models=["session", "subject"],
        include={"session": ["projects"], "subject": ["strain.species"]},
        filters={"subject": {"sex": "M"}},
    )
    got = bsp.read_snapshot(tmp_path / "pm")
    assert set(got["subject"]["sex"].dropna()) == {"M"}
    assert manifest["queries"]["subject"]["filters"] == {"sex": "M"}
    assert manifest["queries"]["session"]["include"] == ["projects"]
    assert {"strain", "species", "project"} <= set(got.tables)
    with pytest.raises(bsp.ConfigurationError, match="'behavior', which is not among the models read"):
        client.snapshot(tmp_path / "bad", models=["session"], include={"behavior": ["setup"]})
    assert not (tmp_path / "bad").exists()


def test_bad_query_is_rejected_before_anything_is_written(client, tmp_path):
    with pytest.raises(bsp.UnknownNameError):
        client.snapshot(tmp_path / "q", models=["session"], include=["no_such_relation"])
    with pytest.raises(bsp.UnknownNameError):
        client.snapshot(tmp_path / "q", models=["sesion"])
    assert list(tmp_path.iterdir()) == []


# -- manifest and provenance ---------------------------------------------------------


def test_manifest_describes_the_snapshot(sandbox, full):
    path, manifest = full
    on_disk = json.loads((path / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["format"] == "brainstem-pandas-snapshot" and manifest["format_version"] == snap.FORMAT_VERSION == 2
    assert manifest["package_version"] == bsp.__version__
    assert manifest["scheme"] == snap.columns.SCHEME and "struct" in manifest["scheme"]["objects"]
    assert manifest["server"] == sandbox.url and manifest["portal"] == "private"
    assert manifest["started"] <= manifest["finished"]
    session = manifest["queries"]["session"]
    assert ["sort[]", "id"] in session["params"] and session["records"] == session["total"]
    for name, entry in manifest["tables"].items():
        assert sorted(os.listdir(path / entry["folder"])) == sorted(part["file"] for part in entry["files"])
        for part in entry["files"]:
            file = path / entry["folder"] / part["file"]
            assert part["sha256"] == snap.sha256(file) and part["bytes"] == file.stat().st_size
            assert pq.ParquetFile(file).metadata.num_rows == part["rows"]
        assert entry["rows"] == sum(part["rows"] for part in entry["files"])
        frame = bsp.read_table(path, name)
        listed = {c["name"]: c["dtype"] for c in entry["columns"]}
        actual = {c: str(t) for c, t in frame.dtypes.items()}
        if entry["kind"] == "table":
            actual["id"] = str(frame.index.dtype)
        assert listed == actual, name


def test_each_parquet_file_carries_its_provenance(sandbox, full):
    path, manifest = full
    meta = json.loads(pq.read_schema(path / "session" / "part-0.parquet").metadata[b"brainstem_pandas"])
    assert meta["server"] == sandbox.url and meta["table"] == "session" and meta["kind"] == "table"
    assert meta["package_version"] == bsp.__version__ and meta["query"]["records"] > 0
    assert meta["columns"]["extra_fields.trials"] == ["extra_fields", "trials"]
    link = json.loads(pq.read_schema(path / "session.projects" / "part-0.parquet").metadata[b"brainstem_pandas"])
    assert link["kind"] == "link" and link["query"] == manifest["queries"]["session"]


def test_no_secret_in_manifest_or_parquet_metadata(sandbox, full):
    path, _ = full
    for file in (f for f in path.rglob("*") if f.is_file()):
        text = file.read_bytes()
        assert sandbox.token.encode() not in text, file.name
        assert sandbox.password.encode() not in text, file.name
    assert snap.public_url("https://ann:pw@example.org:8443/api/?token=abc#x") == "https://example.org:8443/api/"


# -- streaming -----------------------------------------------------------------------------


def _records(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "id": f"s{i:06d}",
            "name": f"session {i}",
            "date_time": f"2024-01-{1 + i % 28:02d}T10:00:00Z",
            "projects": [f"p{i % 3}", f"p{(i + 1) % 3}"],
            "extra_fields": {"n": i, "depth": i * 0.5},
        }
        for i in range(start, start + n)
    ]


def test_spilling_builder_keeps_no_chunk_in_memory_and_writes_batches_as_row_groups(tmp_path):
    records = _records(3 * BATCH + 10)
    with snap.SnapshotWriter(tmp_path / "s", server="http://x", portal="private", primary="session") as writer:
        for page in range(0, len(records), 100):
            writer.builder.add_records("session", records[page : page + 100])
            # Converted batches are on disk, not in memory.
            assert all(not parts for t in writer.builder.tables.values() for parts in t.data.cols.values())
            assert all(not parts for e in writer.builder.edges.values() for parts in e.data.cols.values())
        writer.builder.flush()
        batches = len(writer.builder.tables["session"].data.lengths)
        assert batches >= 3 and len(list((writer.tmp / ".spill").rglob("*.arrow"))) >= 2 * batches
        writer.commit()
    # One row group per converted batch.
    assert pq.ParquetFile(tmp_path / "s" / "session" / "part-0.parquet").metadata.num_row_groups == batches
    assert not (tmp_path / "s" / ".spill").exists()
    builder = FrameBuilder("session")
    builder.add_records("session", records)
    assert_same_frames(bsp.read_snapshot(tmp_path / "s"), builder.finish())


def test_streamed_types_agree_with_in_memory_build_when_batches_disagree(tmp_path):
    # Batch 1: integers; batch 2: floats; batch 3: a date that is not a date, and a new column.
    records = _records(BATCH)
    for r in _records(BATCH, BATCH):
        r["extra_fields"]["n"] += 0.5
        records.append(r)
    odd = _records(5, 2 * BATCH)
    odd[0]["date_time"] = "not a date"
    odd[1]["late_column"] = True
    records += odd

    def build(spill):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if spill:
                with snap.SnapshotWriter(tmp_path / "t", server="", portal="private", primary="session") as w:
                    w.builder.add_records("session", records)
                    w.commit()
                    frames = bsp.read_snapshot(tmp_path / "t")
            else:
                b = FrameBuilder("session")
                b.add_records("session", records)
                frames = b.finish()
        return frames, sorted(str(w.message) for w in caught if issubclass(w.category, TypeConflictWarning))

    streamed, streamed_warnings = build(True)
    in_memory, memory_warnings = build(False)
    assert_same_frames(streamed, in_memory)
    assert streamed_warnings == memory_warnings and any("date_time" in w for w in memory_warnings)
    assert streamed["session"]["extra_fields.n"].dtype == "Float64"
    assert streamed["session"]["date_time"].dtype == "string"  # kept as text, nothing lost
    assert streamed["session"].loc["s008192", "date_time"] == "not a date"
    assert streamed["session"]["late_column"].dtype == "boolean"


def test_write_frames_round_trips_frames_held_in_memory(client, tmp_path):
    lf = client.read_linked("subject", include=["strain.species", "projects"])
    snap.write_frames(lf, tmp_path / "w", server=client.url, portal="private")
    assert_same_frames(bsp.read_snapshot(tmp_path / "w"), lf)


def test_a_large_table_spans_several_files_that_every_reader_takes_as_one(tmp_path, monkeypatch):
    import duckdb
    import polars as pl

    monkeypatch.setattr(snap_write, "ROWS_PER_FILE", BATCH)  # the real bound is a million rows
    records = _records(3 * BATCH + 10)
    with snap.SnapshotWriter(tmp_path / "s", server="http://x", portal="private", primary="session") as writer:
        for page in range(0, len(records), 100):  # converted a batch at a time, as pages arrive
            writer.builder.add_records("session", records[page : page + 100])
        manifest = writer.commit()
    entry = manifest["tables"]["session"]
    rows = [part["rows"] for part in entry["files"]]  # one converted batch (a few pages past BATCH) a file
    assert len(rows) == 3 and sum(rows) == len(records) and max(rows) < BATCH + 100
    assert sorted(os.listdir(tmp_path / "s" / "session")) == [f"part-{i}.parquet" for i in range(3)]
    builder = FrameBuilder("session")
    builder.add_records("session", records)
    assert_same_frames(bsp.read_snapshot(tmp_path / "s"), builder.finish())
    folder = tmp_path / "s" / "session"
    assert ds.dataset(str(folder)).count_rows() == len(records) == len(pd.read_parquet(folder))
    assert duckdb.sql(f"select count(*) from '{folder}/*.parquet'").fetchall() == [(len(records),)]
    assert pl.scan_parquet(f"{folder}/*.parquet").select(pl.len()).collect().item() == len(records)


V1 = ROOT / "tests" / "data" / "snapshot_v1"


def test_a_format_1_snapshot_still_reads_and_converts_in_place(tmp_path):
    from v1_records import RECORDS  # what brainstem-pandas 0.1.0 wrote tests/data/snapshot_v1 from

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TypeConflictWarning)  # "mixed" holds text and a number
        builder = FrameBuilder("session")
        builder.add_records("session", RECORDS)
        want = builder.finish()
    old = snap.read_manifest(V1)
    assert old["format_version"] == 1 and "session.parquet" in os.listdir(V1)
    assert_same_frames(bsp.read_snapshot(V1), want)
    copy = tmp_path / "old"
    shutil.copytree(V1, copy)
    manifest = snap.convert_snapshot(copy)
    assert manifest["format_version"] == snap.FORMAT_VERSION
    assert (manifest["server"], manifest["started"]) == (old["server"], old["started"])
    assert sorted(os.listdir(copy)) == sorted(["manifest.json", *(e["folder"] for e in manifest["tables"].values())])
    assert_same_frames(bsp.read_snapshot(copy), want)
    assert os.listdir(tmp_path) == ["old"]


# -- atomicity -------------------------------------------------------------------------------


def _state(path: Path) -> dict[str, bytes]:
    return {str(f.relative_to(path)): f.read_bytes() if f.is_file() else b"dir" for f in sorted(path.rglob("*"))}


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize("failure", [RuntimeError("network down"), KeyboardInterrupt()])
def test_interrupted_snapshot_leaves_the_previous_one_intact(client, tmp_path, monkeypatch, failure):
    path = tmp_path / "snap"
    client.snapshot(path, models=["project", "session"])
    before = _state(path)
    pages = {"n": 0}
    real = FrameBuilder.add_page

    def failing(self, page, model=None):
        pages["n"] += 1
        if pages["n"] == 2:
            raise failure
        return real(self, page, model)

    monkeypatch.setattr(FrameBuilder, "add_page", failing)
    with pytest.raises(type(failure)):
        client.snapshot(path, models=["project", "session"])
    assert _state(path) == before
    assert os.listdir(tmp_path) == ["snap"]  # no partial folder, hidden or not
    monkeypatch.undo()
    bsp.read_snapshot(path)


KILLED = """
import sys, brainstem_pandas as bsp
client = bsp.connect(sys.argv[1], token=sys.argv[2], progress=False, workers=2)
client.snapshot(sys.argv[3])
"""


def test_snapshot_killed_mid_way_leaves_the_previous_one_and_the_next_succeeds(make_sandbox, tmp_path):
    # 80 ms a request: a whole snapshot takes about 6 s, well past the longest delay below.
    slow = make_sandbox(latency_ms=80)
    client = bsp.connect(slow.url, token=slow.token, progress=False)
    path = tmp_path / "snap"
    client.snapshot(path, models=["project"])
    before = _state(path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for delay in (0.5, 1.5, 3.0):
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED, slow.url, slow.token, str(path)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        # Its own partial folder (named with its pid): the killed one before it may have left one.
        while not any(p.name.startswith(f".snap.partial-{proc.pid}-") for p in tmp_path.iterdir()):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(delay)
        assert proc.poll() is None, "the snapshot finished before it could be killed; slow the sandbox down"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stderr.close()
        assert _state(path) == before, f"killed after {delay} s"
        assert _visible(tmp_path) == ["snap"]
        bsp.read_snapshot(path)
    manifest = client.snapshot(path)
    assert len(manifest["queries"]) > 1 and _state(path) != before
    # The next snapshot cleared what the killed ones left behind.
    assert os.listdir(tmp_path) == ["snap"]
    bsp.read_snapshot(path)


def test_snapshot_replaces_a_previous_one_in_place(client, tmp_path):
    path = tmp_path / "snap"
    first = client.snapshot(path, models=["project"])
    second = client.snapshot(path, models=["project", "species"])
    assert json.loads((path / "manifest.json").read_text()) == second != first
    assert "species" in os.listdir(path) and "species.parquet" not in os.listdir(path)
    assert os.listdir(tmp_path) == ["snap"]


def test_snapshot_path_that_is_a_file_or_a_foreign_folder_is_refused(client, tmp_path):
    file = tmp_path / "notes.txt"
    file.write_text("keep me")
    with pytest.raises(SnapshotError, match="is a file"):
        client.snapshot(file, models=["project"])
    assert file.read_text() == "keep me"
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("keep me too")
    with pytest.raises(SnapshotError, match="not a snapshot"):
        client.snapshot(folder, models=["project"])
    assert os.listdir(folder) == ["chapter1.tex"]
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "thesis"]


def test_snapshot_into_a_missing_parent_folder_creates_it(client, tmp_path):
    client.snapshot(tmp_path / "a" / "b" / "snap", models=["project"])
    assert len(bsp.read_snapshot(tmp_path / "a" / "b" / "snap")["project"]) > 0


# -- damaged snapshots ---------------------------------------------------------------------


@pytest.fixture
def copy(full, tmp_path):
    path = tmp_path / "copy"
    shutil.copytree(full[0], path)
    return path


def test_missing_file_is_named(copy):
    (copy / "session.projects" / "part-0.parquet").unlink()
    with pytest.raises(DamagedSnapshotError, match=r"missing session\.projects/part-0\.parquet"):
        bsp.read_snapshot(copy)


def test_altered_file_fails_its_checksum(copy):
    file = copy / "session" / "part-0.parquet"
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    file.write_bytes(bytes(data))
    with pytest.raises(DamagedSnapshotError, match=r"session/part-0\.parquet .*checksum"):
        bsp.read_snapshot(copy)


def test_unknown_format_version_and_missing_manifest(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["format_version"] = 99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DamagedSnapshotError, match="format version 99.*Upgrade"):
        bsp.read_snapshot(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(DamagedSnapshotError, match="no manifest.json"):
        bsp.read_snapshot(copy)
    with pytest.raises(SnapshotError, match="does not exist"):
        bsp.read_snapshot(copy / "nowhere")


def test_unreadable_manifest(copy):
    (copy / "manifest.json").write_text("{ not json")
    with pytest.raises(DamagedSnapshotError, match="not readable JSON"):
        bsp.read_snapshot(copy)


# -- diffs ------------------------------------------------------------------------------------


def test_diff_names_added_removed_and_changed_records_and_columns(client, sandbox, tmp_path):
    projects = client.read("project")
    mine = next(pid for pid, users in projects["users"].items() if users.get(sandbox.email, {}).get("can_change"))
    kept = client.save("session", {"name": "diff kept", "projects": [mine]})
    gone = client.save("session", {"name": "diff gone", "projects": [mine]})
    try:
        client.snapshot(tmp_path / "a", models=["session", "project"])
        client.save("session", {"description": "edited"}, id=kept["id"])
        client.delete("session", gone["id"])
        new = client.save("session", {"name": "diff new", "projects": [mine]})
        client.snapshot(tmp_path / "b", models=["session", "project"])
        diff = bsp.diff_snapshots(tmp_path / "a", tmp_path / "b")
        assert diff["session"]["added"] == [new["id"]]
        assert diff["session"]["removed"] == [gone["id"]]
        assert diff["session"]["changed"] == {kept["id"]: ["description"]}
        assert diff["project"] == {"added": [], "removed": [], "changed": {mine: ["sessions"]}}
        assert bsp.diff_snapshots(tmp_path / "b", tmp_path / "b") == {}
    finally:
        for record in (kept, locals().get("new")):
            if record:
                client.delete("session", record["id"])


# -- interop: other readers, without this package ------------------------------------------


def test_duckdb_reads_and_joins_the_snapshot(full):
    import duckdb

    path, manifest = full
    con = duckdb.connect()
    sessions = con.execute(f"select count(*) from read_parquet('{path / 'session' / '*.parquet'}')").fetchone()[0]
    assert sessions == manifest["tables"]["session"]["rows"]
    per_project = con.execute(f"""
        select p.name, count(*) as n
        from read_parquet('{path / "session.projects" / "*.parquet"}') l
        join read_parquet('{path / "project" / "*.parquet"}') p on p.id = l.project_id
        group by p.name order by n desc""").fetchall()
    lf = bsp.read_snapshot(path)
    want = lf.merge("session", "projects").groupby("projects.name").size().sort_values(ascending=False)
    assert dict(per_project) == want.to_dict()
    kind = con.execute(f"select typeof(date_time) from read_parquet('{path / 'session' / '*.parquet'}') limit 1")
    assert kind.fetchone()[0] == "TIMESTAMP WITH TIME ZONE"


def test_pyarrow_dataset_reads_the_snapshot_files(full):
    path, manifest = full
    dataset = ds.dataset(str(path / "session"), format="parquet")
    table = dataset.to_table()
    assert table.num_rows == manifest["tables"]["session"]["rows"]
    assert table.schema.field("date_time").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("id").type == pa.string()
    links = ds.dataset(str(path / "session.projects")).to_table()
    assert set(links.column_names) == {"session_id", "project_id", "position"}


# -- offline client ---------------------------------------------------------------------------

OFFLINE_QUERIES = [
    dict(filters={"name.icontains": "mm"}, sort=["-date_time"]),
    dict(filters={"date_time.gte": "2023-01-01", "date_time.lt": "2025-01-01"}, sort=["name"]),
    dict(filters={"projects.name.icontains": "cell", "description.isnull": False}),
    dict(filters={"name.startswith": "s", "name.endswith": "1"}, sort=["-name"]),
]


@pytest.fixture(scope="module")
def offline(full):
    return bsp.connect(snapshot=full[0])


@pytest.mark.parametrize("query", OFFLINE_QUERIES)
def test_offline_read_equals_the_online_read(client, offline, query):
    want = client.read("session", **query)
    pd.testing.assert_frame_equal(offline.read("session", **query), want)


def test_offline_read_linked_and_iter_pages_match_online(client, offline):
    include = ["projects", "behaviors.setup"]
    want = client.read_linked("session", include=include, filters={"name.icontains": "mm"})
    got = offline.read_linked("session", include=include, filters={"name.icontains": "mm"})
    assert set(got.to_dict()) == set(want.to_dict())
    pd.testing.assert_frame_equal(got["session"], want["session"])
    for name in ("project", "behavior", "setup"):  # sideloaded: same records, in the order first met
        pd.testing.assert_frame_equal(got[name].sort_index(), want[name].sort_index(), check_like=True, obj=name)
    for name in want.links:
        pd.testing.assert_frame_equal(got.links[name], want.links[name], obj=name)
    online = list(client.iter_pages("subject", include=["strain"], sort=["name"]))
    pages = list(offline.iter_pages("subject", include=["strain"], sort=["name"]))
    assert [[r["id"] for r in p.records] for p in pages] == [[r["id"] for r in p.records] for p in online]
    assert {r["id"] for p in pages for r in p.related["strains"]} == {
        r["id"] for p in online for r in p.related["strains"]
    }


def test_offline_client_is_read_only_and_says_so(offline, full):
    sid = offline.read("session").index[0]
    assert offline.get("session", sid)["id"] == sid
    with pytest.raises(SnapshotError, match="is a snapshot, read offline"):
        offline.save("session", {"name": "x"})
    with pytest.raises(SnapshotError, match="is a snapshot, read offline"):
        offline.delete("session", sid)
    with pytest.raises(SnapshotError, match="holds the private portal"):
        offline.read("session", portal="public")
    with pytest.raises(bsp.UnknownNameError):
        offline.read("session", filters={"nosuch": 1})
    with pytest.raises(bsp.ConfigurationError, match="either snapshot="):
        bsp.connect("http://127.0.0.1:1", snapshot=full[0])
    assert str(full[0]) in repr(offline) and "offline" in repr(offline)


def test_offline_snapshot_of_a_subset(offline, tmp_path):
    offline.snapshot(tmp_path / "subset", models=["session"], filters={"name.icontains": "mm"})
    subset = bsp.read_snapshot(tmp_path / "subset")
    pd.testing.assert_frame_equal(
        subset["session"], offline.read_linked("session", filters={"name.icontains": "mm"})["session"]
    )
