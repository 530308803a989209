"""A snapshot path that is not a path is a ConfigurationError saying what to pass, never a TypeError."""

from __future__ import annotations

import pytest

import brainstem_pandas as bsp
from brainstem_pandas.snapshot import read_manifest


# None is left out: connect(snapshot=None) means "online", and read_snapshot(None) is covered below.
@pytest.mark.parametrize("path", [3, b"snapshots/x", 2.5, ["a"], "", "a\x00b"], ids=repr)
@pytest.mark.parametrize(
    "call",
    [bsp.read_snapshot, read_manifest, lambda p: bsp.read_table(p, "session"), lambda p: bsp.connect(snapshot=p)],
    ids=["read_snapshot", "read_manifest", "read_table", "connect"],
)
def test_a_path_that_is_not_a_path_says_what_to_pass(call, path) -> None:
    with pytest.raises(bsp.ConfigurationError, match="pass a folder such as"):
        call(path)


@pytest.mark.parametrize("call", [bsp.read_snapshot, read_manifest, lambda p: bsp.read_table(p, "session")])
def test_no_path_says_what_to_pass(call) -> None:
    with pytest.raises(bsp.ConfigurationError, match="pass a folder such as"):
        call(None)
