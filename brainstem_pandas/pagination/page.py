"""One page of a list walk, and how a list answer is read into one.

Answers may carry their total as ``count`` (with ``next``/``previous``), as
``meta.total_results``, or not at all (a *bare* envelope, or a bare JSON array).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brainstem_pandas.errors import ResponseError

# Keys of an answer that describe the list rather than hold records.
ENVELOPE_KEYS = frozenset({"count", "next", "previous", "meta"})


@dataclass
class Page:
    """One answer of a list walk.

    Attributes
    ----------
    number : int
        Page number in walk order, from 0.
    records : list of dict
        The primary records (duplicates of earlier pages, and the seam record an
        offset page shares with the page before, removed).
    related : dict
        Sideloaded records by response key, as the server sent them beside the
        primary records. Records nested *inside* the primary records (answers with
        ``sideloading=false``) stay where they are; the frames builder extracts them.
    total : int or None
        The total the server announced on this page, if any.
    next_url : str or None
        The answer's ``next`` link, if any.
    raw_count : int
        Records the answer held before duplicates were removed.

    Examples
    --------
    >>> Page(0, [{"id": 1}, {"id": 2}], {"projects": [{"id": "p"}]}, total=2)
    <Page 0: 2 records, projects=1>
    """

    number: int
    records: list[dict[str, Any]]
    related: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    total: int | None = None
    next_url: str | None = None
    raw_count: int = 0

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={len(v)}" for k, v in self.related.items())
        return f"<Page {self.number}: {len(self.records)} records{', ' + extra if extra else ''}>"


def envelope_total(body: dict[str, Any]) -> int | None:
    """The total announced by an answer (``count`` or ``meta.total_results``), if any.

    Examples
    --------
    >>> envelope_total({"count": 3, "sessions": []}), envelope_total({"meta": {"total_results": 5}})
    (3, 5)
    >>> envelope_total({"sessions": []}) is None
    True
    """
    count = body.get("count")
    if isinstance(count, int) and not isinstance(count, bool):
        return count
    meta = body.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("total_results"), int):
        return meta["total_results"]
    return None


def envelope_next(body: dict[str, Any]) -> str | None:
    """The ``next`` link of an answer (top level or in ``meta``), if any.

    Examples
    --------
    >>> envelope_next({"next": "https://x.test/?page=2"}), envelope_next({"meta": {"next": None}})
    ('https://x.test/?page=2', None)
    """
    link = body.get("next")
    if link is None and isinstance(body.get("meta"), dict):
        link = body["meta"].get("next")
    return link if isinstance(link, str) and link else None


def split_answer(
    body: Any, records_key: str, url: str = ""
) -> tuple[list[dict], dict[str, list[dict]], int | None, str | None]:
    """(records, sideloaded related records, total, next link) of one list answer.

    Parameters
    ----------
    body : object
        The decoded answer.
    records_key : str
        Response key of the primary records.
    url : str
        Where the answer came from (named in errors).

    Raises
    ------
    ResponseError
        When the answer lacks its records key.

    Examples
    --------
    >>> split_answer({"count": 1, "sessions": [{"id": 1}], "projects": [{"id": "p"}]}, "sessions")
    ([{'id': 1}], {'projects': [{'id': 'p'}]}, 1, None)
    """
    if isinstance(body, list):  # a bare JSON array of records
        return body, {}, None, None
    if not isinstance(body, dict) or not isinstance(body.get(records_key), list):
        keys = ", ".join(map(repr, body)) if isinstance(body, dict) else type(body).__name__
        raise ResponseError(
            "GET",
            url,
            f"the page has no {records_key!r} list (keys: {keys}). Check that the "
            "URL is the BrainSTEM server's root and that the model is right",
        )
    records = body[records_key]
    related = {k: v for k, v in body.items() if k != records_key and k not in ENVELOPE_KEYS and isinstance(v, list)}
    return records, related, envelope_total(body), envelope_next(body)
