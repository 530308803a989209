"""The command as a shell user meets it: version, help, models, errors, Ctrl-C, a closed pipe, login/logout."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import requests

import brainstem_pandas as bsp
from brainstem_pandas._version import __version__

ROOT = Path(__file__).resolve().parents[2]


def env_for(home: Path, sandbox=None, token: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTEM_")}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home))
    if sandbox is not None:
        env["BRAINSTEM_URL"] = sandbox.url
        if token:
            env["BRAINSTEM_TOKEN"] = sandbox.token
    return env


def cli(home: Path, *args: str, sandbox=None, token: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "brainstem_pandas.cli", *args],
        capture_output=True,
        text=True,
        env=env_for(home, sandbox, token),
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def start(home: Path, *args: str, sandbox=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "brainstem_pandas.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env_for(home, sandbox),
        stdin=subprocess.DEVNULL,
    )


def test_version_and_help_with_defaults_and_environment(tmp_path):
    version = cli(tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"brainstem-pandas {__version__}"
    shown = cli(tmp_path, "read", "--help")
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    assert "(default: 8)" in text and "(default: private)" in text and "(default: csv)" in text
    assert "BRAINSTEM_URL" in text and "BRAINSTEM_TOKEN" in text and "brainstem-pandas login" in text
    assert "--limit N" in text
    assert "personal access token (BRAINSTEM_TOKEN) or the browser sign-in" in text and "legacy" in text


def test_models_lists_name_app_list_key_and_portals(tmp_path):
    out = cli(tmp_path, "models")
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[1:]}
    assert len(rows) == 48
    assert rows["session"][:3] == ["session", "stem", "sessions"] and "public," in rows["session"]
    assert "consumable stocks" in out.stdout  # an irregular list key, as the server spells it
    public = cli(tmp_path, "models", "--portal", "public")
    assert "session" in public.stdout and "project_membership_invitation" not in public.stdout


def test_no_token_error_names_the_command_on_one_line_and_exits_1(sandbox, tmp_path):
    out = cli(tmp_path, "read", "session", sandbox=sandbox, token=False)
    assert out.returncode == 1 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("brainstem-pandas read: No BrainSTEM token found")
    assert "`brainstem-pandas login`" in lines[0] and "--portal public" in lines[0] and "bsp." not in lines[0]


def test_an_unknown_model_and_an_unreachable_server_are_one_line_errors(sandbox, tmp_path):
    unknown = cli(tmp_path, "read", "sesion", sandbox=sandbox)
    assert unknown.returncode == 1 and len(unknown.stderr.strip().splitlines()) == 1
    assert "session" in unknown.stderr and "Traceback" not in unknown.stderr
    gone = cli(tmp_path, "read", "project", "--url", "http://127.0.0.1:9", "--quiet", sandbox=sandbox)
    assert gone.returncode == 1 and len(gone.stderr.strip().splitlines()) == 1
    assert "cannot be reached" in gone.stderr and "2 attempt(s)" in gone.stderr


def test_a_closed_pipe_exits_quietly(sandbox, tmp_path):
    # `brainstem-pandas read session | head -1`, the reader gone before the CSV is written (closed at once
    # here: pipes may buffer more than the whole CSV, and a write into a pipe with no reader is what fails).
    proc = start(tmp_path, "read", "session", "--quiet", sandbox=sandbox)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=300)
    assert proc.returncode == 141 and err == ""  # 128 + SIGPIPE, as `yes | head` reports; no traceback


def test_ctrl_c_mid_read_exits_130_without_a_traceback(make_sandbox, tmp_path):
    slow = make_sandbox(latency_ms=400)
    proc = start(tmp_path, "read", "session", "--workers", "1", sandbox=slow)
    said: list[bytes] = []
    bar_shown = threading.Event()

    def collect() -> None:  # the progress bar on stderr says the read has begun
        for chunk in iter(lambda: proc.stderr.read1(4096), b""):
            said.append(chunk)
            if b"records" in b"".join(said):
                bar_shown.set()

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    assert bar_shown.wait(120), b"".join(said)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    reader.join(30)
    err = b"".join(said).decode()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err and "KeyboardInterrupt" not in err
    assert proc.stdout.read() == b""  # nothing half-written


def test_snapshot_filter_for_one_model_and_read_limit(sandbox, tmp_path):
    out = cli(
        tmp_path,
        "snapshot",
        str(tmp_path / "s"),
        "--models",
        "session",
        "project",
        "--filter",
        "session:name.icontains=mm",
        "--quiet",
        sandbox=sandbox,
    )
    assert out.returncode == 0, out.stderr
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    with bsp.connect(sandbox.url, token=sandbox.token, progress=False) as client:
        want = client.read("session", filters={"name.icontains": "mm"})
        projects = client.read("project")
    assert 0 < manifest["tables"]["session"]["rows"] == len(want) < len(client.read("session"))
    assert manifest["tables"]["project"]["rows"] == len(projects)  # the filter was for sessions only


def test_logout_says_what_it_removed(tmp_path):
    token = tmp_path / ".config" / "brainstem" / "token"
    token.parent.mkdir(parents=True)
    token.write_text("bst_pat_saved-before-0123456789")
    token.chmod(0o600)
    out = cli(tmp_path, "logout")
    assert out.returncode == 0 and f"Removed {token}" in out.stderr and not token.exists()
    again = cli(tmp_path, "logout")
    assert again.returncode == 0 and "No saved token" in again.stderr


def test_login_prints_the_link_and_saves_the_approved_token(make_sandbox, tmp_path):
    sb = make_sandbox(device_interval=1, device_ttl=120)
    proc = subprocess.Popen(
        [sys.executable, "-m", "brainstem_pandas.cli", "login", "--url", sb.url, "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env_for(tmp_path), "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
    )
    shown = proc.stdout.readline()
    assert "To sign in, open" in shown, shown + proc.stderr.read()
    link = shown.split("open", 1)[1].strip()
    # What the user does in the browser: open the link, sign in there, approve.
    page = requests.get(link, timeout=60)
    session = re.search(r'name="session" value="([^"]+)"', page.text).group(1)
    form = {"session": session, "email": sb.email, "password": sb.password, "decision": "approve"}
    assert requests.post(link, data=form, timeout=60).status_code == 200
    proc.wait(timeout=120)
    err = proc.stderr.read()
    assert proc.returncode == 0, err
    assert f"Signed in to {sb.url}" in err
    saved = (tmp_path / ".config" / "brainstem" / "token").read_text()
    with bsp.connect(sb.url, token=saved, progress=False) as client:
        assert len(client.read("project")) > 0
