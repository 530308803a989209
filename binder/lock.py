"""Write binder/requirements.txt: every package Binder installs, pinned to the version installed here.

Run it with the project's virtual environment after changing the dependencies in pyproject.toml:
``.venv/bin/python binder/lock.py``. It walks the requirements of ``brainstem_pandas[sandbox,widgets,nwb]``
(plus matplotlib, which the notebooks plot with, and DuckDB, which notebook 03 queries with) through
the installed distributions' metadata, so the lock holds the whole closure, each at the exact version
this environment resolved and tested.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("sandbox", "widgets", "nwb")  # nwb: notebook 06
ALSO = ("matplotlib", "duckdb")  # the notebooks' plots, and notebook 03's SQL


def roots() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + [r for extra in EXTRAS for r in project["optional-dependencies"][extra]]
    return [Requirement(r) for r in wanted + list(ALSO)]


def closure(start: list[Requirement]) -> dict[str, str]:
    """Distribution name (normalised) -> installed version, for ``start`` and everything it requires."""
    pinned: dict[str, str] = {}
    stack = [(r, frozenset(r.extras)) for r in start]
    while stack:
        requirement, extras = stack.pop()
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name in pinned and not extras:
            continue
        dist = metadata.distribution(requirement.name)
        pinned[name] = dist.version
        for text in dist.requires or []:
            inner = Requirement(text)
            env = [{"extra": e} for e in extras] or [{"extra": ""}]
            if inner.marker is None or any(inner.marker.evaluate(e) for e in env):
                stack.append((inner, frozenset(inner.extras)))
    return pinned


def main() -> int:
    pins = closure(roots())
    lines = [
        "# Binder (repo2docker) installs these first; postBuild then installs this package itself.",
        "# A lock: every package at the version tested. Regenerate with `.venv/bin/python binder/lock.py`",
        "# after changing pyproject.toml's dependencies (tests/integration/test_binder.py checks they agree).",
        *(f"{name}=={version}" for name, version in sorted(pins.items())),
    ]
    (ROOT / "binder" / "requirements.txt").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
