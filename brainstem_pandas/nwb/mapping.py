"""From one session's records in :class:`~brainstem_pandas.frames.LinkedFrames` to NWB metadata (pure; no pynwb).

:func:`session_metadata` returns the nested dict (neuroconv's shape) and the list of
:class:`Gap` s: what NWB or DANDI needs that the records do not give, each naming the
BrainSTEM field to fill in. The choices are listed in :mod:`brainstem_pandas.nwb`.

Examples
--------
>>> from brainstem_pandas.frames import FrameBuilder
>>> builder = FrameBuilder("session")
>>> builder.add_records("session", [{"id": "s1", "name": "rec/1", "date_time": "2024-03-01T09:30:00Z"}])
>>> metadata, gaps = session_metadata(Lookup(builder.finish()), "s1")
>>> metadata["NWBFile"]["session_id"], metadata["NWBFile"]["session_start_time"]
('rec-1', '2024-03-01T09:30:00+00:00')
>>> [gap.nwb for gap in gaps if gap.level == "error"]
['Subject']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd

from brainstem_pandas.errors import NwbMetadataError
from brainstem_pandas.nwb.people import experimenters, laboratory
from brainstem_pandas.nwb.records import Lookup, plain_text, text

#: nwbinspector's form of a species (check_subject_species_form): a Latin binomial or an NCBI Taxonomy IRI.
SPECIES_FORM = re.compile(r"([A-Z][a-z]* [a-z]+)|(http://purl.obolibrary.org/obo/NCBITaxon_\d+)")
NCBI_TAXON = re.compile(r"(?:RRID:)?NCBITaxon_(\d+)")
TAXON_IRI = "http://purl.obolibrary.org/obo/NCBITaxon_{}"
#: BrainSTEM's sex choices (F, M, U) and their spelled-out forms -> NWB's.
SEXES = {"f": "F", "female": "F", "m": "M", "male": "M", "u": "U", "unknown": "U", "o": "O", "other": "O"}
DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "http://dx.doi.org/", "https://dx.doi.org/", "doi:")
#: The fields of the metadata dicts, in the order they are written (neuroconv's order).
FILE_FIELDS = (
    "session_id",
    "identifier",
    "session_start_time",
    "session_description",
    "experiment_description",
    "experimenter",
    "lab",
    "institution",
    "keywords",
    "related_publications",
)
SUBJECT_FIELDS = ("subject_id", "species", "strain", "sex", "date_of_birth", "age", "genotype", "description")
#: Levels of a gap: no NWB file can be made; DANDI refuses the file; DANDI's best practices ask for it.
ERROR, REQUIRED, RECOMMENDED = "error", "required", "recommended"


@dataclass(frozen=True)
class Gap:
    """Something NWB or DANDI needs that the BrainSTEM records do not give.

    ``nwb`` is the NWB field (``"Subject.sex"``), ``field`` the BrainSTEM field to fill
    in (``"subject.sex"``) of record ``id`` of ``model``; ``level`` is :data:`ERROR`,
    :data:`REQUIRED` or :data:`RECOMMENDED`.
    """

    nwb: str
    model: str
    id: Any
    field: str
    message: str
    level: str

    def __str__(self) -> str:
        return f"{self.nwb} ({self.field})"


def safe_name(name: str) -> str:
    """A name DANDI can put in a path: slashes (which nwbinspector flags) become dashes.

    Examples
    --------
    >>> safe_name("rat 1/day 2")
    'rat 1-day 2'
    """
    return name.replace("/", "-").replace("\\", "-")


def unknown_session(sid: Any) -> NwbMetadataError:
    """The error for a session id the frames do not hold."""
    return NwbMetadataError(
        f"No session with id {sid!r} among the sessions read: check the id in BrainSTEM (session.id); "
        "client.read('session').index lists the sessions you may read (the public portal only public ones).",
        model="session",
        id=sid,
        field="session.id",
    )


def _moment(value: Any) -> pd.Timestamp | None:
    """A time as the frames hold it (typed, or text when a read could not type it); None when missing or unreadable."""
    try:
        stamp = pd.Timestamp(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return None if stamp is None or pd.isna(stamp) else stamp


def _start_time(session: dict[str, Any], sid: Any, gaps: list[Gap]) -> pd.Timestamp | None:
    stamp = _moment(session.get("date_time"))
    if stamp is None:
        given = session.get("date_time")
        said = "no start time" if given is None else f"no start time that reads as a date and time ({given!r})"
        gaps.append(
            Gap(
                "NWBFile.session_start_time",
                "session",
                sid,
                "session.date_time",
                f"Session {session.get('name')!r} (id {sid}) has {said}: fill in its date and time "
                "(session.date_time) in BrainSTEM; NWB files need it as session_start_time.",
                ERROR,
            )
        )
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp  # the API's times are UTC ("Z")


def _projects_text(look: Lookup, projects: list[Any]) -> tuple[str, list[str]]:
    """The projects' descriptions as plain text, and their tags."""
    rows = [row for pid in projects if (row := look.row("project", pid)) is not None]
    described = "\n".join(d for row in rows if (d := plain_text(row.get("description"))))
    return described, [tag for row in rows for tag in (row.get("tags") or [])]


def _publications(look: Lookup, projects: list[Any]) -> list[str]:
    """DOIs as https://doi.org/ links (the form nwbinspector accepts), else the publication's URL."""
    out: list[str] = []
    for pid in projects:
        for pub in look.linked("project", "publications", pid):
            row = look.row("publication", pub) or {}
            doi = text(row.get("doi"))
            for prefix in DOI_PREFIXES:
                doi = doi[len(prefix) :] if doi.lower().startswith(prefix) else doi
            link = f"https://doi.org/{doi}" if doi else text(row.get("publication_url"))
            if link and link not in out:
                out.append(link)
    return out


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(str(item) for item in items if item))


def _file_fields(look: Lookup, session: dict[str, Any], sid: Any, gaps: list[Gap]) -> dict[str, Any]:
    projects = look.linked("session", "projects", sid)
    described, project_tags = _projects_text(look, projects)
    start = _start_time(session, sid, gaps)
    acquisitions = [look.row("dataacquisition", a) or {} for a in look.linked("session", "dataacquisition", sid)]
    lab, institution = laboratory(look, projects)
    fields = {
        "session_id": safe_name(text(session.get("name")) or str(sid)),
        "identifier": str(sid),
        "session_start_time": None if start is None else start.isoformat(),
        "session_description": plain_text(session.get("description")) or text(session.get("name")) or str(sid),
        "experiment_description": described,
        "experimenter": experimenters(look, projects),
        "lab": lab,
        "institution": institution,
        "keywords": _unique([*(session.get("tags") or []), *project_tags, *(a.get("type") for a in acquisitions)]),
        "related_publications": _publications(look, projects),
    }
    _file_gaps(fields, sid, projects, gaps)
    return {key: value for key, value in fields.items() if value not in (None, "", [])}


def _file_gaps(fields: dict[str, Any], sid: Any, projects: list[Any], gaps: list[Gap]) -> None:
    wanted = {
        "experimenter": ("project.users", "users (with first and last names) on the session's projects"),
        "lab": ("laboratory.group", "a laboratory for a group or principal investigator of the session's projects"),
        "institution": ("laboratory.institution", "the institution of the session's laboratory"),
        "keywords": ("session.tags", "tags on the session or its projects"),
        "experiment_description": ("project.description", "a description of the session's projects"),
    }
    for key, (field, what) in wanted.items():
        if not fields[key]:
            model = field.partition(".")[0]
            where = projects[0] if model == "project" and projects else sid
            message = f"NWBFile.{key}: add {what} in BrainSTEM ({field})."
            gaps.append(Gap(f"NWBFile.{key}", model, where, field, message, RECOMMENDED))


def _candidates(look: Lookup, sid: Any) -> list[Any]:
    """The session's subjects: through its data acquisitions' and manipulations' procedures, then its behaviors."""
    found: list[Any] = []
    for module in ("dataacquisition", "manipulations"):
        model = "dataacquisition" if module == "dataacquisition" else "manipulation"
        for mid in look.linked("session", module, sid):
            for proc in look.linked(model, "procedures", mid):
                found.append((look.row("procedure", proc) or {}).get("subject"))
    for bid in look.linked("session", "behaviors", sid):
        found += look.linked("behavior", "subjects", bid)
    return list(dict.fromkeys(s for s in found if s is not None))


def _subject_id(look: Lookup, session: dict[str, Any], sid: Any, chosen: Any, gaps: list[Gap]) -> Any:
    if chosen is not None:
        return chosen
    found = _candidates(look, sid)
    if len(found) == 1:
        return found[0]
    name = session.get("name")
    if found:
        names = ", ".join(text((look.row("subject", s) or {}).get("name")) or str(s) for s in found)
        why = f"links {len(found)} subjects ({names}); an NWB file holds one: pass subject_id= one of them"
    else:
        missing = [m for m in ("dataacquisition", "procedure", "behavior") if not look.has(m)]
        why = "links no subject: add the subject's procedure to a data acquisition of the session"
        why += " (dataacquisition.procedures) or the subject to a behavior (behavior.subjects)"
        why += f"; these frames hold no {', '.join(missing)} table" if missing else ""
    message = f"Session {name!r} (id {sid}) {why}."
    gaps.append(Gap("Subject", "session", sid, "dataacquisition.procedures", message, ERROR))
    return None


def _species(look: Lookup, subject: dict[str, Any], gaps: list[Gap]) -> tuple[str, str]:
    """(species, strain): the Latin name, else the NCBI Taxonomy IRI of the species' RRID."""
    strain = look.row("strain", subject.get("strain")) or {}
    species = look.row("species", strain.get("species")) or {}
    name, rrid = text(species.get("name")), text(species.get("rrid"))
    taxon = NCBI_TAXON.fullmatch(rrid)
    form = name if SPECIES_FORM.fullmatch(name) or not taxon else TAXON_IRI.format(taxon.group(1))
    where = f"Subject {subject.get('name')!r} (id {subject['id']})"
    if not name and not taxon:
        fix = "choose its strain (subject.strain)" if not strain else "give the strain a species (strain.species)"
        message = f"{where} has no species: {fix} in BrainSTEM; NWB files and DANDI need the species."
        gaps.append(Gap("Subject.species", "subject", subject["id"], "subject.strain", message, ERROR))
    elif not SPECIES_FORM.fullmatch(form):
        message = f"{where}: species {name!r} is not a Latin binomial; fix species.name or give species.rrid."
        gaps.append(Gap("Subject.species", "species", strain.get("species"), "species.name", message, REQUIRED))
    return form or name, text(strain.get("name"))


def _sex(subject: dict[str, Any], gaps: list[Gap]) -> str | None:
    value = text(subject.get("sex"))
    if value.lower() in SEXES:
        return SEXES[value.lower()]
    said = f"sex {value!r}, not one of F, M, U" if value else "no sex"
    message = (
        f"Subject {subject.get('name')!r} (id {subject['id']}) has {said}: fill in subject.sex in BrainSTEM; "
        "NWB files and DANDI need it (M, F, U for unknown, O for other)."
    )
    gaps.append(Gap("Subject.sex", "subject", subject["id"], "subject.sex", message, ERROR))
    return None


def _age(subject: dict[str, Any], start: Any, gaps: list[Gap]) -> dict[str, str]:
    """date_of_birth (midnight UTC) and age in days at the session's date (UTC), as ISO 8601."""
    stamp = _moment(subject.get("birth_date"))
    born = None if stamp is None else stamp.date()
    session_day = pd.Timestamp(start).date() if start else None
    if isinstance(born, date) and (session_day is None or born <= session_day):
        out = {"date_of_birth": datetime(born.year, born.month, born.day, tzinfo=timezone.utc).isoformat()}
        return out | ({"age": f"P{(session_day - born).days}D"} if session_day else {})
    said = f"was born on {born}, after the session" if isinstance(born, date) else "has no birth date"
    message = f"Subject {subject.get('name')!r} (id {subject['id']}) {said}: fill in subject.birth_date."
    gaps.append(Gap("Subject.date_of_birth", "subject", subject["id"], "subject.birth_date", message, REQUIRED))
    return {}


def _subject_fields(look: Lookup, subject_id: Any, start: Any, gaps: list[Gap]) -> dict[str, Any]:
    subject = look.row("subject", subject_id)
    if subject is None:
        message = f"No subject with id {subject_id!r} in these frames; pass the id of one the session links."
        gaps.append(Gap("Subject", "subject", subject_id, "subject.id", message, ERROR))
        return {}
    subject["id"] = subject_id
    species, strain = _species(look, subject, gaps)
    fields = {
        "subject_id": safe_name(text(subject.get("name")) or str(subject_id)),
        "species": species,
        "strain": strain,
        "sex": _sex(subject, gaps),
        **_age(subject, start, gaps),
        "genotype": text(subject.get("genotype")) or text(subject.get("genetic_line")),
        "description": plain_text(subject.get("description")),
    }
    return {key: value for key, value in fields.items() if value not in (None, "")}


def _devices(look: Lookup, sid: Any) -> list[dict[str, str]]:
    """Hardware devices of the equipment of the session's data acquisitions, then of its behaviors' setups."""
    equipment = [
        e
        for a in look.linked("session", "dataacquisition", sid)
        for e in look.linked("dataacquisition", "equipment", a)
    ]
    for bid in look.linked("session", "behaviors", sid):
        setup = (look.row("behavior", bid) or {}).get("setup")
        equipment += look.referrers("equipment", "setup", setup) if setup is not None else []
    devices: dict[Any, dict[str, str]] = {}
    for eid in dict.fromkeys(equipment):
        hid = (look.row("equipment", eid) or {}).get("hardwaredevice")
        device = look.row("hardwaredevice", hid)
        if device is None or hid in devices:
            continue
        name = safe_name(text(device.get("name")) or str(hid))
        if any(d["name"] == name for d in devices.values()):
            name = f"{name} ({hid})"  # NWB names devices uniquely; two BrainSTEM devices may share a name
        maker = text((look.row("supplier", device.get("supplier")) or {}).get("name"))
        entry = {"name": name, "description": text(device.get("description")), "manufacturer": maker}
        devices[hid] = {key: value for key, value in entry.items() if value}
    return list(devices.values())


def session_metadata(look: Lookup, sid: Any, subject_id: Any = None) -> tuple[dict[str, Any], list[Gap]]:
    """NWB metadata of session ``sid`` (``{"NWBFile", "Subject", "Devices"}``) and what it lacks.

    Raises NwbMetadataError only when the frames hold no session ``sid``; every
    other shortfall is a :class:`Gap`.
    """
    session = look.row("session", sid)
    if session is None:
        raise unknown_session(sid)
    gaps: list[Gap] = []
    fields = _file_fields(look, session, sid, gaps)
    subject = _subject_id(look, session, sid, subject_id, gaps)
    metadata: dict[str, Any] = {
        "NWBFile": fields,
        "Subject": {} if subject is None else _subject_fields(look, subject, fields.get("session_start_time"), gaps),
        "Devices": _devices(look, sid),
    }
    return metadata, gaps
