"""Projects and their subjects, with each subject's procedures and logs.

Every function draws from ``w.rng`` in a fixed order; that order fixes the seeded data.
The rows keep two private keys for the sessions: ``_project`` and ``_group``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from brainstem_pandas.sandbox.api.models import MODELS
from brainstem_pandas.sandbox.seed.vocabulary import COORDS, DEMO_EMAIL, PROC_TYPES, SPECIES, START, TAGS, TOPICS
from brainstem_pandas.sandbox.seed.world import Row, World, Writer, tables

Role = dict[str, bool]

SEX_WORDS = {"F": "Female", "M": "Male", "U": "Unknown sex,"}

OWNER: Role = {"can_change": True, "is_manager": True, "is_owner": True}
CONTRIBUTOR: Role = {"can_change": True, "is_manager": False, "is_owner": False}
READER: Role = {"can_change": False, "is_manager": False, "is_owner": False}

#: The demo user's role by project index modulo 5: owner, contributor, reader, none, none.
DEMO_ROLES: list[Role | None] = [OWNER, CONTRIBUTOR, READER, None, None]


def _project(w: World, i: int) -> Row:
    """Project number ``i``, of group ``i`` modulo the number of groups."""
    rng = w.rng
    g = w.ids["group"][i % len(w.ids["group"])]
    gname = w.ids["group_name"][i % len(w.ids["group_name"])]
    owner_email = w.users[2 + ((g - 1) * 3)][1]
    users = {owner_email: OWNER}
    role = DEMO_ROLES[i % 5]
    if role is not None:
        users[DEMO_EMAIL] = role
    groups = {gname: CONTRIBUTOR} if i % 3 == 0 else {}
    topic = TOPICS[i % len(TOPICS)]
    return {
        "id": w.uid(),
        "name": f"{topic.capitalize()} {2019 + i % 7} #{i + 1}",
        "description": f"<p>How {topic} support behavior, studied by the {gname}.</p>",
        "extra_fields": {
            "funding": rng.choice(["ERC", "NIH", "Lundbeck Foundation", "Wellcome"]),
            "budget_keur": rng.randint(50, 2000),
        },
        "is_public": i % 3 == 1,
        "tags": rng.sample(TAGS, 2),
        "links": None,
        "users": users,
        "groups": groups,
        "_group": g,
    }


def projects(w: World, out: Writer, n_projects: int) -> list[Row]:
    """Projects: the demo user owns some, contributes to some, only reads some, misses the rest."""
    rows = [_project(w, i) for i in range(n_projects)]
    out.insert(MODELS["project"], rows)
    # About half the projects cite a publication.
    cited = [(p["id"], w.pick("publication")) for p in rows if w.rng.random() < 0.5]
    out.link(MODELS["project"], "publications", cited)
    w.ids["project"] = [p["id"] for p in rows]
    return rows


def _subject(w: World, i: int, project: Row) -> Row:
    """Subject number ``i`` of ``project``: mostly mice, named by species initials and number."""
    rng = w.rng
    species_name, _, _ = SPECIES[0 if rng.random() < 0.7 else rng.randrange(1, len(SPECIES))]
    strain = rng.choice(w.ids[f"strain:{species_name}"])
    born = date(2018, 6, 1) + timedelta(days=rng.randrange(0, 7 * 365))
    sid = w.uid()
    prefix = "".join(p[0] for p in species_name.split()).upper()
    row = _subject_row(w, i, project, sid, strain, born, prefix)
    # Written from what was drawn (no draw of its own): NWB files carry it as Subject.description.
    row["description"] = f"<p>{SEX_WORDS[row['sex']]} <i>{species_name}</i>, ear tag {row['subject_identifier']}.</p>"
    return row


def _subject_row(w: World, i: int, project: Row, sid: Any, strain: Any, born: date, prefix: str) -> Row:
    rng = w.rng
    return {
        "id": sid,
        "name": f"{prefix}{i + 1:05d}",
        "description": "",
        "strain": strain,
        "sex": rng.choice("FMMU"[:3] if rng.random() < 0.95 else "U"),
        "genetic_line": "",
        "genotype": rng.choice(["wt", "Cre+/-", "Cre+/+", ""]),
        "subject_identifier": f"EAR-{rng.randrange(1000, 9999)}",
        "supplier": rng.choice(w.ids["supplier"][:3]),
        "breeding": None,
        "birth_date": born,
        "death_date": born + timedelta(days=rng.randrange(120, 700)) if rng.random() < 0.4 else None,
        "status": rng.choice(["active", "active", "inactive", "deceased"]),
        "extra_fields": {"weight_g": round(rng.uniform(18, 450), 1), "cage": f"C{rng.randrange(1, 200)}"},
        "name_used_in_storage": f"{prefix}{i + 1:05d}",
        "tags": rng.sample(TAGS, 1),
        "links": None,
        "_project": project["id"],
        "_group": project["_group"],
    }


def _memberships(w: World, rows: dict[str, list[Any]], sid: Any, project: Row, projects: list[Row]) -> None:
    """The subject's project (one in twenty also in a second) and its group's first license."""
    rows["projects"].append((sid, project["id"]))
    if w.rng.random() < 0.05:
        other = w.rng.choice(projects)["id"]
        if other != project["id"]:
            rows["projects"].append((sid, other))
    lic = w.ids[f"license@{project['_group']}"]
    if lic:
        rows["licenses"].append((sid, lic[0]))


def _procedure(w: World, sid: Any) -> Row:
    rng = w.rng
    return {
        "id": w.uid(),
        "type": rng.choice(PROC_TYPES),
        "notes": "",
        "subject": sid,
        "date_time": START + timedelta(days=rng.randrange(0, 2500), hours=rng.randrange(8, 18)),
        "consumablestock": None,
        "brain_region": rng.choice(w.ids["brainregion"]),
        "details": {"depth_um": rng.randrange(500, 3000)},
        "type_schema_version": "1.0.0",
        "coordinates_system": rng.choice(COORDS),
        "coordinates_details": {
            "ap": round(rng.uniform(-4, 2), 2),
            "ml": round(rng.uniform(-3, 3), 2),
            "dv": round(rng.uniform(0, 4), 2),
        },
        "coordinates_schema_version": "1.0.0",
        "created_at": START,
        "updated_at": START,
    }


def _procedures(w: World, rows: dict[str, list[Any]], sid: Any) -> None:
    """One or two procedures (ids kept as ``proc@<subject>``); one first procedure in five has a log."""
    for k in range(1 + (w.rng.random() < 0.5)):
        procedure = _procedure(w, sid)
        rows["procedure"].append(procedure)
        w.ids[f"proc@{sid}"].append(procedure["id"])
        if k == 0 and w.rng.random() < 0.2:
            entry = {"date_time": "2024-05-01T10:00:00Z", "notes": "", "details": {"impedance": 1.2}}
            log = {"id": w.uid(), "type": "Impedances", "description": "", "procedure": procedure["id"]}
            rows["procedurelog"].append({**log, "entries": [entry]})


def _weighing_log(w: World, sid: Any) -> Row:
    """Three monthly weighings by the demo user."""
    log_id = w.uid()  # drawn first: the order of draws fixes the seeded data
    weighings = [
        {"date_time": f"2025-0{m}-01T09:00:00Z", "notes": "", "details": {"weight": round(w.rng.uniform(20, 30), 1)}}
        for m in range(1, 4)
    ]
    return {
        "id": log_id,
        "type": "Weighing",
        "description": "Weekly weight",
        "subject": sid,
        "user": 1,
        "entries": weighings,
    }


def subjects(w: World, out: Writer, projects: list[Row], n_subjects: int) -> list[Row]:
    """Subjects spread over the projects in turn, with their procedures and logs."""
    rows = tables()
    for i in range(n_subjects):
        project = projects[i % len(projects)]
        subject = _subject(w, i, project)
        rows["subject"].append(subject)
        _memberships(w, rows, subject["id"], project, projects)
        _procedures(w, rows, subject["id"])
        rows["subjectlog"].append(_weighing_log(w, subject["id"]))
    out.insert(MODELS["subject"], rows["subject"])
    out.link(MODELS["subject"], "projects", rows["projects"])
    out.link(MODELS["subject"], "licenses", rows["licenses"])
    out.insert(MODELS["procedure"], rows["procedure"])
    out.insert(MODELS["subjectlog"], rows["subjectlog"])
    out.insert(MODELS["procedurelog"], rows["procedurelog"])
    return rows["subject"]
