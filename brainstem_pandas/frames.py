"""Records -> typed DataFrames, with one declared schema per model.

Dtype rules (from the catalog's field types):

============== =========================================
catalog type   pandas dtype
============== =========================================
uuid, string,  ``string`` (pandas' string dtype)
text
integer        ``Int64`` (nullable)
number         ``Float64`` (nullable)
boolean        ``boolean`` (nullable)
date           ``date32[pyarrow]`` (dates stay dates)
datetime       ``datetime64[us, UTC]``
relation       ``string`` ids (``Int64`` for users and groups);
               to-many relations are lists of ids (object)
json, list     ``object`` (Python values)
============== =========================================

Frames are indexed by ``id`` (strings, or integers for users and groups), and an
empty result has the same columns and dtypes as a full one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from brainstem_pandas import catalog

DATETIME = "datetime64[us, UTC]"
DATE = pd.ArrowDtype(pa.date32())
SCALAR_DTYPES: dict[str, Any] = {
    "uuid": "string",
    "string": "string",
    "text": "string",
    "integer": "Int64",
    "number": "Float64",
    "boolean": "boolean",
    "date": DATE,
    "datetime": DATETIME,
    "json": object,
    "list[string]": object,
}


def id_dtype(model_name: str | None) -> Any:
    """Dtype of the ids of ``model_name`` (``Int64`` for users and groups)."""
    known = catalog.all_models().get(model_name or "")
    return "Int64" if known is not None and known.id_type == "integer" else "string"


def field_dtype(field: catalog.Field) -> Any:
    """The dtype of one documented field, following the table above.

    Examples
    --------
    >>> field_dtype(catalog.model("session").field("date_time"))
    'datetime64[us, UTC]'
    """
    if field.is_relation:
        return object if field.many else id_dtype(field.related_model)
    return SCALAR_DTYPES.get(field.type, object)


def schema(model: str | catalog.Model) -> dict[str, Any]:
    """Column -> dtype of a model's frame (the index, ``id``, excluded)."""
    spec = model if isinstance(model, catalog.Model) else catalog.model(model)
    return {f.name: field_dtype(f) for f in spec.fields if f.name != "id"}


def _coerce(values: pd.Series, dtype: Any) -> pd.Series:
    if dtype is object:
        return values.astype(object)
    if dtype == DATETIME:
        return pd.to_datetime(values, utc=True, format="ISO8601").astype(DATETIME)
    if dtype is DATE or dtype == DATE:
        return pd.to_datetime(values, format="ISO8601").dt.date.astype(DATE)
    if dtype in ("string",):
        return values.map(lambda v: v if v is None or isinstance(v, str) else str(v)).astype("string")
    return values.astype(dtype)


def records_frame(model: str | catalog.Model, records: list[dict[str, Any]]) -> pd.DataFrame:
    """A typed DataFrame of ``records`` of ``model``, indexed by ``id``.

    Fields the catalog does not know are kept (with inferred dtypes) after the
    documented ones; documented fields missing from the answer are added empty.

    Examples
    --------
    >>> records_frame("session", []).dtypes["date_time"]
    datetime64[us, UTC]
    """
    spec = model if isinstance(model, catalog.Model) else catalog.model(model)
    columns = schema(spec)
    raw = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    index_dtype = id_dtype(spec.name)
    ids = raw["id"] if "id" in raw else pd.Series([], dtype=object)
    frame = pd.DataFrame(index=pd.Index(ids, name="id").astype(index_dtype))
    for name, dtype in columns.items():
        values = raw[name] if name in raw else pd.Series([None] * len(raw), dtype=object)
        frame[name] = _coerce(values.reset_index(drop=True), dtype).set_axis(frame.index)
    for name in raw.columns:
        if name not in columns and name != "id":
            frame[name] = raw[name].to_numpy()
    return frame
