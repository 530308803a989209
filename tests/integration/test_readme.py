"""Every README code block runs, in order and as written; the links and set-up commands are what they say."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import requests

README = Path(__file__).resolve().parents[2] / "README.md"


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README: its language, its code, the line it starts on, and why it is skipped."""

    lang: str
    code: str
    line: int
    skip: str | None


ENGINES = (
    "<!-- engine snippets: tests/integration/test_engines.py runs these as written -->",
    "<!-- end of engine snippets -->",
)


def blocks(text: str) -> list[Block]:
    """Every fenced block, in order; ``<!-- readme-test: skip (reason) -->`` on the line before skips one.

    The engine snippets (between the markers of :data:`ENGINES`) are skipped here: they need a
    snapshot, DuckDB, polars, Dask and Spark, and tests/integration/test_engines.py runs them as written.
    """
    start, end = text.find(ENGINES[0]), text.find(ENGINES[1])
    found = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = re.fullmatch(r"<!-- readme-test: skip \((.+)\) -->", before.strip())
        line = text.count("\n", 0, match.start()) + 1
        reason = marker.group(1) if marker else None
        if 0 <= start < match.start() < end:
            reason = "engine snippet, run by tests/integration/test_engines.py"
        found.append(Block(match.group(1), match.group(2), line, reason))
    return found


def run_sandbox_command(code: str) -> None:
    """The README's ``brainstem-pandas sandbox`` command: it serves and prints what it says, then stops on Ctrl-C."""
    command = code.split("#", 1)[0].split()
    assert command[:2] == [".venv/bin/brainstem-pandas", "sandbox"], code
    args = command[2:]
    if "--port" in args:  # this machine's port 8000 may be taken by another server: any free port instead
        args[args.index("--port") + 1] = "0"
    proc = subprocess.Popen(
        [sys.executable, "-m", "brainstem_pandas.cli", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(README.parent)},
        stdin=subprocess.DEVNULL,
    )
    try:
        banner = ""
        while proc.stdout and "Press Ctrl-C" not in banner:
            line = proc.stdout.readline()
            if not line:  # it exited
                raise AssertionError(f"the sandbox command stopped before serving:\n{banner}")
            banner += line
        url = re.search(r"sandbox at (http://127\.0\.0\.1:\d+)", banner).group(1)
        token = re.search(r"token:\s+(\S+)", banner).group(1)
        assert re.search(r"email:\s+\S+@", banner) and re.search(r"password:\s+\S+", banner)
        api = re.search(r"API:\s+(\S+)", banner).group(1)
        assert requests.get(api, timeout=60).status_code == 200  # the printed API URL answers
        counted = requests.get(
            f"{url}/api/private/stem/session/", headers={"Authorization": f"Bearer {token}"}, timeout=60
        ).json()["count"]
        assert counted > 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_every_readme_block_runs_in_order_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the blocks write snapshots/ where they run
    for name in ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN", "BRAINSTEM_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    scope: dict = {}
    ran, skipped = [], []
    try:
        for block in blocks(README.read_text()):
            if block.skip:
                skipped.append(block.line)
            elif block.lang == "python":
                exec(compile(block.code, f"README.md:{block.line}", "exec"), scope)
                ran.append(block.line)
            elif block.lang == "bash" and "brainstem-pandas sandbox" in block.code:
                run_sandbox_command(block.code)
                ran.append(block.line)
            else:
                raise AssertionError(f"README.md:{block.line}: a {block.lang or 'plain'} block this test cannot run")
    finally:
        if "sb" in scope:
            scope["sb"].stop()
    marked = [b.line for b in blocks(README.read_text()) if b.skip and not b.skip.startswith("engine snippet")]
    assert len(ran) >= 4 and len(marked) <= 2, (ran, marked)
    # What the blocks promise, checked on what they made.
    assert len(scope["sessions"]) > 0 and scope["sessions"]["name"].str.contains("MM", case=False).all()
    assert scope["per_project"].sum() >= len(scope["sessions"]) > 0
    assert scope["manifest"]["tables"]["session"]["rows"] == len(scope["lf"]["session"])
    assert scope["builder"].result is None and scope["builder"].code.startswith("# Sign in first")


def test_readme_links_every_notebook_and_only_existing_ones():
    text = README.read_text()
    linked = set(re.findall(r"\]\((notebooks/[^)]+\.ipynb)\)", text))
    present = {f"notebooks/{p.name}" for p in (README.parent / "notebooks").glob("*.ipynb")}
    assert linked == present and len(present) >= 5


def test_readme_has_exactly_two_setup_commands():
    section = README.read_text().split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.search(r"```bash\n(.*?)```", section, re.S).group(1).strip().splitlines()
    assert [c.split("#")[0].strip() for c in commands] == ["./dev demo", "./dev test"]
