"""The sign-in form: server URL, a method (token, browser, legacy email and password), remember me.

Secrets are handled so that no widget keeps them longer than needed: the token and
password fields are masked and emptied as soon as the sign-in starts; the token is put
back only after a failure that was not the token's (an address that is not a server,
a server that cannot be reached, a cancelled sign-in), so that it need not be pasted
again. Status and error texts never quote them. Every sign-in can be cancelled: the
form is free at once, and whatever the abandoned attempt brings is dropped.
"""

from __future__ import annotations

import html
import re
import threading
from functools import partial
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import ipywidgets as widgets
import requests

from brainstem_pandas import auth, catalog
from brainstem_pandas.client import Client
from brainstem_pandas.connection import server_url
from brainstem_pandas.errors import (
    AuthenticationError,
    ConfigurationError,
    ResponseError,
    TransportError,
    UnauthorizedError,
)
from brainstem_pandas.transport import Secret, safe_url
from brainstem_pandas.transport import check_url as check_server_url
from brainstem_pandas.widgets._common import (
    Background,
    clear,
    describe,
    error_area,
    guarded,
    hidden,
    show_error,
    wide,
)

# Personal access tokens and the browser sign-in are what brainstem.org offers (docs/api.md); the
# email and password exchange is legacy, kept for servers that still offer it (such as the sandbox).
METHODS = (
    ("Personal access token", "token"),
    ("Browser sign-in", "browser"),
    ("Email and password (legacy)", "password"),
)
LABELS = {method: label for label, method in METHODS}
OK_STYLE = "color:#1b5e20"
HINT_STYLE = "color:#555;font-size:90%"


def check_url(text: str) -> str:
    """The server root typed in ``text``, or a ConfigurationError in plain words.

    Examples
    --------
    >>> check_url(" https://www.brainstem.org/ ")
    'https://www.brainstem.org'
    """
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{safe_url(text.strip())!r} is not a server address: it should start with https:// "
            "(or http:// for a sandbox on this computer), e.g. https://www.brainstem.org."
        )
    # A name and password in the address are refused (use the Password method), like connect() does.
    check_server_url(url, "Server address")
    return url


def _unreachable(exc: BaseException) -> bool:
    # The sign-in helpers wrap the transport's errors in AuthenticationError; the client raises them as they are.
    return isinstance(exc, TransportError) or isinstance(exc.__cause__, (TransportError, requests.RequestException))


def _refused_credentials(exc: BaseException) -> bool:
    if not isinstance(exc, AuthenticationError) or _unreachable(exc):
        return False
    return getattr(exc, "status", None) in (400, 401) or re.search(r"answered 40[01]\b", str(exc)) is not None


def method_hint(method: str, url: str) -> str:
    """What a sign-in method needs and which servers offer it, as HTML (the token page linked).

    Examples
    --------
    >>> "private/users/tokens/" in method_hint("token", "https://www.brainstem.org")
    True
    """
    page = html.escape(catalog.token_page(url))
    hints = {
        "token": f'No token yet? Create one on the server\'s token page, <a href="{page}" target="_blank" '
        f'rel="noopener">{page}</a> (it is shown once: copy it), or use the browser sign-in.',
        "browser": "Opens the server's approval page in your browser, where you sign in as usual (two-factor "
        "sign-in stays in the browser); the personal access token it gives is used here. brainstem.org offers this.",
        "password": "Legacy: brainstem.org enforces two-factor sign-in and takes no passwords from scripts; only "
        "servers that still offer it (such as the local sandbox) do. Prefer a personal access token or the "
        "browser sign-in.",
    }
    return f'<span style="{HINT_STYLE}">{hints[method]}</span>'


def _not_the_tokens_fault(exc: BaseException) -> bool:
    # The token was never judged: keep it in the field, so that it need not be pasted again.
    return isinstance(exc, ConfigurationError) or _unreachable(exc)


def explain(exc: BaseException, url: str, method: str) -> str:
    """Plain words for a failed sign-in (the typed message is shown beneath them).

    Examples
    --------
    >>> explain(TransportError("GET", "http://x/", "refused"), "http://x", "token")
    'Cannot reach a server at http://x. Check the address and your network connection, then try again.'
    """
    if isinstance(exc, UnauthorizedError):
        return (
            "The server refused this token: it is mistyped, expired or revoked. Create a new personal "
            "access token in your BrainSTEM account, or sign in another way."
        )
    if _unreachable(exc):
        return f"Cannot reach a server at {url}. Check the address and your network connection, then try again."
    if method == "password" and _refused_credentials(exc):
        return "Wrong email or password."
    if isinstance(exc, AuthenticationError) and getattr(exc, "status", None) == 404:
        others = " or ".join(LABELS[m].lower() for m in ("token", "browser") if m != method)
        return f"{url} does not offer {LABELS[method].lower()}; sign in with a {others} instead."
    if isinstance(exc, ResponseError):
        return f"{url} does not answer like a BrainSTEM server. Check the address."
    return describe(exc)


class LoginForm(widgets.VBox):
    """A sign-in form for a notebook; ``form.client`` is the connected :class:`~brainstem_pandas.Client`.

    Parameters
    ----------
    url : str, optional
        Server root shown in the form; default ``BRAINSTEM_URL`` or https://www.brainstem.org.
    method : {"token", "browser", "password"}
        The sign-in method selected at first.
    token_path : str or Path, optional
        Where "remember me" saves the token (default: the official tools' cache file).
    **client_options
        Passed to :class:`~brainstem_pandas.Client` (``portal``, ``workers``, ``retry``, ...).

    Examples
    --------
    >>> from brainstem_pandas.widgets import LoginForm
    >>> form = LoginForm(sandbox.url)                       # in a notebook, show ``form``
    >>> form.on_login(lambda client: print(client.portal))
    >>> form.token.value = sandbox.token
    >>> form.sign_in(wait=True, timeout=60)
    private
    >>> form
    <brainstem_pandas LoginForm http://127.0.0.1:...: signed in (http://127.0.0.1:...)>
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        method: str = "token",
        token_path: str | Path | None = None,
        **client_options: Any,
    ) -> None:
        self.client: Client | None = None
        self.device: auth.DeviceLogin | None = None
        self.token_path = Path(token_path) if token_path else None
        self._options = client_options
        self._callbacks: list[Callable[[Client], Any]] = []
        self.error = error_area()
        self._job = Background(self.error)
        self.url = widgets.Text(value=server_url(url), description="Server", layout=wide())
        self.method = widgets.ToggleButtons(options=METHODS, value=method, description="Sign in with")
        self.token = widgets.Password(description="Token", placeholder="personal access token", layout=wide())
        self.email = widgets.Text(description="Email", placeholder="you@lab.org", layout=wide())
        self.password = widgets.Password(description="Password", layout=wide())
        self.remember = widgets.Checkbox(
            value=False,
            indent=False,
            description="Remember me (save the token on this computer, only you can read it)",
            layout=wide(),
        )
        self.device_info, self.method_info = widgets.HTML(), widgets.HTML()
        self.sign_in_button = widgets.Button(description="Sign in", button_style="primary", icon="sign-in")
        self.cancel_button = widgets.Button(description="Cancel", icon="times", disabled=True)
        self.status = widgets.HTML(value="Not signed in.")
        super().__init__(
            children=[
                *(self.url, self.method, self.method_info, self.token, self.email, self.password),
                *(self.remember, self.device_info),
                widgets.HBox([self.sign_in_button, self.cancel_button]),
                self.status,
                self.error,
            ],
            layout=widgets.Layout(width="100%"),
        )
        for control in (self.method, self.url):  # the hint names the method and links the server's token page
            control.observe(guarded(self.error, self._show_method), names="value")
        self.sign_in_button.on_click(guarded(self.error, self._on_sign_in))
        self.cancel_button.on_click(guarded(self.error, self._on_cancel))
        self._show_method()

    def __repr__(self) -> str:
        state = f"signed in ({self.client.url})" if self.client else "not signed in"
        return f"<brainstem_pandas LoginForm {self.url.value}: {state}>"

    # -- public API ---------------------------------------------------------------------
    def on_login(self, callback: Callable[[Client], Any], remove: bool = False) -> None:
        """Call ``callback(client)`` after each successful sign-in (``remove=True`` forgets it).

        An exception in the callback is shown in the form's error area.

        Examples
        --------
        >>> form, clients = LoginForm(sandbox.url), []
        >>> form.on_login(clients.append)
        >>> form.token.value = sandbox.token
        >>> form.sign_in(wait=True, timeout=60)
        >>> clients == [form.client]
        True
        """
        if remove:
            self._callbacks = [c for c in self._callbacks if c is not callback]
        elif callback not in self._callbacks:
            self._callbacks.append(callback)

    def sign_in(self, wait: bool = False, timeout: float | None = None) -> None:
        """Start signing in with the form's current values, as the Sign in button does.

        With ``wait`` return only when the sign-in succeeded or failed.
        """
        self._start_sign_in()
        if wait:
            self.wait(timeout)

    def wait(self, timeout: float | None = None) -> None:
        """Block until a running sign-in has finished (for code without a kernel, e.g. tests)."""
        self._job.wait(timeout)

    def cancel(self) -> None:
        """Abandon a running sign-in (any method): the form is free at once, its outcome is dropped."""
        if not self._job.running:
            return
        self._job.cancel()
        self._job = Background(self.error)  # the abandoned job keeps its own, set, cancel event
        self._busy(False)
        self.device_info.value = ""
        self.status.value = (
            "Sign-in cancelled; nothing was saved."
            if self.client is None
            else f"Sign-in cancelled; still signed in to {html.escape(self.client.url)}."
        )

    # -- callbacks ----------------------------------------------------------------------
    def _show_method(self, _change: Any = None) -> None:
        method = self.method.value
        hidden(self.token, method != "token")
        hidden(self.email, method != "password")
        hidden(self.password, method != "password")
        # Password sign-ins give access tokens that expire within the hour: nothing worth saving.
        hidden(self.remember, method == "password")
        hidden(self.device_info, method != "browser")
        try:
            url = check_url(self.url.value)
        except ConfigurationError:
            url = server_url(None)
        self.method_info.value = method_hint(method, url)

    def _on_sign_in(self, _button: Any) -> None:
        self._start_sign_in()

    def _on_cancel(self, _button: Any) -> None:
        self.cancel()

    def _start_sign_in(self) -> None:
        clear(self.error)
        if self._job.running:
            self.status.value = "Still signing in; wait, or press Cancel."
            return
        # Read and empty the secret fields first, so that no failure below leaves them filled.
        # Held as Secrets: the job closures below keep them, and tracebacks show closures' values.
        token, password = Secret(self.token.value.strip()), Secret(self.password.value)
        self.token.value = self.password.value = ""
        typed = self.url.value
        self.url.value = safe_url(typed)  # a password typed into the address does not stay in the form
        try:
            url = check_url(typed)
        except ConfigurationError:
            if safe_url(typed) == typed:  # a mistyped address: keep the token; one with a password in it: not
                self._restore(token)
            raise
        job = self._job_for(self.method.value, url, token, password, self._job.cancelled)
        if job is None:
            return
        self._busy(True, "Signing in…")
        self._job.start(partial(self._run, self._job.cancelled, url, self.method.value, job, token), name="sign-in")

    def _job_for(
        self, method: str, url: str, token: Secret, password: Secret, cancelled: threading.Event
    ) -> Callable[[], tuple[Client, str]] | None:
        """The background job of ``method``; None when it failed to start (the form says why)."""
        if method == "token":
            if not token:
                raise ConfigurationError("Paste a personal access token into the Token field first.")
            return self._token_job(url, token, cancelled)
        if method == "password":
            email = self.email.value.strip()
            if not email or not password:
                raise ConfigurationError("Type your email and your password first.")
            return self._password_job(url, email, password, cancelled)
        return self._browser_job(url, cancelled)

    def _restore(self, token: Secret) -> None:
        # Only for failures that were not the token's: the user need not paste it again.
        if token and self.method.value == "token":
            self.token.value = token.reveal()

    # Jobs are closures, not partials: a partial's repr would show the secret it holds.
    def _token_job(self, url: str, token: Secret, cancelled: threading.Event) -> Callable[[], tuple[Client, str]]:
        def job() -> tuple[Client, str]:
            return self._token_client(url, token, "token", cancelled)

        return job

    def _password_job(
        self, url: str, email: str, password: Secret, cancelled: threading.Event
    ) -> Callable[[], tuple[Client, str]]:
        def job() -> tuple[Client, str]:
            return self._password_client(url, email, password, cancelled)

        return job

    def _browser_job(self, url: str, cancelled: threading.Event) -> Callable[[], tuple[Client, str]] | None:
        """Open the device authorization and show its link; the returned job waits for the approval."""
        try:
            self.device = auth.start_device_login(url, allow_insecure_http=self._insecure_ok)
        except Exception as exc:
            self._fail(exc, url, "browser")
            return None
        link, code = self.device.verification_uri_complete, self.device.user_code
        self.device_info.value = (
            f'Open <a href="{html.escape(link)}" target="_blank" rel="noopener">{html.escape(link)}</a> and '
            f"check that it shows the code <b><code>{html.escape(code)}</code></b>, then approve. "
            "Waiting for your approval…"
        )
        device = self.device

        def nap(seconds: float) -> None:
            # Sleeping on the cancel event lets Cancel stop the wait at once, not after an interval.
            cancelled.wait(seconds)

        def job() -> tuple[Client, str]:
            token = device.wait(cancelled=cancelled.is_set, sleep=nap)
            self.device_info.value = "Approved in the browser."
            return self._token_client(url, token, "browser", cancelled)

        return job

    # -- work in the background -----------------------------------------------------------
    def _token_client(self, url: str, token: Secret, method: str, cancelled: threading.Event) -> tuple[Client, str]:
        source = "browser sign-in" if method == "browser" else "access token (sign-in form)"
        client = Client(url, auth.StaticToken(token), source=source, **self._options)
        self._check(client, cancelled)
        how = "through the browser" if method == "browser" else "with a personal access token (accepted)"
        if self.remember.value and not cancelled.is_set():
            path = auth.save_token(token, self.token_path)
            how += f". The token is saved in {path}, readable only by you"
        return client, how

    def _password_client(
        self, url: str, email: str, password: Secret, cancelled: threading.Event
    ) -> tuple[Client, str]:
        pair = auth.password_login(url, email, password, allow_insecure_http=self._insecure_ok)
        client = Client(url, pair, source="email and password", **self._options)
        self._check(client, cancelled)
        return client, f"as {email} (legacy email and password)"

    @property
    def _insecure_ok(self) -> bool:
        # The sign-in itself obeys the same opt-in as the client it makes.
        return bool(self._options.get("allow_insecure_http", False))

    def _check(self, client: Client, cancelled: threading.Event) -> None:
        # Servers have no "who am I" endpoint; a one-record list proves the credentials work.
        first = client.readable_models(client.portal)[0]
        client.transport.get(client.endpoint(first), params=[("limit", "1")], cancel=cancelled)

    def _run(
        self,
        cancelled: threading.Event,
        url: str,
        method: str,
        job: Callable[[], tuple[Client, str]],
        token: Secret,
    ) -> None:
        try:
            client, how = job()
        except Exception as exc:
            if not cancelled.is_set():  # an abandoned sign-in says nothing: the form has moved on
                self._busy(False)
                self._fail(exc, url, method, token)
            return
        if cancelled.is_set():
            client.close()
            return
        self._busy(False)
        self.client = client
        self.status.value = (
            f'<span style="{OK_STYLE}">✔ Signed in to <b>{html.escape(url)}</b> {html.escape(how)}.</span>'
        )
        for callback in list(self._callbacks):
            guarded(self.error, callback)(client)

    def _fail(self, exc: BaseException, url: str, method: str, token: Secret | None = None) -> None:
        self.status.value = (
            "Not signed in."
            if self.client is None
            else f"This sign-in failed; still signed in to {html.escape(self.client.url)}."
        )
        if method == "browser":
            self.device_info.value = ""
        if token is not None and _not_the_tokens_fault(exc):
            self._restore(token)
        show_error(self.error, explain(exc, url, method), describe(exc))

    def _busy(self, busy: bool, text: str = "") -> None:
        self.sign_in_button.disabled = busy
        self.cancel_button.disabled = not busy
        if text:
            self.status.value = html.escape(text)
