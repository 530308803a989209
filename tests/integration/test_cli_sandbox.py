"""``brainstem-pandas sandbox`` serves on 127.0.0.1 and prints what a user needs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "brainstem_pandas.cli", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def _banner(proc: subprocess.Popen, timeout: float = 120) -> str:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Press Ctrl-C" in line:
            return "".join(lines)
    raise AssertionError("no banner:\n" + "".join(lines))


def test_cli_serves_and_prints_url_credentials_and_token():
    proc = _start("--port", "0", "--sessions", "300", "--envelope", "meta", "--latency-ms", "1")
    try:
        banner = _banner(proc)
        url = re.search(r"sandbox at (http://127\.0\.0\.1:\d+)", banner).group(1)
        token = re.search(r"token:\s+(\S+)", banner).group(1)
        assert re.search(r"email:\s+\S+@\S+", banner) and re.search(r"password:\s+\S+", banner)
        body = requests.get(
            f"{url}/api/private/stem/session/", timeout=30, headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert body["meta"]["total_results"] > 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    # The server went with it.
    try:
        requests.get(f"{url}/sandbox/health/", timeout=2)
        still_up = True
    except requests.ConnectionError:
        still_up = False
    assert not still_up


def test_cli_serves_from_postgresql_and_removes_its_server_on_stop():
    from brainstem_pandas.sandbox.postgres import PREFIX, base_dir

    before = set(Path(base_dir()).glob(PREFIX + "*"))
    proc = _start("--port", "0", "--sessions", "100", "--database", "postgresql")
    try:
        banner = _banner(proc)
        url = re.search(r"sandbox at (http://127\.0\.0\.1:\d+)", banner).group(1)
        token = re.search(r"token:\s+(\S+)", banner).group(1)
        (folder,) = set(Path(base_dir()).glob(PREFIX + "*")) - before
        body = requests.get(
            f"{url}/api/private/stem/session/",
            params={"filter{tags.contains}": "pilot", "limit": 100},
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert body["count"] > 0 and all("pilot" in s["tags"] for s in body["sessions"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert not folder.exists()


def test_cli_rejects_bad_fault_spec_with_a_clear_message():
    proc = _start("--faults", "504=0.5")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "fault kind '504' is not one of" in out


def test_demo_snapshots_everything_and_prints_a_summary(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "brainstem_pandas.cli", "demo", "--sessions", "300", "--out", str(tmp_path / "snap")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    heading = re.search(r"Snapshot \S+: (\d+) tables, ([\d,]+) rows", out.stdout)
    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    assert heading and int(heading.group(1)) == len(manifest["tables"])
    assert int(heading.group(2).replace(",", "")) == sum(t["rows"] for t in manifest["tables"].values())
    assert re.search(r"\bsession 210\b", out.stdout)  # 7 of every 10 sessions
    assert "Read back offline: 210 sessions" in out.stdout
    assert "seeded 300 sessions; the demo user may see 210 of them" in out.stdout  # and why
    assert "Next steps:" in out.stdout and "brainstem-pandas login" in out.stdout
    assert len(out.stdout.splitlines()) < 45  # a short summary (the table of 48 models was 60 lines alone)
    # One overall bar; each model's bar passes: cleared when done (a line of spaces), not left behind.
    assert "snapshot: 100%" in out.stderr and " 48/48 " in out.stderr
    assert len(re.findall(r"\n {20,}\x1b\[A", out.stderr)) >= 48
    rows = re.findall(r"^\S.*?\s{2,}(\d+)\s+\d{4}-\d\d-\d\d", out.stdout, flags=re.M)
    assert rows and sum(map(int, rows)) >= 210  # sessions per project cover every session
