"""The public surface: what ``import brainstem_pandas as bsp`` offers, and the one version."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import brainstem_pandas as bsp
from brainstem_pandas import _version

ROOT = Path(__file__).resolve().parents[2]


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert bsp.__all__ == sorted(bsp.__all__)
    missing = [name for name in bsp.__all__ if not hasattr(bsp, name)]
    assert missing == []


def test_the_names_a_user_builds_on_are_exported() -> None:
    for name in ("LinkedFrames", "FrameBuilder", "Paginator", "TypeConflictWarning", "Query", "Cancelled"):
        assert name in bsp.__all__


def test_errors_share_one_root() -> None:
    errors = [getattr(bsp, n) for n in bsp.__all__ if isinstance(getattr(bsp, n), type)]
    errors = [e for e in errors if issubclass(e, Exception) and e is not bsp.TypeConflictWarning]
    assert errors and all(issubclass(e, bsp.BrainstemError) for e in errors)


def test_the_version_is_written_once() -> None:
    # pyproject reads _version.py (dynamic); the installed metadata must agree with it.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "brainstem_pandas._version.__version__"}
    assert bsp.__version__ == _version.__version__ == importlib.metadata.version("brainstem_pandas")


def test_every_file_the_docs_name_exists() -> None:
    # The README's guarantees name the tests that hold them; a moved test must not leave a dead name.
    for doc in ("README.md", "CONTRIBUTING.md"):
        text = (ROOT / doc).read_text()
        named = set(re.findall(r"`((?:tests|benchmarks|brainstem_pandas)/[\w/.]+\.py)`", text))
        assert [n for n in sorted(named) if not (ROOT / n).exists()] == [], doc
