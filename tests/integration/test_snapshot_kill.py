"""A snapshot process killed with SIGKILL at seeded random points never leaves a half snapshot.

A kill at a random *time* mostly lands while pages are fetched, so the trials here
kill at a random *step* instead. A child process counts every step that touches
the disk or the data (each page added, each Parquet write, fsync, rename, the
atomic exchange, each folder removal) and kills itself with SIGKILL just before
or just after step *k*. A first run without a kill lists the steps; the seeded
trials pick one step of every kind, then random ones.

After each kill the target path must hold either the previous snapshot, byte for
byte, or (when the kill came after the atomic exchange) the complete new one,
verified; nothing partial may be visible; and the next snapshot must succeed and
clear what the killed process left behind.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import brainstem_pandas as bsp

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("BSP_TEST_SEED", "0"))
# Trials per way of putting the new snapshot in place (seeded; at least 10 in all).
MODES = {"exchange": 12, "renames": 14}
BEFORE = ["project"]
AFTER = ["project", "session", "subject"]

CHILD = """
import json, os, shutil, signal, sys
import pyarrow.parquet as pq
import brainstem_pandas as bsp
from brainstem_pandas import frames, snapshot

url, token, path, models, kill_at, when, mode = sys.argv[1:8]
kill_at, steps = int(kill_at), []
if mode == "renames":  # as where renameat2 is missing: the two-rename fallback
    snapshot.files._exchange = lambda a, b: False

def watch(owner, name, label):
    real = getattr(owner, name)
    def step(*args, **kwargs):
        steps.append(label)
        if len(steps) == kill_at and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*args, **kwargs)
        if len(steps) == kill_at and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    setattr(owner, name, step)

watch(frames.FrameBuilder, "add_page", "page")
watch(pq.ParquetWriter, "write_table", "parquet")
watch(os, "fsync", "fsync")
watch(os, "rename", "rename")
watch(snapshot.files, "_exchange", "exchange")
watch(shutil, "rmtree", "rmtree")
client = bsp.connect(url, token=token, progress=False, workers=2)
client.snapshot(path, models=models.split(","))
print(json.dumps(steps))
"""


def state(path: Path) -> dict[str, bytes]:
    """Every file of a snapshot folder (its tables' folders included), by path."""
    return {str(f.relative_to(path)): f.read_bytes() if f.is_file() else b"dir" for f in sorted(path.rglob("*"))}


def run_child(sb, path: Path, mode: str, kill_at: int = 0, when: str = "before") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", CHILD, sb.url, sb.token, str(path), ",".join(AFTER), str(kill_at), when, mode],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def pick_trials(steps: list[str], count: int, rng: random.Random) -> list[tuple[int, str, str]]:
    """(step number from 1, before/after, kind): every kind of step, both sides of the placing, then random."""
    chosen = [
        (rng.choice([i for i, s in enumerate(steps, 1) if s == kind]), rng.choice(["before", "after"]))
        for kind in sorted(set(steps))
    ]
    chosen += [(k, when) for k in placing(steps) for when in ("before", "after")]
    assert len(chosen) <= count, f"{len(chosen)} chosen steps need as many trials; raise MODES"
    while len(chosen) < count:
        chosen.append((rng.randrange(1, len(steps) + 1), rng.choice(["before", "after"])))
    return [(k, when, steps[k - 1]) for k, when in chosen]


def placing(steps: list[str]) -> list[int]:
    """The steps that put the new snapshot in place: the exchange, or (without it) the two renames."""
    exchange = steps.index("exchange") + 1
    renames = [i for i, s in enumerate(steps, 1) if s == "rename" and i > exchange]
    return [exchange] + renames[:2]


def swapped_in(steps: list[str], mode: str, kill_at: int, when: str) -> bool:
    """Whether a kill at this step comes after the new snapshot took the old one's place."""
    done = placing(steps)[0 if mode == "exchange" else 2]  # the exchange, or the rename of the new folder
    return kill_at > done or (kill_at == done and when == "after")


@pytest.fixture(scope="module")
def previous(sandbox, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("previous") / "snap"
    bsp.connect(sandbox.url, token=sandbox.token, progress=False).snapshot(path, models=BEFORE)
    return path


@pytest.fixture(scope="module")
def dry_runs(sandbox, previous, tmp_path_factory) -> dict[str, list[str]]:
    # A run without a kill, over a copy of the previous snapshot, lists the steps of each mode.
    out = {}
    for mode in MODES:
        path = tmp_path_factory.mktemp("dry") / "snap"
        shutil.copytree(previous, path)
        done = run_child(sandbox, path, mode)
        assert done.returncode == 0, done.stderr
        out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        assert bsp.read_snapshot(path).manifest["queries"].keys() == set(AFTER)
    return out


@pytest.fixture(scope="module")
def trials(dry_runs) -> dict[str, list[tuple[int, str, str]]]:
    rng = random.Random(SEED)
    return {mode: pick_trials(dry_runs[mode], count, rng) for mode, count in MODES.items()}


def test_the_trials_cover_every_kind_of_step(dry_runs, trials):
    assert sum(len(t) for t in trials.values()) >= 10
    for mode, steps in dry_runs.items():
        assert {"page", "parquet", "fsync", "exchange", "rmtree"} <= set(steps), steps
        assert {kind for _, _, kind in trials[mode]} == set(steps)
        assert {(k, w) for k in placing(steps) for w in ("before", "after")} <= {(k, w) for k, w, _ in trials[mode]}
    assert len(placing(dry_runs["exchange"])) == 1 + dry_runs["exchange"].count("rename")
    assert len(placing(dry_runs["renames"])) == 3


@pytest.mark.parametrize("mode, trial", [(mode, n) for mode, count in MODES.items() for n in range(count)])
def test_a_snapshot_killed_at_a_random_step_leaves_a_whole_snapshot(
    sandbox, previous, dry_runs, trials, tmp_path, mode, trial
):
    kill_at, when, kind = trials[mode][trial]
    path = tmp_path / "snap"
    shutil.copytree(previous, path)
    before = state(path)
    killed = run_child(sandbox, path, mode, kill_at, when)
    assert killed.returncode == -9, f"step {kill_at} ({kind}, {when}) was not reached: {killed.stderr}"
    # Nothing partial in sight: only the snapshot itself is visible (or nothing, for the
    # moment between the two renames, which reading recovers).
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] in (["snap"], [])
    frames = bsp.read_snapshot(path)  # verified against its manifest
    if swapped_in(dry_runs[mode], mode, kill_at, when):
        assert frames.manifest["queries"].keys() == set(AFTER) and state(path) != before
    else:
        assert state(path) == before, f"killed {when} step {kill_at} ({kind})"
        assert list(frames.manifest["queries"]) == BEFORE
    # The next snapshot succeeds and clears what the killed process left behind.
    manifest = bsp.connect(sandbox.url, token=sandbox.token, progress=False).snapshot(path, models=AFTER)
    assert manifest["queries"].keys() == set(AFTER)
    assert os.listdir(tmp_path) == ["snap"]
    bsp.read_snapshot(path)
