"""How filter values are written for the API, and which values a filter may hold.

Split from :mod:`brainstem_pandas.query` (which re-exports what is public), so
each stays small: this module knows values, that one knows the catalog.
"""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, timezone
from typing import Any

from brainstem_pandas.errors import QueryError


def encode_value(value: Any) -> str:
    """One filter value as the API expects it (booleans lower case, datetimes ISO 8601 UTC).

    Examples
    --------
    >>> encode_value(True), encode_value(date(2024, 5, 1)), encode_value(3)
    ('true', '2024-05-01', '3')
    >>> encode_value(datetime(2024, 5, 1, 12, tzinfo=timezone.utc))
    '2024-05-01T12:00:00Z'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # A naive datetime is taken as UTC, the API's time zone.
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        raise QueryError("None is not a filter value; use the 'isnull' operator, e.g. {'field.isnull': True}.")
    return str(value)


def check_scalar(value: Any, key: str) -> None:
    """Refuse a filter value that has no one spelling in a URL (an object, bytes, NaN)."""
    if isinstance(value, str) and "\x00" in value:
        # PostgreSQL text cannot hold NUL: the server could not even run the query.
        raise QueryError(f"Filter {key!r}: {value!r} holds a NUL character (\\x00), which no text field can hold.")
    if value is None or isinstance(value, (str, bool, int, date, uuid.UUID)):
        return
    if isinstance(value, float) and math.isfinite(value):
        return
    raise QueryError(
        f"Filter {key!r}: {value!r} is not a filter value; pass text, a number, True/False or a date "
        f"(e.g. {{{key!r}: 'rat'}})."
    )


def check_in(key: str, path: str, encoded: list[str]) -> None:
    if not encoded:
        # No parameter would be sent at all, and the server would answer every record.
        raise QueryError(
            f"Filter {key!r} got an empty list, which matches nothing; leave the read out "
            f"(or the filter, to match everything)."
        )
    for text in encoded:
        # The server (dynamic-rest) reads an 'in' value like "[a,b]" as the two values a and b.
        if text.startswith("[") and text.endswith("]") and "," in text:
            raise QueryError(
                f"Filter {key!r}: the server would read {text!r} as a list of values, so it "
                f"cannot be matched with 'in'; use {{{path!r}: {text!r}}} for it instead."
            )


def plain_value(value: Any) -> Any:
    """A filter value as JSON for a manifest: lists stay lists, everything else as the API gets it.

    Examples
    --------
    >>> plain_value([date(2024, 5, 1), True])
    ['2024-05-01', 'true']
    """
    if isinstance(value, (list, tuple, set)):
        return [encode_value(v) for v in value]
    return encode_value(value)
