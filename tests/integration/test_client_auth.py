"""Signing in with ``bsp.connect`` / ``bsp.login`` against a real sandbox, as a user notices it.

- where the token comes from (argument, ``BRAINSTEM_TOKEN``, ``BRAINSTEM_API_TOKEN``,
  the cache file) and that no repr or message shows it;
- the public portal without a token, and the message when there is none;
- the token cache file: modes, overwrite, logout;
- the browser sign-in (device flow): approve, deny, time out, remember;
- email + password: short-lived access tokens renewed before expiry and after a 401,
  with refresh-token rotation;
- rejected personal access tokens.

Every test runs with ``HOME`` in a temporary folder and without the token
variables, so the real ``~/.config/brainstem/token`` is never read or written.
The "user at the browser" is a thread that waits for the printed link and
submits the approval page's form, as a person would.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import sqlite3
import stat
import sys
import threading
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

import brainstem_pandas as bsp
from brainstem_pandas import auth
from brainstem_pandas.errors import AuthenticationError, ConfigurationError, UnauthorizedError
from brainstem_pandas.sandbox import Sandbox
from brainstem_pandas.transport import Secret

ENV_NAMES = ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN")
REFRESH = "/api/auth/token/refresh/"
TIMEOUT = 30


# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick() -> Iterator[Sandbox]:
    """One server with short lifetimes for this module's flow tests.

    Access tokens live 2 s (less than the client's 60 s renewal margin); device
    sign-ins ask for a poll every second, and expire after 30 s instead of 15 min
    should an approval go wrong. Each test uses its own tokens and sign-ins.
    """
    with Sandbox(sessions=300, access_ttl=2, device_interval=1, device_ttl=30) as sb:
        yield sb


@pytest.fixture
def device_sb(quick: Sandbox) -> Sandbox:
    return quick


@pytest.fixture
def short_sb(quick: Sandbox) -> Sandbox:
    return quick


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME in a temporary folder, no token variables, no default URL."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in (*ENV_NAMES, "BRAINSTEM_URL"):
        monkeypatch.delenv(name, raising=False)
    assert auth.token_file() == home / ".config" / "brainstem" / "token"
    return home


@pytest.fixture(autouse=True)
def no_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests pass open_browser=False: opening one anyway is a failure."""
    monkeypatch.setattr(auth.webbrowser, "open", lambda *a, **k: pytest.fail("a browser was opened"))


def connect(sb: Sandbox, **kwargs: Any) -> bsp.Client:
    kwargs.setdefault("progress", False)
    return bsp.connect(sb.url, **kwargs)


def assert_reads_sessions(client: bsp.Client) -> int:
    """The client reads the private session list; return how many sessions it saw."""
    frame = client.read("session")
    assert len(frame) > 0 and frame.index.name == "id"
    return len(frame)


def bogus_token() -> str:
    """A well-formed personal access token the server never issued."""
    return "bst_pat_" + secrets.token_urlsafe(32)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_secret_file(path: Path, token: str) -> None:
    assert path.read_text() == token
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def revoke(sb: Sandbox, token: str) -> None:
    """Revoke a token in the server's database (the sandbox has no HTTP endpoint for it)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with sqlite3.connect(sb.config.db_path, timeout=30) as con:
        changed = con.execute("UPDATE api_token SET revoked = 1 WHERE digest = ?", (digest,)).rowcount
    assert changed == 1


def new_pat(sb: Sandbox) -> str:
    """A fresh personal access token of the demo user (``POST /api/token/``)."""
    r = requests.post(f"{sb.url}/api/token/", json={"username": sb.email, "password": sb.password}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()["access"]


class Screen:
    """Stands in for the terminal: records what the sign-in prints, signals the link.

    Used with ``contextlib.redirect_stdout`` inside the test body (``print`` looks
    ``sys.stdout`` up at call time; pytest's capture re-installs its own between
    setup and call, so a fixture cannot do it), or passed as ``show=`` to
    :func:`auth.device_login`.
    """

    encoding = "utf-8"

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.link_shown = threading.Event()

    def write(self, text: str) -> int:
        self.parts.append(text)
        if "http" in text:
            self.link_shown.set()
        return len(text)

    def __call__(self, text: str) -> None:
        self.write(text + "\n")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    @property
    def text(self) -> str:
        return "".join(self.parts)


class UserAtBrowser(threading.Thread):
    """Waits for the printed link, opens it and submits the approval form.

    ``pages`` keeps the approval page as shown and the answer to the form.
    """

    def __init__(self, sb: Sandbox, screen: Screen, decision: str = "approve") -> None:
        super().__init__(daemon=True)
        self.sb, self.screen, self.decision = sb, screen, decision
        self.pages: dict[str, requests.Response] = {}

    def run(self) -> None:
        if not self.screen.link_shown.wait(TIMEOUT):
            return
        match = re.search(r"open (http\S+)", self.screen.text)
        if not match:
            return
        page = requests.get(match.group(1), timeout=TIMEOUT)
        self.pages["page"] = page
        session = re.search(r'name="session" value="([^"]+)"', page.text)
        if session:
            form = {
                "session": session.group(1),
                "email": self.sb.email,
                "password": self.sb.password,
                "decision": self.decision,
            }
            self.pages["answer"] = requests.post(match.group(1), data=form, timeout=TIMEOUT)

    def finish(self) -> dict[str, requests.Response]:
        self.join(TIMEOUT)
        return self.pages


def plain(values: dict) -> dict:
    """``values`` with its :class:`~brainstem_pandas.transport.Secret` values revealed (for asserts)."""
    return {k: v.reveal() if isinstance(v, Secret) else v for k, v in values.items()}


class AuthPosts:
    """Wraps ``auth._post_json`` to record every sign-in POST: (url, payload, answer)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, dict, dict]] = []
        real = auth._post_json

        def recording(url: str, payload: dict, *args: Any, **kwargs: Any) -> dict:
            answer = real(url, payload, *args, **kwargs)
            self.calls.append((url, plain(payload), plain(answer)))
            return answer

        monkeypatch.setattr(auth, "_post_json", recording)

    def to(self, path: str) -> list[tuple[str, dict, dict]]:
        return [call for call in self.calls if call[0].endswith(path)]


def refresh_answer(sb: Sandbox, refresh: str) -> requests.Response:
    return requests.post(sb.url + REFRESH, json={"refresh": refresh}, timeout=TIMEOUT)


# -- where the token comes from --------------------------------------------------------------

SOURCES = ("argument", "BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN", "cache file")


def provide(where: str, token: str, monkeypatch: pytest.MonkeyPatch, kwargs: dict) -> str:
    """Put ``token`` in one source; return how the client should name that source."""
    if where == "argument":
        kwargs["token"] = token
        return "argument"
    if where in ENV_NAMES:
        monkeypatch.setenv(where, token)
        return f"environment variable {where}"
    path = auth.save_token(token)  # the official tools' place, under the fake HOME
    return f"token file {path}"


@pytest.mark.parametrize("where", SOURCES)
def test_each_token_source_alone_reads_sessions(sandbox, monkeypatch, where):
    kwargs: dict = {}
    source = provide(where, sandbox.token, monkeypatch, kwargs)
    client = connect(sandbox, interactive=False, **kwargs)
    assert client.source == source
    assert f"token from {source}" in repr(client)
    assert sandbox.token not in repr(client) and sandbox.token not in str(client)
    assert assert_reads_sessions(client) > 0


def test_token_path_points_at_another_cache_file(sandbox, tmp_path):
    path = tmp_path / "elsewhere" / "token"
    auth.save_token(sandbox.token, path)
    client = connect(sandbox, token_path=path, interactive=False)
    assert client.source == f"token file {path}"
    assert sandbox.token not in repr(client)
    assert_reads_sessions(client)
    # The default file is not involved (and was never created).
    assert not auth.token_file().exists()


@pytest.mark.parametrize("level", range(len(SOURCES) - 1), ids=SOURCES[:-1])
def test_higher_token_source_wins(sandbox, monkeypatch, level):
    """The winner alone decides: a valid winner reads even over bogus lower sources,
    and a bogus winner fails even though every lower source holds a valid token."""
    winner, losers = SOURCES[level], SOURCES[level + 1 :]

    kwargs: dict = {}
    bogus = {name: bogus_token() for name in losers}
    for name in losers:
        provide(name, bogus[name], monkeypatch, kwargs)
    source = provide(winner, sandbox.token, monkeypatch, kwargs)
    client = connect(sandbox, interactive=False, **kwargs)
    assert client.source == source
    assert_reads_sessions(client)

    kwargs = {}
    for name in losers:
        provide(name, sandbox.token, monkeypatch, kwargs)
    bad = bogus_token()
    provide(winner, bad, monkeypatch, kwargs)
    client = connect(sandbox, interactive=False, **kwargs)
    assert client.source == source
    with pytest.raises(UnauthorizedError) as caught:
        client.read("session")
    assert caught.value.status == 401
    assert bad not in str(caught.value) and bad not in repr(client)


def test_public_portal_needs_no_token(sandbox):
    client = connect(sandbox, portal="public", interactive=False)
    assert "anonymous" in repr(client)
    projects = client.read("project")
    assert len(projects) > 0
    assert projects["is_public"].all()
    private = connect(sandbox, token=sandbox.token).read("project")
    assert len(projects) < len(private)


def test_no_token_and_not_interactive_says_what_to_do(sandbox):
    with pytest.raises(AuthenticationError) as caught:
        connect(sandbox, interactive=False)
    message = str(caught.value)
    for hint in ("token=", "BRAINSTEM_TOKEN", "login", "portal='public'"):
        assert hint in message, message


def test_no_token_without_a_terminal_starts_no_sign_in(sandbox, monkeypatch):
    """In CI or a pipe (stdin not a terminal, no notebook) connect() fails instead of waiting."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    posts = AuthPosts(monkeypatch)
    with pytest.raises(AuthenticationError, match="BRAINSTEM_TOKEN"):
        connect(sandbox)
    assert posts.calls == []  # no device session was opened


# -- the token cache file ------------------------------------------------------------------


def test_save_token_is_private_overwrites_and_logout_removes_it(tmp_path):
    path = tmp_path / "config" / "brainstem" / "token"
    assert auth.save_token("bst_pat_first-token-value", path) == path
    assert_secret_file(path, "bst_pat_first-token-value")
    assert auth.load_cached_token(path).reveal() == "bst_pat_first-token-value"

    # Overwriting keeps it private, even when someone widened the file's mode meanwhile.
    path.chmod(0o644)
    auth.save_token("bst_pat_second-token", path)
    assert_secret_file(path, "bst_pat_second-token")

    assert bsp.logout(token_path=path) is True
    assert not path.exists()
    assert bsp.logout(token_path=path) is False
    assert auth.load_cached_token(path) is None


def test_default_cache_file_is_the_official_tools_place(isolated_home):
    path = auth.save_token("bst_pat_default-place")
    assert path == isolated_home / ".config" / "brainstem" / "token"
    assert_secret_file(path, "bst_pat_default-place")
    # The official folder holds only tokens: widened modes are narrowed again on save.
    path.chmod(0o644)
    path.parent.chmod(0o755)
    auth.save_token("bst_pat_default-place")
    assert_secret_file(path, "bst_pat_default-place")
    found, where = auth.find_token()
    assert (found.reveal(), where) == ("bst_pat_default-place", f"token file {path}")
    assert bsp.logout() is True and bsp.logout() is False


def test_saving_into_an_existing_folder_keeps_its_mode(tmp_path):
    """token_path in a shared folder (a project folder, /tmp) must not lock that folder."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    path = auth.save_token("bst_pat_shared-folder", shared / "token")
    assert mode(path) == 0o600 and path.read_text() == "bst_pat_shared-folder"
    assert mode(shared) == 0o755


# -- browser sign-in (device flow) ------------------------------------------------------------


@pytest.mark.timeout(120)
def test_browser_sign_in_then_cached_token_is_reused(device_sb, tmp_path):
    path = tmp_path / "cache" / "token"
    screen = Screen()
    user = UserAtBrowser(device_sb, screen)
    user.start()
    with redirect_stdout(screen):
        client = connect(device_sb, interactive=True, remember=True, open_browser=False, token_path=path)
    pages = user.finish()

    # What the user saw: a link to the approval page and the code, which the page shows too.
    printed = screen.text
    code = re.search(r"enter the code (\S+?)\.", printed).group(1)
    assert f"open {device_sb.url}/account/authorize/?session=" in printed
    assert pages["page"].status_code == 200 and code in pages["page"].text
    assert pages["answer"].status_code == 200 and "approved" in pages["answer"].text.lower()
    assert "Signed in." in printed

    assert client.source == "browser sign-in"
    assert_reads_sessions(client)
    token = path.read_text()
    assert token.startswith("bst_") and token not in repr(client) and token not in printed
    assert_secret_file(path, token)

    # Next time: the cached token, no sign-in (interactive=False would fail otherwise).
    shown_before = screen.text
    with redirect_stdout(screen):
        again = connect(device_sb, token_path=path, interactive=False)
        assert again.source == f"token file {path}"
        assert_reads_sessions(again)
    assert screen.text == shown_before


@pytest.mark.timeout(120)
def test_denied_browser_sign_in(device_sb, tmp_path):
    path = tmp_path / "token"
    screen = Screen()
    user = UserAtBrowser(device_sb, screen, decision="deny")
    user.start()
    with redirect_stdout(screen), pytest.raises(AuthenticationError, match="denied"):
        connect(device_sb, interactive=True, remember=True, open_browser=False, token_path=path)
    assert "denied" in user.finish()["answer"].text.lower()
    assert not path.exists()


@pytest.mark.timeout(60)
def test_unapproved_browser_sign_in_times_out(device_sb, tmp_path):
    shown = Screen()
    with pytest.raises(AuthenticationError, match="timed out") as caught:
        auth.device_login(device_sb.url, open_browser=False, timeout=2, show=shown)
    code = re.search(r"enter the code (\S+?)\.", shown.text).group(1)
    assert code in str(caught.value)  # says which request nobody approved
    # Through login(): the same, and nothing is cached.
    path = tmp_path / "token"
    with pytest.raises(AuthenticationError, match="timed out"):
        bsp.login(device_sb.url, open_browser=False, timeout=2, token_path=path)
    assert not path.exists()


@pytest.mark.timeout(120)
def test_login_returns_the_token_and_caches_it(device_sb, tmp_path):
    path = tmp_path / "brainstem" / "token"
    screen = Screen()
    user = UserAtBrowser(device_sb, screen)
    user.start()
    with redirect_stdout(screen):
        token = bsp.login(device_sb.url, open_browser=False, token_path=path)
    assert user.finish()["answer"].status_code == 200
    assert_secret_file(path, token)
    assert_reads_sessions(connect(device_sb, token=token))
    assert bsp.logout(token_path=path) is True


# -- email + password: access and refresh tokens -----------------------------------------


def test_email_and_password_read_sessions(sandbox):
    client = connect(sandbox, email=sandbox.email, password=sandbox.password)
    assert client.source == "email and password"
    assert sandbox.password not in repr(client)
    pair = client.transport.credentials
    access, refresh = pair.access.reveal(), pair.refresh.reveal()
    assert access not in repr(client) and access not in repr(pair) and refresh not in repr(pair)
    assert assert_reads_sessions(client) == assert_reads_sessions(connect(sandbox, token=sandbox.token))


@pytest.mark.timeout(120)
def test_short_lived_access_is_renewed_and_refresh_tokens_rotate(short_sb, monkeypatch):
    posts = AuthPosts(monkeypatch)
    client = connect(short_sb, email=short_sb.email, password=short_sb.password)
    counts = [assert_reads_sessions(client)]
    for _ in range(2):
        time.sleep(3)  # past the access token's lifetime
        counts.append(assert_reads_sessions(client))
    assert len(set(counts)) == 1

    # One pair from the password, then a chain of refreshes, each spending the last refresh token.
    ((_, _, first),) = posts.to("/api/auth/token/")
    refreshes = posts.to(REFRESH)
    # Each read after the first found the token past (half) its 2 s lifetime.
    assert len(refreshes) >= 2
    spent = [first["refresh"]] + [answer["refresh"] for _, _, answer in refreshes[:-1]]
    assert [payload["refresh"] for _, payload, _ in refreshes] == spent
    assert len({answer["access"] for _, _, answer in refreshes}) == len(refreshes)
    # Rotation: every refresh token the client spent is dead now ...
    for old in spent:
        assert refresh_answer(short_sb, old).status_code == 401
    # ... and the client holds the live one.
    assert client.transport.credentials.refresh.reveal() == refreshes[-1][2]["refresh"]


@pytest.mark.timeout(120)
def test_expired_access_token_is_refreshed_once_on_401(short_sb, monkeypatch):
    # Never renew early: the client uses its token until the server rejects it
    # (as with a clock running behind the server's).
    monkeypatch.setattr(auth, "REFRESH_MARGIN", -3600.0)
    posts = AuthPosts(monkeypatch)
    client = connect(short_sb, email=short_sb.email, password=short_sb.password)
    statuses: list[int] = []
    send = client.transport.session.request

    def recording(*args: Any, **kwargs: Any) -> requests.Response:
        response = send(*args, **kwargs)
        statuses.append(response.status_code)
        return response

    monkeypatch.setattr(client.transport.session, "request", recording)
    before = assert_reads_sessions(client)
    assert posts.to(REFRESH) == [] and 401 not in statuses
    old = client.transport.credentials.refresh.reveal()

    time.sleep(3)  # past the access token's lifetime
    assert assert_reads_sessions(client) == before
    assert 401 in statuses  # the server rejected the expired token ...
    assert len(posts.to(REFRESH)) == 1  # ... and the client renewed it once, for all page requests
    assert refresh_answer(short_sb, old).status_code == 401  # rotated


def test_rejected_refresh_token_says_sign_in_again(short_sb, monkeypatch):
    client = connect(short_sb, email=short_sb.email, password=short_sb.password)
    pair = client.transport.credentials
    # Another program spends the refresh token first (rotation kills the client's copy).
    assert refresh_answer(short_sb, pair.refresh.reveal()).status_code == 200
    time.sleep(2.5)  # past the 2 s access lifetime: the next read must renew
    with pytest.raises(AuthenticationError, match="(?i)sign in again") as caught:
        client.read("session")
    assert pair.refresh.reveal() not in str(caught.value) and pair.access.reveal() not in str(caught.value)


def test_wrong_password_is_refused_clearly(sandbox):
    wrong = "not-the-demo-password"
    with pytest.raises(AuthenticationError) as caught:
        connect(sandbox, email=sandbox.email, password=wrong)
    message = str(caught.value)
    assert "401" in message and "credentials" in message.lower()
    assert wrong not in message


@pytest.mark.parametrize(
    "given", [{"email": "demo@brainstem.sandbox"}, {"password": "secret-password"}], ids=["email-only", "password-only"]
)
def test_email_and_password_come_together(sandbox, given):
    with pytest.raises(ConfigurationError, match="both email and password"):
        connect(sandbox, **given)


# -- rejected personal access tokens ---------------------------------------------------------


def assert_rejected(client: bsp.Client, token: str) -> None:
    with pytest.raises(UnauthorizedError) as caught:
        client.read("session")
    message = str(caught.value)
    assert caught.value.status == 401
    assert "Sign in again" in message and "token" in message
    assert token not in message and token not in repr(caught.value)


def test_unknown_token_is_refused_without_showing_it(sandbox):
    token = bogus_token()
    assert_rejected(connect(sandbox, token=token), token)


def test_revoked_token_is_refused_without_showing_it(sandbox):
    token = new_pat(sandbox)
    client = connect(sandbox, token=token)
    assert_reads_sessions(client)
    revoke(sandbox, token)
    assert_rejected(client, token)


@pytest.mark.timeout(120)
def test_browser_sign_in_from_a_start_answer_with_only_the_complete_link(make_sandbox, tmp_path, monkeypatch):
    """A server may answer the device start with device_code, verification_uri_complete and expires_in alone."""
    sb = make_sandbox(sessions=20, device_start="minimal", device_ttl=60)
    start = requests.post(sb.url + "/api/auth/device/", json={"client_name": "test"}, timeout=TIMEOUT)
    assert start.status_code == 200
    assert set(start.json()) == {"device_code", "verification_uri_complete", "expires_in"}
    posts = AuthPosts(monkeypatch)
    screen = Screen()
    user = UserAtBrowser(sb, screen)
    user.start()
    path = tmp_path / "token"
    with redirect_stdout(screen):
        token = bsp.login(sb.url, open_browser=False, token_path=path)
    pages = user.finish()
    assert pages["answer"].status_code == 200 and "approved" in pages["answer"].text.lower()
    printed = screen.text
    assert f"To sign in, open {sb.url}/account/authorize/?session=" in printed and "enter the code" not in printed
    assert path.read_text() == token and token not in printed
    assert_reads_sessions(connect(sb, token=token))
    # No interval announced: the client polled at its 5 s default, a handful of times, not in a busy loop.
    polls = posts.to("/api/auth/device/token/")
    assert 1 <= len(polls) <= 4 and polls[-1][2]["status"] == "success"


def test_the_device_start_answers_as_documented(quick):
    """docs/api.md: session_id and a verification_uri_complete with ?session=; polls always HTTP 200."""
    start = requests.post(quick.url + "/api/auth/device/", json={"client_name": "test"}, timeout=TIMEOUT).json()
    assert start["verification_uri_complete"] == f"{quick.url}/account/authorize/?session={start['session_id']}"
    assert start["user_code"][4] == "-" and len(start["user_code"]) == 9  # WXYZ-1234-style, for headless use
    poll = requests.post(quick.url + "/api/auth/device/token/", json={"device_code": start["device_code"]}, timeout=30)
    assert (poll.status_code, poll.json()) == (200, {"status": "authorization_pending"})
    header = requests.get(
        quick.url + "/api/private/stem/project/", headers={"Authorization": f"Bearer {quick.token}"}, timeout=30
    )
    assert header.status_code == 200  # the documented PAT header
