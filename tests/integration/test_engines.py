"""Every engine reads a snapshot the same way: DuckDB, polars, pyarrow.dataset, pandas (both backends), Dask, Spark.

One snapshot of the sandbox (every readable model, sessions with includes) is
read by each engine without this package. For every table: the row count, the
column names and each column's type family (struct fields included) against
the manifest. Then the README's engine snippets run exactly as written (they
are cut out of README.md between its markers): each selects one extra-fields
key and one list column and joins sessions per project through the link table,
and every engine must give the same answers, which are also LinkedFrames'.

Spark runs in ONE local session for this module (``local[1]``, loopback only,
no UI, a small driver), stopped at the end; Java comes from ``./dev test``
(``need_java``), and without it these tests fail rather than skip.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd
import pyarrow as pa
import pytest

import brainstem_pandas as bsp

README = Path(__file__).resolve().parents[2] / "README.md"
START = "<!-- engine snippets: tests/integration/test_engines.py runs these as written -->"
END = "<!-- end of engine snippets -->"
ENGINES = ["DuckDB", "polars", "pyarrow", "pandas", "Dask", "Spark"]
INCLUDE = {"session": ["projects", "behaviors", "dataacquisition"]}


@pytest.fixture(scope="module")
def snap(sandbox, tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    """A snapshot of every model the demo user may read, sessions with includes, and its manifest."""
    path = tmp_path_factory.mktemp("engines") / "snap"
    with bsp.connect(sandbox.url, token=sandbox.token, progress=False) as client:
        manifest = client.snapshot(path, include=INCLUDE)
    assert manifest["skipped"] == {} and len(manifest["tables"]) > 50
    return path, manifest


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """The module's one local SparkSession, bound to the loopback interface."""
    from pyspark.sql import SparkSession

    before = os.environ.get("SPARK_LOCAL_IP")
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    session = (
        SparkSession.builder.master("local[1]")
        .appName("brainstem-pandas engines")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "512m")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        if before is None:
            os.environ.pop("SPARK_LOCAL_IP", None)
        else:
            os.environ["SPARK_LOCAL_IP"] = before


# -- type families ------------------------------------------------------------------------


def family(kind: pa.DataType) -> str:
    """The engine-neutral family of an Arrow type: text, integer, float, boolean, date, utc-time, list<...>."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"list<{family(kind.value_type)}>"
    checks = [
        (pa.types.is_integer, "integer"),
        (pa.types.is_floating, "float"),
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_date32, "date"),
    ]
    for check, name in checks:
        if check(kind):
            return name
    if pa.types.is_timestamp(kind):
        return "utc-time" if kind.tz in ("UTC", "+00:00") else "local-time"
    return str(kind)


def leaves(fields: list[tuple[str, Any]], to_family: Callable[[Any], str], children) -> dict[tuple[str, ...], str]:
    """``{path: family}`` of top-level fields and of struct fields (``children``: a struct's fields, else None)."""
    out = {}
    for name, kind in fields:
        inner = children(kind)
        if inner is None:
            out[(name,)] = to_family(kind)
        else:
            out.update({(name, child): to_family(t) for child, t in inner})
    return out


def expected(entry: dict[str, Any]) -> tuple[list[str], dict[tuple[str, ...], str]]:
    """The top-level names in file order and ``{path: family}`` that the manifest lists for a table."""
    names = list(dict.fromkeys(c["path"][0] for c in entry["columns"]))
    return names, {tuple(c["path"]): family(_arrow(c["arrow"])) for c in entry["columns"]}


def _arrow(text: str) -> pa.DataType:
    found = re.fullmatch(r"(?:large_)?list<\w+: (.*)>", text)
    if found:
        return pa.list_(_arrow(found[1]))
    if text.startswith("timestamp["):
        return pa.timestamp("us", tz="UTC" if "tz=UTC" in text else None)
    return pa.type_for_alias(text.replace("[day]", ""))


def arrow_leaves(schema: pa.Schema) -> dict[tuple[str, ...], str]:
    struct = lambda t: [(f.name, f.type) for f in t] if pa.types.is_struct(t) else None  # noqa: E731
    return leaves([(f.name, f.type) for f in schema], family, struct)


def duckdb_family(kind: Any) -> str:
    simple = {"varchar": "text", "bigint": "integer", "integer": "integer", "double": "float", "boolean": "boolean"}
    simple |= {"date": "date", "timestamp with time zone": "utc-time", "timestamp": "local-time"}
    if kind.id == "list":
        return f"list<{duckdb_family(kind.children[0][1])}>"
    return simple.get(kind.id, kind.id)


def polars_family(kind: Any) -> str:
    import polars as pl

    if isinstance(kind, pl.List):
        return f"list<{polars_family(kind.inner)}>"
    if isinstance(kind, pl.Datetime):
        return "utc-time" if kind.time_zone == "UTC" else "local-time"
    simple = {pl.String: "text", pl.Int64: "integer", pl.Float64: "float", pl.Boolean: "boolean", pl.Date: "date"}
    return next((name for t, name in simple.items() if kind == t), str(kind))


def spark_family(kind: Any) -> str:
    from pyspark.sql import types as T

    if isinstance(kind, T.ArrayType):
        return f"list<{spark_family(kind.elementType)}>"
    simple = {T.StringType: "text", T.LongType: "integer", T.DoubleType: "float", T.BooleanType: "boolean"}
    simple |= {T.DateType: "date", T.TimestampType: "utc-time", T.TimestampNTZType: "local-time"}
    return next((name for t, name in simple.items() if isinstance(kind, t)), kind.simpleString())


def each_table(snap) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    path, manifest = snap
    for name, entry in manifest["tables"].items():
        yield name, path / entry["folder"], entry


# -- every table, every engine ----------------------------------------------------------------


def test_duckdb_reads_every_table_as_the_manifest_lists_it(snap):
    import duckdb

    for name, folder, entry in each_table(snap):
        relation = duckdb.sql(f"select * from '{folder}/*.parquet'")
        children = lambda t: [(n, k) for n, k in t.children] if t.id == "struct" else None  # noqa: E731
        got = leaves(list(zip(relation.columns, relation.types)), duckdb_family, children)
        assert (relation.columns, got) == expected(entry), name
        assert duckdb.sql(f"select count(*) from '{folder}/*.parquet'").fetchall() == [(entry["rows"],)], name


def test_polars_reads_every_table_as_the_manifest_lists_it(snap):
    import polars as pl

    for name, folder, entry in each_table(snap):
        frame = pl.scan_parquet(f"{folder}/*.parquet")
        schema = frame.collect_schema()
        children = lambda t: [(f.name, f.dtype) for f in t.fields] if isinstance(t, pl.Struct) else None  # noqa: E731
        assert (schema.names(), leaves(list(schema.items()), polars_family, children)) == expected(entry), name
        assert frame.select(pl.len()).collect().item() == entry["rows"], name


def test_pyarrow_dataset_reads_every_table_as_the_manifest_lists_it(snap):
    import pyarrow.dataset as ds

    plain = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
    for name, folder, entry in each_table(snap):
        dataset = ds.dataset(str(folder), format="parquet")
        assert (dataset.schema.names, arrow_leaves(dataset.schema)) == expected(entry), name
        assert dataset.count_rows() == entry["rows"], name
        # No name an engine must quote: top-level columns and struct fields alike (e-mail keys included).
        names = [part for path in arrow_leaves(dataset.schema) for part in path]
        assert all(plain.fullmatch(n) for n in names), (name, names)


def test_pandas_reads_every_table_with_the_dtypes_of_linked_frames_in_both_backends(snap):
    path, manifest = snap
    linked = bsp.read_snapshot(path)
    for name, folder, entry in each_table(snap):
        frame = pd.read_parquet(folder)
        want = linked.to_dict()[name]
        want = want.reset_index() if entry["kind"] == "table" else want
        assert list(frame.columns) == expected(entry)[0] and len(frame) == entry["rows"], name
        flat = {c["path"][0]: c["name"] for c in entry["columns"] if len(c["path"]) == 1}
        for column in frame.columns:
            dtype = want[flat[column]].dtype if column in flat else None  # None: an object's struct
            if dtype is None or str(dtype).startswith("list<"):  # Python objects in the default backend
                assert frame[column].dtype == object, (name, column)
            else:  # the very dtype of LinkedFrames
                assert frame[column].dtype == dtype, (name, column, frame[column].dtype, dtype)
        typed = pd.read_parquet(folder, dtype_backend="pyarrow")
        schema = pa.schema([(c, typed[c].dtype.pyarrow_dtype) for c in typed.columns])
        assert (list(typed.columns), arrow_leaves(schema)) == expected(entry), name


def test_dask_declares_the_dtypes_it_computes_and_those_of_pandas(snap):
    import dask.dataframe as dd

    for name, folder, entry in each_table(snap):
        lazy = dd.read_parquet(folder)
        computed = lazy.compute()
        assert lazy.dtypes.to_dict() == computed.dtypes.to_dict() == pd.read_parquet(folder).dtypes.to_dict(), name
        assert len(computed) == entry["rows"] and list(computed.columns) == expected(entry)[0], name


def test_spark_reads_every_table_as_the_manifest_lists_it(snap, spark):
    from pyspark.sql import types as T

    for name, folder, entry in each_table(snap):
        frame = spark.read.parquet(str(folder))
        children = lambda t: [(f.name, f.dataType) for f in t.fields] if isinstance(t, T.StructType) else None  # noqa: E731
        fields = [(f.name, f.dataType) for f in frame.schema.fields]
        assert (frame.columns, leaves(fields, spark_family, children)) == expected(entry), name
        assert frame.count() == entry["rows"], name
    sessions = spark.read.parquet(str(snap[0] / "session"))  # summary() fails on a name that needs quoting
    counts = sessions.summary().collect()[0].asDict()
    assert counts["summary"] == "count" and counts["id"] == str(snap[1]["tables"]["session"]["rows"])


def test_the_snapshot_root_is_no_table_in_any_engine(snap, spark):
    import dask.dataframe as dd
    import duckdb
    import polars as pl
    import pyarrow.dataset as ds

    root = str(snap[0])
    attempts = {  # engine: (the attempt, what its error names)
        "pyarrow": (lambda: ds.dataset(root).to_table(), "manifest.json"),
        "polars": (lambda: pl.scan_parquet(root).collect(), "manifest.json"),
        "pandas": (lambda: pd.read_parquet(root), "manifest.json"),
        "Spark": (lambda: spark.read.parquet(root).collect(), "manifest.json"),
        "DuckDB": (lambda: duckdb.sql(f"select * from '{root}/*/*.parquet'").fetchall(), "schema mismatch"),
        # Dask meets two tables' columns first (a KeyError naming them, depending on the listing's order).
        "Dask": (lambda: dd.read_parquet(root).compute(), "_id"),
    }
    for engine, (attempt, phrase) in attempts.items():
        with pytest.raises(Exception) as caught:  # each engine's own error type
            attempt()
        assert phrase in str(caught.value), (engine, str(caught.value)[:300])


# -- the README's snippets, as written ---------------------------------------------------------


def snippets() -> dict[str, str]:
    """The README's engine snippets by engine (named in each block's first comment), and the set-up block."""
    text = README.read_text()
    assert text.count(START) == 1 and text.count(END) == 1, "the README's engine snippet markers"
    blocks = re.findall(r"```python\n(.*?)```", text.split(START, 1)[1].split(END, 1)[0], re.S)
    named = {}
    for block in blocks:
        found = re.search(r"#\s*(\w+)\s*$", block.splitlines()[0])
        named["setup" if "snap =" in block.splitlines()[0] else found[1] if found else "?"] = block
    assert list(named) == ["setup", *ENGINES], list(named)
    return named


def plain(value: Any) -> Any:
    """A value with every engine's missing markers as None and sequences as lists (for comparing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def truth(snap) -> dict[str, Any]:
    """The answers from LinkedFrames, read with this package."""
    lf = bsp.read_snapshot(snap[0])
    per_project = lf.merge("session", "projects").groupby("projects.name").size()
    sessions = lf["session"].sort_index()
    return {
        "sessions_per_project": {str(k): int(v) for k, v in per_project.items()},
        "trials": plain(list(sessions["extra_fields.trials"])),
        "tags": plain(list(sessions["tags"])),
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_the_readme_snippet_of_each_engine_gives_the_same_answers(snap, spark, engine):
    code = snippets()
    setup = code["setup"].replace('"snapshots/2026-11-21"', repr(str(snap[0])))
    assert setup != code["setup"], "the set-up block names the snapshot folder"
    scope: dict[str, Any] = {}
    exec(compile(setup + code[engine], f"README.md ({engine})", "exec"), scope)
    got = {
        "sessions_per_project": {str(k): int(v) for k, v in scope["sessions_per_project"].items()},
        "trials": plain(list(scope["trials"])),
        "tags": plain(list(scope["tags"])),
    }
    want = truth(snap)
    assert got == want
    assert len(want["trials"]) == snap[1]["tables"]["session"]["rows"] and any(t is not None for t in want["trials"])
    assert (
        any(want["tags"])
        and sum(want["sessions_per_project"].values()) == snap[1]["tables"]["session.projects"]["rows"]
    )
