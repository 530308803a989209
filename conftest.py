"""Doctest set-up: the package's public examples run against a real sandbox.

``pytest --doctest-modules brainstem_pandas`` (run by ``./dev test``) gives every
docstring example these names, so that examples read as a user would type them:

- ``bsp``: the package; ``pd``: pandas;
- ``sandbox``: a :class:`~brainstem_pandas.sandbox.Sandbox` with 300 sessions, started
  once for all doctests on a free loopback port and stopped at the end;
- ``client``: ``bsp.connect(sandbox.url, token=sandbox.token, progress=False)``;
- ``tmp``: a fresh empty folder (a ``pathlib.Path``) for each example's files.

The sandbox starts only when a doctest runs, so unit tests never start a server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from _pytest.doctest import DoctestItem

pytest_plugins = ["brainstem_pandas.sandbox.pytest_plugin"]


@pytest.fixture(scope="session")
def _doctest_sandbox() -> Iterator[Any]:
    from brainstem_pandas.sandbox import Sandbox

    with Sandbox(sessions=300, seed=0) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if not isinstance(request.node, DoctestItem):
        return
    import pandas as pd

    import brainstem_pandas as bsp

    sandbox = request.getfixturevalue("_doctest_sandbox")
    namespace = request.getfixturevalue("doctest_namespace")
    client = bsp.connect(sandbox.url, token=sandbox.token, progress=False)
    request.addfinalizer(client.close)
    namespace.update(bsp=bsp, pd=pd, sandbox=sandbox, client=client, tmp=tmp_path)
