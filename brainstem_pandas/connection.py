"""Make a :class:`~brainstem_pandas.client.Client`: find credentials (or a snapshot), sign in, sign out.

>>> client = connect(sandbox.url, token=sandbox.token, progress=False)
>>> client.source
'argument'
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainstem_pandas import auth
from brainstem_pandas.client import Client, SnapshotClient
from brainstem_pandas.errors import AuthenticationError, ConfigurationError
from brainstem_pandas.query import check_portal
from brainstem_pandas.sources import DEFAULT_URL
from brainstem_pandas.transport import Credentials, RetryPolicy, check_url
from brainstem_pandas.transport.secret import Secret


def _interactive() -> bool:
    # A terminal or a notebook kernel can show a sign-in link; CI and pipes cannot.
    if "ipykernel" in sys.modules:
        return True
    stdin = sys.stdin
    return bool(stdin is not None and stdin.isatty())


def server_url(url: str | None = None) -> str:
    """``url``, else ``BRAINSTEM_URL``, else https://www.brainstem.org.

    Examples
    --------
    >>> server_url("http://127.0.0.1:8000")
    'http://127.0.0.1:8000'
    """
    return url or os.environ.get("BRAINSTEM_URL") or DEFAULT_URL


def connect(
    url: str | None = None,
    token: str | Secret | None = None,
    portal: str = "private",
    *,
    email: str | None = None,
    password: str | Secret | None = None,
    interactive: bool | None = None,
    remember: bool = True,
    open_browser: bool = True,
    workers: int = 8,
    progress: bool = True,
    timeout: tuple[float, float] | tuple[float, float, float] = (10.0, 120.0),
    retry: RetryPolicy | None = None,
    allow_insecure_http: bool = False,
    token_path: str | Path | None = None,
    snapshot: str | Path | None = None,
) -> Client:
    """Connect to BrainSTEM (``url``; default ``BRAINSTEM_URL`` or brainstem.org) and return a Client.

    A personal access token comes from, in order: ``token``; ``BRAINSTEM_TOKEN`` (or
    ``BRAINSTEM_API_TOKEN``); the official tools' token cache (``token_path``, default
    ``~/.config/brainstem/token``); else, when ``interactive`` (default: in a terminal or
    notebook), the browser sign-in, cached when ``remember``. Legacy (out of the docs since
    2026-03-30, warns once): ``email`` + ``password``, used first when given. Public: no token. ``snapshot=path``
    answers from a snapshot folder instead, offline (a ``SnapshotClient``).

    A URL with credentials (``https://name:password@host``) is refused (ConfigurationError):
    pass ``token=`` (or ``email=``, ``password=``). ``timeout``: (connect, read[, whole answer]).

    Examples
    --------
    >>> public = connect(sandbox.url, portal="public", token_path=tmp / "none", progress=False)
    >>> public.portal, "anonymous" in repr(public)
    ('public', True)
    >>> _ = client.snapshot(tmp / "snap", models=["project"])
    >>> connect(snapshot=tmp / "snap")
    <brainstem_pandas.SnapshotClient ... (offline; taken from http://127.0.0.1:..., portal=private, ...)>
    """
    token, password = Secret.of(token), Secret.of(password)  # first: tracebacks show locals
    if snapshot is not None:
        return _offline(snapshot, progress, url, token, email, password)
    check_portal(portal)
    check_url(server_url(url))
    path = Path(token_path) if token_path else None
    sign_in = _SignIn(server_url(url), email, password, interactive, remember, open_browser, path, allow_insecure_http)
    credentials, source = sign_in.credentials(token, portal)
    http: dict[str, Any] = dict(timeout=timeout, retry=retry, allow_insecure_http=allow_insecure_http)
    return Client(sign_in.url, credentials, source=source, portal=portal, workers=workers, progress=progress, **http)


def _offline(snapshot: str | Path, progress: bool, *online: Any) -> SnapshotClient:
    if any(online):
        raise ConfigurationError("Pass either snapshot= (offline) or a server and credentials, not both.")
    return SnapshotClient(snapshot, progress=progress)


@dataclass(frozen=True)
class _SignIn:
    """How ``connect`` may sign in, when no token is at hand."""

    url: str
    email: str | None
    password: Secret | None
    interactive: bool | None
    remember: bool
    open_browser: bool
    token_path: Path | None
    allow_insecure_http: bool

    def credentials(self, token: Secret | None, portal: str) -> tuple[Credentials | None, str]:
        """The first credentials found, in connect's order, and where they came from."""
        if self.email or self.password:
            if not (self.email and self.password):
                raise ConfigurationError("Pass both email and password (or neither).")
            pair = auth.password_login(
                self.url, self.email, self.password, allow_insecure_http=self.allow_insecure_http
            )
            return pair, "email and password"
        found, source = auth.find_token(token, self.token_path)
        if found:
            return auth.StaticToken(found), source
        if portal == "public":
            return None, ""
        if not (_interactive() if self.interactive is None else self.interactive):
            raise AuthenticationError(
                "No BrainSTEM token found. Pass token=..., set BRAINSTEM_TOKEN, sign in once with "
                "bsp.login(), or use portal='public' for public data."
            )
        new = login(
            self.url,
            remember=self.remember,
            open_browser=self.open_browser,
            token_path=self.token_path,
            allow_insecure_http=self.allow_insecure_http,
        )
        return auth.StaticToken(new), "browser sign-in"


def login(
    url: str | None = None,
    *,
    remember: bool = True,
    open_browser: bool = True,
    timeout: float | None = None,
    token_path: str | Path | None = None,
    allow_insecure_http: bool = False,
) -> str:
    """Sign in through the browser (device flow) and return a personal access token.

    With ``remember`` the token is cached (mode 0600) where the official tools
    look for it, so later ``connect()`` calls need nothing. Plain http is refused
    for hosts that are not loopback, unless ``allow_insecure_http``.
    """
    url = server_url(url)
    token = auth.device_login(url, open_browser=open_browser, timeout=timeout, allow_insecure_http=allow_insecure_http)
    if remember:
        auth.save_token(token, Path(token_path) if token_path else None)
    return token.reveal()  # the caller asked for it; revealed on the way out only


def logout(token_path: str | Path | None = None) -> bool:
    """Forget the cached token; True if one was removed.

    Examples
    --------
    >>> logout(tmp / "token")
    False
    """
    return auth.logout(Path(token_path) if token_path else None)


__all__ = ["DEFAULT_URL", "connect", "login", "logout", "server_url"]
