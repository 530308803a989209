"""Packaging: an SPDX license with its file, classifiers, URLs, authors; notebook outputs ignored by git."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_license_is_an_spdx_string_with_its_file():
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text
    # With an SPDX expression, license classifiers are refused by the build backends.
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]


def test_the_project_says_who_what_and_where():
    assert PROJECT["authors"] and all(a.get("name") for a in PROJECT["authors"])
    assert "Programming Language :: Python :: 3.11" in PROJECT["classifiers"]
    assert "Intended Audience :: Science/Research" in PROJECT["classifiers"]
    assert all(url.startswith("https://") for url in PROJECT["urls"].values()) and "Homepage" in PROJECT["urls"]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
@pytest.mark.parametrize("written", ["notebooks/snapshots/before/manifest.json", "notebooks/exports/a/s.csv"])
def test_what_the_notebooks_write_is_ignored_by_git(written):
    # check-ignore exits 0 when the path is ignored
    assert subprocess.run(["git", "check-ignore", "-q", written], cwd=ROOT).returncode == 0
