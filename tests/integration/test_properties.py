"""Property-based tests: queries through the sandbox's own parsing, and the frames builder on any JSON.

Part 1 encodes generated queries (any model, any filterable field, every operator
that fits its type, awkward values) with :mod:`brainstem_pandas.query`, sends them
through real URL encoding and parses them back with the code the sandbox runs on
each request (dynamic-rest's ``filter{}``/``sort[]``/``include[]`` handling, then
Django's own value conversion). One property runs against a live sandbox and
compares with pandas.

Part 2 feeds generated records (nested objects, lists, mixed types, None, NaN,
huge integers, duplicate ids) to :class:`~brainstem_pandas.frames.FrameBuilder`
and checks what a user relies on: one row per id, the first record seen wins,
every scalar value can be found again where the layout rules put it, and the
result does not depend on spilling or on where the pages were cut.

Each test also runs the cases that once failed (``@example``). For a deeper search
by hand: ``BSP_PROPERTY_SCALE=20 pytest tests/test_properties.py``.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
import math
import os
import re
import tempfile
import uuid
import warnings
import zoneinfo
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import requests
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import brainstem_pandas as bsp
from brainstem_pandas import catalog
from brainstem_pandas.auth import StaticToken
from brainstem_pandas.frames import CastFailed, FrameBuilder, LinkedFrames, TypeConflictWarning, arrow_frame
from brainstem_pandas.query import OPERATORS, build_params
from brainstem_pandas.semantics import pg_upper

# -- hypothesis profile ---------------------------------------------------------------------
#
# Registered here (not loaded globally) so other test files keep their own settings.
# In CI the examples are derived from the test itself: every run checks the same cases.

CI = bool(os.environ.get("CI"))
settings.register_profile(
    "bsp-properties",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    **({"derandomize": True, "database": None} if CI else {}),
)
PROFILE = settings.get_profile("bsp-properties")


# BSP_PROPERTY_SCALE=20 runs twenty times as many examples.
SCALE = float(os.environ.get("BSP_PROPERTY_SCALE", "1"))


def examples(n: int) -> settings:
    """The file's profile with ``n`` examples (times the scale)."""
    return settings(PROFILE, max_examples=max(1, round(n * SCALE)))


# =============================================================================================
# Part 1: query encoding, read back by the sandbox
# =============================================================================================

# The one catalogued field the server computes per answer: it has no column to filter on.
COMPUTED = {"links"}
UTC = timezone.utc

AWKWARD = st.sampled_from(
    [
        "",
        " ",
        "  leading",
        "trailing  ",
        "a,b",
        "[a,b]",
        "[x]",
        "[",
        "]",
        "'",
        '"',
        "%",
        "_",
        "%_%",
        "&",
        "=",
        "+",
        "a+b",
        "a b",
        "a&b=c",
        "#frag",
        "?q",
        "/",
        "\\",
        "{x}",
        "}",
        "é",
        "名前",
        "😀",
        "\t",
        "\n",
        "null",
        "true",
        "1,2",
        "MM00003",
        "Session",
    ]
)
TEXT = st.one_of(
    AWKWARD,
    st.lists(AWKWARD, min_size=2, max_size=4).map("".join),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
)
OFFSETS = st.timedeltas(min_value=timedelta(hours=-23, minutes=59), max_value=timedelta(hours=23, minutes=59))
ZONES = st.timezones() if zoneinfo.available_timezones() else st.just(UTC)  # needs the tz database
DATETIMES = st.datetimes(
    min_value=datetime(1900, 1, 2),
    max_value=datetime(2199, 12, 30),
    timezones=st.one_of(st.none(), st.just(UTC), OFFSETS.map(timezone), ZONES),
)


def kind_of(f: catalog.Field) -> str:
    """The operator family of a field (as :data:`brainstem_pandas.query.OPERATORS` keys it)."""
    return "relation" if f.is_relation else f.type


def id_values(model_name: str | None) -> st.SearchStrategy:
    """Ids of ``model_name``: integers for users and groups, UUIDs (in any spelling) otherwise."""
    spec = catalog.all_models().get(model_name or "")
    if spec is not None and spec.id_type == "integer":
        return st.integers(1, 2**31)
    return st.uuids().flatmap(lambda u: st.sampled_from([u, str(u), str(u).upper()]))


def values_for(f: catalog.Field) -> st.SearchStrategy:
    """Single filter values of the right Python type for ``f``."""
    kind = kind_of(f)
    if kind in ("relation", "uuid"):
        return id_values(f.related_model)
    if kind == "integer":
        return st.integers(-(2**63), 2**63 - 1)
    if kind == "boolean":
        return st.booleans()
    if kind == "date":
        return st.dates()
    if kind == "datetime":
        # Dates are documented for datetime fields too ("date_time.gte": date(2024, 1, 1)).
        return st.one_of(DATETIMES, st.dates(min_value=date(1900, 1, 2)))
    if f.choices:
        return st.one_of(st.sampled_from(f.choices), TEXT)
    return TEXT


def converted(f: catalog.Field, value: Any) -> Any:
    """What the server should compare with: ``value`` as the field's Python type."""
    kind = kind_of(f)
    if kind == "uuid" or (kind == "relation" and not isinstance(value, int)):
        return uuid.UUID(str(value))
    if isinstance(value, datetime):
        # A naive datetime is documented as UTC; an aware one is the same instant in UTC.
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if kind == "datetime":
        return datetime.combine(value, time(), UTC)  # a date is midnight UTC of that day
    return value


@dataclass(frozen=True)
class Condition:
    """One generated filter: the dotted field path, the operator and the value."""

    path: tuple[str, ...]
    field: catalog.Field = dataclasses.field(repr=False)
    op: str = "exact"
    value: Any = None
    explicit_exact: bool = False

    @property
    def key(self) -> str:
        """The ``filters`` key a user writes."""
        name = ".".join(self.path)
        return name if self.op == "exact" and not self.explicit_exact else f"{name}.{self.op}"

    @property
    def orm_key(self) -> str:
        """The ORM lookup the sandbox must build (its field names are the catalog's)."""
        return "__".join(self.path) + ("" if self.op == "exact" else f"__{self.op}")

    def expected(self) -> Any:
        if self.op == "isnull":
            return self.value
        if self.op == "in":
            return [converted(self.field, v) for v in self.value]
        return converted(self.field, self.value)


def catalogued(name: str | None) -> catalog.Model | None:
    return catalog.all_models().get(name or "")


@st.composite
def field_paths(draw: st.DrawFn, model: catalog.Model, sortable: bool = False) -> tuple[tuple[str, ...], catalog.Field]:
    """A field of ``model`` or of a model up to two relations away."""
    path: list[str] = []
    spec = model
    for _ in range(draw(st.integers(0, 2))):
        hops = [f for f in spec.relations if catalogued(f.related_model) is not None]
        if not hops:
            break
        hop = draw(st.sampled_from(hops))
        path.append(hop.name)
        spec = catalogued(hop.related_model)
    # JSON fields can only be tested for null, so they cannot be sorted on.
    fields = [f for f in spec.fields if f.name not in COMPUTED and not (sortable and f.type == "json")]
    f = draw(st.sampled_from(fields))
    return (*path, f.name), f


@st.composite
def conditions(draw: st.DrawFn, model: catalog.Model) -> Condition:
    path, f = draw(field_paths(model))
    op = draw(st.sampled_from(OPERATORS[kind_of(f)]))
    if op == "isnull":
        value: Any = draw(st.booleans())
    elif op == "in":
        value = draw(st.lists(values_for(f), max_size=4))
    else:
        value = draw(values_for(f))
    return Condition(path, f, op, value, explicit_exact=op == "exact" and draw(st.booleans()))


MODELS = st.sampled_from(list(catalog.all_models().values()))


@st.composite
def filter_queries(draw: st.DrawFn) -> tuple[str, list[Condition]]:
    model = draw(MODELS)
    return model.name, draw(st.lists(conditions(model), min_size=1, max_size=3, unique_by=lambda c: c.key))


def unsendable(conds: list[Condition]) -> str | None:
    """Why ``conds`` cannot be sent as ``filter{}`` parameters (the toolkit must refuse them), or None.

    - an empty ``in`` list: no parameter at all would be sent, and the server would
      answer every record instead of none;
    - an ``in`` value like ``[a,b]``: the server reads it as the list ``a``, ``b``;
    - two conditions on the same field and operator (``name`` and ``name.exact``):
      the server keeps only the first of two equal parameters;
    - a text holding NUL: PostgreSQL text cannot hold it, the query could not run.
    """
    for c in conds:
        if any(isinstance(v, str) and "\x00" in v for v in (c.value if c.op == "in" else [c.value])):
            return "NUL in a text"
        if c.op == "in" and not c.value:
            return "empty in"
        if c.op == "in" and any(str(v).startswith("[") and str(v).endswith("]") and "," in str(v) for v in c.value):
            return "split by the server"
    if len({c.orm_key for c in conds}) < len(conds):
        return "same condition twice"
    return None


# -- the sandbox's parsing, in this process -----------------------------------------------------


@pytest.fixture(scope="module")
def django_sandbox() -> Iterator[None]:
    """The sandbox's Django configured in this process; no database is ever opened."""
    pytest.importorskip("dynamic_rest")
    import django
    from django.conf import settings as django_settings

    from brainstem_pandas.sandbox.config import ENV_VAR, SandboxConfig

    if not django_settings.configured:
        saved = {k: os.environ.get(k) for k in (ENV_VAR, "DJANGO_SETTINGS_MODULE")}
        # An in-memory database: a stray query could not leave a file in the package.
        os.environ[ENV_VAR] = SandboxConfig(db_path=":memory:").to_json()
        os.environ["DJANGO_SETTINGS_MODULE"] = "brainstem_pandas.sandbox.settings"
        try:
            django.setup()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    yield


@dataclass
class Parsed:
    """What the sandbox made of one request."""

    filters: dict[str, tuple[str, Any]]  # ORM key -> (lookup name, value after Django's conversion)
    ordering: list[str]
    include: dict[str, Any]


def sent_url(model: catalog.Model, params: list[tuple[str, str]]) -> str:
    """Path and query of the list request, URL-encoded as ``requests`` sends it."""
    url = (
        requests.Request("GET", f"http://sandbox.test/api/private/{model.app}/{model.segment}/", params=params)
        .prepare()
        .url
    )
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _leaves(q: Any) -> Iterator[tuple[str, Any]]:
    for child in q.children:
        if isinstance(child, tuple):
            yield child
        else:
            yield from _leaves(child)


def _lookups(node: Any) -> Iterator[Any]:
    for child in getattr(node, "children", ()):
        if hasattr(child, "lookup_name"):
            yield child
        else:
            yield from _lookups(child)


def sandbox_parse(model: catalog.Model, params: list[tuple[str, str]]) -> Parsed:
    """Parse a request exactly as the sandbox's viewset does, up to the ORM query (never run)."""
    from django.db.models import Q
    from dynamic_rest.filters import DynamicFilterBackend, DynamicSortingFilter
    from dynamic_rest.filters.base import _get_requested_filters
    from rest_framework.test import APIRequestFactory

    from brainstem_pandas.sandbox.api.models import MODELS as DJANGO_MODELS
    from brainstem_pandas.sandbox.api.views import VIEWSETS

    view = VIEWSETS[model.name]()
    view.args, view.kwargs, view.format_kwarg, view.headers = (), {"portal": "private"}, None, {}
    view.action_map = {"get": "list"}
    view.request = view.initialize_request(APIRequestFactory().get(sent_url(model, params)))
    include = copy.deepcopy(view.get_request_fields())  # serializers edit this tree later
    serializer = view.get_serializer()
    q = DynamicFilterBackend()._filters_to_query(_get_requested_filters(view), serializer)
    queryset = DJANGO_MODELS[model.name].objects.all()
    filters: dict[str, tuple[str, Any]] = {}
    with warnings.catch_warnings():
        # Django notes that a date for a datetime field is read as midnight in UTC.
        warnings.simplefilter("ignore", RuntimeWarning)
        for key, value in _leaves(q) if q else ():
            lookups = list(_lookups(queryset.filter(Q((key, value))).query.where))
            assert len(lookups) == 1, (key, lookups)
            filters[key] = (lookups[0].lookup_name, lookups[0].rhs)
    ordering = DynamicSortingFilter().get_ordering(view.request, queryset, view)
    return Parsed(filters, list(ordering or []), include)


def same_value(got: Any, wanted: Any) -> bool:
    """Equal, and of the same type (``True`` is not ``1``; datetimes must be in UTC)."""
    if isinstance(wanted, list):
        return isinstance(got, list) and len(got) == len(wanted) and all(map(same_value, got, wanted))
    if isinstance(wanted, datetime):
        return isinstance(got, datetime) and got.utcoffset() == timedelta(0) and got == wanted
    return type(got) is type(wanted) and got == wanted


NAME = catalog.model("session").field("name")


@examples(500)
@given(query=filter_queries())
@example(query=("session", [Condition(("name",), NAME, "in", [])]))
@example(query=("session", [Condition(("name",), NAME, "in", ["x", "[a,b]"])]))
@example(
    query=(
        "session",
        [Condition(("name",), NAME, "exact", "a"), Condition(("name",), NAME, "exact", "b", explicit_exact=True)],
    )
)
@example(
    query=(
        "session",
        [
            Condition(
                ("date_time",),
                catalog.model("session").field("date_time"),
                "gte",
                datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=2))),
            )
        ],
    )
)
def test_filters_reach_the_sandbox_as_asked(django_sandbox: None, query: tuple[str, list[Condition]]):
    """Every filter arrives as the same field path, operator and value(s), typed as the field is.

    Filters that cannot be sent faithfully as query parameters are refused with a
    QueryError before anything is sent, and only those.
    """
    name, conds = query
    model = catalog.model(name)
    filters = {c.key: c.value for c in conds}
    problem = unsendable(conds)
    note(f"filters={filters!r} problem={problem}")
    if problem:
        with pytest.raises(bsp.QueryError):
            build_params(model, filters=filters)
        return
    parsed = sandbox_parse(model, build_params(model, filters=filters))
    assert set(parsed.filters) == {c.orm_key for c in conds}
    for c in conds:
        lookup, value = parsed.filters[c.orm_key]
        assert lookup == c.op, c
        assert same_value(value, c.expected()), (c, value)


@st.composite
def include_paths(draw: st.DrawFn, model: catalog.Model) -> tuple[str, ...]:
    """A path of one or two relations (the last may lead to an uncatalogued model)."""
    path: list[str] = []
    spec: catalog.Model | None = model
    for _ in range(draw(st.integers(1, 2))):
        if spec is None or not spec.relations:
            break
        hop = draw(st.sampled_from(spec.relations))
        path.append(hop.name)
        spec = catalogued(hop.related_model)
    return tuple(path)


def include_tree(paths: list[tuple[str, ...]]) -> dict[str, Any]:
    """The request-field tree dynamic-rest should build: every included path ends in ``{"*": True}``."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for name in path:
            node = node.setdefault(name, {})
        node["*"] = True
    return tree


@st.composite
def shape_queries(draw: st.DrawFn) -> tuple[str, list[str], list[tuple[str, ...]], list[str]]:
    model = draw(MODELS)
    sort = [
        ("-" if draw(st.booleans()) else "") + ".".join(draw(field_paths(model, sortable=True))[0])
        for _ in range(draw(st.integers(0, 3)))
    ]
    paths = draw(st.lists(include_paths(model), max_size=3))
    paths = [p for p in paths if p]
    # The documented spellings: "projects", "projects.*" and "projects." mean the same.
    include = [".".join(p) + draw(st.sampled_from(["", ".*", "."])) for p in paths]
    return model.name, sort, paths, include


@examples(300)
@given(query=shape_queries())
def test_sort_and_include_reach_the_sandbox_as_asked(
    django_sandbox: None, query: tuple[str, list[str], list[tuple[str, ...]], list[str]]
):
    """``sort[]`` becomes the same ORM ordering (with ``id`` last to break ties), ``include[]`` the same tree."""
    name, sort, paths, include = query
    model = catalog.model(name)
    parsed = sandbox_parse(model, build_params(model, sort=sort, include=include))
    wanted = [("-" if key.startswith("-") else "") + key.lstrip("-").replace(".", "__") for key in sort]
    if not any(key.lstrip("-") == "id" for key in sort):
        wanted.append("id")
    assert parsed.ordering == wanted
    assert parsed.include == include_tree(paths)


# -- end to end: a live sandbox against pandas -----------------------------------------------------

# Text fields of sessions; names are never empty, descriptions often are.
LIVE_FIELDS = ("name", "description", "name_used_in_storage")
# Printable ASCII, and letters whose case only Unicode knows (ß, é, the Kelvin sign).
LIVE_ALPHABET = st.one_of(st.characters(min_codepoint=32, max_codepoint=126), st.sampled_from("\t\n éÉÜüñßK名😀–"))


@dataclass(repr=False)
class Live:
    """A client of the shared sandbox and every session it lets the demo user read."""

    client: bsp.Client
    sessions: pd.DataFrame


@pytest.fixture(scope="module")
def live(sandbox) -> Live:
    client = bsp.Client(sandbox.url, StaticToken(sandbox.token), progress=False)
    return Live(client, client.read("session"))


def case_variants(text: str) -> st.SearchStrategy[str]:
    return st.sampled_from([text, text.upper(), text.lower(), text.swapcase()])


@st.composite
def live_values(draw: st.DrawFn, column: pd.Series) -> str:
    """A value that matches some records (a slice of a real value, in any case) or probably none."""
    present = [v for v in column.dropna() if v]
    if present and draw(st.booleans()):
        whole = draw(st.sampled_from(present))
        start = draw(st.integers(0, len(whole) - 1))
        end = draw(st.integers(start, len(whole)))
        return draw(case_variants(whole[start:end]))
    return draw(st.one_of(AWKWARD.filter(lambda s: s.isascii()), st.text(LIVE_ALPHABET, max_size=6)))


def pandas_mask(column: pd.Series, op: str, value: Any) -> pd.Series:
    """The condition evaluated locally, with the sandbox's documented semantics.

    The sandbox answers as Django on PostgreSQL does: ``exact``, ``in`` and the
    pattern operators without ``i`` compare exactly (``LIKE`` is case-sensitive); the
    ``i`` operators compare PostgreSQL's ``UPPER()`` of both sides (every letter folded
    one at a time; checked against PostgreSQL in test_query_semantics.py).
    """
    text = column.astype("string")
    if op == "exact":
        return (text == value).fillna(False).astype(bool)
    if op == "in":
        return text.isin(value)
    if op == "isnull":
        return text.isna() if value else text.notna()
    folded, needle = text, value
    if op.startswith("i"):
        folded, needle = text.map(pg_upper, na_action="ignore").astype("string"), pg_upper(value)
    if op == "iexact":
        mask = folded == needle
    elif op.endswith("contains"):
        mask = folded.str.contains(needle, regex=False)
    elif op.endswith("startswith"):
        mask = folded.str.startswith(needle)
    else:
        mask = folded.str.endswith(needle)
    return mask.fillna(False).astype(bool)


@examples(25)
@given(data=st.data())
def test_text_filters_on_a_live_sandbox_match_pandas(live: Live, data: st.DataObject):
    """A filtered read returns exactly the rows pandas selects from an unfiltered read."""
    name = data.draw(st.sampled_from(LIVE_FIELDS), label="field")
    op = data.draw(st.sampled_from(OPERATORS["text"]), label="op")
    column = live.sessions[name]
    if op == "isnull":
        value: Any = data.draw(st.booleans(), label="value")
    elif op == "in":
        value = data.draw(st.lists(live_values(column), min_size=1, max_size=4), label="value")
        if unsendable([Condition((name,), catalog.model("session").field(name), op, value)]):
            return  # refused before sending; covered by test_filters_reach_the_sandbox_as_asked
    else:
        value = data.draw(live_values(column), label="value")
    got = live.client.read("session", filters={f"{name}.{op}": value})
    wanted = live.sessions[pandas_mask(column, op, value)]
    note(f"{len(got)} of {len(live.sessions)} sessions match")
    assert_frame_equal(got.sort_index(), wanted.sort_index())


# =============================================================================================
# Part 2: the frames builder on arbitrary records
# =============================================================================================

MODEL = "thing"  # not in the catalog: every column is laid out by inference
PARENT = f"{MODEL}_id"

# Keys of records and of objects in lists (the builder's own column names among them,
# unicode, blanks). They hold no dots: the layout spells an expanded object's columns
# "key.subkey", and a key "a.b" next to an object "a" with a key "b" would clash (a
# known limit of the layout; see DEEP_KEYS for where dots are safe).
FLAT_KEYS = st.one_of(
    st.sampled_from(["a", "b", "name", "value", "position", PARENT, "ключ", "名前", "", " ", "😀", "id_", "x-y"]),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="."), max_size=3),
)
# Keys deeper down are kept inside JSON text, so dots are safe there.
DEEP_KEYS = st.one_of(FLAT_KEYS, st.sampled_from(["a.b", ".", "x.", ".y"]))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.sampled_from([0.0, -0.0, 1.0, 1e16, 2.5, math.inf, -math.inf, math.nan]),
    st.text(max_size=6),
    AWKWARD,
)
DEEP = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(DEEP_KEYS, inner, max_size=3)),
    max_leaves=6,
)
ITEM_OBJECTS = st.dictionaries(FLAT_KEYS, st.one_of(SCALARS, DEEP), max_size=3)
TOP_VALUES = st.one_of(
    SCALARS,
    st.dictionaries(DEEP_KEYS, DEEP, max_size=4),  # objects expand into columns
    st.lists(st.one_of(SCALARS, ITEM_OBJECTS, st.lists(DEEP, max_size=2)), max_size=3),  # lists
    st.lists(ITEM_OBJECTS, min_size=1, max_size=3),  # child tables
    st.lists(st.uuids().map(str), min_size=1, max_size=3),  # link tables (ids of something)
)
TOP_KEYS = FLAT_KEYS.filter(lambda k: k != "id")


@st.composite
def record_lists(draw: st.DrawFn, max_records: int = 8) -> list[dict]:
    """Records of one model: ids of one kind (UUID text or integers), some repeated."""
    ids = draw(st.sampled_from([st.uuids().map(str), st.integers(-(2**63), 2**63 - 1)]))
    pool = draw(st.lists(ids, min_size=1, max_size=max_records, unique=True))
    return [
        {"id": draw(st.sampled_from(pool)), **draw(st.dictionaries(TOP_KEYS, TOP_VALUES, max_size=4))}
        for _ in range(draw(st.integers(0, max_records)))
    ]


@st.composite
def cuts(draw: st.DrawFn, n: int) -> list[int]:
    """Where to cut ``n`` records into pages."""
    return sorted(draw(st.lists(st.integers(0, n), max_size=4)))


@st.composite
def paged(draw: st.DrawFn, records: st.SearchStrategy[list[dict]]) -> tuple[list[dict], list[int]]:
    """Records and where to cut them into pages."""
    drawn = draw(records)
    return drawn, draw(cuts(len(drawn)))


def pages(records: list[dict], at: list[int]) -> list[list[dict]]:
    bounds = [0, *at, len(records)]
    return [records[a:b] for a, b in zip(bounds, bounds[1:])]


@contextmanager
def caught_warnings() -> Iterator[list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def warned(caught: list[warnings.WarningMessage]) -> list[tuple[str, str]]:
    return sorted((w.category.__name__, str(w.message)) for w in caught)


def fill(builder: FrameBuilder, parts: list[list[dict]], convert_each: bool) -> FrameBuilder:
    """Add the pages; ``convert_each``: convert each page at once (as between walks), not in batches."""
    for part in parts:
        builder.add_records(MODEL, part)
        if convert_each:
            builder.checkpoint()
    return builder


def build(
    parts: list[list[dict]], convert_each: bool = False, spill: Path | None = None
) -> tuple[LinkedFrames, list[tuple[str, str]]]:
    with caught_warnings() as caught:
        lf = fill(FrameBuilder(MODEL, spill=spill), parts, convert_each).finish()
    return lf, warned(caught)


def streamed(builder: FrameBuilder) -> dict[str, pd.DataFrame]:
    """The frames as the snapshot writer streams them: per-table plans, then batch by batch."""
    out = {}
    for layout in builder.layouts():
        plans = layout.plans()
        while True:
            try:
                batches = list(layout.batches(plans))
                break
            except CastFailed as failed:  # the writer's fallback: that column becomes text
                name = next(n for n, p in plans.items() if p.label == failed.column)
                plans[name] = plans[name].fallback()
        schema = pa.schema([(name, plan.target) for name, plan in plans.items()])
        table = pa.Table.from_batches(batches, schema=schema)
        out[layout.name] = arrow_frame(dict(zip(table.column_names, table.columns)), indexed=layout.kind == "table")
    return out


def first_seen(records: list[dict]) -> dict[Any, dict]:
    """The record that counts for each id: the first one."""
    out: dict[Any, dict] = {}
    for r in records:
        out.setdefault(r["id"], r)
    return out


def missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def as_text(value: Any) -> str:
    """How a scalar reads once its column is kept as text (Python's spelling)."""
    return str(value)


def same_leaf(original: Any, got: Any, text_ok: bool) -> bool:
    """``got`` is ``original`` found again: same type, or widened int -> float, or text when allowed."""
    if isinstance(got, np.generic):
        got = got.item()
    if original is None:
        return missing(got)
    if isinstance(original, float) and math.isnan(original):
        # Nullable Float64 columns hold NaN as missing (pandas' convention).
        return missing(got) or (text_ok and got == "nan")
    if missing(got):
        return False
    if text_ok and isinstance(got, str) and not isinstance(original, str):
        # An integer may have met floats in its page before the column became text.
        return got == as_text(original) or (isinstance(original, int) and got == as_text(float(original)))
    if isinstance(original, bool) or isinstance(got, bool):
        return type(got) is type(original) and got == original
    if isinstance(original, int) and isinstance(got, float):
        return got == float(original)  # numbers of different widths meet as floats (documented)
    return type(got) is type(original) and got == original


def leaves(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every scalar in a JSON value with its path of keys and list positions."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, (*path, i))
    else:
        yield path, value


def descend(cell: Any, rest: tuple, text_ok: bool) -> Iterator[tuple[Any, bool]]:
    """Follow ``rest`` into a cell: Python lists, or JSON kept as text."""
    if not rest:
        yield cell, text_ok
        return
    if isinstance(cell, str):
        try:
            cell = json.loads(cell)
        except ValueError:
            return
    if isinstance(cell, np.ndarray):
        cell = cell.tolist()
    key, more = rest[0], rest[1:]
    if isinstance(cell, dict) and key in cell:
        yield from descend(cell[key], more, text_ok)
    elif isinstance(cell, list) and isinstance(key, int) and key < len(cell):
        yield from descend(cell[key], more, text_ok)


def row_homes(row: Mapping[str, Any], columns: Mapping[str, bool], path: tuple) -> Iterator[tuple[Any, bool]]:
    """Where a value at ``path`` of an object can be in a row: its column, its expanded column, or JSON text."""
    key, rest = path[0], path[1:]
    if key in columns:
        yield from descend(row[key], rest, columns[key])
    if rest and isinstance(rest[0], str) and f"{key}.{rest[0]}" in columns:
        name = f"{key}.{rest[0]}"
        yield from descend(row[name], rest[1:], columns[name])


def homes(lf: LinkedFrames, rid: Any, path: tuple, lenient: bool) -> Iterator[tuple[Any, bool]]:
    """Every place the layout rules allow the record's value at ``path`` to be."""
    table = lf[MODEL]

    def text_columns(frame: pd.DataFrame) -> dict[str, bool]:
        return {c: lenient and isinstance(frame[c].dtype, pd.StringDtype) for c in frame.columns}

    yield from row_homes(table.loc[rid], text_columns(table), path)
    key, rest = path[0], path[1:]
    if not rest or not isinstance(rest[0], int):
        return
    child = lf.children.get(f"{MODEL}.{key}")
    if child is not None:
        rows = child[(child[PARENT] == rid) & (child["position"] == rest[0])]
        for _, row in rows.iterrows():
            if len(rest) > 1:
                # An object's own "position" or "<model>_id" is kept as "<field>.<name>" (documented).
                own = rest[1:] if rest[1] not in (PARENT, "position") else (f"{key}.{rest[1]}", *rest[2:])
                yield from row_homes(row, text_columns(child), own)
            else:  # the object itself: all its fields null if it was null
                fields = row.drop([PARENT, "position"])
                yield (None if all(missing(v) for v in fields) else fields.to_dict()), False
    link = lf.links.get(f"{MODEL}.{key}")
    if link is not None and len(rest) == 1:
        rows = link[(link[PARENT] == rid) & (link["position"] == rest[0])]
        yield from ((v, False) for v in rows[link.columns[1]])


LABEL = re.compile(r"""column ('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"): """)


def conflicts(caught: list[tuple[str, str]]) -> set[str]:
    """Labels (``model.column[.key]``) a TypeConflictWarning named: their values may be kept as text."""
    out = set()
    for category, message in caught:
        quoted = LABEL.match(message)
        if category == TypeConflictWarning.__name__ and quoted:
            out.add(ast.literal_eval(quoted.group(1)))  # the label as repr() wrote it
    return out


def lenient_for(path: tuple, names: set[str]) -> bool:
    """True if a warning said the column holding ``path`` (or one around it) was kept as text."""
    label = ".".join([MODEL, *(k for k in path if isinstance(k, str))])
    return any(label == n or label.startswith(n + ".") for n in names)


def check_leaves(lf: LinkedFrames, records: list[dict], caught: list[tuple[str, str]]) -> None:
    names = conflicts(caught)
    for rid, record in first_seen(records).items():
        for path, value in leaves({k: v for k, v in record.items() if k != "id"}):
            found = list(homes(lf, rid, path, lenient_for(path, names)))
            if value is None and not found:
                continue  # an absent key and a null are the same to a table
            assert any(same_leaf(value, got, ok) for got, ok in found), (rid, path, value, found)


@examples(300)
@given(case=paged(record_lists()))
@example(
    case=(
        [
            {"id": 1, "k": [0.5, True]},
            {"id": 2, "k": {"a": False, "b": 1.5}},
            {"id": 3, "k": 1.0},
            {"id": 3, "k": True},
        ],
        [],
    )
)  # True read as 1.0 next to floats
@example(case=([{"id": "a", "k": [{"position": 7, PARENT: "z", "v": 1}]}], []))  # the item's own position
@example(case=([{"id": "a", "k": [None, {"v": False, "w": 0}]}], []))  # a null object in a list
@example(case=([{"id": 1, "k": 2.0}, {"id": 2, "k": "x"}], [1]))  # 2.0 written "2" by Arrow
def test_builder_keeps_one_row_per_id_and_every_value(case: tuple[list[dict], list[int]]):
    """Any records, however cut into pages, give frames a user can trust.

    No crash; one row per id, in first-seen order, ids unchanged; the first record
    of an id wins; every scalar is found where the layout rules put it (or as text
    where a warning says so); link and child tables hold only first records' items.
    """
    records, cut = case
    lf, caught = build(pages(records, cut), convert_each=bool(cut))
    note(f"warnings={caught}")
    wanted = first_seen(records)
    table = lf[MODEL]
    assert table.index.tolist() == list(wanted)
    assert table.index.is_unique
    check_leaves(lf, records, caught)
    for name, frame in {**lf.children, **lf.links}.items():
        key = name.split(".", 1)[1]
        counts = frame.groupby(PARENT).size().to_dict() if len(frame) else {}
        lengths = {rid: len(r[key]) for rid, r in wanted.items() if isinstance(r.get(key), list) and r[key]}
        # Pages whose lists of this key were laid out otherwise (text, a column) have no rows here.
        assert set(counts.items()) <= set(lengths.items()), name
        if not cut:
            assert counts == lengths, name
    # A key the first record lacks stays empty, whatever a later duplicate holds.
    for rid, record in wanted.items():
        for column in table.columns:
            if column not in record and "." not in column:
                assert missing(table.at[rid, column]), (rid, column)


def assert_same_frames(left: Mapping[str, pd.DataFrame], right: Mapping[str, pd.DataFrame]) -> None:
    assert list(left) == list(right)
    for name, frame in left.items():
        assert_frame_equal(frame, right[name], obj=name)


@examples(200)
@given(case=paged(record_lists()), convert_each=st.booleans())
@example(case=([{"id": 1, "k": 2**53 + 1}, {"id": 2, "k": 0.5}], [1]), convert_each=True)
def test_spilled_and_streamed_builds_equal_the_in_memory_build(case: tuple[list[dict], list[int]], convert_each: bool):
    """Spilling to files (snapshots) changes nothing: same frames, same dtypes, same warnings."""
    parts = pages(*case)
    memory, memory_warnings = build(parts, convert_each)
    with tempfile.TemporaryDirectory() as folder:
        spilled, spilled_warnings = build(parts, convert_each, spill=Path(folder) / "a")
        with caught_warnings() as caught:
            stream = streamed(fill(FrameBuilder(MODEL, spill=Path(folder) / "b"), parts, convert_each))
    assert_same_frames(memory.to_dict(), spilled.to_dict())
    assert memory_warnings == spilled_warnings
    assert_same_frames(memory.to_dict(), stream)
    assert {m for _, m in memory_warnings} == {m for _, m in warned(caught)}


# Pages are laid out one at a time, so a key must look alike on every page for the frames
# not to depend on the cuts: one *family* per key. Containers nested deeper than these
# are kept as JSON text written from each page's Arrow types (an object's missing key
# reads null when another object of its page has it; integers among floats read as
# floats), so they depend on the page by design: the test above covers them.

# Few keys inside objects, so that their values clash in type often.
FEW_KEYS = st.sampled_from(["a", "b", "x.y", "position", PARENT])
# Integers around 2**53 (where floats stop holding them exactly) and beyond 64 bits.
NUMBERS = st.one_of(
    st.integers(-3, 3),
    st.integers(2**53 - 2, 2**53 + 2),
    st.integers(2**63, 2**64),
    st.floats(),
    st.sampled_from([0.0, 2.0, 1e16]),
)
FAMILIES = {
    "scalar": SCALARS,
    "number": st.one_of(st.none(), NUMBERS),
    "object": st.dictionaries(FEW_KEYS, SCALARS, max_size=3),
    "list": st.lists(SCALARS, max_size=3),
    "numbers": st.lists(st.one_of(st.integers(-3, 3), st.sampled_from([0.0, 2.0, 0.5])), min_size=1, max_size=3),
    "objects": st.lists(st.dictionaries(FEW_KEYS, SCALARS, max_size=3), min_size=1, max_size=3),
    "ids": st.lists(st.uuids().map(str), min_size=1, max_size=3),
}


@st.composite
def family_records(draw: st.DrawFn, max_records: int = 10) -> list[dict]:
    """Records whose every key keeps one family (values, types and None still vary freely)."""
    ids = draw(st.sampled_from([st.uuids().map(str), st.integers(-(2**63), 2**63 - 1)]))
    pool = draw(st.lists(ids, min_size=1, max_size=max_records, unique=True))
    keys = draw(st.dictionaries(TOP_KEYS, st.sampled_from(sorted(FAMILIES)), max_size=4))
    out = []
    for _ in range(draw(st.integers(0, max_records))):
        present = draw(st.lists(st.sampled_from(sorted(keys)), unique=True)) if keys else []
        out.append({"id": draw(st.sampled_from(pool)), **{k: draw(FAMILIES[keys[k]]) for k in present}})
    return out


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def widened(a: Any, b: Any) -> bool:
    """``b`` is ``a`` with some integers written as floats (a page that met them as floats)."""
    if isinstance(a, list) or isinstance(b, list):
        return isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and all(map(widened, a, b))
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(widened(a[k], b[k]) for k in a)
        )
    if isinstance(a, int) and not isinstance(a, bool) and isinstance(b, float):
        return float(a) == b
    return type(a) is type(b) and (a == b or missing(a) and missing(b))


def assert_same_text(left: pd.Series, right: pd.Series, name: str) -> None:
    """Equal text, but for integers ``right`` wrote as floats ("0" and "0.0", "[1]" and "[1.0]")."""
    for i, (a, b) in enumerate(zip(left, right)):
        if a is pd.NA or b is pd.NA:
            assert a is b, (name, i, a, b)
        elif a != b:
            # Only the pages can have widened: one page of everything writes each value as it came.
            assert widened(_json_or_text(a), _json_or_text(b)), (name, i, a, b)


@examples(300)
@given(case=paged(family_records()))
@example(case=([{"id": 1, "k": 2.0}, {"id": 2, "k": "x"}], [1]))  # 2.0 written "2" by Arrow
@example(case=([{"id": 1, "k": []}, {"id": 2, "k": ["a"]}], [1]))  # a page of empty lists
@example(case=([{"id": 1, "k": [1]}, {"id": 2, "k": [1.5]}], [1]))  # integer and float lists
@example(case=([{"id": 1, "k": [{"a": False}]}, {"id": 2, "k": [{"a": 0}]}], [1]))  # items that clash
@example(case=([{"id": 1, "k": 2**53 + 1}, {"id": 2, "k": 0.5}], [1]))  # no float holds 2**53 + 1
def test_cutting_pages_elsewhere_gives_the_same_frames(case: tuple[list[dict], list[int]]):
    """The same records in other pages, each page converted on its own, give identical frames.

    One allowance: where values of a column are kept as text, a page that held both
    integers and floats has already met them as floats, so 0 may read "0.0" there
    and "0" elsewhere.
    """
    records, cut = case
    one, _ = build([records])
    many, _ = build(pages(records, cut), convert_each=True)
    assert set(one.to_dict()) == set(many.to_dict())
    for name, frame in one.to_dict().items():
        other = many.to_dict()[name]
        assert set(frame.columns) == set(other.columns), name  # their order follows the pages
        other = other[list(frame.columns)]
        assert frame.dtypes.equals(other.dtypes), name
        text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)]
        for column in text:
            assert_same_text(frame[column], other[column], f"{name}.{column}")
        assert_frame_equal(frame.drop(columns=text), other.drop(columns=text), obj=name)
