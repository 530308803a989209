"""Everything the NWB mapping reads about some sessions, as one :class:`~brainstem_pandas.frames.LinkedFrames`.

From a :class:`~brainstem_pandas.client.Client` (a server) or a
:class:`~brainstem_pandas.client.SnapshotClient` (offline; the same reads, answered
from the snapshot) it takes two rounds of reads:

1. the sessions (by id, 50 to a request so URLs stay short) with
   :data:`SESSION_INCLUDE`: projects and their publications; data acquisitions, their
   procedures' subjects, strains and species, and their equipment's hardware devices
   and suppliers; behaviors with their subjects and setups; manipulations' subjects;
2. the people and places those records name: the users in the projects'
   ``users`` (by email), every group and laboratory, and the equipment of the
   behaviors' setups with its hardware devices and suppliers. A model the server
   refuses (403 or 404) is left out; the metadata then lacks what it would give.

LinkedFrames given as the source are used as they are (a snapshot read with
:func:`~brainstem_pandas.read_snapshot` holds every table needed).
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable, Iterator

import pandas as pd

from brainstem_pandas import catalog
from brainstem_pandas.client import Client
from brainstem_pandas.errors import ConfigurationError, NotFoundError, NwbMetadataError, PermissionDeniedError
from brainstem_pandas.frames import LinkedFrames
from brainstem_pandas.frames.layout import POSITION, parent_column
from brainstem_pandas.nwb.records import Lookup, json_object

SESSION_INCLUDE = (
    "projects.publications",
    "dataacquisition.procedures.subject.strain.species",
    "dataacquisition.equipment.hardwaredevice.supplier",
    "behaviors.subjects.strain.species",
    "behaviors.setup",
    "manipulations.procedures.subject.strain.species",
)
EQUIPMENT_INCLUDE = ("hardwaredevice.supplier",)
#: Ids (or emails) per ``.in`` filter: 50 UUIDs keep a request line under 4 KB.
BATCH = 50


def _batches(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), BATCH):
        yield values[start : start + BATCH]


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def checked_ids(session_ids: Any) -> list[str] | None:
    """The ids to read, each checked first (the server would answer 400 to an id of the wrong form), in the
    server's spelling (lower-case UUIDs), each once.

    Examples
    --------
    >>> checked_ids("3F2B8C1E-9D4A-4E7B-8C2D-1A2B3C4D5E6F")
    ['3f2b8c1e-9d4a-4e7b-8c2d-1a2b3c4d5e6f']
    """
    if session_ids is None:
        return None
    ids = [session_ids] if isinstance(session_ids, str) else list(session_ids)
    if catalog.model("session").id_type == "uuid":
        for sid in ids:
            if not _is_uuid(sid):
                raise NwbMetadataError(
                    f"{sid!r} is not a BrainSTEM session id (session.id is a UUID such as "
                    "'3f2b8c1e-9d4a-4e7b-8c2d-1a2b3c4d5e6f'): pass an id from client.read('session').index.",
                    model="session",
                    id=sid,
                    field="session.id",
                )
        ids = [str(uuid.UUID(sid)) for sid in ids]
    return list(dict.fromkeys(str(sid) for sid in ids))


def _read(client: Client, model: str, include: Iterable[str], filters: dict[str, Any] | None) -> LinkedFrames:
    return client.read_linked(model, include=list(include), filters=filters or None, progress=False)


def _sessions(client: Client, ids: list[str] | None) -> list[LinkedFrames]:
    if ids is None:
        return [_read(client, "session", SESSION_INCLUDE, None)]
    return [_read(client, "session", SESSION_INCLUDE, {"id.in": batch}) for batch in _batches(ids)]


def _optional(client: Client, model: str, include: Iterable[str] = (), **filters: Any) -> list[LinkedFrames]:
    """A model the server may refuse (then nothing): the metadata only lacks what it would give."""
    try:
        return [_read(client, model, include, filters)]
    except (PermissionDeniedError, NotFoundError):
        return []


def _people_and_places(client: Client, sessions: LinkedFrames) -> list[LinkedFrames]:
    look = Lookup(sessions)
    projects = sessions.tables.get("project", pd.DataFrame())
    emails = sorted({e for p in projects.index for e in json_object(look.row("project", p) or {}, "users")})
    behaviors = sessions.tables.get("behavior", pd.DataFrame())
    setups = sorted({s for s in behaviors.get("setup", []) if isinstance(s, str)})
    out = [*_optional(client, "group"), *_optional(client, "laboratory")]
    for batch in _batches(emails):
        out += _optional(client, "user", **{"email.in": batch})
    for batch in _batches(setups):
        out += _optional(client, "equipment", EQUIPMENT_INCLUDE, **{"setup.in": batch})
    return out


def union(frames: list[LinkedFrames]) -> LinkedFrames:
    """One LinkedFrames holding every table of ``frames``: records by id once, link rows once.

    Examples
    --------
    >>> from brainstem_pandas.frames import FrameBuilder
    >>> parts = []
    >>> for ids in (["a", "b"], ["b", "c"]):
    ...     builder = FrameBuilder("project")
    ...     builder.add_records("project", [{"id": i, "name": i, "sessions": ["s"]} for i in ids])
    ...     parts.append(builder.finish())
    >>> both = union(parts)
    >>> both["project"].index.tolist(), len(both.links["project.sessions"])
    (['a', 'b', 'c'], 3)
    """
    tables: dict[str, list[pd.DataFrame]] = {}
    links: dict[str, list[pd.DataFrame]] = {}
    children: dict[str, list[pd.DataFrame]] = {}
    relations = {}
    for lf in frames:
        for store, parts in ((lf.tables, tables), (lf.links, links), (lf.children, children)):
            for name, frame in store.items():
                parts.setdefault(name, []).append(frame)
        relations.update(lf.relations)
    primary = frames[0].primary if frames else "session"
    return LinkedFrames(
        primary,
        {name: _once_by_id(parts) for name, parts in tables.items()},
        {name: _once_by_row(name, parts, ids_only=True) for name, parts in links.items()},
        {name: _once_by_row(name, parts, ids_only=False) for name, parts in children.items()},
        relations,
    )


def _stack(parts: list[pd.DataFrame]) -> pd.DataFrame:
    kept = [p for p in parts if len(p)] or parts[:1]
    return kept[0] if len(kept) == 1 else pd.concat(kept)


def _once_by_id(parts: list[pd.DataFrame]) -> pd.DataFrame:
    frame = _stack(parts)
    return frame[~frame.index.duplicated(keep="first")]


def _once_by_row(name: str, parts: list[pd.DataFrame], *, ids_only: bool) -> pd.DataFrame:
    frame = _stack(parts).reset_index(drop=True)
    parent = parent_column(name.partition(".")[0])
    keys = [c for c in frame.columns if c != POSITION] if ids_only else [parent, POSITION]
    if len(parts) == 1 or not set(keys) <= set(frame.columns):
        return frame
    return frame[~frame.duplicated(subset=keys, keep="first")].reset_index(drop=True)


def frames_for(source: Any, session_ids: Any = None) -> LinkedFrames:
    """The LinkedFrames the mapping needs for ``session_ids`` (every session you may read when None).

    Examples
    --------
    >>> sid = client.read("session").index[0]
    >>> lf = frames_for(client, [sid])
    >>> lf["session"].index.tolist() == [sid], {"subject", "species", "laboratory", "user"} <= set(lf.tables)
    (True, True)
    """
    if isinstance(source, LinkedFrames):
        return source
    if not isinstance(source, Client):
        raise ConfigurationError(
            f"NWB metadata is read from a Client, a SnapshotClient or LinkedFrames, not {type(source).__name__}: "
            "pass bsp.connect(...), bsp.connect(snapshot=...) or bsp.read_snapshot(...)."
        )
    sessions = union(_sessions(source, checked_ids(session_ids)))
    return union([sessions, *_people_and_places(source, sessions)])
