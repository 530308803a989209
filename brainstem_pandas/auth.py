"""Where tokens come from, and the sign-in flows.

BrainSTEM documents personal access tokens (sent as ``Authorization: Bearer <token>``)
and the browser (device) sign-in that obtains one. Token sources in :func:`find_token`:

1. the ``token`` argument;
2. the ``BRAINSTEM_TOKEN`` environment variable, then ``BRAINSTEM_API_TOKEN``
   (the official command-line tool's name);
3. the token cache file the official tools use, ``~/.config/brainstem/token``.

Without any, :func:`device_login` runs the browser device-authorization flow
(print or open the verification link, poll at the server's interval or every 5 s,
time out with a clear message). Tokens are written to the cache file only on
request, with mode 0600 in a folder only the owner can read.

Legacy: :func:`password_login` (email and password for an access + refresh pair at
``/api/auth/token/``, removed from the docs on 2026-03-30) is kept for servers that
still offer it and warns once (:class:`LegacySignInWarning`).

Every sign-in request (password, device start and polls, refreshes) goes through a
:class:`~brainstem_pandas.transport.Transport` made by :func:`sign_in_transport`:
retried through 5xx answers, 429s and broken connections like any read, never
redirected, and refused over plain http to a host that is not loopback.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
import webbrowser
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from brainstem_pandas.errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    ResponseError,
    TransportError,
)
from brainstem_pandas.transport import RetryPolicy, Transport, check_secure
from brainstem_pandas.transport.secret import Secret
from brainstem_pandas.transport.token_cache import load_cached_token, logout, save_token, token_file

ENV_TOKENS = ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN")
# Renew access tokens this long before they expire.
REFRESH_MARGIN = 60.0
AUTH_TIMEOUT = (10.0, 30.0)
# Sign-in and refresh requests are retried like reads (5xx, 429, resets), but give up sooner:
# a person may be waiting (about 4 s of backoff in all).
SIGN_IN_RETRY = RetryPolicy(attempts=5, max_wait=30.0)
# Keys of sign-in answers whose values are secrets.
SECRET_KEYS = frozenset({"access", "refresh", "token", "device_code"})
# Device flow: the docs poll "every 5 s" in a 15-minute window; answers change both within bounds.
POLL_INTERVAL = (5.0, 1.0, 60.0)  # default, least, most
DEVICE_WINDOW = (900.0, 1.0, 3600.0)


class LegacySignInWarning(FutureWarning):
    """Email and password sign-in: removed from the BrainSTEM docs, kept for servers that still offer it."""


_legacy_warned = threading.Event()


def _warn_legacy_once() -> None:
    if not _legacy_warned.is_set():
        _legacy_warned.set()
        warnings.warn(
            "Email and password sign-in (/api/auth/token/) is a legacy method: BrainSTEM removed it from its "
            "documentation on 2026-03-30. Use a personal access token (connect(token=...), BRAINSTEM_TOKEN) "
            "or the browser sign-in (bsp.login()).",
            LegacySignInWarning,
            stacklevel=3,
        )


def find_token(token: str | Secret | None = None, path: Path | None = None) -> tuple[Secret | None, str]:
    """The first token found (a :class:`Secret`), and where it came from (for messages, never the token).

    Examples
    --------
    >>> find_token("abc")
    (Secret('***'), 'argument')
    """
    token = Secret.of(token)
    if token:
        return _sendable(Secret(token.reveal().strip()), "argument")
    for name in ENV_TOKENS:
        if os.environ.get(name, "").strip():
            return _sendable(Secret(os.environ[name].strip()), f"environment variable {name}")
    cached = load_cached_token(path)
    if cached:
        return _sendable(cached, f"token file {path or token_file()}")
    return None, ""


def _sendable(token: Secret, source: str) -> tuple[Secret, str]:
    """``token`` and its source, once sure it fits in a header (else the HTTP library fails, quoting it)."""
    bad = next((c for c in token.reveal() if not "!" <= c <= "~"), None)
    if bad is None:
        return token, source
    what = (
        "a line break"
        if bad in "\r\n"
        else "a space"
        if bad.isspace()
        else "a control character"
        if ord(bad) < 128
        else "a character that is not plain ASCII"
    )
    raise AuthenticationError(
        f"The token from {source} holds {what}, so it cannot be sent. Copy the token again "
        "(one word: letters, digits and punctuation only) and pass it again."
    )


class StaticToken:
    """A personal access token: sent as is, never renewed."""

    def __init__(self, token: str | Secret) -> None:
        self._token = Secret(token)

    def header(self) -> Secret | None:
        return Secret("Bearer " + self._token.reveal())

    def renew(self, failed_header: Secret | None) -> bool:
        return False

    def __repr__(self) -> str:
        return "StaticToken(***)"


@dataclass
class TokenPair:
    """An access token with its refresh token, renewed before expiry and once on a 401.

    Refresh tokens rotate: every refresh answer carries a new one and the old one
    stops working, so the pair is replaced as a whole, under a lock, and only
    once when several threads notice the expiry together.
    """

    access: Secret
    refresh: Secret
    expires_at: float
    refresh_url: str
    lifetime: float = 0.0
    transport: Transport | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __setattr__(self, name: str, value: Any) -> None:
        # Strings are accepted (here and on later assignment) and held as Secrets.
        if name in ("access", "refresh") and not isinstance(value, Secret):
            value = Secret(value)
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"TokenPair(access=***, refresh=***, expires_in={self.expires_at - time.time():.0f}s)"

    def header(self) -> Secret | None:
        # Renew a minute early, or halfway for tokens that live less than two minutes.
        margin = min(REFRESH_MARGIN, self.lifetime / 2) if self.lifetime > 0 else REFRESH_MARGIN
        if time.time() > self.expires_at - margin:
            self._refresh(self.access)
        return Secret("Bearer " + self.access.reveal())

    def renew(self, failed_header: Secret | None) -> bool:
        return self._refresh(Secret(failed_header.reveal().split(" ", 1)[-1]) if failed_header else self.access)

    def _refresh(self, stale_access: Secret) -> bool:
        with self._lock:
            if stale_access != self.access:
                return True  # another thread already renewed
            try:
                data = _post_json(self.refresh_url, {"refresh": self.refresh}, self.transport)
            except AuthenticationError as exc:
                if exc.status is None or exc.status == 429 or exc.status >= 500:
                    raise  # the server was not reached or kept failing: signing in again would not help
                # The server refused the refresh token: only a new sign-in helps, so say so.
                raise AuthenticationError(
                    f"{exc} The sign-in has ended (the refresh token expired or was used elsewhere): sign in again.",
                    status=exc.status,
                ) from exc
            if not _has_pair(data):
                raise AuthenticationError(
                    f"{self.refresh_url} answered without a new access/refresh pair; sign in again, and tell "
                    "the server's admins if it keeps happening."
                )
            self.access, self.refresh = data["access"], data["refresh"]
            self.lifetime = _lifetime(data)
            self.expires_at = time.time() + self.lifetime
            return True


def _lifetime(data: dict[str, Any]) -> float:
    """The ``expires_in`` of a sign-in answer (an hour when absent or not a positive number)."""
    try:
        seconds = float(data.get("expires_in") or 3600)
    except (TypeError, ValueError):
        return 3600.0
    return seconds if 0 < seconds < float("inf") else 3600.0


def sign_in_transport(url: str) -> Transport:
    """A :class:`~brainstem_pandas.transport.Transport` for the sign-in requests of ``url``'s server.

    It carries no credentials, never follows a redirect (a 307/308 would post the password,
    refresh token or device code on to wherever the ``Location`` points) and retries with
    :data:`SIGN_IN_RETRY`.

    Examples
    --------
    >>> sign_in_transport("http://127.0.0.1:8000/api/auth/token/")
    <Transport http://127.0.0.1:8000/>
    """
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}/" if parts.scheme and parts.netloc else url
    return Transport(root, None, timeout=AUTH_TIMEOUT, retry=SIGN_IN_RETRY, pool_size=1, follow_redirects=False)


def _has_pair(data: dict[str, Any]) -> bool:
    """Whether a token endpoint's answer holds both an access and a refresh token (read as Secrets)."""
    return isinstance(data.get("access"), Secret) and isinstance(data.get("refresh"), Secret)


def _post_json(url: str, payload: dict[str, Any], transport: Transport | None = None) -> dict[str, Any]:
    """POST ``payload`` to a sign-in endpoint through ``transport`` (retried; never redirected); the JSON answer."""
    try:
        # Sign-in POSTs are safe to send again: a retry at worst opens a second device session.
        data = (transport or sign_in_transport(url)).request("POST", url, json_body=payload, idempotent=True)
    except TransportError as exc:
        raise AuthenticationError(f"{exc} Is the server URL right?") from exc
    except ResponseError as exc:
        if exc.location is None:
            raise ResponseError("POST", url, "the server did not answer JSON; is this a BrainSTEM server?", exc.status)
        raise AuthenticationError(
            f"POST {url} was redirected to {exc.location}; sign-in details are sent only to the "
            "address given. If the server has moved, connect to its new address.",
            status=exc.status,
        ) from None
    except NotFoundError:  # servers answer unknown URLs with HTML pages: say what it means
        raise AuthenticationError(f"POST {url}: this server does not offer this sign-in method.", status=404) from None
    except APIError as exc:
        said = exc.detail.rstrip(". ") or "(no detail)"
        advice = " Try again later; if it persists, tell the server's admins." if (exc.status or 0) >= 500 else ""
        raise AuthenticationError(f"POST {url} answered {exc.status}: {said}.{advice}", status=exc.status) from None
    if not isinstance(data, dict):
        return {}
    # Held as Secrets from the moment they arrive: no later frame holds them in the clear.
    return {k: Secret(v) if k in SECRET_KEYS and isinstance(v, str) else v for k, v in data.items()}


def password_login(
    base_url: str,
    email: str,
    password: str | Secret,
    *,
    allow_insecure_http: bool = False,
    transport: Transport | None = None,
) -> TokenPair:
    """Legacy: trade an email and password for an access + refresh pair (``/api/auth/token/``).

    Removed from the docs on 2026-03-30 (use a token or :func:`device_login`); warns once.

    Plain http to a host that is not loopback is refused before anything is sent,
    unless ``allow_insecure_http``. ``transport`` sends the sign-in and, later, the
    refreshes (default: :func:`sign_in_transport`).

    Examples
    --------
    >>> pair = password_login(sandbox.url, sandbox.email, sandbox.password)
    >>> pair
    TokenPair(access=***, refresh=***, expires_in=...s)
    """
    password = Secret(password)  # from here on no frame holds it in the clear
    root = base_url.rstrip("/")
    check_secure(root, allow_insecure_http, "a password")
    _warn_legacy_once()
    transport = transport or sign_in_transport(root)
    try:
        data = _post_json(f"{root}/api/auth/token/", {"email": email, "password": password}, transport)
    except AuthenticationError as exc:
        if exc.status not in (400, 401):
            raise
        raise AuthenticationError(
            f"{exc} Check the email and password, or connect with a personal access token (bsp.connect(token=...)).",
            status=exc.status,
        ) from exc
    if not _has_pair(data):
        raise AuthenticationError(
            f"{root}/api/auth/token/ gave no access/refresh pair: this server may not offer password "
            "sign-in; connect with a personal access token (bsp.connect(token=...)) instead."
        )
    lifetime = _lifetime(data)
    return TokenPair(
        access=data["access"],
        refresh=data["refresh"],
        expires_at=time.time() + lifetime,
        refresh_url=f"{root}/api/auth/token/refresh/",
        lifetime=lifetime,
        transport=transport,
    )


@dataclass
class DeviceLogin:
    """A started device authorization: what to show the user, and how to finish it (``user_code`` may be "")."""

    base_url: str
    device_code: Secret
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    interval: float
    expires_in: float
    transport: Transport | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"DeviceLogin(user_code={self.user_code!r}, url={self.verification_uri_complete!r})"

    @property
    def instructions(self) -> str:
        """What to tell the person signing in: the link, and the code where there is one."""
        text = f"To sign in, open {self.verification_uri_complete}"
        if self.user_code:
            text += f"\nor go to {self.verification_uri} and enter the code {self.user_code}."
        return text

    def poll_once(self) -> Secret | None:
        """Ask once: the token (a :class:`Secret`) when approved, None while pending; raises on refusal."""
        data = _post_json(f"{self.base_url}/api/auth/device/token/", {"device_code": self.device_code}, self.transport)
        if data.get("status") == "success" and isinstance(data.get("token"), Secret) and data["token"]:
            return data["token"]
        if data.get("status") == "authorization_pending":
            return None
        if data.get("error") == "slow_down":  # RFC 8628: poll less often, keep waiting
            self.interval = min(self.interval + 5, POLL_INTERVAL[2])
            return None
        if data.get("error") == "authorization_pending":
            return None
        reasons = {
            "access_denied": "the sign-in was denied in the browser",
            "expired_token": "the sign-in request expired before it was approved; start again",
            "already_used": "this sign-in request was already used; start again",
        }
        error = str(data.get("error") or data)
        raise AuthenticationError(f"Browser sign-in failed: {reasons.get(error, error)}.")

    def wait(
        self,
        timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Secret:
        """Poll at the interval until approved, refused or ``timeout`` seconds pass.

        The last poll happens at the deadline, so an approval in the final interval
        still counts; ``slow_down`` lengthens the interval. The window counts the waits
        asked of ``sleep`` and the clock: at most ``window / interval + 1`` polls.
        """
        limit = min(timeout or self.expires_in, self.expires_in)
        start = time.monotonic()
        waited = 0.0
        while True:
            if cancelled():
                raise AuthenticationError("Browser sign-in was cancelled.")
            token = self.poll_once()
            if token:
                return token
            left = limit - max(time.monotonic() - start, waited)
            if left <= 0:
                break
            pause = min(max(self.interval, 0.2), left)
            sleep(pause)
            waited += pause
        what = f"the code {self.user_code} at {self.verification_uri}" if self.user_code else self.verification_uri
        raise AuthenticationError(
            f"Browser sign-in timed out after {limit:.0f} s: nobody approved {what}. Run the sign-in again."
        )


def start_device_login(
    base_url: str,
    client_name: str = "brainstem-pandas",
    *,
    allow_insecure_http: bool = False,
    transport: Transport | None = None,
) -> DeviceLogin:
    """Open a device authorization session (``POST /api/auth/device/``); plain http only to loopback or if allowed.

    ``transport`` sends this request and the polls (default: :func:`sign_in_transport`).

    Examples
    --------
    >>> login = start_device_login(sandbox.url)
    >>> login.poll_once() is None  # nobody has approved it in a browser yet
    True
    """
    root = base_url.rstrip("/")
    check_secure(root, allow_insecure_http, "a browser sign-in (its device code and token)")
    transport = transport or sign_in_transport(root)
    data = _post_json(f"{root}/api/auth/device/", {"client_name": client_name}, transport)
    return _device_login(root, data, transport)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _device_login(root: str, data: dict[str, Any], transport: Transport) -> DeviceLogin:
    """A :class:`DeviceLogin` from a start answer: ``device_code`` and an http(s) link needed.

    ``user_code`` and ``interval`` may be missing (the docs show only
    ``verification_uri_complete``): then the link alone is shown, polls come every 5 s.
    """
    code = data.get("device_code")
    complete = _text(data, "verification_uri_complete") or _text(data, "verification_uri")
    links = [u for u in (complete, _text(data, "verification_uri")) if u]
    web = all(urlsplit(u).scheme in ("http", "https") for u in links)
    if not (isinstance(code, Secret) and code and links and web):
        raise AuthenticationError(
            f"{root}/api/auth/device/ answered without a device_code and an http(s) verification link; this server "
            "does not offer browser sign-in. Connect with a personal access token (bsp.connect(token=...)) instead."
        )
    return DeviceLogin(
        base_url=root,
        device_code=code,
        user_code=_text(data, "user_code"),
        verification_uri=_text(data, "verification_uri") or complete,
        verification_uri_complete=complete,
        interval=_seconds(data.get("interval"), *POLL_INTERVAL),
        expires_in=_seconds(data.get("expires_in"), *DEVICE_WINDOW),
        transport=transport,
    )


def _seconds(value: Any, default: float, least: float, most: float = float("inf")) -> float:
    """A number of seconds from a server answer: ``default`` when absent or not a number, within [least, most]."""
    try:
        seconds = float(value) if value is not None and not isinstance(value, bool) else default
    except (TypeError, ValueError):
        return default
    return min(max(seconds, least), most) if seconds == seconds and seconds != float("inf") else default  # NaN, inf


def device_login(
    base_url: str,
    *,
    open_browser: bool = True,
    timeout: float | None = None,
    show: Callable[[str], None] | None = None,
    allow_insecure_http: bool = False,
) -> Secret:
    """Run the whole browser sign-in and return a personal access token (a :class:`Secret`).

    Parameters
    ----------
    open_browser : bool
        Open the verification page in a browser (otherwise only print it).
    timeout : float, optional
        Give up after this many seconds (default: the server's window, 15 min).
    show : callable, optional
        Where to write the instructions (default: ``print``, looked up at call time).
    allow_insecure_http : bool
        Permit plain http to a host that is not loopback.
    """
    show = show or print
    login = start_device_login(base_url, allow_insecure_http=allow_insecure_http)
    show(login.instructions)
    if open_browser:
        try:
            webbrowser.open(login.verification_uri_complete)
        except webbrowser.Error:
            pass  # the printed link is enough
    token = login.wait(timeout)
    show("Signed in.")
    return token


__all__ = [
    "DeviceLogin",
    "LegacySignInWarning",
    "StaticToken",
    "TokenPair",
    "device_login",
    "find_token",
    "load_cached_token",
    "logout",
    "password_login",
    "save_token",
    "sign_in_transport",
    "start_device_login",
    "token_file",
]
