"""One page of a list walk, and how a list answer is read into one.

Answers may carry their total as ``count`` (with ``next``/``previous``), as
``meta.total_results``, or not at all (a *bare* envelope, or a bare JSON array).
dynamic-rest's page-number pagination also says which page it answered and its
size (``meta.page``, ``meta.per_page``): :func:`envelope_pages` reads them, so a
walk can tell that a server ignored ``limit``/``offset`` and paginates by page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from typing import Any

from brainstem_pandas import catalog
from brainstem_pandas.errors import ResponseError

# Keys of an answer that describe the list rather than hold records.
ENVELOPE_KEYS = frozenset({"count", "next", "previous", "meta"})
INDEX = "id"


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
    asked : int
        Records the request asked for (0 when the server decides); a page holding fewer is the last.
    per_page : int or None
        The page size the server says it used (dynamic-rest's ``meta.per_page``), if it says.

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
    asked: int = 0
    per_page: int | None = None

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


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def envelope_pages(body: Any) -> tuple[int | None, int | None]:
    """(page number, page size) an answer says it holds (dynamic-rest's ``meta.page``/``per_page``), or Nones.

    Examples
    --------
    >>> envelope_pages({"meta": {"page": 1, "per_page": 20, "total_pages": 3, "total_results": 41}})
    (1, 20)
    >>> envelope_pages({"count": 3, "sessions": []}), envelope_pages([])
    ((None, None), (None, None))
    """
    meta = body.get("meta") if isinstance(body, dict) else None
    if not isinstance(meta, dict):
        return None, None
    return _whole(meta.get("page")), _whole(meta.get("per_page"))


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

    The page's shape is checked here, once per page, so nothing later meets a
    record that is not an object or an id that cannot name a record.

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
        When the answer lacks its records key, or its records (or sideloaded
        records) are not objects with usable ids.

    Examples
    --------
    >>> split_answer({"count": 1, "sessions": [{"id": 1}], "projects": [{"id": "p"}]}, "sessions")
    ([{'id': 1}], {'projects': [{'id': 'p'}]}, 1, None)
    >>> split_answer({"sessions": [{"id": "s"}, None]}, "sessions")
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.ResponseError: GET : 'sessions' item 1 is null, not a record (an object)...
    """
    if isinstance(body, list):  # a bare JSON array of records
        check_records(body, records_key, url)
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
    check_records(records, records_key, url)
    related = _related(body, records_key, url)
    return records, related, envelope_total(body), envelope_next(body)


def _related(body: dict[str, Any], records_key: str, url: str) -> dict[str, list[dict]]:
    """The sideloaded lists of an answer, checked; a model's key holding anything but a list is refused."""
    related = {k: v for k, v in body.items() if k != records_key and k not in ENVELOPE_KEYS and isinstance(v, list)}
    for key, items in related.items():
        check_records(items, key, url)
    for key, value in body.items():  # a model's sideloaded records in any other shape would be lost
        if (
            key not in related
            and key != records_key
            and key not in ENVELOPE_KEYS
            and _model_of(key)
            and value is not None
        ):
            kind = _JSON_NAMES.get(type(value), "an object")
            raise ResponseError("GET", url, f"the page's {key!r} is {kind}, not a list of records{_MALFORMED}")
    return related


_MALFORMED = (
    "; the server's answer is malformed: check that the URL is a BrainSTEM server and report the record to its admin"
)
_ID_KINDS = {"integer": (int,), "uuid": (str, int)}  # a number converts exactly to a text id
_ANY_ID = (str, int)
_JSON_NAMES = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list"}


def _first(items: list[Any], wrong: Any) -> tuple[int, Any]:
    """Index and value of the first item of ``items`` for which ``wrong`` is true (the error path only)."""
    return next((i, v) for i, v in enumerate(items) if wrong(v))


def check_records(records: list[Any], key: str, url: str = "") -> None:
    """Refuse a list of records that holds anything but objects with usable ids.

    Every item must be a JSON object; an ``id``, when there is one, must be text or
    a whole number (for a catalogued model, of the model's id kind and present).
    The checks run over the whole page at C speed (``map`` and ``set``), not per record.

    Examples
    --------
    >>> check_records([{"id": "a"}, {"id": "b"}], "sessions")
    >>> check_records([{"id": {"x": 1}}], "things", "https://x.test/things/")
    Traceback (most recent call last):
    ...
    brainstem_pandas.errors.ResponseError: GET https://x.test/things/: 'things' item 0 has an id that is an object ...
    """
    if set(map(type, records)) - {dict}:
        at, value = _first(records, lambda r: type(r) is not dict)
        kind = _JSON_NAMES.get(type(value), "an object of another kind")
        raise ResponseError("GET", url, f"{key!r} item {at} is {kind}, not a record (an object){_MALFORMED}")
    spec = _model_of(key)
    ids = list(map(dict.get, records, repeat(INDEX)))
    kinds = set(map(type, ids))
    allowed = _ID_KINDS.get(spec.id_type, _ANY_ID) if spec is not None else _ANY_ID
    if spec is None:
        kinds.discard(type(None))  # other APIs' records may have no id
    if kinds - set(allowed) or (int in kinds and _huge(ids)):
        at, value = _first(ids, lambda v: type(v) not in allowed or (type(v) is int and not -(2**63) <= v < 2**63))
        what = "no id" if value is None else f"an id that is {_id_kind(value)} ({_short(value)})"
        want = " or ".join({str: "text", int: "a whole number within 64 bits"}[k] for k in allowed)
        model = f" {spec.name}" if spec is not None else ""
        raise ResponseError("GET", url, f"{key!r} item {at} has {what}: a{model} id must be {want}{_MALFORMED}")


def _huge(ids: list[Any]) -> bool:
    numbers = [v for v in ids if type(v) is int]
    return max(numbers) >= 2**63 or min(numbers) < -(2**63)


def _id_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if type(value) is int:
        return "a number out of range"
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _model_of(key: str) -> catalog.Model | None:
    """The catalogued model whose list or detail key ``key`` is, if any."""
    return _keys().get(key)


@lru_cache(maxsize=1)
def _keys() -> dict[str, catalog.Model]:
    out: dict[str, catalog.Model] = {}
    for m in catalog.all_models().values():
        out.setdefault(m.list_key, m)
        out.setdefault(m.detail_key, m)
    return out
