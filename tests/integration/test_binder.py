"""``binder/``: the start script runs a sandbox in the background and hands over to the command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import requests
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import os, sys, requests
answer = requests.get(os.environ["BRAINSTEM_URL"] + "/api/private/stem/session/", params={"limit": 1},
                      headers={"Authorization": "Bearer " + os.environ["BRAINSTEM_TOKEN"]}, timeout=60)
print("status", answer.status_code, "count", answer.json()["count"])
sys.exit(int(sys.argv[1]))
"""


def _env(run: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTEM_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        BSP_BINDER_RUN=str(run),
        BSP_BINDER_SESSIONS="300",
    )
    return env


def _stop(run: Path) -> str | None:
    """Stop the sandbox binder/start left running; return its URL."""
    env_file = run / "sandbox.env"
    if not env_file.exists():
        return None
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    pid = int(values["BRAINSTEM_SANDBOX_PID"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    return values["BRAINSTEM_URL"]


def test_start_serves_the_sandbox_and_passes_the_command_exit_status_through(tmp_path):
    try:
        out = subprocess.run(
            ["bash", str(ROOT / "binder" / "start"), sys.executable, "-c", PROBE, "7"],
            cwd=ROOT,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
        assert out.returncode == 7, out.stderr
        assert re.search(r"binder/start: BrainSTEM sandbox at http://127\.0\.0\.1:\d+", out.stdout)
        assert "status 200 count 210" in out.stdout  # the demo user sees 7 of every 10 seeded sessions
        assert (tmp_path / "sandbox.env").stat().st_mode & 0o077 == 0  # the token file is the owner's only
    finally:
        url = _stop(tmp_path)
    assert url is not None
    try:
        requests.get(url + "/sandbox/health/", timeout=2)
        still_up = True
    except requests.ConnectionError:
        still_up = False
    assert not still_up


def test_a_zero_exit_status_comes_through_too(tmp_path):
    try:
        out = subprocess.run(
            ["bash", str(ROOT / "binder" / "start"), sys.executable, "-c", PROBE, "0"],
            cwd=ROOT,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
        assert out.returncode == 0 and "status 200" in out.stdout, out.stderr
    finally:
        _stop(tmp_path)


def test_binder_files_install_what_the_package_and_notebooks_need():
    binder = ROOT / "binder"
    assert os.access(binder / "start", os.X_OK) and os.access(binder / "postBuild", os.X_OK)
    assert (binder / "start").read_text().rstrip().endswith('exec "$@"')
    assert "build_database" in (binder / "postBuild").read_text()
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = (
        list(wanted["dependencies"])
        + wanted["optional-dependencies"]["sandbox"]
        + wanted["optional-dependencies"]["widgets"]
        + wanted["optional-dependencies"]["nwb"]  # notebook 06
    )
    lines = [line for line in (binder / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    # A lock: every line one exact pin, every package once.
    pins = dict(line.split("==", 1) for line in lines)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*==[\w.+!-]+", line) for line in lines), lines
    assert len(pins) == len(lines)
    for text in names:  # each of pyproject's requirements, pinned at a version it allows
        requirement = Requirement(text)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{name} (pyproject.toml) is not in binder/requirements.txt: run binder/lock.py"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} vs {text}"
