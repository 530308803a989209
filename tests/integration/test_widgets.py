"""The notebook widgets driven without a kernel against a live sandbox, as a user would drive them.

Each test sets widget values, clicks buttons, waits for the background work
(``wait()``), and checks what the user sees: status and error texts, the result,
the generated code, the files written. The ``widget_callback_errors`` fixture of
conftest.py fails any test in which a widget callback raised.

- ``LoginForm``: access token, email and password, browser sign-in (approved,
  denied, expired, cancelled), remember me, every error in plain words, and no
  secret left in any widget's state;
- ``QueryBuilder``: models grouped by app, operators and value inputs per field
  type, filters of each value kind, include, sort, portal, cancel, errors, and
  code that gives the same result when run;
- ``Explorer``: sign in, query, export to Parquet and CSV.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import secrets
import socket
import sqlite3
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Iterator

import ipywidgets as widgets
import pandas as pd
import pytest
import requests

import brainstem_pandas as bsp
from brainstem_pandas import auth, catalog
from brainstem_pandas.query import OPERATORS
from brainstem_pandas.sandbox import Sandbox
from brainstem_pandas.widgets import Explorer, LoginForm, QueryBuilder

TIMEOUT = 60


# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME in a temporary folder and no token or URL variables: the real token cache is never touched."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("BRAINSTEM_TOKEN", "BRAINSTEM_API_TOKEN", "BRAINSTEM_URL"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(scope="module")
def quick() -> Iterator[Sandbox]:
    """A server whose browser sign-ins ask for a poll every second."""
    with Sandbox(sessions=300, device_interval=1, device_ttl=120) as sb:
        yield sb


@pytest.fixture
def client(sandbox: Sandbox) -> bsp.Client:
    return bsp.connect(sandbox.url, token=sandbox.token, progress=False)


def plain(markup: str) -> str:
    """What a user reads in an HTML widget: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def tree(root: widgets.Widget) -> list[widgets.Widget]:
    """Every widget reachable from ``root`` through its synced traits (children, layouts, styles)."""
    seen: dict[str, widgets.Widget] = {}
    stack = [root]
    while stack:
        widget = stack.pop()
        if widget.model_id in seen:
            continue
        seen[widget.model_id] = widget
        for key in widget.keys:
            value = getattr(widget, key)
            items = value if isinstance(value, (list, tuple)) else [value]
            stack.extend(v for v in items if isinstance(v, widgets.Widget))
    return list(seen.values())


def assert_no_secret(root: widgets.Widget, *secrets_: str) -> None:
    """No widget of the tree holds a secret in its state, nor the root in its repr."""
    state = json.dumps([w.get_state() for w in tree(root)], default=str)
    for secret in secrets_:
        assert secret not in state
        assert secret not in repr(root)


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def new_pat(sb: Sandbox) -> str:
    """A fresh personal access token of the demo user."""
    answer = requests.post(
        f"{sb.url}/api/token/", json={"username": sb.email, "password": sb.password}, timeout=TIMEOUT
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access"]


def revoke(sb: Sandbox, token: str) -> None:
    """Revoke a token in the server's database (the sandbox has no HTTP endpoint for it)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with sqlite3.connect(sb.config.db_path, timeout=30) as con:
        assert con.execute("UPDATE api_token SET revoked = 1 WHERE digest = ?", (digest,)).rowcount == 1


def sign_in_with_token(url: str, token: str, **kwargs: Any) -> LoginForm:
    form = LoginForm(url, **kwargs)
    form.method.value = "token"
    form.token.value = token
    form.sign_in_button.click()
    form.wait(TIMEOUT)
    return form


def answer_at_browser(sb: Sandbox, form: LoginForm, decision: str) -> None:
    """Do what the user does: open the link the form shows, sign in there, approve or deny."""
    assert form.device is not None
    link, code = form.device.verification_uri_complete, form.device.user_code
    shown = plain(form.device_info.value)
    assert link in shown and code in shown
    page = requests.get(link, timeout=TIMEOUT)
    assert page.status_code == 200 and code in page.text
    session = re.search(r'name="session" value="([^"]+)"', page.text).group(1)
    answer = requests.post(
        link,
        data={"session": session, "email": sb.email, "password": sb.password, "decision": decision},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200


def builder_for(client: bsp.Client, model: str) -> QueryBuilder:
    builder = QueryBuilder(client)
    builder.model.value = model
    return builder


def add_filter(builder: QueryBuilder, field: str, operator: str, value: Any) -> None:
    """Add a filter row with the button and fill it in."""
    builder.add_filter_button.click()
    row = builder.filters[-1]
    row.field.value = field
    row.operator.value = operator
    row.value.value = value


def assert_same_frames(a: bsp.frames.LinkedFrames, b: bsp.frames.LinkedFrames) -> None:
    assert list(a.to_dict()) == list(b.to_dict())
    for name, frame in a.to_dict().items():
        pd.testing.assert_frame_equal(frame, b.to_dict()[name], obj=name)


# -- LoginForm: the form --------------------------------------------------------------------


def test_server_url_defaults_to_brainstem_or_the_environment(monkeypatch):
    assert LoginForm().url.value == "https://www.brainstem.org"
    monkeypatch.setenv("BRAINSTEM_URL", "http://127.0.0.1:8000")
    assert LoginForm().url.value == "http://127.0.0.1:8000"
    assert LoginForm("http://127.0.0.1:9000").url.value == "http://127.0.0.1:9000"


def test_each_method_shows_only_its_fields():
    form = LoginForm()
    shown = {m: [] for _label, m in form.method.options}
    for method in shown:
        form.method.value = method
        shown[method] = [
            name
            for name in ("token", "email", "password", "remember", "device_info")
            if getattr(form, name).layout.display != "none"
        ]
    assert shown == {
        "token": ["token", "remember"],
        "browser": ["remember", "device_info"],
        "password": ["email", "password"],
    }
    assert isinstance(form.token, widgets.Password) and isinstance(form.password, widgets.Password)


# -- LoginForm: access token ----------------------------------------------------------------


def test_token_sign_in_hands_the_client_on_and_keeps_no_secret(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    handed: list[bsp.Client] = []
    form = LoginForm(sandbox.url)
    form.on_login(handed.append)
    form.token.value = sandbox.token
    form.sign_in_button.click()
    form.wait(TIMEOUT)

    assert form.error.value == ""
    assert handed == [form.client]
    assert form.client.url == sandbox.url
    assert len(form.client.read("session", progress=False)) > 0
    assert "Signed in to" in plain(form.status.value) and sandbox.url in plain(form.status.value)
    assert form.token.value == ""
    assert_no_secret(form, sandbox.token)
    assert sandbox.token not in repr(form.client) and sandbox.token not in caplog.text


def test_remember_me_writes_the_token_cache_only_you_can_read(sandbox, tmp_path):
    path = tmp_path / "cache" / "token"
    form = LoginForm(sandbox.url, token_path=path)
    form.remember.value = True
    form.token.value = sandbox.token
    form.sign_in_button.click()
    form.wait(TIMEOUT)

    assert form.client is not None
    assert path.read_text() == sandbox.token
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert str(path) in plain(form.status.value)
    assert_no_secret(form, sandbox.token)
    # The cached token signs in next time without the form.
    assert bsp.connect(sandbox.url, token_path=path, interactive=False).source == f"token file {path}"


def test_without_remember_me_nothing_is_written(sandbox, tmp_path):
    path = tmp_path / "token"
    form = sign_in_with_token(sandbox.url, sandbox.token, token_path=path)
    assert form.client is not None and not path.exists()
    assert not auth.token_file().exists()


def test_unknown_token_is_refused_in_plain_words(sandbox, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    token = "bst_pat_" + secrets.token_urlsafe(32)
    path = tmp_path / "token"
    form = LoginForm(sandbox.url, token_path=path)
    form.remember.value = True
    form.token.value = token
    form.sign_in_button.click()
    form.wait(TIMEOUT)

    assert form.client is None and not path.exists()
    said = plain(form.error.value)
    assert "refused this token" in said and "expired" in said and "401" in said
    assert plain(form.status.value) == "Not signed in."
    assert_no_secret(form, token)
    assert token not in caplog.text


def test_revoked_token_is_refused_in_plain_words(sandbox):
    token = new_pat(sandbox)
    revoke(sandbox, token)
    form = sign_in_with_token(sandbox.url, token)
    assert form.client is None
    assert "refused this token" in plain(form.error.value)
    assert_no_secret(form, token)


def test_empty_token_asks_for_one(sandbox):
    form = LoginForm(sandbox.url)
    form.sign_in_button.click()
    form.wait(TIMEOUT)
    assert form.client is None and "Paste a personal access token" in plain(form.error.value)


@pytest.mark.parametrize("url", ["not a url", "ftp://www.brainstem.org", "www.brainstem.org"])
def test_bad_url_is_said_plainly_and_the_token_kept_for_the_next_try(sandbox, url):
    form = LoginForm(url)
    form.token.value = sandbox.token
    form.sign_in_button.click()
    form.wait(TIMEOUT)
    assert form.client is None
    assert "is not a server address" in plain(form.error.value)
    assert form.url.value == url  # what was typed stays, to be corrected
    assert form.token.value == sandbox.token  # the token was never judged: no need to paste it again
    form.url.value = sandbox.url
    form.sign_in_button.click()
    form.wait(TIMEOUT)
    assert form.client is not None and form.token.value == ""
    assert_no_secret(form, sandbox.token)


@pytest.mark.parametrize("method", ["token", "password", "browser"])
def test_unreachable_server_is_said_plainly(sandbox, method):
    url = f"http://127.0.0.1:{closed_port()}"
    form = LoginForm(url, method=method)  # the default retries: a refused connection is tried twice
    form.token.value = sandbox.token
    form.email.value, form.password.value = sandbox.email, sandbox.password
    form.sign_in_button.click()
    form.wait(TIMEOUT)
    assert form.client is None
    said = plain(form.error.value)
    assert f"Cannot reach a server at {url}" in said and "2 attempt(s)" in said and "connection was refused" in said
    assert form.sign_in_button.disabled is False and form.url.value == url
    assert form.token.value == (sandbox.token if method == "token" else "")  # kept to try again
    assert_no_secret(form, sandbox.password)


def test_the_form_links_the_token_page_and_labels_password_sign_in_legacy():
    form = LoginForm("http://127.0.0.1:8123/")
    labels = [label for label, _method in form.method.options]
    assert labels == ["Personal access token", "Browser sign-in", "Email and password (legacy)"]
    assert 'href="http://127.0.0.1:8123/private/users/tokens/"' in form.method_info.value
    form.url.value = "https://www.brainstem.org"
    assert 'href="https://www.brainstem.org/private/users/tokens/"' in form.method_info.value
    form.method.value = "password"
    assert "Legacy" in plain(form.method_info.value) and "two-factor" in plain(form.method_info.value)


@pytest.mark.parametrize("method", ["token", "password"])
def test_a_slow_sign_in_of_any_method_can_be_cancelled_and_its_outcome_is_dropped(make_sandbox, method):
    slow = make_sandbox(latency_ms=1500)
    handed: list[bsp.Client] = []
    form = LoginForm(slow.url, method=method)
    form.on_login(handed.append)
    form.token.value, form.email.value, form.password.value = slow.token, slow.email, slow.password
    form.sign_in_button.click()
    assert form.cancel_button.disabled is False
    form.cancel_button.click()
    assert form.sign_in_button.disabled is False and form.cancel_button.disabled is True
    assert "cancelled" in plain(form.status.value) and form.client is None
    form.token.value, form.password.value = slow.token, slow.password
    form.sign_in_button.click()  # free at once: a second try does not wait for the first
    form.wait(TIMEOUT)
    assert form.client is not None and handed == [form.client]  # the abandoned sign-in handed nothing on


# -- LoginForm: email and password ------------------------------------------------------------


def test_email_and_password_sign_in_shows_the_user(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    form = LoginForm(sandbox.url, method="password")
    form.email.value = sandbox.email
    form.password.value = sandbox.password
    form.sign_in_button.click()
    form.wait(TIMEOUT)

    assert form.error.value == ""
    assert f"as {sandbox.email}" in plain(form.status.value)
    assert form.client.source == "email and password"
    assert len(form.client.read("project", progress=False)) > 0
    assert form.password.value == ""
    pair = form.client.transport.credentials
    assert_no_secret(form, sandbox.password, pair.access.reveal(), pair.refresh.reveal())
    assert sandbox.password not in caplog.text and pair.access.reveal() not in caplog.text


def test_wrong_password_is_said_plainly_and_cleared(sandbox):
    wrong = "not-the-demo-password"
    form = LoginForm(sandbox.url, method="password")
    form.email.value = sandbox.email
    form.password.value = wrong
    form.sign_in_button.click()
    form.wait(TIMEOUT)
    assert form.client is None
    assert plain(form.error.value).startswith("Wrong email or password.")
    assert form.password.value == ""
    assert_no_secret(form, wrong)


def test_missing_email_is_asked_for(sandbox):
    form = LoginForm(sandbox.url, method="password")
    form.password.value = sandbox.password
    form.sign_in_button.click()
    assert "Type your email and your password" in plain(form.error.value)
    assert form.password.value == ""


# -- LoginForm: browser sign-in (device flow) ---------------------------------------------------


def test_browser_sign_in_approved_and_remembered(quick, tmp_path):
    path = tmp_path / "token"
    handed: list[bsp.Client] = []
    form = LoginForm(quick.url, method="browser", token_path=path)
    form.on_login(handed.append)
    form.remember.value = True
    form.sign_in_button.click()
    assert form.cancel_button.disabled is False
    answer_at_browser(quick, form, "approve")
    form.wait(TIMEOUT)

    assert form.error.value == ""
    assert handed == [form.client] and form.client.source == "browser sign-in"
    assert "through the browser" in plain(form.status.value)
    assert len(form.client.read("session", progress=False)) > 0
    token = path.read_text()
    assert token.startswith("bst_") and mode(path) == 0o600
    assert_no_secret(form, token, form.device.device_code.reveal())
    assert form.cancel_button.disabled is True


def test_browser_sign_in_denied(quick, tmp_path):
    path = tmp_path / "token"
    form = LoginForm(quick.url, method="browser", token_path=path)
    form.remember.value = True
    form.sign_in_button.click()
    answer_at_browser(quick, form, "deny")
    form.wait(TIMEOUT)
    assert form.client is None and not path.exists()
    assert "denied" in plain(form.error.value)
    assert plain(form.status.value) == "Not signed in."


def test_browser_sign_in_that_nobody_approves_expires(make_sandbox):
    sb = make_sandbox(device_interval=1, device_ttl=2)
    form = LoginForm(sb.url, method="browser")
    form.sign_in_button.click()
    form.wait(TIMEOUT)
    assert form.client is None
    said = plain(form.error.value)
    assert "Browser sign-in" in said and "again" in said


def test_browser_sign_in_can_be_cancelled(quick):
    form = LoginForm(quick.url, method="browser")
    form.sign_in_button.click()
    form.cancel_button.click()
    form.wait(TIMEOUT)
    assert form.client is None
    assert "cancelled" in plain(form.status.value) and form.sign_in_button.disabled is False


# -- errors inside callbacks --------------------------------------------------------------


def test_exception_in_an_on_login_callback_is_shown(sandbox, widget_callback_errors):
    def broken(client: bsp.Client) -> None:
        raise RuntimeError("the notebook's own callback broke")

    form = LoginForm(sandbox.url)
    form.on_login(broken)
    form.token.value = sandbox.token
    form.sign_in_button.click()
    form.wait(TIMEOUT)
    assert form.client is not None  # signed in all the same
    assert "RuntimeError: the notebook's own callback broke" in plain(form.error.value)
    assert widget_callback_errors == []  # shown in the widget, not left to ipywidgets' log
    form.on_login(broken, remove=True)
    form.token.value = sandbox.token
    form.sign_in_button.click()
    form.wait(TIMEOUT)
    assert form.error.value == ""


def test_the_fixture_sees_what_ipywidgets_only_logs(widget_callback_errors):
    button = widgets.Button()
    button.on_click(lambda _button: 1 / 0)
    button.click()  # ipywidgets catches the error and logs it: nothing raised here
    assert len(widget_callback_errors) == 1
    assert widget_callback_errors[0].exc_info[0] is ZeroDivisionError
    widget_callback_errors.clear()  # seen and expected: this one test must not fail for it


def test_exception_while_loading_is_shown(client, monkeypatch, widget_callback_errors):
    def broken(*args: Any, **kwargs: Any) -> Iterator[Any]:
        raise RuntimeError("pages went missing")

    builder = builder_for(client, "session")
    monkeypatch.setattr(client, "read_linked", broken)
    builder.load_button.click()
    builder.wait(TIMEOUT)
    assert builder.result is None
    assert "RuntimeError: pages went missing" in plain(builder.error.value)
    assert builder.progress.bar_style == "danger" and builder.load_button.disabled is False
    assert widget_callback_errors == []


def test_typed_errors_are_shown_as_they_are(sandbox):
    refused = bsp.connect(sandbox.url, token="bst_pat_" + secrets.token_urlsafe(32), progress=False)
    with pytest.raises(bsp.UnauthorizedError) as caught:
        refused.read_linked("session")
    builder = builder_for(refused, "session")
    builder.load_button.click()
    builder.wait(TIMEOUT)
    assert plain(builder.error.value) == str(caught.value)


# -- QueryBuilder: the controls -------------------------------------------------------------


def test_models_are_grouped_by_app_and_follow_the_portal(client):
    builder = QueryBuilder(client)
    labels = [label for label, _value in builder.model.options]
    apps = [label.split(" · ")[0] for label in labels]
    assert all(f"{catalog.model(v).app} · {v}" == label for label, v in builder.model.options)
    assert apps == sorted(apps, key=apps.index)  # each app's models together
    assert [v for _l, v in builder.model.options] == sorted(
        client.readable_models("private"), key=lambda n: apps.index(catalog.model(n).app)
    )
    builder.model.value = "session"
    add_filter(builder, "name", "icontains", "mm")
    builder.portal.value = "public"
    assert {v for _l, v in builder.model.options} == set(client.readable_models("public"))
    assert builder.model.value == "session" and builder.query()["filters"] == {"name.icontains": "mm"}
    assert 'portal="public"' in builder.code
    builder.portal.value = "private"
    builder.model.value = "project_membership_invitation"  # on the private portal only
    builder.portal.value = "public"
    assert builder.model.value == builder.model.options[0][1]  # the first public model instead
    assert builder.filters == [] and builder.query()["model"] == builder.model.value


@pytest.mark.parametrize(
    "model, field, operator, kind",
    [
        ("session", "name", "icontains", widgets.Text),
        ("session", "date_time", "gte", widgets.DatetimePicker),
        ("subject", "birth_date", "lt", widgets.DatePicker),
        ("breeding", "litter_size", "gte", widgets.IntText),
        ("project", "is_public", "exact", widgets.Checkbox),
        ("subject", "death_date", "isnull", widgets.Dropdown),
        ("behavior", "order", "in", widgets.Text),
        ("session", "projects", "exact", widgets.Text),
    ],
)
def test_operators_and_value_inputs_follow_the_field_type(client, model, field, operator, kind):
    builder = builder_for(client, model)
    builder.add_filter_button.click()
    row = builder.filters[-1]
    row.field.value = field
    spec = catalog.model(model).field(field)
    expected = OPERATORS["relation" if spec.is_relation else spec.type]
    assert [op for _label, op in row.operator.options] == list(expected)
    row.operator.value = operator
    assert type(row.value) is kind
    assert row.value in row.box.children


def test_include_checkboxes_are_the_models_relations(client):
    builder = builder_for(client, "session")
    assert list(builder.includes) == [f.name for f in catalog.model("session").relations]
    builder.model.value = "subject"
    assert list(builder.includes) == [f.name for f in catalog.model("subject").relations]
    assert list(builder._include_box.children) == list(builder.includes.values())


def test_filter_rows_are_added_and_removed(client):
    builder = builder_for(client, "session")
    add_filter(builder, "name", "icontains", "mm")
    add_filter(builder, "description", "isnull", False)
    assert builder.query()["filters"] == {"name.icontains": "mm", "description.isnull": False}
    builder.filters[0].remove_button.click()
    assert len(builder.filters) == 1 and len(builder._filter_box.children) == 1
    assert builder.query()["filters"] == {"description.isnull": False}
    assert '"description.isnull": False' in builder.code
    builder.model.value = "project"  # another model: its own fields, so no rows
    assert builder.filters == [] and builder.query()["filters"] == {}


def test_incomplete_filters_say_what_is_missing(client):
    builder = builder_for(client, "session")
    builder.add_filter_button.click()  # name, "is", nothing typed
    assert "type a value" in plain(builder.code_view.value)
    builder.load_button.click()
    builder.wait(TIMEOUT)
    assert builder.result is None and "type a value" in plain(builder.error.value)
    builder.filters[0].value.value = "x"
    builder.add_filter_button.click()
    builder.filters[1].value.value = "y"
    assert "Two filter rows use 'name'" in plain(builder.code_view.value)
    builder.filters[1].remove_button.click()
    builder.filters[0].operator.value = "in"
    builder.filters[0].value.value = " , "
    assert "separated by commas" in plain(builder.code_view.value)


def test_a_malformed_number_in_a_list_is_named(client):
    builder = builder_for(client, "behavior")
    add_filter(builder, "order", "in", "1, two")
    assert "'two' is not a whole number" in plain(builder.code_view.value)


# -- QueryBuilder: loading ------------------------------------------------------------------

VALUE_KINDS = [
    ("session", "name", "icontains", "mm", {"name.icontains": "mm"}),
    ("session", "date_time", "gte", datetime(2023, 1, 1, tzinfo=UTC), {"date_time.gte": "2023-01-01T00:00:00Z"}),
    ("subject", "birth_date", "lt", date(2021, 1, 1), {"birth_date.lt": "2021-01-01"}),
    ("breeding", "litter_size", "gte", 6, {"litter_size.gte": 6}),
    ("project", "is_public", "exact", True, {"is_public": True}),
    ("subject", "death_date", "isnull", False, {"death_date.isnull": False}),
    ("behavior", "order", "in", "0, 1", {"order.in": [0, 1]}),
]


@pytest.mark.parametrize(
    "model, field, operator, value, filters",
    VALUE_KINDS,
    ids=["text", "datetime", "date", "integer", "boolean", "isnull", "in-integers"],
)
def test_filters_of_each_value_kind(client, model, field, operator, value, filters):
    builder = builder_for(client, model)
    add_filter(builder, field, operator, value)
    assert builder.query()["filters"] == filters
    builder.load_button.click()
    builder.wait(TIMEOUT)

    assert builder.error.value == ""
    expected = client.read(model, filters=filters, progress=False)
    assert sorted(builder.result[model].index) == sorted(expected.index)
    assert 0 < len(expected) < len(client.read(model, progress=False)) or filters == {"order.in": [0, 1]}
    assert builder.progress.value == len(expected)
    assert f"Loaded {len(expected):,} {model} records" in plain(builder.status.value)


def test_text_list_filter_matches_any_of_the_names(client):
    names = list(client.read("session", progress=False)["name"].iloc[:2])
    builder = builder_for(client, "session")
    add_filter(builder, "name", "in", ", ".join(names))
    builder.load(wait=True, timeout=TIMEOUT)
    assert sorted(builder.result["session"]["name"]) == sorted(names)


def test_include_sort_and_the_output(client):
    builder = builder_for(client, "session")
    builder.includes["projects"].value = True
    builder.includes["behaviors"].value = True
    builder.sort_field.value = "date_time"
    builder.sort_descending.value = True
    builder.load(wait=True, timeout=TIMEOUT)

    result = builder.result
    assert {"session", "project", "behavior"} <= set(result.tables)
    assert len(result.links["session.projects"]) > 0 and len(result["behavior"]) > 0
    expected = client.read("session", sort=["-date_time"], progress=False)
    assert list(result["session"].index) == list(expected.index)
    shown = plain(builder.output.value)
    for name, frame in result.to_dict().items():
        assert re.search(rf"{re.escape(name)} {len(frame):,}\b", shown)  # every table's row count
    # One grid per table, in a tab each, and the plot of the primary table last.
    views = builder.results
    assert list(views.tabs.titles) == [*result.to_dict(), "Plot: session"]
    for name, frame in result.to_dict().items():
        grid = views.grids[name]
        assert len(grid.df) == len(frame) and list(grid.df.columns)[: frame.index.nlevels] != []
    assert list(views.grids["session"].df["id"]) == list(expected.index)  # in the order read, id first
    plot = views.tabs.children[-1]
    assert isinstance(plot, widgets.Image) and plot.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_generated_code_gives_the_same_result(client):
    builder = builder_for(client, "session")
    builder.portal.value = "public"
    builder.includes["projects"].value = True
    add_filter(builder, "name", "icontains", "mm")
    add_filter(builder, "date_time", "gte", datetime(2021, 6, 1, tzinfo=UTC))
    builder.sort_field.value = "date_time"
    builder.sort_descending.value = True
    builder.load(wait=True, timeout=TIMEOUT)

    code = builder.code
    assert code.startswith('lf = client.read_linked(\n    "session",')
    assert html.unescape(re.sub(r"<[^>]+>", "", builder.code_view.value)) == code  # shown as is
    namespace: dict[str, Any] = {"client": client}
    exec(code, namespace)
    assert len(builder.result["session"]) > 0
    assert_same_frames(builder.result, namespace["lf"])


def test_short_code_fits_one_line(client):
    builder = builder_for(client, "project")
    assert builder.code == 'lf = client.read_linked("project", portal="private")'
    namespace: dict[str, Any] = {"client": client}
    exec(builder.code, namespace)
    builder.load(wait=True, timeout=TIMEOUT)
    assert_same_frames(builder.result, namespace["lf"])


def test_public_portal_reads_public_records(client):
    builder = builder_for(client, "project")
    builder.portal.value = "public"
    builder.load(wait=True, timeout=TIMEOUT)
    assert sorted(builder.result["project"].index) == sorted(client.read("project", portal="public").index)
    assert len(builder.result["project"]) < len(client.read("project", progress=False))


def test_cancel_stops_the_load_and_keeps_the_previous_result(sandbox):
    # Pages of 20: the load has many pages, and Cancel is pressed when the first one arrives.
    client = bsp.Client(sandbox.url, auth.StaticToken(sandbox.token), page_size=20, progress=False)
    builder = builder_for(client, "session")
    builder.load(wait=True, timeout=TIMEOUT)
    first = builder.result
    total = len(first["session"])
    assert total > 40

    def press_cancel(change: dict) -> None:
        if change["new"] > 0:
            builder.cancel_button.click()

    builder.progress.observe(press_cancel, names="value")
    builder.load_button.click()
    builder.wait(TIMEOUT)
    assert builder.result is first
    assert builder.progress.value == 20 and builder.progress.max == total
    assert builder.progress.bar_style == "warning"
    assert "Cancelled after 20 records" in plain(builder.status.value)
    assert builder.load_button.disabled is False and builder.cancel_button.disabled is True


def lose_a_record_on_the_first_walk(client: bsp.Client, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Drop the last record of page 2 on the first walk only (as a record deleted mid-walk would); count walks."""
    real_get, walks = client.transport.get, []

    def get(url: str, params: Any = None, **kwargs: Any) -> Any:
        body = real_get(url, params=params, **kwargs)
        offset = str(dict(params or []).get("offset"))
        walks.extend([1] if offset == "0" else [])
        if len(walks) == 1 and offset == str(client.page_size - 1) and isinstance(body, dict):
            return {**body, "sessions": body["sessions"][:-1]}
        return body

    monkeypatch.setattr(client.transport, "get", get)
    return walks


def test_a_load_re_walks_where_read_linked_does(sandbox, monkeypatch):
    # The same failed first walk: a stream of pages cannot recover from it, read_linked walks again,
    # and so does the widget's Load, which is read_linked itself.
    client = bsp.Client(sandbox.url, auth.StaticToken(sandbox.token), page_size=50, workers=1, progress=False)
    want = client.read_linked("session")["session"]
    walks = lose_a_record_on_the_first_walk(client, monkeypatch)
    with pytest.raises(bsp.PaginationError):
        list(client.iter_pages("session"))
    walks.clear()
    pd.testing.assert_frame_equal(client.read_linked("session")["session"], want)
    assert len(walks) == 2
    walks.clear()
    builder = builder_for(client, "session")
    builder.load(wait=True, timeout=TIMEOUT)
    assert len(walks) == 2 and builder.error.value == ""
    pd.testing.assert_frame_equal(builder.result["session"], want)
    assert builder.progress.value == builder.progress.max == len(want)
    assert f"Loaded {len(want):,} session records" in plain(builder.status.value)


# -- Explorer ---------------------------------------------------------------------------


def test_explorer_sign_in_query_and_export(sandbox, tmp_path):
    explorer = Explorer(url=sandbox.url, token_path=tmp_path / "token")
    assert explorer.tabs.titles == ("Sign in", "Query", "Export")
    assert explorer.client is None and "Sign in first" in plain(explorer._query_tab.children[0].value)
    explorer.login.token.value = sandbox.token
    explorer.login.sign_in_button.click()
    explorer.wait(TIMEOUT)
    assert explorer.login.error.value == ""
    assert explorer.client is explorer.login.client
    assert explorer.tabs.selected_index == 1 and explorer._query_tab.children == (explorer.builder,)

    builder = explorer.builder
    builder.model.value = "session"
    builder.includes["projects"].value = True
    add_filter(builder, "name", "icontains", "mm")
    builder.load_button.click()
    explorer.wait(TIMEOUT)
    result = builder.result
    assert len(result["session"]) > 0

    explorer.snapshot_path.value = str(tmp_path / "snap")
    explorer.snapshot_button.click()
    explorer.wait(TIMEOUT)
    assert explorer.error.value == ""
    assert "Snapshot written" in plain(explorer.export_status.value)
    snap = bsp.read_snapshot(tmp_path / "snap")
    assert snap.manifest["queries"]["session"]["filters"] == {"name.icontains": "mm"}
    for name in ("session", "project"):
        pd.testing.assert_frame_equal(snap[name].sort_index(), result[name].sort_index(), obj=name)

    explorer.csv_folder.value = str(tmp_path / "csv")
    explorer.csv_button.click()
    assert explorer.error.value == ""
    for name, frame in result.to_dict().items():
        written = pd.read_csv(tmp_path / "csv" / f"{name}.csv")
        assert len(written) == len(frame)
    sessions = pd.read_csv(tmp_path / "csv" / "session.csv", index_col="id")
    assert sorted(sessions.index) == sorted(result["session"].index)
    assert f"{len(result.to_dict())} CSV files written" in plain(explorer.export_status.value)
    assert_no_secret(explorer, sandbox.token)


def test_explorer_with_a_client_skips_sign_in(client, tmp_path):
    explorer = Explorer(client)
    assert explorer.login is None and explorer.tabs.titles == ("Query", "Export")
    assert explorer.client is client
    explorer.csv_folder.value = str(tmp_path / "csv")
    explorer.csv_button.click()
    assert "Load data first" in plain(explorer.error.value)
    assert not (tmp_path / "csv").exists()


def test_export_errors_are_shown(client, tmp_path):
    explorer = Explorer(client)
    explorer.builder.model.value = "project"
    target = tmp_path / "a-file"
    target.write_text("not a folder")
    explorer.snapshot_path.value = str(target)
    explorer.snapshot_button.click()
    explorer.wait(TIMEOUT)
    assert "it is a file" in plain(explorer.error.value)
    assert "not written" in plain(explorer.export_status.value)


# -- QueryBuilder: live counts, a builder waiting for its sign-in -------------------------------


def test_the_status_counts_records_of_the_total_and_retries_during_a_load(make_sandbox):
    flaky = make_sandbox(faults={"503": 0.5}, seed=3)
    client = bsp.connect(flaky.url, token=flaky.token, progress=False, retry=bsp.RetryPolicy(attempts=20, backoff=0.0))
    builder = builder_for(client, "session")
    said: list[str] = []
    builder.status.observe(lambda change: said.append(plain(change["new"])), names="value")
    builder.load(wait=True, timeout=TIMEOUT)
    total = len(builder.result["session"])
    steps = [s for s in said if s.startswith("Loading… ") and " of " in s]
    assert steps, said
    counts = [int(re.search(r"Loading… ([\d,]+) of", s).group(1).replace(",", "")) for s in steps]
    assert counts == sorted(counts) and counts[-1] == total
    assert all(f"of {total:,} sessions" in s and "records/s" in s for s in steps)
    retried = sum(client.transport.retries.values())
    assert retried > 0 and f"; {retried:,} retr" in steps[-1]


def test_a_builder_given_a_sign_in_form_waits_for_it(sandbox):
    form = LoginForm(sandbox.url)
    builder = QueryBuilder(form)
    assert builder.client is None and builder.result is None and builder.code.startswith("# Sign in first")
    assert "Sign in first" in plain(builder.children[0].value)
    builder.load_button.click()  # nothing to load yet: said in the widget, not raised
    form.token.value = sandbox.token
    form.sign_in(wait=True, timeout=TIMEOUT)
    assert builder.client is form.client and builder.model.value == "project"
    builder.load(wait=True, timeout=TIMEOUT)
    assert len(builder.result["project"]) == len(form.client.read("project", progress=False))


def _downloads(markup: str) -> dict[str, bytes]:
    """The files the download links of ``markup`` hold, by the name the browser saves them as."""
    import base64

    links = re.findall(r'<a download="([^"]+)" href="data:[^;]+;base64,([^"]*)"', markup)
    return {html.unescape(name): base64.b64decode(data) for name, data in links}


def test_exports_are_offered_as_browser_downloads(client, tmp_path):
    import io
    import zipfile

    explorer = Explorer(client)
    explorer.builder.model.value = "session"
    explorer.builder.includes["projects"].value = True
    explorer.snapshot_path.value = str(tmp_path / "snap")
    explorer.write_snapshot(wait=True, timeout=TIMEOUT)
    files = _downloads(explorer.downloads.value)
    assert list(files) == ["snap.zip"]
    archive = zipfile.ZipFile(io.BytesIO(files["snap.zip"]))
    on_disk = sorted(p for p in (tmp_path / "snap").rglob("*") if p.is_file())
    assert sorted(archive.namelist()) == sorted(f"snap/{p.relative_to(tmp_path / 'snap')}" for p in on_disk)
    assert all(archive.read(f"snap/{p.relative_to(tmp_path / 'snap')}") == p.read_bytes() for p in on_disk)

    explorer.builder.load(wait=True, timeout=TIMEOUT)
    explorer.csv_folder.value = str(tmp_path / "csv")
    paths = explorer.write_csv()
    files = _downloads(explorer.downloads.value)
    assert files == {p.name: p.read_bytes() for p in paths} and "session.projects.csv" in files
