"""``read`` and ``read_linked`` give the same dtype for every column they share, for every model.

On a full result and on an empty one (a filter on ``id`` that matches nothing),
and an empty result has the columns and dtypes of a full one.
"""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

import brainstem_pandas as bsp
from brainstem_pandas import catalog


@pytest.fixture(scope="module")
def client(sandbox):
    with bsp.connect(sandbox.url, token=sandbox.token, progress=False) as c:
        yield c


@pytest.fixture(scope="module")
def models(client) -> list[str]:
    readable = client.readable_models()
    assert len(readable) > 20
    return readable


def nothing(model: str) -> dict[str, object]:
    """A filter no record matches."""
    return {"id": -1 if catalog.model(model).id_type == "integer" else str(uuid.uuid4())}


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {"(index)": str(frame.index.dtype), **{name: str(dtype) for name, dtype in frame.dtypes.items()}}


def shared(flat: pd.DataFrame, table: pd.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    names = ["(index)", *[c for c in flat.columns if c in table.columns]]
    a, b = dtypes(flat), dtypes(table)
    return {n: a[n] for n in names}, {n: b[n] for n in names}


def test_every_readable_model_is_catalogued(models):
    assert set(models) <= set(catalog.all_models())


def test_read_and_read_linked_share_dtypes_on_full_and_empty_results(client, models):
    for model in models:
        full, empty = client.read(model), client.read(model, filters=nothing(model))
        full_linked = client.read_linked(model)[model]
        empty_linked = client.read_linked(model, filters=nothing(model))[model]
        assert len(full) == len(full_linked) > 0 and len(empty) == len(empty_linked) == 0, model
        assert dtypes(full) == dtypes(empty), model  # an empty result has the columns and dtypes of a full one
        for flat, table in ((full, full_linked), (empty, empty_linked), (full, empty_linked), (empty, full_linked)):
            mine, theirs = shared(flat, table)
            assert len(mine) > 1, model
            assert mine == theirs, model
            assert all(flat[c].dtype == table[c].dtype for c in list(mine)[1:]), model


def test_the_conventions_hold_in_both(client):
    """Ids are strings (ints for users), datetimes UTC, tags lists of strings, whichever way read."""
    for frame in (client.read("session"), client.read_linked("session")["session"]):
        assert frame.index.dtype == "string" and str(frame["date_time"].dtype) == "datetime64[us, UTC]"
        assert str(frame["tags"].dtype) == "list<item: string>[pyarrow]"
        assert all(isinstance(tags, list) for tags in frame["tags"].dropna())
    for frame in (client.read("user"), client.read_linked("user")["user"]):
        assert frame.index.dtype == "Int64"
