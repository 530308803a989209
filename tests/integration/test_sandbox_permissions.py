"""Portals and permissions of the sandbox, as the people using it notice them.

Everything goes over real HTTP. Read-only checks use the shared ``sandbox``; every
test that writes (or tries to) runs on ``own``, a server of this module, or on a
fresh ``make_sandbox()`` when it needs the seeded invitations untouched. Writing
tests only change records they created, or seeded records that no other test of
this module relies on.

Who is who in the seed (see ``sandbox/seed/``): the demo user owns some
projects, contributes to some, only reads some and is absent from the rest; lab
members log in with ``sandbox-user-password``; the reviewer accepts approvals.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from brainstem_pandas import catalog
from brainstem_pandas.sandbox import Sandbox

LAB_PASSWORD = "sandbox-user-password"
REVIEWER = "reviewer@brainstem.sandbox"
ROLES = ("can_change", "is_manager", "is_owner")
OWNER = dict.fromkeys(ROLES, True)
CONTRIBUTOR = {"can_change": True, "is_manager": False, "is_owner": False}
MEMBER = dict.fromkeys(ROLES, False)
MEMBER_OF_GROUP = {"is_manager": False, "is_owner": False}


# -- helpers ------------------------------------------------------------------------


def path(model: str, pk: Any = None, action: str | None = None, portal: str = "private") -> str:
    """``/api/{portal}/{app}/{segment}/[{pk}/[{action}/]]`` of a catalogued model."""
    m = catalog.model(model)
    out = f"/api/{portal}/{m.app}/{m.segment}/"
    if pk is not None:
        out += f"{pk}/"
    if action:
        out += f"{action}/"
    return out


class Person:
    """Someone talking to one sandbox: anonymous, or with a bearer token."""

    def __init__(self, sb: Sandbox, token: str | None = None, email: str = "") -> None:
        self.sb, self.email = sb, email
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, url: str, **kw: Any) -> requests.Response:
        return self.http.request(method, self.sb.url + url, timeout=60, **kw)

    def get(self, url: str, **params: Any) -> requests.Response:
        return self.request("GET", url, params=params)

    def post(self, url: str, data: dict) -> requests.Response:
        return self.request("POST", url, json=data)

    def patch(self, url: str, data: dict | None = None) -> requests.Response:
        return self.request("PATCH", url, json=data if data is not None else {})

    def delete(self, url: str) -> requests.Response:
        return self.request("DELETE", url)

    def one(self, model: str, pk: Any, portal: str = "private") -> dict:
        """The record ``pk`` (asserting it is visible)."""
        r = self.get(path(model, pk, portal=portal))
        assert r.status_code == 200, r.text
        return r.json()[catalog.model(model).detail_key]

    def all(self, model: str, portal: str = "private", **params: Any) -> list[dict]:
        """Every record of a list this person may see, walked with limit/offset."""
        key, out, offset = catalog.model(model).list_key, [], 0
        while True:
            r = self.get(path(model, portal=portal), limit=100, offset=offset, **params)
            assert r.status_code == 200, r.text
            page = r.json()
            out += page[key]
            offset += 100
            if offset >= page["count"]:
                return out

    def ids(self, model: str, portal: str = "private", **params: Any) -> set:
        return {rec["id"] for rec in self.all(model, portal=portal, **params)}

    def create(self, model: str, data: dict) -> dict:
        """POST a record that must be accepted; return it."""
        r = self.post(path(model), data)
        assert r.status_code == 201, r.text
        return r.json()[catalog.model(model).write_key]


def try_login(sb: Sandbox, email: str, password: str = LAB_PASSWORD) -> Person | None:
    """Log in with email and password (``POST /api/auth/token/``); None if refused."""
    r = requests.post(sb.url + "/api/auth/token/", json={"email": email, "password": password}, timeout=60)
    if r.status_code == 401:
        return None
    assert r.status_code == 200, r.text
    return Person(sb, r.json()["access"], email)


def login(sb: Sandbox, email: str, password: str = LAB_PASSWORD) -> Person:
    person = try_login(sb, email, password)
    assert person is not None, f"{email} could not log in"
    return person


def demo(sb: Sandbox) -> Person:
    return Person(sb, sb.token, sb.email)


def newcomer(sb: Sandbox) -> Person:
    """A freshly registered user: no project, no group."""
    email = f"new-{uuid.uuid4().hex[:10]}@lab.sandbox"
    return Person(sb, sb.add_user(email, "a-newcomer-password"), email)


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def detail(r: requests.Response) -> str:
    """The ``detail`` of an error answer (asserting it is JSON with one)."""
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"], r.text
    return body["detail"]


def role_of(project: dict, email: str) -> dict | None:
    return project["users"].get(email)


def project_with_role(person: Person, role: dict) -> dict:
    """A project where ``person`` holds exactly ``role`` as a user."""
    return next(p for p in person.all("project") if role_of(p, person.email) == role)


def group_names(groups: list[dict], email: str) -> set:
    return {g["name"] for g in groups if email in g["users"]}


def readable_by(projects: list[dict], groups: list[dict], email: str) -> set:
    """Project ids the documented rules let ``email`` read."""
    mine = group_names(groups, email)
    return {p["id"] for p in projects if p["is_public"] or email in p["users"] or mine & set(p["groups"])}


# -- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(sandbox: Sandbox) -> dict:
    """The whole seeded world of the shared sandbox, gathered by logging everyone in.

    Every project has an owner among the lab members, so the union of what each
    user sees is every project.
    """
    me = demo(sandbox)
    users = me.all("user")
    people = {sandbox.email: me}
    for u in users:
        # Users other tests registered have other passwords: they are left out.
        person = try_login(sandbox, u["email"]) if u["email"] != sandbox.email else None
        if person is not None:
            people[u["email"]] = person
    projects: dict[str, dict] = {}
    for person in people.values():
        for p in person.all("project"):
            projects[p["id"]] = p
    return {"users": users, "people": people, "projects": list(projects.values()), "groups": me.all("group")}


@pytest.fixture(scope="module")
def own() -> Iterator[Sandbox]:
    """This module's own server for every test that writes."""
    with Sandbox(sessions=300) as sb:
        yield sb


@pytest.fixture(scope="module")
def cast(own: Sandbox) -> dict:
    """People of ``own`` whose memberships no test changes.

    ``member``: a plain member of the demo user's own group (group 1);
    ``outsider``: a lab member of a group the demo user is not in and never joins.
    """
    groups = demo(own).all("group")
    mine = [g for g in groups if g["users"].get(own.email, {}).get("is_owner")]
    member = next(e for e, r in mine[0]["users"].items() if e != own.email and not r["is_manager"])
    joined = {e for g in groups if own.email in g["users"] for e in g["users"]}
    # The seed also invites the demo user into one group: keep clear of that one too.
    invited = {inv["authgroup"] for inv in demo(own).all("group_membership_invitation")}
    outsider = next(
        e
        for g in groups
        if own.email not in g["users"] and g["id"] not in invited
        for e in g["users"]
        if e not in joined
    )
    return {
        "member": login(own, member),
        "outsider": login(own, outsider),
        "group": mine[0],
        "setup_type": demo(own).all("setuptype")[0]["id"],
    }


# -- public portal ------------------------------------------------------------------

PROJECT_SCOPED = ["session", "subject", "cohort", "collection", "breeding"]
# (model, field holding the parent, parent model)
MODULES = [
    ("behavior", "session", "session"),
    ("dataacquisition", "session", "session"),
    ("manipulation", "session", "session"),
    ("procedure", "subject", "subject"),
    ("subjectlog", "subject", "subject"),
    ("procedurelog", "procedure", "procedure"),
]
ATTRIBUTES = ["setup", "datastorage", "behavioralassay", "license", "inventory"]
PRIVATE_ONLY = [m.name for m in catalog.all_models().values() if "public" not in m.portals["list"]]


def _projects_of(record: dict) -> list:
    value = record.get("projects", record.get("project"))
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def public_projects(sandbox: Sandbox) -> list[dict]:
    return Person(sandbox).all("project", portal="public")


def test_public_project_list_holds_only_public_projects(sandbox, world, public_projects):
    assert public_projects and all(p["is_public"] for p in public_projects)
    expected = {p["id"] for p in world["projects"] if p["is_public"]}
    assert {p["id"] for p in public_projects} == expected
    anon = Person(sandbox)
    for p in world["projects"]:
        if not p["is_public"]:
            r = anon.get(path("project", p["id"], portal="public"))
            assert r.status_code == 404, r.text


@pytest.mark.parametrize("model", PROJECT_SCOPED)
def test_public_lists_only_components_of_public_projects(sandbox, world, public_projects, model):
    anon = Person(sandbox)
    public_ids = {p["id"] for p in public_projects}
    records = anon.all(model, portal="public", **{"include[]": "projects"} if model == "session" else {})
    assert records, f"no public {model}"
    for rec in records:
        # A component of a public project is public, even when it also belongs to a private one.
        assert set(_projects_of(rec)) & public_ids, rec
    # Exactly the components of the public projects; the private ones stay hidden.
    private_view = demo(sandbox).all(model)
    hidden = {r["id"] for r in private_view if not set(_projects_of(r)) & public_ids}
    assert hidden, f"the demo user should see some {model} of private projects"
    assert {r["id"] for r in records}.isdisjoint(hidden)
    assert {r["id"] for r in private_view if set(_projects_of(r)) & public_ids} == {r["id"] for r in records}


def test_public_sessions_per_project(sandbox, world, public_projects):
    """``filter{projects.id}`` on the public portal: all sessions of a public project, none of a private one."""
    anon = Person(sandbox)
    total = 0
    for p in world["projects"]:
        got = anon.ids("session", portal="public", **{"filter{projects.id}": p["id"]})
        if p["is_public"]:
            assert got == set(p["sessions"]) and got, p["name"]
            total += len(got)
        else:
            assert got == set(), p["name"]
    assert len(anon.ids("session", portal="public")) == total


def test_public_sessions_sideload_only_public_projects(sandbox):
    r = Person(sandbox).get(path("session", portal="public"), limit=100, **{"include[]": "projects"})
    assert r.status_code == 200, r.text
    body = r.json()
    sideloaded = {p["id"]: p for p in body["projects"]}
    assert sideloaded and all(p["is_public"] for p in sideloaded.values())
    for s in body["sessions"]:
        assert set(s["projects"]) <= set(sideloaded), s


@pytest.mark.parametrize("model, parent_field, parent", MODULES)
def test_public_modules_belong_to_public_parents(sandbox, model, parent_field, parent):
    anon = Person(sandbox)
    parents = anon.ids(parent, portal="public")
    records = anon.all(model, portal="public")
    assert all(rec[parent_field] in parents for rec in records), model
    private_view = demo(sandbox).all(model)
    assert len(private_view) > len(records)
    assert {r["id"] for r in private_view if r[parent_field] in parents} == {r["id"] for r in records}


@pytest.mark.parametrize("model", ATTRIBUTES)
def test_public_lists_only_personal_attributes_marked_public(sandbox, model):
    public = Person(sandbox).all(model, portal="public")
    assert all(rec["is_public"] is True for rec in public), model
    mine = demo(sandbox).all(model)
    # The demo user's groups have private ones: those stay off the public portal.
    private = {r["id"] for r in mine if not r["is_public"]}
    assert private, f"the demo user should see a private {model}"
    assert private.isdisjoint({r["id"] for r in public})
    assert {r["id"] for r in mine if r["is_public"]} <= {r["id"] for r in public}


@pytest.mark.parametrize("model, parent", [("equipment", "setup"), ("consumablestock", "inventory")])
def test_public_equipment_and_stocks_follow_their_public_attribute(sandbox, model, parent):
    anon = Person(sandbox)
    parents = {r["id"] for r in anon.all(parent, portal="public")}
    public = anon.all(model, portal="public")
    assert all(rec[parent] in parents for rec in public)
    mine = demo(sandbox).all(model)
    assert {r["id"] for r in mine if r[parent] in parents} == {r["id"] for r in public}
    assert len(mine) > len(public)


def test_public_detail_of_a_private_record_is_404(sandbox, world):
    anon = Person(sandbox)
    private = next(p for p in world["projects"] if not p["is_public"] and p["sessions"])
    public = next(p for p in world["projects"] if p["is_public"] and p["sessions"])
    r = anon.get(path("session", private["sessions"][0], portal="public"))
    assert r.status_code == 404 and detail(r)
    assert anon.get(path("session", public["sessions"][0], portal="public")).status_code == 200


# Users have no add endpoint on any portal (registration is on the website).
WRITES = [
    (method, model)
    for model in ("session", "project", "setup", "species", "user")
    for method in ("POST", "PATCH", "PUT", "DELETE")
    if (method, model) != ("POST", "user")
]


@pytest.mark.parametrize("method, model", WRITES)
def test_public_portal_is_read_only(own, method, model):
    # Write attempts go to this module's server: a failure must not spoil shared data.
    anon = Person(own)
    existing = anon.all(model, portal="public")[0]
    url = path(model, portal="public") if method == "POST" else path(model, existing["id"], portal="public")
    r = anon.request(method, url, json={"name": "should not be saved", "description": "x"})
    assert r.status_code == 403, r.text
    assert "read-only" in detail(r)
    # A token does not open the public portal for writing either.
    with_token = demo(own).request(method, url, json={"description": "x"})
    assert with_token.status_code == 403 and "read-only" in detail(with_token)
    if method != "POST":
        assert anon.one(model, existing["id"], portal="public") == existing


@pytest.mark.parametrize("model", PRIVATE_ONLY)
def test_private_only_models_are_not_on_the_public_portal(sandbox, model):
    assert {"speciesapproval", "project_membership_invitation", "group_membership_request"} <= set(PRIVATE_ONLY)
    r = Person(sandbox).get(path(model, portal="public"))
    assert r.status_code == 404 and detail(r)
    mine = demo(sandbox).all(model)  # the same list exists on the private portal
    if mine:
        r = Person(sandbox).get(path(model, mine[0]["id"], portal="public"))
        assert r.status_code == 404 and detail(r)


# -- private portal: who sees what --------------------------------------------------


@pytest.mark.parametrize(
    "url", [path("session"), path("project"), path("setup"), path("species"), path("group", 1, "join")]
)
def test_private_portal_needs_a_token(sandbox, url):
    r = Person(sandbox).get(url)
    assert r.status_code == 401, r.text
    assert "Bearer" in detail(r)
    r = Person(sandbox, "bst_pat_not-a-real-token").get(url)
    assert r.status_code == 401 and detail(r)


def test_demo_sees_sessions_of_their_projects_and_public_ones(sandbox, world):
    me = world["people"][sandbox.email]
    readable = readable_by(world["projects"], world["groups"], sandbox.email)
    visible = me.all("project")
    assert {p["id"] for p in visible} == readable
    for p in visible:
        assert (
            p["is_public"]
            or sandbox.email in p["users"]
            or group_names(world["groups"], sandbox.email) & set(p["groups"])
        )
    hidden = [p for p in world["projects"] if p["id"] not in readable]
    assert hidden and all(not p["is_public"] for p in hidden)
    sessions = me.ids("session")
    expected = {s for p in world["projects"] if p["id"] in readable for s in p["sessions"]}
    assert sessions == expected
    assert sessions.isdisjoint({s for p in hidden for s in p["sessions"]})
    # More than the public portal shows, and all of it.
    public = Person(sandbox).ids("session", portal="public")
    assert public < sessions


def test_each_lab_member_sees_what_their_memberships_allow(sandbox, world):
    """Everyone, logged in with email and password, sees exactly their projects' sessions."""
    sessions_of = {p["id"]: set(p["sessions"]) for p in world["projects"]}
    seen = {}
    for email, person in world["people"].items():
        readable = readable_by(world["projects"], world["groups"], email)
        assert {p["id"] for p in person.all("project")} == readable, email
        expected = set().union(*(sessions_of[pid] for pid in readable))
        assert person.ids("session") == expected, email
        seen[email] = expected
    # People differ: what one lab sees, another may not.
    assert len({frozenset(v) for v in seen.values()}) > 2


def test_group_membership_alone_opens_a_private_project(sandbox, world):
    """A lab member listed in no project, only in a group, reads that group's private projects."""
    emails_in_projects = {e for p in world["projects"] for e in p["users"]}
    groups = world["groups"]
    via_group = [
        (email, p)
        for email in world["people"]
        if email not in emails_in_projects
        for p in world["projects"]
        if not p["is_public"] and group_names(groups, email) & set(p["groups"])
    ]
    assert via_group, "the seed should have a member reaching a project only through a group"
    email, project = via_group[0]
    person = world["people"][email]
    assert person.one("project", project["id"])["groups"] == project["groups"]
    assert person.ids("session", **{"filter{projects.id}": project["id"]}) == set(project["sessions"])
    # A private project with no group of theirs stays hidden from them.
    other = next(
        p for p in world["projects"] if not p["is_public"] and not group_names(groups, email) & set(p["groups"])
    )
    assert person.get(path("project", other["id"])).status_code == 404


def test_reviewer_without_memberships_sees_only_public_projects(sandbox, world):
    reviewer = world["people"][REVIEWER]
    assert {p["id"] for p in reviewer.all("project")} == {p["id"] for p in world["projects"] if p["is_public"]}
    assert reviewer.ids("session") == Person(sandbox).ids("session", portal="public")


@pytest.mark.parametrize(
    "model, via",
    [
        ("project", None),
        ("session", "sessions"),
        ("subject", "subjects"),
        ("cohort", "cohorts"),
        ("collection", "collections"),
    ],
)
def test_detail_of_an_invisible_record_is_404(sandbox, world, model, via):
    me = world["people"][sandbox.email]
    readable = readable_by(world["projects"], world["groups"], sandbox.email)
    hidden = next(p for p in world["projects"] if p["id"] not in readable and (via is None or p[via]))
    pk = hidden["id"] if via is None else hidden[via][0]
    owner = next(e for e, role in hidden["users"].items() if role["is_owner"])
    assert world["people"][owner].get(path(model, pk)).status_code == 200  # it exists
    r = me.get(path(model, pk))
    assert r.status_code == 404 and detail(r)


def test_newly_registered_user_sees_only_public_sessions(own):
    newbie = newcomer(own)
    public = Person(own).ids("session", portal="public")
    assert newbie.ids("session") == public
    assert all(p["is_public"] for p in newbie.all("project"))
    assert newbie.ids("session") < demo(own).ids("session")
    mine_only = next(p for p in demo(own).all("project") if not p["is_public"] and p["sessions"])
    assert newbie.get(path("session", mine_only["sessions"][0])).status_code == 404
    assert newbie.all("project_membership_invitation") == []
    assert newbie.all("speciesapproval") == []


# -- writes: project components -----------------------------------------------------


def test_contributor_creates_changes_and_deletes_a_session(own):
    me = demo(own)
    project = project_with_role(me, CONTRIBUTOR)
    r = me.post(path("session"), {"name": unique("perm-contrib"), "projects": [project["id"]]})
    assert r.status_code == 201, r.text
    assert list(r.json()) == ["session"]
    session = r.json()["session"]
    assert session["projects"] == [project["id"]]
    assert me.one("session", session["id"]) == session
    r = me.patch(path("session", session["id"]), {"description": "changed by a contributor"})
    assert r.status_code == 200, r.text
    assert r.json()["session"]["description"] == "changed by a contributor"
    r = me.delete(path("session", session["id"]))
    assert r.status_code == 204, r.text
    assert me.get(path("session", session["id"])).status_code == 404


def test_read_only_member_gets_403_naming_the_missing_permission(own):
    me = demo(own)
    readonly = project_with_role(me, MEMBER)
    writable = project_with_role(me, CONTRIBUTOR)
    r = me.post(path("session"), {"name": unique("perm-ro"), "projects": [readonly["id"]]})
    assert r.status_code == 403, r.text
    assert "change permission" in detail(r) and readonly["id"] in detail(r)
    # One read-only project among several is enough to refuse, and it is the one named.
    r = me.post(path("session"), {"name": unique("perm-ro"), "projects": [writable["id"], readonly["id"]]})
    assert r.status_code == 403 and readonly["id"] in detail(r) and writable["id"] not in detail(r)
    existing = me.one("session", readonly["sessions"][0])
    r = me.patch(path("session", existing["id"]), {"description": "not allowed"})
    assert r.status_code == 403 and "change permission" in detail(r)
    r = me.delete(path("session", existing["id"]))
    assert r.status_code == 403 and "change permission" in detail(r)
    assert me.one("session", existing["id"]) == existing
    # Modules of a read-only project are protected the same way.
    r = me.post(path("dataacquisition"), {"session": existing["id"], "type": "BehavioralTracking"})
    assert r.status_code == 403 and "change permission" in detail(r)
    assert me.ids("session", **{"filter{name.icontains}": "perm-ro "}) == set()


def test_sessions_cannot_be_put_into_projects_one_cannot_change(own, cast):
    me = demo(own)
    theirs = cast["outsider"].create("project", {"name": unique("perm-outsider-project")})
    assert me.get(path("project", theirs["id"])).status_code == 404
    r = me.post(path("session"), {"name": unique("perm-foreign"), "projects": [theirs["id"]]})
    assert r.status_code == 403 and theirs["id"] in detail(r)
    # Nor moved there from a project one can change.
    mine = me.create("session", {"name": unique("perm-move"), "projects": [project_with_role(me, CONTRIBUTOR)["id"]]})
    r = me.patch(path("session", mine["id"]), {"projects": [theirs["id"]]})
    assert r.status_code == 403 and theirs["id"] in detail(r)
    assert me.one("session", mine["id"])["projects"] == mine["projects"]
    assert cast["outsider"].ids("session", **{"filter{projects.id}": theirs["id"]}) == set()


# -- writes: projects ---------------------------------------------------------------


def test_creating_a_project_makes_the_creator_its_only_owner(own, cast):
    me = demo(own)
    r = me.post(
        path("project"),
        {
            "name": unique("perm-new-project"),
            "description": "mine",
            # Others can only be added afterwards, with PATCH.
            "users": {cast["member"].email: OWNER},
            "groups": {cast["group"]["name"]: OWNER},
        },
    )
    assert r.status_code == 201, r.text
    assert list(r.json()) == ["project"]
    project = r.json()["project"]
    assert project["users"] == {own.email: OWNER}
    assert project["groups"] == {} and project["is_public"] is False
    assert me.one("project", project["id"]) == project
    assert cast["member"].get(path("project", project["id"])).status_code == 404
    # As its owner the creator may fill it.
    assert me.create("session", {"name": unique("perm-in-new"), "projects": [project["id"]]})


def test_changing_a_project_needs_a_manager_or_owner(own):
    me = demo(own)
    for role in (CONTRIBUTOR, MEMBER):
        project = project_with_role(me, role)
        r = me.patch(path("project", project["id"]), {"description": "not allowed"})
        assert r.status_code == 403, r.text
        assert "managers and owners" in detail(r)
        assert me.one("project", project["id"])["description"] == project["description"]
    mine = me.create("project", {"name": unique("perm-owned")})
    r = me.patch(path("project", mine["id"]), {"description": "changed by the owner", "tags": ["x"]})
    assert r.status_code == 200, r.text
    assert r.json()["project"]["description"] == "changed by the owner"


def test_deleting_a_project_needs_its_owner(own, cast):
    me, manager = demo(own), cast["member"]
    project = me.create("project", {"name": unique("perm-delete")})
    r = me.patch(path("project", project["id"]), {"users": {manager.email: {"can_change": True, "is_manager": True}}})
    assert r.status_code == 200, r.text
    assert manager.one("project", project["id"])["users"][manager.email] == {
        "can_change": True,
        "is_manager": True,
        "is_owner": False,
    }
    r = manager.delete(path("project", project["id"]))
    assert r.status_code == 403 and "owners" in detail(r)
    contributed = project_with_role(me, CONTRIBUTOR)
    r = me.delete(path("project", contributed["id"]))
    assert r.status_code == 403 and "owners" in detail(r)
    assert me.get(path("project", project["id"])).status_code == 200
    r = me.delete(path("project", project["id"]))
    assert r.status_code == 204, r.text
    assert me.get(path("project", project["id"])).status_code == 404


def test_patching_project_members_merges_and_remove_drops(own, cast):
    me, member, outsider = demo(own), cast["member"], cast["outsider"]
    project = me.create("project", {"name": unique("perm-members")})
    url = path("project", project["id"])
    r = me.patch(url, {"users": {member.email: {"can_change": True}}})
    assert r.status_code == 200, r.text
    # Merged into the existing entries; missing roles default to false.
    assert r.json()["project"]["users"] == {own.email: OWNER, member.email: CONTRIBUTOR}
    assert member.create("session", {"name": unique("perm-by-member"), "projects": [project["id"]]})
    outsider_group = next(g for g in demo(own).all("group") if outsider.email in g["users"])
    r = me.patch(url, {"groups": {outsider_group["name"]: {}}})
    assert r.status_code == 200, r.text
    assert r.json()["project"]["groups"] == {outsider_group["name"]: MEMBER}
    assert r.json()["project"]["users"] == {own.email: OWNER, member.email: CONTRIBUTOR}
    assert outsider.one("project", project["id"])["id"] == project["id"]  # read through the group
    r = outsider.post(path("session"), {"name": unique("perm-group-ro"), "projects": [project["id"]]})
    assert r.status_code == 403, r.text
    r = me.patch(url, {"users": {member.email: {"remove": True}}, "groups": {outsider_group["name"]: {"remove": True}}})
    assert r.status_code == 200, r.text
    assert r.json()["project"]["users"] == {own.email: OWNER}
    assert r.json()["project"]["groups"] == {}
    assert member.get(url).status_code == 404
    assert outsider.get(url).status_code == 404


def test_only_owners_change_project_details_managers_change_members(own, cast):
    """Managers add and remove members; owners manage details, publicity and managers."""
    me, manager, outsider = demo(own), cast["member"], cast["outsider"]
    project = me.create("project", {"name": unique("perm-managed"), "description": "as created"})
    url = path("project", project["id"])
    assert me.patch(url, {"users": {manager.email: {"can_change": True, "is_manager": True}}}).status_code == 200
    r = manager.patch(url, {"users": {outsider.email: {"can_change": True}}})
    assert r.status_code == 200, r.text
    assert r.json()["project"]["users"][outsider.email] == CONTRIBUTOR
    r = manager.patch(url, {"users": {outsider.email: {"remove": True}}})
    assert r.status_code == 200 and outsider.email not in r.json()["project"]["users"]
    for payload in (
        {"is_public": True},
        {"description": "changed by a manager"},
        {"users": {outsider.email: {"can_change": True, "is_manager": True}}},
        {"users": {own.email: {"remove": True}}},
    ):
        r = manager.patch(url, payload)
        assert r.status_code == 403, (payload, r.text)
        assert "owner" in detail(r)
    after = me.one("project", project["id"])
    assert after["is_public"] is False and after["description"] == "as created"
    assert after["users"] == {
        own.email: OWNER,
        manager.email: {"can_change": True, "is_manager": True, "is_owner": False},
    }
    assert Person(own).get(path("project", project["id"], portal="public")).status_code == 404
    r = me.patch(url, {"is_public": True})
    assert r.status_code == 200 and r.json()["project"]["is_public"] is True
    assert Person(own).one("project", project["id"], portal="public")["is_public"] is True


# -- writes: personal attributes ----------------------------------------------------


def test_group_member_creates_a_setup_that_other_groups_cannot_change(own, cast):
    me, member, outsider = demo(own), cast["member"], cast["outsider"]
    r = me.post(path("setup"), {"name": unique("perm-setup"), "setup_type": cast["setup_type"]})
    assert r.status_code == 201, r.text
    assert list(r.json()) == ["setup"]
    setup = r.json()["setup"]
    assert setup["id"] in me.ids("setup")
    assert member.one("setup", setup["id"])["name"] == setup["name"]  # shared with the group
    # Private to the creator's groups: another group neither sees nor changes it.
    assert outsider.get(path("setup", setup["id"])).status_code == 404
    assert outsider.patch(path("setup", setup["id"]), {"description": "x"}).status_code == 404
    assert Person(own).get(path("setup", setup["id"], portal="public")).status_code == 404
    r = me.patch(path("setup", setup["id"]), {"description": "our rig", "is_public": True})
    assert r.status_code == 200 and r.json()["setup"]["description"] == "our rig"
    # Public now: everyone sees it, still only its groups change it.
    assert outsider.one("setup", setup["id"])["is_public"] is True
    for method, payload in (("PATCH", {"description": "taken over"}), ("DELETE", None)):
        r = outsider.request(method, path("setup", setup["id"]), json=payload)
        assert r.status_code == 403, r.text
        assert "not a member of a group" in detail(r)
    equipment = {"type": "Camera", "coordinates_system": "Stereotaxic_BregmaAbsolute", "setup": setup["id"]}
    r = outsider.post(path("equipment"), equipment)
    assert r.status_code == 403 and "not a member of a group" in detail(r)
    assert member.create("equipment", equipment)["setup"] == setup["id"]
    assert me.one("setup", setup["id"])["description"] == "our rig"


def test_someone_without_a_group_cannot_create_personal_attributes(own, cast):
    newbie = newcomer(own)
    r = newbie.post(path("setup"), {"name": unique("perm-nogroup"), "setup_type": cast["setup_type"]})
    assert r.status_code == 403 and "group" in detail(r)


# -- writes: taxonomies and approvals -----------------------------------------------


def test_species_submission_waits_for_a_reviewer(own, cast):
    me, other = demo(own), cast["member"]
    name = unique("Perm species")
    r = me.post(path("species"), {"name": name, "description": "submitted by the demo user"})
    assert r.status_code == 201, r.text
    assert list(r.json()) == ["species_approval"]
    approval = r.json()["species_approval"]
    assert approval["status"] == "pending" and approval["action"] == "add" and approval["name"] == name
    assert me.all("species", **{"filter{name}": name}) == []
    # The submitter and the reviewers see the approval; other users do not.
    assert approval["id"] in me.ids("speciesapproval")
    assert other.get(path("speciesapproval", approval["id"])).status_code == 404
    reviewer = login(own, REVIEWER)
    assert approval["id"] in reviewer.ids("speciesapproval")
    r = me.patch(path("speciesapproval", approval["id"], "accept"))
    assert r.status_code == 403 and "reviewer" in detail(r)
    assert me.all("species", **{"filter{name}": name}) == []
    r = reviewer.patch(path("speciesapproval", approval["id"], "accept"))
    assert r.status_code == 200, r.text
    assert r.json()["species_approval"]["status"] == "accepted"
    species = me.all("species", **{"filter{name}": name})
    assert [s["description"] for s in species] == ["submitted by the demo user"]
    assert [s["id"] for s in Person(own).all("species", portal="public", **{"filter{name}": name})] == [
        species[0]["id"]
    ]
    assert me.one("speciesapproval", approval["id"])["status"] == "accepted"
    r = reviewer.patch(path("speciesapproval", approval["id"], "accept"))
    assert r.status_code == 400 and "already accepted" in detail(r)


def test_rejected_species_never_appears_and_only_reviewers_delete(own):
    me, reviewer = demo(own), login(own, REVIEWER)
    name = unique("Perm rejected")
    approval = me.create("species", {"name": name})
    r = reviewer.patch(path("speciesapproval", approval["id"], "reject"))
    assert r.status_code == 200 and r.json()["species_approval"]["status"] == "rejected"
    assert me.all("species", **{"filter{name}": name}) == []
    kept = unique("Perm kept")
    accepted = reviewer.patch(path("speciesapproval", me.create("species", {"name": kept})["id"], "accept"))
    assert accepted.status_code == 200, accepted.text
    species = me.all("species", **{"filter{name}": kept})[0]
    r = me.delete(path("species", species["id"]))
    assert r.status_code == 403 and "reviewers" in detail(r)
    assert me.one("species", species["id"]) == species
    r = reviewer.delete(path("species", species["id"]))
    assert r.status_code == 204, r.text
    assert me.get(path("species", species["id"])).status_code == 404


# -- writes: users ------------------------------------------------------------------


def test_users_change_only_their_own_record(own):
    newbie = newcomer(own)
    mine = newbie.all("user", **{"filter{email}": newbie.email})[0]
    r = newbie.patch(path("user", mine["id"]), {"first_name": "Newt"})
    assert r.status_code == 200 and r.json()["user"]["first_name"] == "Newt"
    someone = demo(own).all("user", **{"filter{email}": own.email})[0]
    for method, payload in (("PATCH", {"first_name": "Hacked"}), ("PUT", {"first_name": "Hacked"}), ("DELETE", None)):
        r = newbie.request(method, path("user", someone["id"]), json=payload)
        assert r.status_code == 403, r.text
        assert "own user account" in detail(r) or "administrators" in detail(r)
    assert demo(own).one("user", someone["id"]) == someone


def test_users_cannot_delete_accounts(own):
    """Only administrators remove users (api/users/user.md), not even their own account."""
    newbie = newcomer(own)
    mine = newbie.all("user", **{"filter{email}": newbie.email})[0]
    r = newbie.delete(path("user", mine["id"]))
    assert r.status_code == 403, r.text
    assert "administrators" in detail(r)
    assert newbie.one("user", mine["id"])["email"] == newbie.email


# -- actions ------------------------------------------------------------------------


def only_one(person: Person, model: str, **match: Any) -> dict:
    """The single record of ``model`` visible to ``person`` with the given values."""
    found = [i for i in person.all(model) if all(i[k] == v for k, v in match.items())]
    assert len(found) == 1, found
    return found[0]


def _user_id(person: Person) -> int:
    return person.all("user", **{"filter{email}": person.email})[0]["id"]


def test_accepting_a_project_invitation_grants_its_role(own):
    me = demo(own)
    inv = only_one(me, "project_membership_invitation", invitee=_user_id(me))
    assert me.get(path("project", inv["project"])).status_code == 404
    r = me.get(path("project_membership_invitation", inv["id"], "accept"))
    assert r.status_code == 200 and "accepted" in detail(r)
    project = me.one("project", inv["project"])
    assert project["users"][own.email] == {
        "can_change": inv["can_change"],
        "is_manager": inv["manage_project"],
        "is_owner": inv["own_project"],
    }
    assert me.ids("session", **{"filter{projects.id}": project["id"]}) == set(project["sessions"])
    assert me.get(path("project_membership_invitation", inv["id"])).status_code == 404
    if inv["can_change"]:
        assert me.create("session", {"name": unique("perm-invited"), "projects": [project["id"]]})


def test_accepting_a_project_invitation_for_a_group_opens_it_to_the_group(own, cast):
    me, member = demo(own), cast["member"]
    group = cast["group"]
    inv = only_one(me, "project_group_membership_invitation", invitee=group["id"])
    assert member.get(path("project", inv["project"])).status_code == 404
    r = me.get(path("project_group_membership_invitation", inv["id"], "accept"))
    assert r.status_code == 200 and "accepted" in detail(r)
    project = member.one("project", inv["project"])  # every group member gains access
    assert project["groups"][group["name"]]["can_change"] == inv["can_change"]
    assert member.ids("session", **{"filter{projects.id}": project["id"]}) == set(project["sessions"])
    if not inv["can_change"]:
        r = member.post(path("session"), {"name": unique("perm-via-group"), "projects": [project["id"]]})
        assert r.status_code == 403, r.text


def test_accepting_a_group_invitation_makes_one_a_member(own):
    me = demo(own)
    inv = only_one(me, "group_membership_invitation", user_account_invitation=_user_id(me))
    assert own.email not in me.one("group", inv["authgroup"])["users"]
    before = me.ids("inventory")
    r = me.get(path("group_membership_invitation", inv["id"], "accept"))
    assert r.status_code == 200 and "accepted" in detail(r)
    assert me.one("group", inv["authgroup"])["users"][own.email] == {
        "is_manager": inv["new_manager"],
        "is_owner": inv["new_owner"],
    }
    # The group's private attributes are now the user's too.
    assert me.ids("inventory") > before
    assert me.get(path("group_membership_invitation", inv["id"])).status_code == 404


def test_invitations_can_be_rejected_only_by_the_invited(make_sandbox):
    sb = make_sandbox()
    me = demo(sb)
    uid = _user_id(me)
    project_inv = only_one(me, "project_membership_invitation", invitee=uid)
    group_inv = only_one(me, "group_membership_invitation", user_account_invitation=uid)
    group_project_inv = me.all("project_group_membership_invitation")[0]
    # The project's managers see the invitation they sent, but cannot answer for the invitee.
    managers = [login(sb, u["email"]) for u in me.all("user") if u["email"] not in (sb.email, REVIEWER)]
    sender = next(p for p in managers if p.get(path("project_membership_invitation", project_inv["id"])).ok)
    r = sender.get(path("project_membership_invitation", project_inv["id"], "accept"))
    assert r.status_code == 403 and "invited" in detail(r)
    # Someone it does not concern does not even see it.
    newbie = newcomer(sb)
    assert newbie.get(path("project_membership_invitation", project_inv["id"], "accept")).status_code == 404
    for model, inv in (
        ("project_membership_invitation", project_inv),
        ("group_membership_invitation", group_inv),
        ("project_group_membership_invitation", group_project_inv),
    ):
        r = me.get(path(model, inv["id"], "reject"))
        assert r.status_code == 200 and "rejected" in detail(r), model
        assert me.get(path(model, inv["id"])).status_code == 404
    assert me.get(path("project", project_inv["project"])).status_code == 404
    assert sb.email not in me.one("group", group_inv["authgroup"])["users"]
    owner = next(p for p in managers if p.get(path("project", group_project_inv["project"])).ok)
    invited = next(g["name"] for g in me.all("group") if g["id"] == group_project_inv["invitee"])
    assert invited not in owner.one("project", group_project_inv["project"])["groups"]
    # An answered invitation cannot be accepted afterwards.
    assert me.get(path("project_membership_invitation", project_inv["id"], "accept")).status_code == 404


def test_joining_a_group_asks_its_managers_and_leaving_drops_membership(own, cast):
    me, newbie, group = demo(own), newcomer(own), cast["group"]
    private = next(p for p in me.all("project") if not p["is_public"] and group["name"] in p["groups"])
    r = newbie.get(path("group", group["id"], "join"))
    assert r.status_code == 200 and "requested" in detail(r)
    assert newbie.email not in newbie.one("group", group["id"])["users"]  # not yet a member
    uid = _user_id(newbie)
    request = only_one(newbie, "group_membership_request", user_account_request=uid)
    assert request["authgroup"] == group["id"]
    assert newbie.get(path("group_membership_request", request["id"], "accept")).status_code == 403
    # The group's owner sees the request and lets the newcomer in.
    assert request["id"] in me.ids("group_membership_request")
    r = me.get(path("group_membership_request", request["id"], "accept"))
    assert r.status_code == 200, r.text
    assert newbie.one("group", group["id"])["users"][newbie.email] == {"is_manager": False, "is_owner": False}
    # Membership opens the group's private projects.
    assert newbie.ids("session", **{"filter{projects.id}": private["id"]}) == set(private["sessions"])
    r = newbie.get(path("group", group["id"], "join"))
    assert r.status_code == 400 and "already a member" in detail(r)
    r = newbie.get(path("group", group["id"], "leave"))
    assert r.status_code == 200 and "left" in detail(r)
    assert newbie.email not in me.one("group", group["id"])["users"]
    assert newbie.get(path("project", private["id"])).status_code == 404
    r = newbie.get(path("group", group["id"], "leave"))
    assert r.status_code == 400 and "not a member" in detail(r)


def test_log_entries_are_added_by_those_who_may_change_the_subject(own):
    me = demo(own)
    project = project_with_role(me, CONTRIBUTOR)
    log = me.create("subjectlog", {"type": "Weighing", "subject": project["subjects"][0]})
    assert log["entries"] in ([], None)
    entry = {"date_time": "2026-02-03T09:00:00Z", "notes": "weighed", "details": {"weight": 24.5}}
    r = me.patch(path("subjectlog", log["id"], "add_entry"), entry)
    assert r.status_code == 200, r.text
    assert r.json()["subject_log"]["entries"] == [entry]
    assert me.one("subjectlog", log["id"])["entries"] == [entry]
    r = me.patch(path("subjectlog", log["id"], "add_entry"), {"notes": "no time"})
    assert r.status_code == 400 and "date_time" in r.json()
    # A read-only member cannot add to the logs of their project's subjects.
    readonly = project_with_role(me, MEMBER)
    theirs = me.all("subjectlog", **{"filter{subject}": readonly["subjects"][0]})[0]
    r = me.patch(path("subjectlog", theirs["id"], "add_entry"), entry)
    assert r.status_code == 403 and "change permission" in detail(r)
    assert me.one("subjectlog", theirs["id"]) == theirs
    # Actions are private: the public portal refuses them.
    r = Person(own).patch(path("subjectlog", log["id"], "add_entry", portal="public"), entry)
    assert r.status_code == 403 and detail(r)


# -- writes: rules of the API pages (issue 18) ---------------------------------------


def test_only_administrators_add_change_and_delete_brain_regions(own):
    """api/taxonomies/brainregion.md: only administrators add, change and delete them."""
    me, admin = demo(own), login(own, REVIEWER)
    region = {"name": unique("Perm region"), "acronym": "PRM", "atlas": "AIA"}
    before = me.ids("brainregion")
    r = me.post(path("brainregion"), region)
    assert r.status_code == 403 and "administrators" in detail(r)
    assert me.ids("brainregion") == before
    seeded = me.one("brainregion", sorted(before)[0])
    for method, payload in (("PATCH", {"description": "not allowed"}), ("PUT", region), ("DELETE", None)):
        r = me.request(method, path("brainregion", seeded["id"]), json=payload)
        assert r.status_code == 403 and "administrators" in detail(r), r.text
    assert me.one("brainregion", seeded["id"]) == seeded
    # No approval step: the administrator's writes land at once.
    created = admin.create("brainregion", region)
    assert created["name"] == region["name"] and created["id"] in me.ids("brainregion")
    r = admin.patch(path("brainregion", created["id"]), {"description": "changed by an administrator"})
    assert r.status_code == 200 and me.one("brainregion", created["id"])["description"] == "changed by an administrator"
    assert admin.delete(path("brainregion", created["id"])).status_code == 204
    assert me.get(path("brainregion", created["id"])).status_code == 404


def test_publications_are_changed_and_deleted_by_any_signed_in_user(own, cast):
    """api/dissemination/publication.md sets no rule: the creator and others may change and delete."""
    me, other = demo(own), cast["outsider"]
    journal = me.all("journal")[0]["id"]
    paper = {"title": unique("Perm paper"), "authors": "Me et al.", "journal": journal, "abstract": "a"}
    mine = me.create("publication", {**paper, "publication_date": "2026-01-02"})
    r = other.patch(path("publication", mine["id"]), {"abstract": "revised by a colleague"})
    assert r.status_code == 200, r.text
    assert me.one("publication", mine["id"])["abstract"] == "revised by a colleague"
    r = me.delete(path("publication", mine["id"]))
    assert r.status_code == 204, r.text
    assert me.get(path("publication", mine["id"])).status_code == 404
    theirs = other.create("publication", {**paper, "title": unique("Perm paper"), "publication_date": "2026-01-03"})
    assert me.delete(path("publication", theirs["id"])).status_code == 204
    assert Person(own).get(path("publication", theirs["id"], portal="public")).status_code == 404
    r = Person(own).delete(path("publication", mine["id"], portal="public"))
    assert r.status_code == 403  # the public portal stays read-only


def test_journal_delete_has_no_administrator_rule_unlike_species(own):
    """api/dissemination/journal.md states no delete rule; species.md says administrators only."""
    me, admin = demo(own), login(own, REVIEWER)
    approval = me.create("journal", {"name": unique("Perm journal")})
    assert admin.patch(path("journalapproval", approval["id"], "accept")).status_code == 200
    journal = me.all("journal", **{"filter{name}": approval["name"]})[0]
    r = me.delete(path("journal", journal["id"]))
    assert r.status_code == 204, r.text
    assert me.get(path("journal", journal["id"])).status_code == 404
    species = me.all("species")[0]
    r = me.delete(path("species", species["id"]))
    assert r.status_code == 403 and "administrators" in detail(r)


def _new_group(own: Sandbox) -> tuple[Person, Person, dict]:
    """A fresh group owned by one newcomer, with a second newcomer as its manager."""
    owner, manager = newcomer(own), newcomer(own)
    group = owner.create("group", {"name": unique("Perm group")})
    r = owner.patch(path("group", group["id"]), {"users": {manager.email: {"is_manager": True}}})
    assert r.status_code == 200, r.text
    assert r.json()["group"]["users"][manager.email] == {"is_manager": True, "is_owner": False}
    return owner, manager, group


def test_group_managers_change_members_owners_details_managers_and_deletion(own):
    """datamodel/permissions.md: owners rename and manage managers; managers add/remove members."""
    owner, manager, group = _new_group(own)
    plain = newcomer(own)
    r = manager.patch(path("group", group["id"]), {"users": {plain.email: {}}})
    assert r.status_code == 200, r.text
    assert owner.one("group", group["id"])["users"][plain.email] == {"is_manager": False, "is_owner": False}
    refused = (
        ({"name": "renamed by a manager"}, "group details"),
        ({"users": {plain.email: {"is_manager": True}}}, "managers and owners"),
        ({"users": {owner.email: {"remove": True}}}, "managers and owners"),
    )
    for payload, words in refused:
        r = manager.patch(path("group", group["id"]), payload)
        assert r.status_code == 403 and words in detail(r), r.text
    r = manager.delete(path("group", group["id"]))
    assert r.status_code == 403 and "owners" in detail(r)
    r = plain.patch(path("group", group["id"]), {"users": {plain.email: {"remove": True}}})
    assert r.status_code == 403 and "managers and owners" in detail(r)
    assert owner.one("group", group["id"])["name"] == group["name"]
    r = owner.patch(path("group", group["id"]), {"name": group["name"] + " renamed"})
    assert r.status_code == 200 and r.json()["group"]["name"] == group["name"] + " renamed"
    assert owner.delete(path("group", group["id"])).status_code == 204
    assert owner.get(path("group", group["id"])).status_code == 404


def test_laboratories_are_written_by_the_owners_of_their_group_not_only_its_investigators(own):
    """A laboratory is its group's details (datamodel/users.md, permissions.md): group owners write it."""
    me = demo(own)
    labs = {lab["group"]: lab for lab in me.all("laboratory")}
    groups = {g["id"]: g for g in me.all("group")}
    uid = _user_id(me)
    owned = next(gid for gid, g in groups.items() if g["users"].get(own.email, {}).get("is_owner") and gid in labs)
    member = next(gid for gid, g in groups.items() if g["users"].get(own.email) == MEMBER_OF_GROUP and gid in labs)
    assert uid not in labs[owned]["principal_investigators"]  # an owner, not an investigator
    r = me.patch(path("laboratory", labs[owned]["id"]), {"description": "edited by a group owner"})
    assert r.status_code == 200 and r.json()["laboratory"]["description"] == "edited by a group owner"
    r = me.patch(path("laboratory", labs[member]["id"]), {"description": "edited by a plain member"})
    assert r.status_code == 403 and "owners of a laboratory's group" in detail(r)
    assert me.one("laboratory", labs[member]["id"]) == labs[member]
    owner, manager, group = _new_group(own)
    r = owner.patch(path("laboratory", labs[owned]["id"]), {"group": group["id"]})  # moving it needs both
    assert r.status_code == 403 and str(owned) in detail(r)
    lab = {"group": group["id"], "principal_investigators": [_user_id(owner)], "institution": "Perm U"}
    r = manager.post(path("laboratory"), lab)
    assert r.status_code == 403 and "owners" in detail(r)
    created = owner.create("laboratory", lab)
    r = manager.patch(path("laboratory", created["id"]), {"city": "Nowhere"})
    assert r.status_code == 403
    assert manager.delete(path("laboratory", created["id"])).status_code == 403
    assert owner.delete(path("laboratory", created["id"])).status_code == 204


def test_only_owners_of_the_owning_group_make_a_personal_attribute_public(own, cast):
    """datamodel/personal_attributes/*.md: public access "Only owners can modify this setting"."""
    owner, manager, group = _new_group(own)
    setup = owner.create("setup", {"name": unique("perm-public-setup"), "setup_type": cast["setup_type"]})
    r = manager.patch(path("setup", setup["id"]), {"description": "a manager's words"})
    assert r.status_code == 200, r.text
    r = manager.patch(path("setup", setup["id"]), {"is_public": True})
    assert r.status_code == 403 and "owners" in detail(r)
    assert owner.one("setup", setup["id"])["is_public"] is False
    r = owner.patch(path("setup", setup["id"]), {"is_public": True})
    assert r.status_code == 200 and r.json()["setup"]["is_public"] is True


def test_cohorts_collections_and_breedings_link_only_records_of_their_project(own):
    """api/stem/cohort.md and breeding.md: linked subjects "must already belong to the same project"."""
    me = demo(own)
    home, other = (me.create("project", {"name": unique(f"perm-{n}")}) for n in ("home", "other"))
    strain = me.all("strain")[0]["id"]
    mother, father = (
        me.create("subject", {"name": unique("perm-subject"), "projects": [home["id"]], "strain": strain, "sex": sex})
        for sex in "FM"
    )
    session = me.create("session", {"name": unique("perm-session"), "projects": [home["id"]]})
    refused = (
        ("cohort", {"name": unique("c"), "project": other["id"], "subjects": [mother["id"]]}, "subjects"),
        ("collection", {"name": unique("c"), "project": other["id"], "sessions": [session["id"]]}, "sessions"),
        (
            "breeding",
            {"name": unique("b"), "project": other["id"], "mother": mother["id"], "father": father["id"]},
            "mother",
        ),
    )
    for model, payload, field in refused:
        r = me.post(path(model), payload)
        assert r.status_code == 400, r.text
        assert mother["id"] in str(r.json()[field]) or session["id"] in str(r.json()[field])
        accepted = me.create(model, {**payload, "project": home["id"]})
        # Moving it to another project keeps the rule: the links would fall outside it.
        r = me.patch(path(model, accepted["id"]), {"project": other["id"]})
        assert r.status_code == 400 and field in r.json(), r.text
        assert me.one(model, accepted["id"])["project"] == home["id"]
