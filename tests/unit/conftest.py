"""Unit tests start no server: listening on a socket or starting a sandbox fails the test."""

from __future__ import annotations

import socket

import pytest


def _refuse(*args: object, **kwargs: object) -> None:
    raise RuntimeError("tests/unit starts no server; move this test to tests/integration")


@pytest.fixture(autouse=True)
def no_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "listen", _refuse)
    monkeypatch.setattr("brainstem_pandas.sandbox.Sandbox.start", _refuse)
