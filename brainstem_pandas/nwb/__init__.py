"""From BrainSTEM sessions to NWB metadata: dicts in neuroconv's shape, ``pynwb.NWBFile`` s, ``.nwb`` files.

``nwb_metadata(source, session_id)`` maps the current BrainSTEM data model to the
metadata an NWB file (and DANDI) needs; ``to_nwbfile`` and ``write_nwb`` make the
file (metadata only, no data); ``nwb_table`` does many sessions at once and lists
what each lacks for DANDI. ``source`` is a :class:`~brainstem_pandas.Client`, a
:class:`~brainstem_pandas.SnapshotClient` (offline, the same answer) or
:class:`~brainstem_pandas.LinkedFrames` holding the tables (e.g. a whole snapshot).
pynwb is needed only for files: ``pip install brainstem_pandas[nwb]``.

The mapping (NWB field <- BrainSTEM field), one choice per line (what is read, and how: :mod:`.gather`):

=============================  ==============================================================================
NWB                            BrainSTEM
=============================  ==============================================================================
NWBFile.session_id             ``session.name`` (unique in BrainSTEM), ``/`` replaced by ``-`` (DANDI paths)
NWBFile.identifier             ``session.id``: the same file identifier online and offline, on every rewrite
NWBFile.session_start_time     ``session.date_time`` ("date and time onset"), tz-aware ISO 8601 (naive = UTC);
                               missing: :class:`~brainstem_pandas.errors.NwbMetadataError`
NWBFile.session_description    ``session.description`` as plain text (it is HTML), else ``session.name``
NWBFile.experiment_description the descriptions of the session's projects (``session.projects``), plain text
NWBFile.experimenter           ``project.users`` of those projects: owners, then managers, then users who may
                               change the project (readers are left out), by name within each, as "Last,
                               First" from ``user.last_name`` and ``user.first_name`` (users without both
                               are left out: DANDI takes only that form)
NWBFile.lab                    the laboratory led by a project owner (``laboratory.principal_investigators``),
                               else the laboratory of a group the project is shared with (``project.groups``,
                               ``laboratory.group``); named by its group (``group.name``): labs have no name
NWBFile.institution            that laboratory's ``laboratory.institution``
NWBFile.keywords               ``session.tags``, then the projects' ``project.tags``, then the data
                               acquisitions' ``dataacquisition.type``, each once
NWBFile.related_publications   the projects' ``project.publications``: ``https://doi.org/`` + ``publication.doi``,
                               else ``publication.publication_url``
Subject                        the session's one subject: ``procedure.subject`` of its data acquisitions'
                               (``dataacquisition.procedures``) and manipulations' procedures, then
                               ``behavior.subjects``; none or several (without ``subject_id=``): an error
Subject.subject_id             ``subject.name`` (unique in BrainSTEM), ``/`` replaced by ``-``
Subject.species                ``species.name`` of ``subject.strain`` -> ``strain.species`` (species derive
                               from strains), when it is a Latin binomial; else the NCBI Taxonomy IRI of
                               ``species.rrid`` (``RRID:NCBITaxon_10090``); missing: an error
Subject.strain                 ``strain.name``
Subject.sex                    ``subject.sex``: F, M, U (and their spelled-out forms, and O for "other") ->
                               F, M, U, O; missing or anything else: an error
Subject.date_of_birth          ``subject.birth_date``, at midnight UTC
Subject.age                    days from ``subject.birth_date`` to the session's date (UTC): ``P90D``; age
                               reference "birth". A birth date after the session gives neither
Subject.genotype               ``subject.genotype``, else ``subject.genetic_line``
Subject.description            ``subject.description`` as plain text
Devices                        the hardware devices (``equipment.hardwaredevice``) of the equipment of the
                               session's data acquisitions (``dataacquisition.equipment``), then of the
                               equipment on its behaviors' setups (``behavior.setup``, ``equipment.setup``),
                               each once: name ``hardwaredevice.name`` (``/`` -> ``-``; made unique with the
                               device id), ``hardwaredevice.description``, manufacturer: the name of
                               ``hardwaredevice.supplier`` (stored on an NWB DeviceModel)
=============================  ==============================================================================

Empty values are left out of the dicts (and the files), as neuroconv's metadata does.

Examples
--------
>>> sid = client.read("session").index[0]
>>> metadata = nwb_metadata(client, sid)
>>> sorted(metadata), metadata["NWBFile"]["identifier"] == sid
(['Devices', 'NWBFile', 'Subject'], True)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from brainstem_pandas.errors import NwbMetadataError
from brainstem_pandas.frames import LinkedFrames
from brainstem_pandas.nwb.files import build_nwbfile, metadata_yaml, write_atomically, write_nwbfile
from brainstem_pandas.nwb.gather import checked_ids, frames_for
from brainstem_pandas.nwb.mapping import (
    ERROR,
    FILE_FIELDS,
    RECOMMENDED,
    REQUIRED,
    SUBJECT_FIELDS,
    Gap,
    session_metadata,
    unknown_session,
)
from brainstem_pandas.nwb.records import Lookup


def _raise_errors(gaps: list[Gap]) -> None:
    errors = [gap for gap in gaps if gap.level == ERROR]
    if errors:
        first = errors[0]
        also = "".join(f" Also: {gap.message}" for gap in errors[1:])
        raise NwbMetadataError(first.message + also, model=first.model, id=first.id, field=first.field)


def nwb_metadata(source: Any, session_id: str, *, subject_id: Any = None) -> dict[str, Any]:
    """The NWB metadata of one session: ``{"NWBFile": {...}, "Subject": {...}, "Devices": [...]}``.

    Parameters
    ----------
    source : Client, SnapshotClient or LinkedFrames
        Where the session's records come from.
    session_id : str
        The session's BrainSTEM id.
    subject_id : optional
        The BrainSTEM id of the subject, for a session that links several.

    Raises
    ------
    NwbMetadataError
        No such session, no start time, no (single) subject, a subject without
        species or sex; the message names the BrainSTEM field to fill in.

    Examples
    --------
    >>> sid = client.read("session").index[0]
    >>> subject = nwb_metadata(client, sid)["Subject"]
    >>> subject["sex"] in {"F", "M", "U"}, subject["age"].startswith("P") and subject["age"].endswith("D")
    (True, True)
    """
    if not isinstance(source, LinkedFrames):
        [session_id] = checked_ids([session_id]) or [session_id]
    metadata, gaps = session_metadata(Lookup(frames_for(source, [session_id])), session_id, subject_id)
    _raise_errors(gaps)
    return metadata


def to_nwbfile(source: Any, session_id: str | None = None, *, subject_id: Any = None) -> Any:
    """A ``pynwb.NWBFile`` with the session's metadata (and no data); ``source`` may be a metadata dict.

    Examples
    --------
    >>> nwbfile = to_nwbfile(client, client.read("session").index[0])
    >>> nwbfile.subject.species in {"Mus musculus", "Rattus norvegicus", "Macaca mulatta", "Danio rerio",
    ...                             "Callithrix jacchus"}
    True
    """
    if isinstance(source, dict) and "NWBFile" in source:
        return build_nwbfile(source)
    if session_id is None:
        raise NwbMetadataError(
            "Pass the session's id: to_nwbfile(source, session_id).", model="session", id=None, field="session.id"
        )
    return build_nwbfile(nwb_metadata(source, session_id, subject_id=subject_id))


def write_nwb(path: str | os.PathLike, source: Any, session_id: str | None = None, *, subject_id: Any = None) -> Path:
    """Write the session's NWB file to ``path`` atomically (a temporary file renamed into place); return the path.

    Examples
    --------
    >>> path = write_nwb(tmp / "session.nwb", client, client.read("session").index[0])
    >>> path.name, sorted(p.name for p in tmp.iterdir())
    ('session.nwb', ['session.nwb'])
    """
    return write_nwbfile(path, to_nwbfile(source, session_id, subject_id=subject_id))


def write_yaml(path: str | os.PathLike, metadata: dict[str, Any]) -> Path:
    """Write ``metadata`` as a YAML file (neuroconv's metadata file) atomically; return the path."""
    text = metadata_yaml(metadata)
    return write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def _table_row(look: Lookup, sid: Any) -> dict[str, Any]:
    metadata, gaps = session_metadata(look, sid)
    row: dict[str, Any] = {"id": sid}
    for group in ("NWBFile", "Subject"):
        row.update({f"{group}.{key}": value for key, value in metadata[group].items()})
    row["Devices"] = [device["name"] for device in metadata["Devices"]]
    row["missing_for_dandi"] = [str(gap) for gap in gaps if gap.level in (ERROR, REQUIRED)]
    row["missing_recommended"] = [str(gap) for gap in gaps if gap.level == RECOMMENDED]
    row["problems"] = [gap.message for gap in gaps if gap.level != RECOMMENDED]
    return row


def _wanted(source: Any, session_ids: Any) -> list[Any] | None:
    """The sessions asked for, each once (checked and spelled as the server does, for a client)."""
    if session_ids is None:
        return None
    ids = list(dict.fromkeys([session_ids] if isinstance(session_ids, str) else session_ids))
    return ids if isinstance(source, LinkedFrames) else checked_ids(ids)


def nwb_table(source: Any, session_ids: Any = None) -> pd.DataFrame:
    """NWB metadata of many sessions, one row per session (indexed by id), with what each lacks for DANDI.

    Columns are ``NWBFile.<field>``, ``Subject.<field>``, ``Devices`` (their names),
    ``missing_for_dandi`` (what DANDI refuses a file without, as ``NWB field (BrainSTEM
    field)``), ``missing_recommended`` (what DANDI's best practices ask for) and
    ``problems`` (what to fill in, in words). Nothing is raised for a session that
    lacks something; an unknown id raises :class:`~brainstem_pandas.errors.NwbMetadataError`.

    Examples
    --------
    >>> table = nwb_table(client)
    >>> len(table) == len(client.read("session")), int(table["missing_for_dandi"].map(len).sum())
    (True, 0)
    """
    ids = _wanted(source, session_ids)
    look = Lookup(frames_for(source, ids))
    ids = list(look.frames["session"].index) if ids is None else ids
    missing = [sid for sid in ids if look.row("session", sid) is None]
    if missing:
        raise unknown_session(missing[0])
    columns = [
        *(f"NWBFile.{key}" for key in FILE_FIELDS),
        *(f"Subject.{key}" for key in SUBJECT_FIELDS),
        *("Devices", "missing_for_dandi", "missing_recommended", "problems"),
    ]
    rows = [_table_row(look, sid) for sid in ids]
    return pd.DataFrame.from_records(rows, columns=["id", *columns]).set_index("id")


__all__ = ["Gap", "metadata_yaml", "nwb_metadata", "nwb_table", "to_nwbfile", "write_nwb", "write_yaml"]
