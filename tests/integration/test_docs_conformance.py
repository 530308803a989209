"""The sandbox answers as the BrainSTEM documentation's own examples show.

:mod:`docs_examples` parses the example requests and responses of every page under
``brainstem_docs/api/`` (found at run time beside the repository; the test fails,
naming the paths it tried, when the docs are missing). Each list, detail, add,
change and delete example is replayed against a sandbox with the documented
envelope (``Sandbox(envelope="docs")``) as the demo user, or as an administrator
where the section says "only administrators can ...", and its answer is compared
with the example:

- the status code: the first one of the section's ``Responses`` line (200, 201, 204);
- the top-level keys: the records key alone, plus ``meta`` where the page says the
  list answer carries one (public lists on most pages, every list on a few);
- the field names of the records, and the kind of every value (string, number,
  bool, null, list, object, and the kinds inside lists). A null on either side
  matches any kind where the catalog lets the field be empty (not required, or a
  date, JSON or single relation).

Writes use the docs' own add examples as their data: placeholders and ids of
related records are replaced by records the demo user may use (created with the
add example of their model, or the first record of a shared list), and unique
names get a suffix. Lists and details run first, on the seeded data, then adds,
changes, actions and deletes (deletes on records made for them). Of the actions, approval accept/reject (as the
administrator, on approvals made for them), group join/leave and the log entry actions
are replayed; the invitation and request actions are not (each consumes a pending
invitation of a particular person: test_sandbox_permissions.py covers them).

A difference the docs themselves cause (an example that disagrees with its own field
table or with another page) is listed in :data:`EXCEPTIONS` with the reason; every
entry must still occur (``test_every_listed_exception_still_occurs``).

``DATABASES`` parametrizes the sandbox's database: SQLite and PostgreSQL (the
database production Django services run on).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import docs_examples
import pytest
import requests
from docs_examples import Example, is_placeholder

from brainstem_pandas import catalog
from brainstem_pandas.sandbox import Sandbox

DATABASES = ["sqlite", "postgresql"]
REVIEWER = "reviewer@brainstem.sandbox"  # the sandbox's administrator (see sandbox/seed/)
REVIEWER_PASSWORD = "sandbox-user-password"
CHECKED = ("list", "detail", "add", "change", "delete")
NOT_REPLAYED = {  # actions whose examples are parsed but not replayed (see the module docstring)
    "project_membership_invitation",
    "project_group_membership_invitation",
    "group_membership_invitation",
    "group_membership_request",
}
SUCCESS = {"list": 200, "detail": 200, "add": 201, "change": 200, "delete": 204, "action": 200}
CREATED_APPS = ("stem", "modules", "personal_attributes")  # records the demo user makes for itself

try:
    ROOT = docs_examples.docs_root()
    EXAMPLES = docs_examples.all_examples(ROOT)
    MISSING = ""
except docs_examples.DocsMissing as exc:
    ROOT, EXAMPLES, MISSING = None, [], str(exc)
REPLAYED = [
    ex
    for ex in EXAMPLES
    if ex.operation in CHECKED or (ex.operation == "action" and catalog.model(ex.model).name not in NOT_REPLAYED)
]

# Differences the docs themselves cause, one table: "<page>: <difference>" -> why it is
# the docs and not the sandbox. An entry covers every example of its page.
_TABLE_NOT_EXAMPLE = "in the page's field table, but the page's examples leave it out"
_COMMENTS = "`comments` is in the field table (used when proposing approval changes) but in no example"
_APPROVAL = (
    "add and change answer with the approval record; this page's add/change examples omit the approval "
    "fields that its own List approvals / Detail approval examples show (as do regulatoryauthority.md's)"
)
_APPROVAL_PAGES = (
    "dissemination/journal.md",
    "resources/consumable.md",
    "resources/hardwaredevice.md",
    "resources/supplier.md",
    "taxonomies/behavioralcategory.md",
    "taxonomies/behavioralparadigm.md",
    "taxonomies/setuptype.md",
    "taxonomies/species.md",
    "taxonomies/strain.md",
)
EXCEPTIONS: dict[str, str] = {
    **{f"{page}: field 'comments' answered, not in the example": _COMMENTS for page in _APPROVAL_PAGES},
    **{
        f"{page}: field {name!r} answered, not in the example": _APPROVAL
        for page in _APPROVAL_PAGES
        for name in ("action", "instance_id", "reviewer", "status")
    },
    **{
        f"stem/breeding.md: field {name!r} answered, not in the example": (
            "in the field table and the Detail example; the List, Add and Change examples leave it out"
        )
        for name in (
            "birth_date",
            "description",
            "end_date",
            "expected_genotype",
            "litter_size",
            "start_date",
            "tags",
            "weaning_date",
        )
    },
    **{
        f"stem/{page}.md: field {name!r} answered, not in the example": _TABLE_NOT_EXAMPLE
        for page in ("cohort", "collection")
        for name in ("description", "tags")
    },
    **{
        f"personal_attributes/license.md: field {name!r} answered, not in the example": _TABLE_NOT_EXAMPLE
        for name in ("behavioralassays", "procedures", "subjects")
    },
    "stem/session.md: field 'links' answered, not in the example": _TABLE_NOT_EXAMPLE,
    "stem/session.md: field 'name_used_in_storage' answered, not in the example": _TABLE_NOT_EXAMPLE,
    "stem/subject.md: field 'breeding' answered, not in the example": _TABLE_NOT_EXAMPLE,
    "stem/subject.md: field 'status' answered, not in the example": (
        "in the field table and the List example; the Detail and Change examples leave it out"
    ),
    "stem/project.md: field 'links' answered, not in the example": (
        "in the field table and the List, Detail and Change examples; the Add example leaves it out"
    ),
    "modules/behavior.md: field 'order' answered, not in the example": _TABLE_NOT_EXAMPLE,
    "modules/behavior.md: field 'notes' answered, not in the example": (
        "in the field table and the Add, Detail and Change examples; the List example leaves it out"
    ),
    "modules/subjectlog.md: field 'user' is number, documented string": (
        "the examples write '<user-id>' strings, but user ids are integers (users/user.md; the catalog)"
    ),
    "modules/subjectlog.md: field 'user' answered, not in the example": (
        "in the field table and the page's other examples; the Remove entry example leaves it out"
    ),
    "personal_attributes/setup.md: field 'specifications' is list, documented object": (
        "the field table says a JSON array; the Detail example shows an object"
    ),
    "personal_attributes/setup.md: field 'specifications' is list, documented list/object": (
        "the field table says a JSON array; the List example shows an array and an object"
    ),
}


# -- comparing ------------------------------------------------------------------


def kind(value: Any) -> str:
    """The JSON kind of a value: string, number, bool, null, list or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


def nullable(m: catalog.Model, name: str) -> bool:
    """True where the catalog lets the field be empty (null then matches any kind)."""
    try:
        f = m.field(name)
    except Exception:
        return True  # not a documented field: nothing says it cannot be null
    return not f.required or f.type in ("date", "datetime", "json") or (f.is_relation and not f.many)


def _kinds(records: list[dict], name: str) -> set[str]:
    return {kind(r[name]) for r in records if name in r}


def _item_kinds(records: list[dict], name: str) -> set[str]:
    return {kind(v) for r in records if isinstance(r.get(name), list) for v in r[name]}


def records_diffs(m: catalog.Model, documented: list[dict], answered: list[dict]) -> list[str]:
    """Field names and value kinds of documented records against answered ones."""
    if not answered:
        return ["no record answered to compare with"]
    if not all(isinstance(r, dict) for r in documented + answered):
        return ["a record is not an object"]
    doc_fields = {k for r in documented for k in r}
    got_fields = {k for r in answered for k in r}
    out = [f"field {n!r} documented, not answered" for n in sorted(doc_fields - got_fields)]
    out += [f"field {n!r} answered, not in the example" for n in sorted(got_fields - doc_fields)]
    for name in sorted(doc_fields & got_fields):
        doc, got = _kinds(documented, name), _kinds(answered, name)
        if nullable(m, name):
            doc, got = doc - {"null"}, got - {"null"}
        if doc and got and not doc <= got:
            out.append(f"field {name!r} is {'/'.join(sorted(got))}, documented {'/'.join(sorted(doc))}")
            continue
        doc_items, got_items = _item_kinds(documented, name), _item_kinds(answered, name)
        if doc_items and got_items and not doc_items <= got_items:
            out.append(f"field {name!r} holds {'/'.join(sorted(got_items))}, documented {'/'.join(sorted(doc_items))}")
    return out


def answer_diffs(ex: Example, m: catalog.Model, response: requests.Response) -> list[str]:
    """Everything in one answer that differs from its example."""
    expected = ex.statuses[0] if ex.statuses else SUCCESS[ex.operation]
    if response.status_code != expected:
        return [f"status {response.status_code} answered, documented {expected}"]
    if not ex.has_response:
        return []
    body, doc = response.json(), ex.response
    if not isinstance(doc, dict) or not isinstance(body, dict):
        return [f"answer is {kind(body)}, documented {kind(doc)}"]
    out = []
    documented_keys = set(doc)
    if ex.operation == "list" and (ex.lists_meta == "all" or ex.lists_meta == ex.portal == "public"):
        documented_keys.add("meta")  # the page's text adds it to what its example shows
    if set(body) != documented_keys:
        out.append(f"top-level keys {sorted(body)} answered, documented {sorted(documented_keys)}")
    key = next(iter(doc), None)
    if key in body:
        documented = doc[key] if isinstance(doc[key], list) else [doc[key]]
        answered = body[key] if isinstance(body[key], list) else [body[key]]
        out += records_diffs(m, documented, answered)
    return out


# -- replaying --------------------------------------------------------------------


def _session(token: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


class Replay:
    """Replays the docs' examples against one sandbox, making the records they need."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.demo = _session(sb.token)
        r = requests.post(
            f"{sb.url}/api/auth/token/", json={"email": REVIEWER, "password": REVIEWER_PASSWORD}, timeout=60
        )
        assert r.status_code == 200, r.text
        self.admin = _session(r.json()["access"])
        self.adds = {catalog.model(ex.model).name: ex for ex in EXAMPLES if ex.operation == "add"}
        self.made: dict[str, Any] = {}
        self.making: set[str] = set()
        users = self.get(catalog.model("user"), params={"filter{email}": sb.email}).json()["users"]
        self.demo_id = users[0]["id"]

    def url(self, m: catalog.Model, pk: Any = None, portal: str = "private") -> str:
        return f"{self.sb.url}/api/{portal}/{m.app}/{m.segment}/" + (f"{pk}/" if pk is not None else "")

    def get(self, m: catalog.Model, pk: Any = None, portal: str = "private", **kw: Any) -> requests.Response:
        http = self.demo if portal == "private" else requests
        return http.get(self.url(m, pk, portal), timeout=60, **kw)

    # -- records to point at ------------------------------------------------------
    def first(self, m: catalog.Model) -> Any:
        """The id of the first record the demo user sees, or a new one when there is none."""
        records = self.get(m, params={"limit": 1}).json()[m.list_key]
        if records:
            return records[0]["id"]
        return self.pending_approval(m) if m.kind == "approval" else self.target(m, fresh=True)

    def pending_approval(self, m: catalog.Model) -> Any:
        """A new pending approval of approval model ``m``: its parent's add example, submitted."""
        parent = next(p for p in catalog.all_models().values() if p.approval_model == m.name)
        add = self.adds[parent.name]
        made = self.demo.post(self.url(parent), json=self.resolve(parent, add.kwargs["data"]), timeout=60)
        assert made.status_code == 201, made.text
        return made.json()[parent.write_key or parent.detail_key]["id"]

    def target(self, m: catalog.Model, fresh: bool = False) -> Any:
        """An id of ``m`` the demo user may link to: its own, made with the docs' add example."""
        if m.name == "user":
            return self.demo_id if not fresh else self._new_user()
        owned = m.app in CREATED_APPS or m.name in ("group", "laboratory")
        if not owned and not fresh:
            return self.first(m)
        if fresh or m.name not in self.made:
            assert m.name not in self.making, f"the docs' add examples depend on each other in a cycle at {m.name}"
            self.making.add(m.name)
            try:
                record = self.create(m)
            finally:
                self.making.discard(m.name)
            if fresh:
                return record
            self.made[m.name] = record
        return self.made[m.name]

    def _new_user(self) -> Any:
        email = f"docs-{uuid.uuid4().hex[:10]}@lab.sandbox"
        self.sb.add_user(email, "a-docs-user-password")
        return self.get(catalog.model("user"), params={"filter{email}": email}).json()["users"][0]["id"]

    def create(self, m: catalog.Model) -> Any:
        """A new record of ``m`` from its add example; approvals are accepted by the administrator."""
        ex = self.adds[m.name]
        http = self.admin if ex.admin_only else self.demo
        r = http.post(self.url(m), json=self.resolve(m, ex.kwargs.get("data") or {}), timeout=60)
        assert r.status_code == 201, f"{ex.name}: {r.status_code} {r.text}"
        record = r.json()[m.write_key or m.detail_key]
        if not m.approval_model:
            return record["id"]
        approval = catalog.model(m.approval_model)
        accept = self.admin.patch(f"{self.url(approval, record['id'])}accept/", timeout=60)
        assert accept.status_code == 200, accept.text
        return accept.json()[approval.detail_key]["instance_id"]

    def resolve(self, m: catalog.Model, data: Any) -> Any:
        """The example's data with related ids replaced by usable ones and unique names made unique."""
        data = copy.deepcopy(data)
        if not isinstance(data, dict):
            return data
        for name, value in data.items():
            try:
                f = m.field(name)
            except Exception:
                continue
            if f.is_relation and f.related_model and value not in (None, [], ""):
                related = catalog.model(f.related_model)
                one = lambda: self.target(related, fresh=f.unique)  # noqa: E731 - a laboratory needs its own group
                data[name] = [one()] if isinstance(value, list) else one()
            elif isinstance(value, str) and (f.unique or name in ("name", "title")) and not is_placeholder(value):
                data[name] = f"{value} {uuid.uuid4().hex[:8]}"
        return data

    # -- one example ------------------------------------------------------------------
    def run(self, ex: Example) -> list[str]:
        m = catalog.model(ex.model)
        http = self.admin if ex.admin_only else self.demo
        if ex.operation == "list":
            return self.list_diffs(ex, m)
        if ex.operation == "detail":
            return answer_diffs(ex, m, self.get(m, self.first(m), portal=ex.portal))
        if ex.operation == "add":
            r = http.post(self.url(m), json=self.resolve(m, ex.kwargs.get("data") or {}), timeout=60)
            return answer_diffs(ex, m, r)
        if ex.operation == "change":
            pk = self.target(m) if m.name in self.adds or m.name == "user" else self.first(m)
            data = self.resolve(m, ex.kwargs.get("data") or {})
            return answer_diffs(ex, m, http.request(ex.method or "PATCH", self.url(m, pk), json=data, timeout=60))
        if ex.operation == "action":
            return self.action_diffs(ex, m)
        pk = self.target(m, fresh=True)
        return answer_diffs(ex, m, http.delete(self.url(m, pk), timeout=60))

    def action_diffs(self, ex: Example, m: catalog.Model) -> list[str]:
        """Approval accept/reject by the administrator, group join/leave and log entries by the demo user."""
        option = str(ex.kwargs["options"]).strip("/")
        if m.kind == "approval":
            pk, http = self.pending_approval(m), self.admin
        elif m.name == "group":
            groups = self.get(m, params={"limit": 100}).json()[m.list_key]
            member = {"is_manager": False, "is_owner": False}
            wanted = (lambda g: self.sb.email not in g["users"]) if option == "join" else None
            pick = wanted or (lambda g: g["users"].get(self.sb.email) == member)
            pk, http = next(g["id"] for g in groups if pick(g)), self.demo
        else:
            pk, http = self.target(m), self.demo
        url = f"{self.url(m, pk)}{option}/"
        r = http.request(ex.method or "GET", url, json=ex.kwargs.get("data"), timeout=60)
        return answer_diffs(ex, m, r)

    def list_diffs(self, ex: Example, m: catalog.Model) -> list[str]:
        answer = self.get(m, portal=ex.portal)
        if answer.ok and not answer.json().get(m.list_key) and m.name in self.adds and ex.portal == "private":
            self.target(m)  # nothing seeded for the demo user to compare with: make one record
            answer = self.get(m, portal=ex.portal)
        out = answer_diffs(ex, m, answer)
        if ex.lists_meta and "public" in m.portals.get("list", ()):
            body = self.get(m, portal="public").json()
            if set(body) != {m.list_key, "meta"} or not isinstance(body.get("meta"), dict):
                out.append(f"public list keys {sorted(body)}, documented {[m.list_key, 'meta']}")
        return out


# Reads first, on the seeded data alone (the same records every run), then the writes.
ORDER = {"list": 0, "detail": 0, "add": 1, "change": 2, "action": 3, "delete": 4}


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module", params=DATABASES)
def database(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def docs_sandbox(database: str) -> Iterator[Sandbox]:
    options = {} if database == "sqlite" else {"database": database}
    with Sandbox(sessions=60, envelope="docs", **options) as sb:
        yield sb


@pytest.fixture(scope="module")
def differences(docs_sandbox: Sandbox) -> dict[str, list[str]]:
    """Every replayed example's differences, replayed once per database in dependency order."""
    if MISSING:
        pytest.fail(MISSING)
    replay = Replay(docs_sandbox)
    return {ex.name: replay.run(ex) for ex in sorted(REPLAYED, key=lambda ex: ORDER[ex.operation])}


# -- tests ---------------------------------------------------------------------------


def test_the_docs_are_there_and_every_endpoint_page_has_examples():
    assert not MISSING, MISSING
    assert ROOT is not None
    assert len(docs_examples.pages(ROOT)) >= 54
    with_examples = {ex.page for ex in EXAMPLES}
    documented = {catalog.model(ex.model).name for ex in EXAMPLES}
    assert {m.name for m in catalog.endpoint_models()} <= documented
    assert len(with_examples) == 38  # the endpoint pages; index and schema pages hold none
    replayed = {(catalog.model(ex.model).name, ex.operation) for ex in REPLAYED}
    offered = {(m.name, op) for m in catalog.all_models().values() for op in CHECKED if m.portals.get(op)}
    assert sorted(offered - replayed) == [], "operations the catalog offers that no docs example replays"


@pytest.mark.parametrize("example", REPLAYED, ids=lambda ex: ex.name)
def test_the_sandbox_answers_as_the_example_shows(differences, example):
    unexplained = [d for d in differences[example.name] if f"{example.page}: {d}" not in EXCEPTIONS]
    assert not unexplained, f"{example.name} ({example.kwargs}): " + "; ".join(unexplained)


def test_every_listed_exception_still_occurs(differences):
    page = {ex.name: ex.page for ex in REPLAYED}
    occurring = {f"{page[name]}: {d}" for name, diffs in differences.items() for d in diffs}
    stale = sorted(set(EXCEPTIONS) - occurring)
    assert not stale, f"exceptions no longer needed (remove them): {stale}"


def test_lenient_parsing_is_recorded():
    """Every example the parser had to repair says how, so a reader can check the repair."""
    repaired = {ex.name: ex.repairs for ex in EXAMPLES if any("comma" in r for r in ex.repairs)}
    assert repaired == {"users/group.md: List view #0 (list)": ("inserted a missing comma before line 7",)}


def test_the_comparison_notices_renamed_fields_wrong_kinds_and_misplaced_nulls():
    """The checks above can fail: each kind of difference is reported, nulls only where allowed."""
    m = catalog.model("session")
    doc = [{"id": "<id>", "name": "s1", "projects": ["<id>"], "date_time": None, "tags": []}]
    assert records_diffs(m, doc, [dict(doc[0], date_time="2026-01-01T00:00:00Z", tags=["x"])]) == []
    renamed = {"id": "a", "title": "s1", "projects": ["p"], "date_time": None, "tags": []}
    assert records_diffs(m, doc, [renamed]) == [
        "field 'name' documented, not answered",
        "field 'title' answered, not in the example",
    ]
    assert records_diffs(m, doc, [dict(doc[0], projects="p")]) == ["field 'projects' is string, documented list"]
    assert records_diffs(m, doc, [dict(doc[0], projects=[1])]) == ["field 'projects' holds number, documented string"]
    # session.name is required: a null there is a difference; tags may be empty or null.
    assert records_diffs(m, doc, [dict(doc[0], name=None, tags=None)]) == ["field 'name' is null, documented string"]
    assert records_diffs(m, doc, []) == ["no record answered to compare with"]
