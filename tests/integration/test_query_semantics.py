"""Query semantics of the real stack (Django on PostgreSQL): the sandbox on both databases and offline.

One SQLite and one PostgreSQL sandbox per module, each with the same records of our
own added (non-ASCII names and tags: 'Ärger', 'élan', 'ß', ...). Every query runs on
both and offline (a snapshot of the sandbox), and the answers must be the same id
lists; several are also checked against the answer PostgreSQL's rules give, so the
three cannot agree on a wrong rule. The rules themselves (UPPER(), jsonb
containment and order) are checked against the PostgreSQL server directly.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import psycopg
import pytest
import requests
from test_offline import merged

import brainstem_pandas as bsp
from brainstem_pandas import catalog
from brainstem_pandas.frames import records_frame
from brainstem_pandas.offline import OfflineSource
from brainstem_pandas.sandbox import Sandbox
from brainstem_pandas.sandbox.postgres import PostgresServer, sweep_stale
from brainstem_pandas.semantics import json_contains, jsonb_sort_key, jsonb_sort_text, pg_upper

DATABASES = ("sqlite", "postgresql")
NAMES = [
    "Ärger eins",
    "ärger zwei",
    "ÄRGER drei",
    "arger vier",
    "Zebra",
    "zebra",
    "élan",
    "Élan",
    "ELAN",
    "Straße",
    "STRASSE",
    "ẞ groß",
    "_x%",
    "Ωmega",
    "ωmega",
]
TAGS = [["Ärger"], ["ärger", "pilot"], ["pilot"], [], ["Pilot"], ["élan", "ß"], ["z"], ["a", "b"], ["b"]]
MINE = {"name.in": NAMES}
# (filters, sort, the names PostgreSQL answers in that order, or None: only compared)
QUERIES: list[tuple[dict, list[str] | None, list[str] | None]] = [
    ({"name.icontains": "ärger"}, ["name"], ["ÄRGER drei", "Ärger eins", "ärger zwei"]),
    ({"name.icontains": "ARGER"}, ["name"], ["arger vier"]),
    ({"name.contains": "rger"}, ["name"], ["arger vier", "Ärger eins", "ärger zwei"]),
    ({"name.contains": "ÄR"}, None, ["ÄRGER drei"]),
    ({"name.iexact": "zebra"}, ["name"], ["Zebra", "zebra"]),
    ({"name.iexact": "élan"}, ["name"], ["Élan", "élan"]),  # ELAN is another word: É is not E
    ({"name.istartswith": "É"}, ["-name"], ["élan", "Élan"]),
    ({"name.startswith": "é"}, None, ["élan"]),
    ({"name.iendswith": "MEGA"}, ["name"], ["Ωmega", "ωmega"]),
    ({"name.istartswith": "ω"}, ["name"], ["Ωmega", "ωmega"]),
    ({"name.icontains": "straße"}, None, ["Straße"]),  # UPPER('ß') is 'ß': not STRASSE
    ({"name.icontains": "ß"}, ["name"], ["Straße", "ẞ groß"]),  # 'ẞ' is the capital, a letter of its own
    ({"name.endswith": "%"}, None, ["_x%"]),
    ({"name.startswith": "_"}, None, ["_x%"]),
    ({**MINE, "tags.contains": "pilot"}, ["name"], None),
    ({**MINE, "tags.contains": "Ärger"}, None, None),
    ({**MINE, "tags.icontains": "ärger"}, ["name"], None),
    ({**MINE, "tags.icontains": '"b"'}, ["name"], None),
    ({**MINE, "tags.contains": "ß"}, None, None),
    (MINE, ["name"], sorted(NAMES)),  # code point order: 'Z' < 'a' < 'É' < 'ß'
    (MINE, ["-name"], sorted(NAMES, reverse=True)),
    (MINE, ["date_time", "name"], None),  # NULLs last
    (MINE, ["-date_time", "name"], None),  # NULLs first
    (MINE, ["tags", "name"], None),  # as jsonb: [] first, then by length
    (MINE, ["-tags", "-name"], None),
    (MINE, ["description", "-name"], None),
]


def _add_records(client: bsp.Client, email: str) -> None:
    projects = client.read("project")
    mine = next(p for p, users in projects["users"].items() if users.get(email, {}).get("can_change"))
    for i, name in enumerate(NAMES):
        client.save(
            "session",
            {
                "name": name,
                "projects": [mine],
                "tags": TAGS[i % len(TAGS)],
                "description": name.lower() if i % 3 else "",
                "date_time": f"2024-05-0{i % 3 + 1}T12:00:00.{i:06d}Z" if i % 4 else None,
            },
        )


def _snapshot(client: bsp.Client) -> OfflineSource:
    return OfflineSource(merged([client.read_linked("session"), client.read_linked("project")]))


class Side:
    """One database: its sandbox, a client, and the offline source from its snapshot."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.client = bsp.connect(sandbox.url, token=sandbox.token, progress=False)
        _add_records(self.client, sandbox.email)
        self.source = _snapshot(self.client)

    def names(self, filters: dict, sort: list[str] | None) -> list[str]:
        return self.client.read("session", filters=filters, sort=sort)["name"].tolist()


@pytest.fixture(scope="module")
def sides() -> Iterator[dict[str, Side]]:
    started = {db: Sandbox(sessions=100, database=db).start() for db in DATABASES}
    try:
        out = {db: Side(sb) for db, sb in started.items()}
        yield out
        for side in out.values():
            side.client.close()
    finally:
        for sb in started.values():
            sb.stop()


@pytest.mark.parametrize("db", DATABASES)
@pytest.mark.parametrize("filters, sort, expected", QUERIES, ids=[f"q{i}" for i in range(len(QUERIES))])
def test_online_offline_and_postgresql_rules_agree(db, filters, sort, expected, sides):
    side = sides[db]
    online = side.client.read("session", filters=filters, sort=sort)
    offline = records_frame("session", side.source.select("session", filters, sort))
    assert len(online) > 0
    assert offline.index.tolist() == online.index.tolist()
    if expected is not None:
        assert online["name"].tolist() == expected


@pytest.mark.parametrize("filters, sort, expected", QUERIES, ids=[f"q{i}" for i in range(len(QUERIES))])
def test_sqlite_answers_as_postgresql(filters, sort, expected, sides):
    # Ids differ (our records got fresh ids on each), so the names and their order are compared;
    # without a sort the order is by id, which differs for that reason alone.
    sqlite, postgresql = sides["sqlite"].names(filters, sort), sides["postgresql"].names(filters, sort)
    assert sqlite == postgresql if sort else sorted(sqlite) == sorted(postgresql)
    assert len(sqlite) > 0


def test_list_contains_answers_the_holders_and_tags_by_a_text_answers_nothing(sides):
    for side in sides.values():
        sb, url = side.sandbox, side.sandbox.url + "/api/private/stem/session/"
        headers = {"Authorization": f"Bearer {sb.token}"}
        tags = side.client.read("session")["tags"]
        holders = sum("pilot" in t for t in tags)
        assert holders > 0

        def count(**params: str) -> int:
            r = requests.get(url, params={"limit": 1, **params}, headers=headers, timeout=30)
            assert r.status_code == 200, r.text
            return r.json()["count"]

        # What the official clients' tags=pilot sends: the whole list against one text.
        assert count(**{"filter{tags}": "pilot"}) == 0
        assert count(**{"filter{tags.contains}": "pilot"}) == holders
        assert count(**{"filter{tags.contains}": "Pilot"}) == sum("Pilot" in t for t in tags)
        assert count(**{"filter{tags.contains}": "pil"}) == 0


OPERATORS = ["", "iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"]
OPERATORS += ["in", "gt", "gte", "lt", "lte", "isnull", "range"]


def _json_answers(sb: Sandbox) -> dict[str, tuple[int, Any]]:
    """Every operator on every JSON and list field of every privately listable model: status and count."""
    headers = {"Authorization": f"Bearer {sb.token}"}
    answers: dict[str, tuple[int, Any]] = {}
    with requests.Session() as http:
        for model in catalog.all_models().values():
            if "private" not in model.portals.get("list", ()):
                continue
            for field in (f for f in model.fields if f.type in ("json", "list[string]")):
                for op in OPERATORS:
                    key = f"filter{{{field.name}{'.' + op if op else ''}}}"
                    values = ["true"] if op == "isnull" else ["baseline", "pilot"] if op == "range" else ["pilot"]
                    url = f"{sb.url}/api/private/{model.app}/{model.name}/"
                    r = http.get(url, params=[(key, v) for v in values] + [("limit", 1)], headers=headers, timeout=30)
                    answers[f"{model.name} {key}"] = (r.status_code, r.json().get("count"))
    return answers


def test_no_operator_on_a_json_or_list_field_answers_500_and_sqlite_answers_as_postgresql(sides):
    sqlite, postgresql = (_json_answers(sides[db].sandbox) for db in DATABASES)
    assert len(postgresql) > 300
    assert {status for status, _ in postgresql.values()} <= {200, 400}
    # The cases must discriminate: some match records, some match none.
    assert {count > 0 for status, count in postgresql.values() if status == 200} == {True, False}
    assert {k: v for k, v in sqlite.items() if v != postgresql[k]} == {}


def _sorted_ids(sb: Sandbox, model: catalog.Model, sort: list[str]) -> list[str]:
    headers = {"Authorization": f"Bearer {sb.token}"}
    out: list[str] = []
    with requests.Session() as http:
        while True:
            params = [("sort[]", s) for s in sort] + [("limit", 100), ("offset", len(out))]
            r = http.get(f"{sb.url}/api/private/{model.app}/{model.name}/", params=params, headers=headers, timeout=30)
            assert r.status_code == 200, r.text
            page = r.json()[model.list_key]
            out += [str(record["id"]) for record in page]
            if len(page) < 100:
                return out


@pytest.mark.parametrize("model_name", ["session", "project", "dataacquisition", "equipment", "subject"])
def test_json_fields_sort_as_jsonb_on_both_databases(model_name, sides):
    model = catalog.model(model_name)
    # links is computed by the serializer, not stored: the server cannot sort by it.
    for field in (f for f in model.fields if f.type in ("json", "list[string]") and f.name != "links"):
        for sort in ([field.name, "id"], [f"-{field.name}", "id"]):
            sqlite, postgresql = (_sorted_ids(sides[db].sandbox, model, sort) for db in DATABASES)
            seeded = set(sqlite) & set(postgresql)  # the records we added got other ids on each
            assert len(seeded) > 5
            assert [i for i in sqlite if i in seeded] == [i for i in postgresql if i in seeded], sort


@pytest.mark.parametrize("db", DATABASES)
@pytest.mark.parametrize("key", ["filter{name}", "filter{name.icontains}", "filter{tags.contains}", "sort[]"])
def test_a_nul_character_in_a_query_is_a_400_on_both_databases(db, key, sides):
    # PostgreSQL cannot hold NUL in text (a plain Django server answers 500); SQLite's LIKE
    # would stop reading the pattern there and match nearly everything.
    sb = sides[db].sandbox
    r = requests.get(
        sb.url + "/api/private/stem/session/",
        params={key: "a\x00"},
        headers={"Authorization": f"Bearer {sb.token}"},
        timeout=30,
    )
    assert r.status_code == 400 and "NUL" in r.json()["detail"]


# -- the rules, against PostgreSQL itself ------------------------------------------------------------


@pytest.fixture(scope="module")
def pg(sides) -> Iterator[psycopg.Connection]:
    cfg = sides["postgresql"].sandbox.config
    with psycopg.connect(host=cfg.pg_host, port=cfg.pg_port, user="bsp", dbname="brainstem") as conn:
        yield conn


def test_upper_is_postgresql_upper_for_every_character(pg):
    rows = pg.execute(
        "SELECT i, upper(chr(i)) FROM generate_series(1, 1114111) i WHERE i < 55296 OR i > 57343"
    ).fetchall()
    assert len(rows) > 1_100_000
    assert [(i, u) for i, u in rows if pg_upper(chr(i)) != u] == []


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(["str", "num", "bool", "null", "list", "dict"] if depth < 2 else ["str", "num", "bool"])
    if kind == "str":
        return rng.choice(["a", "b", "pilot", "ß", "É", ""])
    if kind == "num":
        return rng.choice([0, 1, 1.5, 2])
    if kind == "bool":
        return rng.choice([True, False])
    if kind == "null":
        return None
    if kind == "list":
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["a", "bb", "c"]): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def test_json_containment_and_order_are_jsonb_s(pg):
    rng = random.Random(18)
    values = [_random_json(rng) for _ in range(300)]
    pairs = [(rng.choice(values), rng.choice(values)) for _ in range(1500)]
    pairs += [(v, w) for v in values[:40] for w in values[:40]]
    texts = [(json.dumps(a), json.dumps(b)) for a, b in pairs]
    got = pg.execute(
        "SELECT a::jsonb @> b::jsonb FROM unnest(%s::text[], %s::text[]) AS t(a, b)",
        ([a for a, _ in texts], [b for _, b in texts]),
    ).fetchall()
    assert sum(r[0] for r in got) > 50  # the cases must include containment, not only its absence
    assert [json_contains(a, b) for a, b in pairs] == [r[0] for r in got]
    ordered = pg.execute(
        "SELECT t FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, n) ORDER BY t::jsonb, n",
        ([json.dumps(v) for v in values],),
    ).fetchall()
    assert [json.loads(r[0]) for r in ordered] == sorted(values, key=jsonb_sort_key)
    assert [json.loads(r[0]) for r in ordered] == sorted(values, key=jsonb_sort_text)  # the SQLite mode's key


# -- the PostgreSQL server's life cycle ---------------------------------------------------------------


def _postmaster_pid(folder: Path) -> int:
    return int((folder / "data" / "postmaster.pid").read_text().split()[0])


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie (not reaped yet) is gone too.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def _wait_gone(pid: int, attempts: int = 300) -> bool:
    for _ in range(attempts):
        if _gone(pid):
            return True
        time.sleep(0.05)
    return False


def test_stop_removes_the_server_and_its_folder():
    server = PostgresServer().start()
    folder = server.folder
    assert folder is not None
    pid = _postmaster_pid(folder)
    with psycopg.connect(host=server.socket_dir, port=server.port, user="bsp", dbname="brainstem") as conn:
        assert conn.execute("SHOW lc_collate").fetchone() == ("C.UTF-8",)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("",)  # no TCP port at all
    server.stop()
    assert _wait_gone(pid)
    assert not folder.exists()


def test_a_killed_parent_takes_its_server_along_and_the_next_start_sweeps_the_folder():
    script = (
        "import sys; from brainstem_pandas.sandbox.postgres import PostgresServer\n"
        "s = PostgresServer().start(); print(s.folder, flush=True); sys.stdin.read()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    folder = Path(child.stdout.readline().strip())
    pid = _postmaster_pid(folder)
    child.send_signal(signal.SIGKILL)  # no atexit, no stop()
    child.wait()
    assert _wait_gone(pid)  # the parent-death signal stopped the postmaster
    assert folder.exists()
    assert sweep_stale() >= 1
    assert not folder.exists()


def test_a_postgresql_sandbox_adds_users_and_serves_them(sides):
    sb = sides["postgresql"].sandbox
    token = sb.add_user("pg-user@example.org", "a-long-password-1")
    r = requests.get(sb.url + "/api/private/users/user/", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200
    assert any(u.get("email") == "pg-user@example.org" for u in r.json()["users"])
