"""Every way to sign in to the sandbox, checked over real HTTP as a client sees it.

- personal access tokens (PAT): bearer header, errors, public portal, sliding expiry;
- email + password: access/refresh pairs, expiry, rotation; ``/api/token/`` PATs;
- the device flow: start, poll, approve or deny in the HTML page, expiry;
- ``Sandbox.add_user``; and the official ``brainstem_api_tools`` client's device flow.

Tests that need short lifetimes share one extra server (``fast``); the rest use
the run-wide ``sandbox`` and create their own users and tokens, never changing
seeded records. Waits are lower bounds only (sleep past an expiry, then check).
"""

from __future__ import annotations

import re
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from brainstem_pandas.sandbox import Sandbox, SandboxError

SESSIONS = "/api/private/stem/session/"
PROJECTS = "/api/private/stem/project/"
PUBLIC_SESSIONS = "/api/public/stem/session/"
PAIR = "/api/auth/token/"
REFRESH = "/api/auth/token/refresh/"
LEGACY = "/api/token/"
DEVICE = "/api/auth/device/"
POLL = "/api/auth/device/token/"
AUTHORIZE = "/account/authorize/"
REVIEWER_EMAIL = "reviewer@brainstem.sandbox"
REVIEWER_PASSWORD = "sandbox-user-password"
TIMEOUT = 30

# Lifetimes of the short-lived server, in seconds.
ACCESS_TTL, DEVICE_TTL = 1, 2


@pytest.fixture(scope="module")
def fast() -> Iterator[Sandbox]:
    """One server with 1 s access tokens and 2 s device sessions, for expiry tests."""
    with Sandbox(sessions=300, access_ttl=ACCESS_TTL, device_ttl=DEVICE_TTL, device_interval=1) as sb:
        yield sb


# -- helpers ---------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get(sb: Sandbox, path: str, headers: dict | None = None, **params) -> requests.Response:
    return requests.get(sb.url + path, headers=headers or {}, params=params, timeout=TIMEOUT)


def post(sb: Sandbox, path: str, body: dict | None = None, headers: dict | None = None) -> requests.Response:
    return requests.post(sb.url + path, json=body or {}, headers=headers or {}, timeout=TIMEOUT)


def assert_reads_sessions(sb: Sandbox, token: str) -> dict:
    """The token reads the private session list; return the page."""
    r = get(sb, SESSIONS, bearer(token))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["count"] > 0 and page["sessions"]
    return page


def assert_401(r: requests.Response, *words: str) -> str:
    """A JSON 401 with a bearer challenge whose ``detail`` contains ``words``."""
    assert r.status_code == 401, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("bearer")
    detail = r.json()["detail"]
    for word in words:
        assert word.lower() in detail.lower(), detail
    return detail


def pair(sb: Sandbox, email: str | None = None, password: str | None = None) -> dict:
    r = post(sb, PAIR, {"email": email or sb.email, "password": password or sb.password})
    assert r.status_code == 200, r.text
    return r.json()


def start_device(sb: Sandbox, client_name: str = "pytest") -> dict:
    r = post(sb, DEVICE, {"client_name": client_name})
    assert r.status_code == 200, r.text
    return r.json()


def poll(sb: Sandbox, device_code: str) -> dict:
    """One poll; the device flow always answers 200 and puts the state in the body."""
    r = post(sb, POLL, {"device_code": device_code})
    assert r.status_code == 200, r.text
    return r.json()


def authorize(sb: Sandbox, form: dict, session: str | None = None) -> requests.Response:
    """Submit the approval page's form (as a browser would: form-encoded)."""
    url = sb.url + AUTHORIZE + (f"?session={session}" if session else "")
    data = {"session": session, **form} if session else form
    return requests.post(url, data=data, timeout=TIMEOUT)


def approve(
    sb: Sandbox, start: dict, email: str | None = None, password: str | None = None, decision: str = "approve"
) -> requests.Response:
    form = {"email": email or sb.email, "password": password or sb.password, "decision": decision}
    return authorize(sb, form, session=start["session_id"])


def user_email() -> str:
    return f"auth-{uuid.uuid4().hex[:10]}@example.org"


def set_expiry(sb: Sandbox, token_id: int, expires: datetime) -> None:
    """Move a token's stored expiry (the only thing HTTP cannot fast-forward).

    Django keeps aware datetimes in SQLite as naive UTC text.
    """
    text = expires.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(sb.config.db_path, timeout=30) as con:
        changed = con.execute("UPDATE api_token SET expires = ? WHERE id = ?", (text, token_id)).rowcount
    assert changed == 1


def project_list(sb: Sandbox, token: str, **params) -> list[dict]:
    """The projects ``token`` sees on the private portal (they fit on one page)."""
    r = get(sb, PROJECTS, bearer(token), limit=100, **params)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["count"] == len(page["projects"])  # all on one page
    return page["projects"]


def legacy_pat(sb: Sandbox) -> dict:
    r = post(sb, LEGACY, {"username": sb.email, "password": sb.password})
    assert r.status_code == 200, r.text
    return r.json()


# -- personal access tokens ------------------------------------------------------------


def test_demo_pat_reads_private_sessions(sandbox):
    page = assert_reads_sessions(sandbox, sandbox.token)
    assert {"id", "name"} <= set(page["sessions"][0])


def test_scheme_is_case_insensitive_and_whitespace_tolerant(sandbox):
    r = get(sandbox, SESSIONS, {"Authorization": f"bearer   {sandbox.token}  "})
    assert r.status_code == 200, r.text


def test_no_header_is_401_with_json_detail(sandbox):
    assert_401(get(sandbox, SESSIONS), "credentials", "Bearer")


@pytest.mark.parametrize("header", [f"Token {'x' * 20}", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "x"])
def test_malformed_header_is_401(sandbox, header):
    assert_401(get(sandbox, SESSIONS, {"Authorization": header}), "malformed")


def test_unknown_token_is_401(sandbox):
    assert_401(get(sandbox, SESSIONS, bearer("bst_pat_" + "A" * 43)), "invalid")


def test_public_portal_needs_no_token_and_ignores_a_bad_one(sandbox):
    plain = get(sandbox, PUBLIC_SESSIONS)
    assert plain.status_code == 200, plain.text
    for header in (bearer("not-a-token"), {"Authorization": "Token nope"}):
        r = get(sandbox, PUBLIC_SESSIONS, header)
        assert r.status_code == 200, r.text
        assert r.json()["count"] == plain.json()["count"]


def test_public_portal_shows_less_than_the_demo_user(sandbox):
    public = get(sandbox, PUBLIC_SESSIONS).json()["count"]
    private = assert_reads_sessions(sandbox, sandbox.token)["count"]
    assert 0 < public < private


def test_pat_slides_forward_when_used(sandbox):
    """A used PAT outlives its stored expiry; an unused one expires on time."""
    used, unused = legacy_pat(sandbox), legacy_pat(sandbox)
    margin = 3.0
    deadline = datetime.now(UTC) + timedelta(seconds=margin)
    set_expiry(sandbox, used["token_id"], deadline)
    set_expiry(sandbox, unused["token_id"], deadline)
    assert_reads_sessions(sandbox, used["access"])  # this use re-dates it a year ahead
    time.sleep(margin + 0.5)
    assert_reads_sessions(sandbox, used["access"])
    assert_401(get(sandbox, SESSIONS, bearer(unused["access"])), "expired")


# -- email + password: access and refresh tokens ------------------------------------------


def test_password_pair_shape_and_access_works(sandbox):
    tokens = pair(sandbox)
    assert set(tokens) == {"access", "refresh", "token_type", "expires_in"}
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["access"] != tokens["refresh"]
    assert_reads_sessions(sandbox, tokens["access"])


def test_password_pair_accepts_username_and_any_email_case(sandbox):
    r = post(sandbox, PAIR, {"username": sandbox.email.upper(), "password": sandbox.password})
    assert r.status_code == 200, r.text
    assert_reads_sessions(sandbox, r.json()["access"])


@pytest.mark.parametrize(
    "body",
    [
        {"email": "demo@brainstem.sandbox", "password": "wrong-password"},
        {"email": "nobody@brainstem.sandbox", "password": "sandbox-demo-password"},
        {"email": "demo@brainstem.sandbox"},
        {},
    ],
)
def test_bad_credentials_are_401(sandbox, body):
    assert_401(post(sandbox, PAIR, body), "credentials")


def test_access_token_is_the_users_own(sandbox):
    """The reviewer signs in with their own password and sees other data than the demo user."""
    reviewer = pair(sandbox, REVIEWER_EMAIL, REVIEWER_PASSWORD)
    theirs = {p["id"] for p in project_list(sandbox, reviewer["access"])}
    demo_private = {p["id"] for p in project_list(sandbox, sandbox.token) if not p["is_public"]}
    assert theirs and demo_private and not theirs & demo_private


def test_refresh_rotates_the_pair(sandbox):
    first = pair(sandbox)
    r = post(sandbox, REFRESH, {"refresh": first["refresh"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert set(second) == {"access", "refresh", "token_type", "expires_in"}
    assert second["access"] != first["access"] and second["refresh"] != first["refresh"]
    assert_reads_sessions(sandbox, second["access"])
    # Rotation: the used refresh token is dead, the new one lives.
    assert_401(post(sandbox, REFRESH, {"refresh": first["refresh"]}), "refresh")
    third = post(sandbox, REFRESH, {"refresh": second["refresh"]})
    assert third.status_code == 200, third.text
    assert_reads_sessions(sandbox, third.json()["access"])


def test_refresh_token_is_never_a_bearer_token(sandbox):
    tokens = pair(sandbox)
    assert_401(get(sandbox, SESSIONS, bearer(tokens["refresh"])), "invalid")
    # ... nor is an access token a refresh token.
    assert_401(post(sandbox, REFRESH, {"refresh": tokens["access"]}), "refresh")


def test_refresh_needs_the_field(sandbox):
    r = post(sandbox, REFRESH, {})
    assert r.status_code == 400, r.text
    body = r.json()
    assert "refresh" in body and "refresh" in body["detail"]


def test_unknown_refresh_token_is_401(sandbox):
    assert_401(post(sandbox, REFRESH, {"refresh": "bst_refresh_" + "B" * 43}), "refresh")


def test_access_token_expires(fast):
    tokens = pair(fast)
    assert tokens["expires_in"] == ACCESS_TTL
    time.sleep(ACCESS_TTL + 0.5)
    assert_401(get(fast, SESSIONS, bearer(tokens["access"])), "expired")


def test_refresh_after_expiry_even_with_stale_bearer_header(fast):
    """A client that still sends its expired access token can refresh."""
    tokens = pair(fast)
    time.sleep(ACCESS_TTL + 0.5)
    r = post(fast, REFRESH, {"refresh": tokens["refresh"]}, headers=bearer(tokens["access"]))
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert fresh["expires_in"] == ACCESS_TTL
    assert fresh["access"] != tokens["access"] and fresh["refresh"] != tokens["refresh"]
    assert_401(post(fast, REFRESH, {"refresh": tokens["refresh"]}), "refresh")


# -- /api/token/: a PAT for email + password -----------------------------------------------


def test_legacy_token_gives_a_working_pat(sandbox):
    body = legacy_pat(sandbox)
    assert set(body) >= {"access", "token_id", "message"}
    assert isinstance(body["token_id"], int)
    assert "created" in body["message"].lower()
    assert_reads_sessions(sandbox, body["access"])
    assert legacy_pat(sandbox)["access"] != body["access"]  # each call is a new token


def test_legacy_token_wrong_password_is_401(sandbox):
    assert_401(post(sandbox, LEGACY, {"username": sandbox.email, "password": "nope"}), "credentials")


# -- device flow -----------------------------------------------------------------------------


def test_device_start_answer(sandbox):
    start = start_device(sandbox)
    assert set(start) >= {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "interval",
        "expires_in",
    }
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", start["user_code"])
    assert start["verification_uri"] == sandbox.url + AUTHORIZE
    assert start["verification_uri_complete"].startswith(sandbox.url + AUTHORIZE + "?session=")
    assert start["interval"] == 5 and start["expires_in"] == 15 * 60
    other = start_device(sandbox)
    assert other["device_code"] != start["device_code"] and other["user_code"] != start["user_code"]


def test_device_flow_approve_poll_use(sandbox):
    start = start_device(sandbox)
    assert poll(sandbox, start["device_code"]) == {"status": "authorization_pending"}
    page = requests.get(start["verification_uri_complete"], timeout=TIMEOUT)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert start["user_code"] in page.text and "pytest" in page.text  # code and client name
    done = approve(sandbox, start)
    assert done.status_code == 200 and "approved" in done.text.lower()
    result = poll(sandbox, start["device_code"])
    assert result["status"] == "success"
    assert_reads_sessions(sandbox, result["token"])
    assert poll(sandbox, start["device_code"]) == {"error": "already_used"}
    assert_reads_sessions(sandbox, result["token"])  # collecting twice does not revoke it


def test_device_token_belongs_to_the_approver(sandbox):
    """The reviewer approves: the device gets the reviewer's view, not the demo user's."""
    start = start_device(sandbox)
    approve(sandbox, start, REVIEWER_EMAIL, REVIEWER_PASSWORD)
    token = poll(sandbox, start["device_code"])["token"]
    reviewer = pair(sandbox, REVIEWER_EMAIL, REVIEWER_PASSWORD)["access"]
    assert (
        get(sandbox, PROJECTS, bearer(token), limit=100).json()
        == get(sandbox, PROJECTS, bearer(reviewer), limit=100).json()
    )


def test_device_flow_denied(sandbox):
    start = start_device(sandbox)
    r = approve(sandbox, start, decision="deny")
    assert r.status_code == 200 and "denied" in r.text.lower()
    assert poll(sandbox, start["device_code"]) == {"error": "access_denied"}
    # A later approval cannot overturn the denial.
    assert approve(sandbox, start).status_code == 410
    assert poll(sandbox, start["device_code"]) == {"error": "access_denied"}


def test_wrong_password_on_the_page_does_not_approve(sandbox):
    start = start_device(sandbox)
    r = approve(sandbox, start, password="not-the-password")
    assert r.status_code == 401
    assert "wrong email or password" in r.text.lower()
    assert start["user_code"] in r.text  # the form is shown again for another try
    assert poll(sandbox, start["device_code"]) == {"status": "authorization_pending"}
    assert approve(sandbox, start).status_code == 200
    assert poll(sandbox, start["device_code"])["status"] == "success"


@pytest.mark.parametrize(
    "typed",
    [str.strip, str.lower, lambda c: c.replace("-", ""), lambda c: " " + c.lower().replace("-", " ") + " "],
    ids=["as-shown", "lower-case", "no-dash", "spaced"],
)
def test_user_code_entry_without_session_link(sandbox, typed):
    """Headless: open the bare verification URI and type the code shown by the CLI."""
    start = start_device(sandbox)
    page = requests.get(start["verification_uri"], timeout=TIMEOUT)
    assert page.status_code == 200 and 'name="user_code"' in page.text
    form = {
        "user_code": typed(start["user_code"]),
        "email": sandbox.email,
        "password": sandbox.password,
        "decision": "approve",
    }
    r = authorize(sandbox, form)
    assert r.status_code == 200 and "approved" in r.text.lower()
    result = poll(sandbox, start["device_code"])
    assert result["status"] == "success"
    assert_reads_sessions(sandbox, result["token"])


def test_mistyped_user_code_is_refused(sandbox):
    form = {"user_code": "QQQQ-QQQQ", "email": sandbox.email, "password": sandbox.password}
    r = authorize(sandbox, form)
    assert r.status_code == 404 and "unknown" in r.text.lower()


def test_only_one_of_racing_polls_gets_the_token(sandbox):
    start = start_device(sandbox)
    approve(sandbox, start)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: poll(sandbox, start["device_code"]), range(8)))
    wins = [a for a in answers if a.get("status") == "success"]
    assert len(wins) == 1
    assert all(a == {"error": "already_used"} for a in answers if a not in wins)
    assert_reads_sessions(sandbox, wins[0]["token"])


def test_unknown_device_code_is_an_error_with_200(sandbox):
    assert "error" in poll(sandbox, "no-such-device-code")
    assert "error" in poll(sandbox, "")


def test_device_session_expires(fast):
    start = start_device(fast)
    assert start["expires_in"] == DEVICE_TTL and start["interval"] == 1
    time.sleep(DEVICE_TTL + 0.5)
    assert poll(fast, start["device_code"]) == {"error": "expired_token"}
    # Too late to approve: the page says so and the session stays expired.
    late = approve(fast, start)
    assert late.status_code == 410 and "no longer pending" in late.text.lower()
    assert poll(fast, start["device_code"]) == {"error": "expired_token"}


# -- Sandbox.add_user -------------------------------------------------------------------------


def test_add_user_gets_a_pat_and_no_private_projects(sandbox):
    email, password = user_email(), "new-user-password"
    token = sandbox.add_user(email, password, first_name="Nora", last_name="New")
    assert token and token != sandbox.token
    assert_reads_sessions(sandbox, token)
    theirs, demo = project_list(sandbox, token), project_list(sandbox, sandbox.token)
    assert len(theirs) < len(demo)
    assert all(p["is_public"] for p in theirs)
    demo_private = {p["id"] for p in demo if not p["is_public"]}
    assert demo_private and not demo_private & {p["id"] for p in theirs}
    # The password works too, for every sign-in method.
    assert_reads_sessions(sandbox, pair(sandbox, email, password)["access"])
    start = start_device(sandbox)
    approve(sandbox, start, email, password)
    assert_reads_sessions(sandbox, poll(sandbox, start["device_code"])["token"])


def test_add_user_refuses_an_existing_email(sandbox):
    email = user_email()
    sandbox.add_user(email, "first-password")
    for again in (email, email.upper()):
        with pytest.raises(SandboxError, match="already exists"):
            sandbox.add_user(again, "second-password")
    assert_reads_sessions(sandbox, pair(sandbox, email, "first-password")["access"])


# -- the official Python client ---------------------------------------------------------------


def test_official_client_device_flow(make_sandbox, tmp_path, monkeypatch):
    from brainstem_api_tools import brainstem_api_client as bac

    # A short window: should approval go wrong, the client fails instead of waiting 15 min.
    sb = make_sandbox(device_interval=1, device_ttl=60)
    token_file = tmp_path / ".config" / "brainstem" / "token"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(bac, "_TOKEN_FILE", token_file)
    monkeypatch.setattr(bac.webbrowser, "open", lambda *a, **k: pytest.fail("headless opened a browser"))
    printed: list[str] = []
    shown = threading.Event()

    def fake_print(*args, **kwargs) -> None:
        printed.append(" ".join(map(str, args)))
        shown.set()

    monkeypatch.setattr(bac, "print", fake_print, raising=False)
    outcome: dict[str, requests.Response] = {}

    def user_at_browser() -> None:
        # What a person does with the printed line: open the URI, type the code.
        if not shown.wait(60):
            return
        match = re.search(r"Open (\S+) and enter: (\S+)", printed[0])
        if match:
            uri, code = match.groups()
            form = {"user_code": code, "email": sb.email, "password": sb.password, "decision": "approve"}
            outcome["page"] = requests.post(uri, data=form, timeout=TIMEOUT)

    browser = threading.Thread(target=user_at_browser, daemon=True)
    browser.start()
    client = bac.BrainstemClient(url=sb.url, headless=True)
    browser.join(30)

    assert printed and printed[0].startswith(f"Open {sb.url}{AUTHORIZE} and enter: ")
    assert outcome["page"].status_code == 200
    r = client.load("session", limit=5)
    assert r.status_code == 200, r.text
    assert len(r.json()["sessions"]) == 5
    assert token_file.read_text().strip() == client._token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    # A second client reuses the cached token: no new device flow, no prompt.
    printed.clear()
    again = bac.BrainstemClient(url=sb.url, headless=True)
    assert printed == []
    assert again.load("project").status_code == 200
