"""Snapshots against careless hands and hostile data: nothing that is not a snapshot is ever destroyed.

Every case in :data:`CASES` runs in a folder ``home`` holding a valid snapshot
``snap``, a web app ``site`` (with its own ``manifest.json``), another tool's
Parquet files, a notes file and a file outside any snapshot. Each asserts the
error class, a phrase of the message that says what to do, and that nothing in
``home`` changed: the listing and the sha256 of every file, before and after.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import brainstem_pandas as bsp
from brainstem_pandas import snapshot
from brainstem_pandas.diff import diff_snapshots
from brainstem_pandas.errors import DamagedSnapshotError, SnapshotError
from brainstem_pandas.frames import FrameBuilder, LinkedFrames
from brainstem_pandas.snapshot import files, manifest, write

SESSIONS = [
    {"id": "s1", "name": "first", "projects": ["p1"], "download_links": [{"url": "a"}]},
    {"id": "s2", "name": "second", "projects": [], "download_links": []},
]


def frames() -> LinkedFrames:
    builder = FrameBuilder("session")
    builder.add_records("session", SESSIONS)
    return builder.finish()


def take(path: Path | str, server: str = "http://lab.example/") -> dict[str, Any]:
    return snapshot.write_frames(frames(), path, server=server, portal="private")


def listing(root: Path) -> dict[str, str]:
    """Every entry under ``root``: files by sha256, symlinks by target, folders as such."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    take(home / "snap")
    site = home / "site"
    site.mkdir()
    (site / "manifest.json").write_text(json.dumps({"name": "My lab app", "start_url": "/"}))
    (site / "index.html").write_text("<html>keep me</html>")
    (site / "app.js").write_text("console.log('keep me')")
    other = home / "other_tool"
    other.mkdir()
    pq.write_table(pa.table({"x": [1, 2, 3]}), other / "data.parquet")
    (home / "notes.txt").write_text("keep me")
    (home / "outside.parquet").write_bytes((home / "snap" / "session" / "part-0.parquet").read_bytes())
    monkeypatch.chdir(tmp_path)
    return home


def edit_manifest(home: Path, change: Callable[[dict], Any]) -> None:
    file = home / "snap" / "manifest.json"
    data = json.loads(file.read_text())
    change(data)
    file.write_text(json.dumps(data))


def set_entry(key: str, value: Any) -> Callable[[dict], None]:
    return lambda m: m["tables"]["session"].__setitem__(key, value)


def set_part(key: str, value: Any) -> Callable[[dict], None]:
    return lambda m: m["tables"]["session"]["files"][0].__setitem__(key, value)


def fail(error: int, text: str = "") -> Callable[..., Any]:
    def raiser(*args: Any, **kwargs: Any) -> Any:
        raise OSError(error, text or os.strerror(error))

    return raiser


def pyarrow_disk_full(*args: Any, **kwargs: Any) -> Any:
    # What pyarrow raises: a plain OSError with no errno, the system's words in the message.
    raise OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")


def manifest_disk_full(monkeypatch) -> None:
    real = open

    def fake(file, mode="r", *args, **kwargs):
        if str(file).endswith("manifest.json") and "w" in mode:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))
        return real(file, mode, *args, **kwargs)

    monkeypatch.setattr(write, "open", fake, raising=False)


def rename_fails(monkeypatch) -> None:
    real = os.rename
    monkeypatch.setattr(files, "_exchange", lambda a, b: False)  # the two-rename way: its second step fails

    def fake(src, dst):
        if ".partial-" in str(src):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(src))
        return real(src, dst)

    monkeypatch.setattr(os, "rename", fake)


@dataclass
class Case:
    id: str
    act: Callable[[Path], Any]
    error: type[Exception]
    phrase: str
    setup: Callable[[Path, Any], Any] = lambda home, monkeypatch: None


def _symlink_out(home: Path, monkeypatch) -> None:
    (home / "snap" / "session" / "part-0.parquet").unlink()
    (home / "snap" / "session" / "part-0.parquet").symlink_to(home / "outside.parquet")


def _folder_symlink_out(home: Path, monkeypatch) -> None:
    os.rename(home / "snap" / "session", home / "moved")
    (home / "snap" / "session").symlink_to(home / "moved")


def _manifest_link(home: Path, monkeypatch) -> None:
    (home / "elsewhere.json").write_bytes((home / "snap" / "manifest.json").read_bytes())
    (home / "snap" / "manifest.json").unlink()
    (home / "snap" / "manifest.json").symlink_to(home / "elsewhere.json")


def _newer(home: Path, monkeypatch) -> None:
    edit_manifest(home, lambda m: m.__setitem__("format_version", manifest.FORMAT_VERSION + 1))


def _other_server(home: Path, monkeypatch) -> None:
    take(home / "other_server", server="http://elsewhere.example/")


def _user_file_in_snapshot(home: Path, monkeypatch) -> None:
    (home / "snap" / "analysis.ipynb").write_text("{}")


def _user_file_in_a_table_folder(home: Path, monkeypatch) -> None:
    (home / "snap" / "session" / "notes.txt").write_text("keep me")


def _truncate(home: Path, monkeypatch) -> None:
    file = home / "snap" / "session" / "part-0.parquet"
    file.write_bytes(file.read_bytes()[:100])


def _replace(home: Path, monkeypatch) -> None:
    pq.write_table(pa.table({"id": ["s9"], "name": ["forged"]}), home / "snap" / "session" / "part-0.parquet")


def _deep(home: Path, monkeypatch) -> None:
    (home / "snap" / "manifest.json").write_text("[" * 200_000 + "]" * 200_000)


def _huge(home: Path, monkeypatch) -> None:
    monkeypatch.setattr(manifest, "MAX_MANIFEST", 1000)  # the cap, made small: the real one is 64 MB


def _home_is(home: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(home))


def read(name: str) -> Callable[[Path], Any]:
    return lambda home: bsp.read_snapshot(home / name)


def write_to(name: str) -> Callable[[Path], Any]:
    return lambda home: take(home / name if name else home)


def bad_manifest(change: Callable[[dict], Any]) -> Callable[[Path, Any], None]:
    return lambda home, monkeypatch: edit_manifest(home, change)


def patched(target: Any, name: str, fake: Callable) -> Callable[[Path, Any], None]:
    return lambda home, monkeypatch: monkeypatch.setattr(target, name, fake)


TAKE_AGAIN = "Take the snapshot again"
DISK_FULL = "free some space"
CHOOSE = "Choose an empty or new folder"

CASES = [
    # -- writing: never replace what is not a snapshot
    Case("web-app-with-a-manifest.json", write_to("site"), SnapshotError, CHOOSE),
    Case("another-tool's-parquet-folder", write_to("other_tool"), SnapshotError, CHOOSE),
    Case("a-file", write_to("notes.txt"), SnapshotError, "Give a folder path"),
    Case("snapshot-holding-a-user-file", write_to("snap"), SnapshotError, "remove this one yourself",
         _user_file_in_snapshot),
    Case("snapshot-with-a-user-file-in-a-table-folder", write_to("snap"), SnapshotError, "session/notes.txt",
         _user_file_in_a_table_folder),
    Case("newer-format-folder", write_to("snap"), SnapshotError, CHOOSE, _newer),
    Case("snapshot-with-a-symlink-leading-out", write_to("snap"), SnapshotError, CHOOSE, _symlink_out),
    Case("snapshot-with-a-table-folder-leading-out", write_to("snap"), SnapshotError, CHOOSE, _folder_symlink_out),
    Case("the-current-folder", lambda home: take("."), SnapshotError, "Give a new folder inside it",
         lambda home, monkeypatch: monkeypatch.chdir(home)),
    Case("home-~", lambda home: take("~"), SnapshotError, CHOOSE, _home_is),
    Case("root-/", lambda home: take("/"), SnapshotError, "Give a new folder"),
    Case("name-too-long", write_to("x" * 300), SnapshotError, "choose a shorter path"),
    # 250 characters is a valid name, but its hidden partial sibling (".NAME.partial-PID-HEX") is not
    Case("name-near-the-limit", write_to("y" * 250), SnapshotError, "choose a shorter path"),
    # -- writing: OS errors say what to do, the previous snapshot stays whole
    Case("disk-full-in-pyarrow", write_to("snap"), SnapshotError, DISK_FULL,
         patched(pq.ParquetWriter, "write_batch", pyarrow_disk_full)),
    Case("disk-full-on-the-manifest", write_to("snap"), SnapshotError, DISK_FULL,
         lambda home, mp: manifest_disk_full(mp)),
    Case("disk-full-on-fsync", write_to("snap"), SnapshotError, DISK_FULL, patched(os, "fsync", fail(errno.ENOSPC))),
    Case("disk-full-on-rename", write_to("snap"), SnapshotError, DISK_FULL, lambda home, mp: rename_fails(mp)),
    Case("no-permission-in-the-parent", write_to("new"), SnapshotError, "check the folder's permissions",
         patched(Path, "mkdir", fail(errno.EACCES))),
    Case("read-only-file-system", write_to("new"), SnapshotError, "choose a folder you can write to",
         patched(Path, "mkdir", fail(errno.EROFS))),
    # -- reading: a manifest is untrusted input
    Case("file-named-../../etc/passwd", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(set_part("file", "../../etc/passwd"))),
    Case("absolute-file-name", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(set_part("file", "/etc/passwd"))),
    Case("file-name-with-NUL", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(set_part("file", "part-0.parquet\0.txt"))),
    Case("folder-named-../..", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(set_entry("folder", "../.."))),
    Case("absolute-folder-name", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(set_entry("folder", "/etc"))),
    Case("folder-the-manifest", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(set_entry("folder", "manifest.json"))),
    Case("no-files", read("snap"), DamagedSnapshotError, TAKE_AGAIN, bad_manifest(set_entry("files", []))),
    Case("one-file-twice", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(lambda m: m["tables"]["session"]["files"].append(m["tables"]["session"]["files"][0]))),
    Case("column-path-empty", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(lambda m: m["tables"]["session"]["columns"][1].__setitem__("path", []))),
    Case("column-path-not-in-the-file", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(lambda m: m["tables"]["session"]["columns"][1].__setitem__("path", ["nosuch"]))),
    Case("a-column-left-out", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(lambda m: m["tables"]["session"]["columns"].pop())),
    Case("symlink-leading-out", read("snap"), DamagedSnapshotError, TAKE_AGAIN, _symlink_out),
    Case("table-folder-leading-out", read("snap"), DamagedSnapshotError, TAKE_AGAIN, _folder_symlink_out),
    Case("manifest-a-symlink", read("snap"), DamagedSnapshotError, "Give the folder of a snapshot", _manifest_link),
    Case("deeply-nested-manifest", read("snap"), DamagedSnapshotError, TAKE_AGAIN, _deep),
    Case("huge-manifest", read("snap"), DamagedSnapshotError, TAKE_AGAIN, _huge),
    Case("tables-a-list", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(lambda m: m.__setitem__("tables", []))),
    Case("rows-a-string", read("snap"), DamagedSnapshotError, TAKE_AGAIN, bad_manifest(set_entry("rows", "2"))),
    Case("file-a-number", read("snap"), DamagedSnapshotError, TAKE_AGAIN, bad_manifest(set_part("file", 7))),
    Case("entry-a-string", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(lambda m: m["tables"].__setitem__("session", "session.parquet"))),
    Case("version-a-string", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(lambda m: m.__setitem__("format_version", "1"))),
    Case("relations-a-string", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(lambda m: m.__setitem__("relations", "x"))),
    Case("relation-of-wrong-types", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(lambda m: m["relations"][0].__setitem__("model", ["x"]))),
    Case("two-tables-one-folder", read("snap"), DamagedSnapshotError, TAKE_AGAIN,
         bad_manifest(lambda m: m["tables"]["session.projects"].__setitem__("folder", "SESSION"))),
    # -- reading: careless hands
    Case("read-a-file", read("notes.txt"), SnapshotError, "give the snapshot folder"),
    Case("read-another-tool's-parquet", read("other_tool"), DamagedSnapshotError, "pandas.read_parquet"),
    Case("read-a-web-app", read("site"), DamagedSnapshotError, "Give the folder of a snapshot"),
    Case("truncated-parquet", read("snap"), DamagedSnapshotError, TAKE_AGAIN, _truncate),
    Case("replaced-parquet", read("snap"), DamagedSnapshotError, TAKE_AGAIN, _replace),
    Case("newer-format-version", read("snap"), DamagedSnapshotError, "Upgrade brainstem-pandas", _newer),
    Case("diff-of-two-servers", lambda home: diff_snapshots(home / "snap", home / "other_server"), SnapshotError,
         "same server and portal", _other_server),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_careless_or_hostile_case_raises_what_to_do_and_changes_nothing(case, home, monkeypatch):
    case.setup(home, monkeypatch)
    before = listing(home)
    with pytest.raises(case.error) as caught:
        case.act(home)
    monkeypatch.undo()
    assert type(caught.value) is case.error
    assert case.phrase.lower() in str(caught.value).lower()
    assert listing(home) == before  # nothing changed, nothing left behind (hidden partial folders included)
    assert listing(home.parent)["home"] == "dir" and sorted(os.listdir(home.parent)) == ["home"]


def test_the_table_has_every_kind_of_case():
    assert len(CASES) >= 12
    assert {c.error for c in CASES} == {SnapshotError, DamagedSnapshotError}


WRONG = [None, True, -1, "x", "../x", [], ["x"], {}, {"a": 1}]


def _fields(manifest: dict) -> list[tuple[str, ...]]:
    top = [(key,) for key in manifest]
    entry = [("tables", "session", key) for key in manifest["tables"]["session"]]
    relation = [("relations", 0, key) for key in manifest["relations"][0]]
    part = [("tables", "session", "files", 0, key) for key in manifest["tables"]["session"]["files"][0]]
    column = [("tables", "session", "columns", 1, key) for key in manifest["tables"]["session"]["columns"][1]]
    inner = [("tables", "session", "files", 0), ("tables", "session", "columns", 1)]
    return top + entry + relation + part + column + inner + [("tables", "session"), ("relations", 0)]


def test_a_wrong_type_in_any_field_reads_fine_or_is_a_damaged_snapshot(tmp_path):
    take(tmp_path / "good")
    good = json.loads((tmp_path / "good" / "manifest.json").read_text())
    outcomes: dict[str, int] = {}
    for where in _fields(good):
        for value in WRONG:
            data = json.loads(json.dumps(good))
            target = data
            for step in where[:-1]:
                target = target[step]
            target[where[-1]] = value
            (tmp_path / "good" / "manifest.json").write_text(json.dumps(data))
            try:
                bsp.read_snapshot(tmp_path / "good")
                outcomes["read"] = outcomes.get("read", 0) + 1
            except DamagedSnapshotError:
                outcomes["damaged"] = outcomes.get("damaged", 0) + 1
            # anything else (KeyError, TypeError, AttributeError, ...) fails the test
    assert outcomes["damaged"] > 100 and sum(outcomes.values()) == len(_fields(good)) * len(WRONG)


# -- what is allowed, and leaves nothing behind ------------------------------------------------


def assert_round_trip(path: Path) -> None:
    got = bsp.read_snapshot(path)
    for name, frame in frames().to_dict().items():
        pd.testing.assert_frame_equal(got.to_dict()[name], frame, obj=name)


def test_an_empty_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    take(tmp_path / "empty")
    assert_round_trip(tmp_path / "empty")
    assert os.listdir(tmp_path) == ["empty"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_a_symlink_to_a_snapshot_is_followed_and_keeps_working(home, tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "link").symlink_to(home / "snap")
    before = listing(home)
    take(elsewhere / "link", server="http://new.example/")
    assert (elsewhere / "link").is_symlink() and os.readlink(elsewhere / "link") == str(home / "snap")
    assert bsp.read_snapshot(elsewhere / "link").manifest["server"] == "http://new.example/"
    after = listing(home)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed and all(k.startswith("snap/") for k in changed)  # only the snapshot's own files
    assert os.listdir(elsewhere) == ["link"]  # no partial or previous folder next to the link
    assert not [p for p in os.listdir(home) if p.startswith(".")]  # nor next to the folder it points to


def test_a_symlinked_parent_and_a_dangling_link_leave_nothing_behind(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "parent").symlink_to(tmp_path / "real")
    take(tmp_path / "parent" / "snap")
    take(tmp_path / "parent" / "snap")  # replaced through the symlinked parent
    assert_round_trip(tmp_path / "real" / "snap")
    (tmp_path / "dangling").symlink_to(tmp_path / "made")
    take(tmp_path / "dangling")  # the link's target is created; the link then works
    assert_round_trip(tmp_path / "dangling")
    assert sorted(os.listdir(tmp_path)) == ["dangling", "made", "parent", "real"]
    assert os.listdir(tmp_path / "real") == ["snap"]


def test_a_symlink_loop_is_refused(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(SnapshotError, match="Give a plain folder path"):
        take(tmp_path / "a")
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]


def test_a_file_saved_into_the_target_while_writing_is_never_removed(home):
    before = listing(home)
    with pytest.raises(SnapshotError, match="its manifest does not name analysis.ipynb"):
        with snapshot.SnapshotWriter(home / "snap", server="http://lab.example/", portal="p", primary="session") as w:
            w.builder.add_records("session", SESSIONS)
            (home / "snap" / "analysis.ipynb").write_text("{}")  # saved while the pages were fetched
            w.commit()
    assert listing(home) == {**before, "snap/analysis.ipynb": listing(home)["snap/analysis.ipynb"]}


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_a_file_saved_in_the_last_instant_is_kept_visible_with_a_warning(home, monkeypatch, exchange):
    real_exchange, real_rename = files._exchange, os.rename

    def exchange_then_save(a, b):
        done = real_exchange(a, b)
        if done:
            (a / "late.txt").write_text("keep me")  # ``a`` now holds the previous snapshot
        return done

    def rename_then_save(src, dst):
        real_rename(src, dst)
        if ".previous-" in str(dst):
            (Path(dst) / "late.txt").write_text("keep me")

    monkeypatch.setattr(files, "_exchange", exchange_then_save if exchange else lambda a, b: False)
    if not exchange:
        monkeypatch.setattr(os, "rename", rename_then_save)
    with pytest.warns(UserWarning, match="they are kept in"):
        take(home / "snap")
    monkeypatch.undo()
    kept = [p for p in os.listdir(home) if p.startswith("snap.kept-")]
    assert len(kept) == 1 and os.listdir(home / kept[0]) == ["late.txt"]
    assert (home / kept[0] / "late.txt").read_text() == "keep me"
    assert not [p for p in os.listdir(home) if p.startswith(".")]
    assert_round_trip(home / "snap")


def test_diff_of_two_sources_can_be_asked_for_on_purpose(home):
    take(home / "other", server="http://elsewhere.example/")
    assert diff_snapshots(home / "snap", home / "other", same_source=False) == {}


# -- a real full disk ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs mounted for this test (root only), always unmounted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); the injected cases cover it")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_really_full_disk_is_a_snapshot_error_and_the_previous_snapshot_stays(small_disk):
    take(small_disk / "snap")
    before = listing(small_disk)
    big = FrameBuilder("session")
    # Random text does not compress: a few MB of it cannot fit in the 1 MB disk.
    big.add_records("session", [{"id": f"s{i}", "blob": os.urandom(2000).hex()} for i in range(1500)])
    with pytest.raises(SnapshotError, match="free some space") as caught:
        snapshot.write_frames(big.finish(), small_disk / "snap", server="http://lab.example/", portal="private")
    assert "previous snapshot there is intact" in str(caught.value)
    assert listing(small_disk) == before
    assert_round_trip(small_disk / "snap")


def test_a_really_read_only_file_system_is_a_snapshot_error(small_disk):
    take(small_disk / "snap")
    before = listing(small_disk)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with pytest.raises(SnapshotError, match="choose a folder you can write to"):
        take(small_disk / "snap")
    assert listing(small_disk) == before
    assert_round_trip(small_disk / "snap")


# -- names from a hostile server -----------------------------------------------------------------

HOSTILE_KEYS = ["../x", "a/b", "con", "NUL", "Aux.txt", "x" * 300, "Case", "case", "c\x01d", "e:f", "/abs", "..", "."]
RECORD = {"id": "00000000-0000-0000-0000-000000000001", "name": "s1"}
RECORD.update({key: [{"v": i, "w": key}] for i, key in enumerate(HOSTILE_KEYS)})


def test_table_names_from_a_hostile_server_become_safe_unique_files_and_read_back_exactly(hostile, tmp_path):
    from hostile import json_reply

    server = hostile(lambda seen: json_reply({"sessions": [RECORD], "count": 1}))
    client = bsp.connect(server.url, token="t" * 40, progress=False)
    written = client.snapshot(tmp_path / "snap", models=["session"])
    in_memory = client.read_linked("session")
    assert len(server.seen) == 2  # one page for the snapshot, one for the read
    assert {f"session.{key}" for key in HOSTILE_KEYS} <= set(written["tables"])
    names = [entry["folder"] for entry in written["tables"].values()]
    assert all(re.fullmatch(r"[a-z0-9._-]{1,100}", n) and not n.startswith(".") for n in names)
    assert all(os.listdir(tmp_path / "snap" / n) == ["part-0.parquet"] for n in names)
    assert len({n.lower() for n in names}) == len(names)  # unique on a case-insensitive file system too
    assert all(n.split(".")[0].split("-")[0] not in ("con", "nul", "aux") for n in names)
    assert sorted(os.listdir(tmp_path)) == ["snap"]
    assert sorted(os.listdir(tmp_path / "snap")) == sorted([*names, "manifest.json"])
    back = bsp.read_snapshot(tmp_path / "snap")
    assert list(back.to_dict()) == list(in_memory.to_dict())  # exactly the original table names
    for name, frame in in_memory.to_dict().items():
        pd.testing.assert_frame_equal(back.to_dict()[name], frame, obj=repr(name))


# -- column names from a hostile server --------------------------------------------------------

PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ODD_KEYS = ["a.b", "", "k" * 300, "Trials", "trials", "tri als", "1st", "a-b", "a_b", "é", "a\x00b", "$x", "nest"]
ODD_RECORDS = [
    {
        "id": "00000000-0000-0000-0000-000000000001",
        "name": "s1",
        "Name": "shouted",  # a field alike but for case: Spark and DuckDB would take it for ``name``
        "we ird": 1,
        "": "empty name",
        "extra_fields": {**{key: i for i, key in enumerate(ODD_KEYS)}, "nest": {"k": [1, 2]}},
    },
    {"id": "00000000-0000-0000-0000-000000000002", "name": "s2", "extra_fields": {}},
    {"id": "00000000-0000-0000-0000-000000000003", "name": "s3", "extra_fields": None},
]


def test_column_names_from_a_hostile_server_need_no_quoting_and_read_back_exactly(hostile, tmp_path):
    import duckdb
    from hostile import json_reply

    server = hostile(lambda seen: json_reply({"sessions": ODD_RECORDS, "count": len(ODD_RECORDS)}))
    client = bsp.connect(server.url, token="t" * 40, progress=False)
    written = client.snapshot(tmp_path / "snap", models=["session"])
    in_memory = client.read_linked("session")
    back = bsp.read_snapshot(tmp_path / "snap")
    for name, frame in in_memory.to_dict().items():
        pd.testing.assert_frame_equal(back.to_dict()[name], frame, obj=repr(name))
    schema = pq.read_schema(tmp_path / "snap" / "session" / "part-0.parquet")
    struct = schema.field("extra_fields").type
    for names in (schema.names, [f.name for f in struct]):
        assert all(PLAIN.fullmatch(n) and len(n) <= 64 for n in names), names
        assert len({n.lower() for n in names}) == len(names)  # unique ignoring case, as Spark and DuckDB match
    assert len(struct) == len(ODD_KEYS)  # one field per key, "nest" (an object) held as its JSON text
    listed = {c["name"]: c["path"] for c in written["tables"]["session"]["columns"]}
    assert listed["extra_fields.Trials"] == ["extra_fields", "Trials"] and listed["name"] == ["name"]
    assert listed["extra_fields.trials"][1].startswith("trials_") and listed["Name"][0].startswith("Name_")
    assert set(listed) == {"id", *in_memory["session"].columns}
    # Every key selects unquoted in DuckDB, and holds what the record sent.
    select = ", ".join(f"extra_fields.{listed[f'extra_fields.{key}'][1]}" for key in ODD_KEYS[:-1])
    got = duckdb.sql(f"select {select} from '{tmp_path}/snap/session/*.parquet' order by id").fetchall()
    assert got == [tuple(range(len(ODD_KEYS) - 1)), (None,) * (len(ODD_KEYS) - 1), (None,) * (len(ODD_KEYS) - 1)]
    nest = duckdb.sql(f"select extra_fields.nest from '{tmp_path}/snap/session/*.parquet' order by id").fetchall()
    assert json.loads(nest[0][0]) == {"k": [1, 2]} and nest[1:] == [(None,), (None,)]
