"""Sessions and their modules: behaviors, data acquisitions, manipulations, epochs and ordered data storages.

Every function draws from ``w.rng`` in a fixed order; that order fixes the seeded data.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

from brainstem_pandas.sandbox.api.models import MODELS, Epoch, SessionDataStorage
from brainstem_pandas.sandbox.seed.vocabulary import (
    ACQ_TYPES,
    ADULT,
    END,
    EPOCH_NAMES,
    FIRST,
    LAST,
    MANIP_TYPES,
    RECORDING,
    REPOS,
    TAGS,
    text,
)
from brainstem_pandas.sandbox.seed.world import Row, World, Writer, tables

Rows = dict[str, list[Any]]

#: Data acquisitions recorded by a setup's camera; the others by its acquisition system.
CAMERA_ACQ_TYPES = ("BehavioralTracking", "VideoTracking")


def _download_links(w: World) -> list[dict[str, str]]:
    """One session in five is published in a data repository."""
    links = []
    if w.rng.random() < 0.2:
        repo, pattern = w.rng.choice(REPOS)
        links.append({"repository": repo, "url": pattern.format(n=w.rng.randrange(1, 999))})
    return links


def _in_life(subject: Row, minutes: int) -> datetime:
    """A drawn minute folded into ``subject``'s recording age: from ADULT after its birth, within RECORDING of
    that, before its death and before END (NWB files give the subject's age at the session, so it must be > 0)."""
    born = datetime.combine(subject["birth_date"], time(), tzinfo=timezone.utc)
    first = born + ADULT
    ends = [first + RECORDING, END]
    if subject["death_date"] is not None:
        ends.append(datetime.combine(subject["death_date"], time(), tzinfo=timezone.utc))
    span = int((min(ends) - first).total_seconds()) // 60  # > 0: births end 8 weeks before END, deaths come later
    return first + timedelta(minutes=minutes % span)


def _session(w: World, i: int, subject: Row) -> Row:
    """Session number ``i``, of ``subject``, at a random minute of its adult life."""
    rng = w.rng
    # The draw of the seven-year range is kept, so that every later draw (and every count) stays as it was.
    when = _in_life(subject, rng.randrange(0, 7 * 365 * 24 * 60))
    sid = w.uid()
    links = _download_links(w)
    return {
        "id": sid,
        "name": f"{subject['name']}_{when:%Y%m%d_%H%M}_{i}",
        "description": text(rng, "session") if rng.random() < 0.5 else "",
        "date_time": when,
        "extra_fields": {
            "experimenter": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "room_temperature_c": round(rng.uniform(20, 24), 1),
            "trials": rng.randrange(20, 400),
        },
        "download_links": links,
        "name_used_in_storage": f"{subject['name']}_{when:%y%m%d}",
        "tags": rng.sample(TAGS, rng.randrange(0, 3)),
        "links": None,
    }


def _storages(w: World, rows: Rows, sid: Any, group: int) -> None:
    """Some of the group's data storages, in a random order (the order is kept)."""
    stores = w.ids[f"datastorage@{group}"]
    for pos, ds in enumerate(w.rng.sample(stores, w.rng.randrange(1, len(stores) + 1))):
        rows["storages"].append({"session_id": sid, "datastorage_id": ds, "position": pos})


def _behavior(w: World, rows: Rows, sid: Any, subject: Row) -> Any:
    """Seven sessions in ten have a behavior on one of the group's setups; the session's setup (the group's first
    when it has no behavior)."""
    rng, g = w.rng, subject["_group"]
    if rng.random() >= 0.7:
        return w.ids[f"setup@{g}"][0]
    bid = w.uid()
    rows["behavior"].append(
        {
            "id": bid,
            "session": sid,
            "setup": rng.choice(w.ids[f"setup@{g}"]),
            "behavioralassay": rng.choice(w.ids[f"behavioralassay@{g}"]),
            "notes": rng.choice(["", "good performance", "animal distracted"]),
            "order": 0,
        }
    )
    rows["behavior.subjects"].append((bid, subject["id"]))
    return rows["behavior"][-1]["setup"]


def _acquisitions(w: World, rows: Rows, sid: Any, procs: list[Any], setup: Any) -> None:
    """One or two data acquisitions, through the subject's first procedure, on the setup's camera (video and
    behavior) or acquisition system (the rest)."""
    rng = w.rng
    camera, system = w.ids[f"equipment@{setup}"]  # in EQUIPMENT_TYPES order
    for k in range(1 + (rng.random() < 0.4)):
        aid = w.uid()
        kind = rng.choice(ACQ_TYPES)
        rows["dataacquisition.equipment"].append((aid, camera if kind in CAMERA_ACQ_TYPES else system))
        rows["dataacquisition"].append(
            {
                "id": aid,
                "type": kind,
                "notes": "",
                "session": sid,
                "details": {
                    "sampling_rate": rng.choice([20000, 30000, 1250]),
                    "channels": rng.choice([32, 64, 128, 384]),
                },
                "type_schema_version": "1.0.0",
                "image": "",
                "order": k,
            }
        )
        rows["dataacquisition.procedures"].append((aid, procs[0]))


def _manipulation(w: World, rows: Rows, sid: Any, procs: list[Any]) -> None:
    """One session in five has a manipulation, through the subject's last procedure."""
    rng = w.rng
    if rng.random() < 0.2:
        mid = w.uid()
        rows["manipulation"].append(
            {
                "id": mid,
                "type": rng.choice(MANIP_TYPES),
                "notes": "",
                "session": sid,
                "details": [{"duration_s": 10, "power_mw": round(rng.uniform(1, 10), 1)}],
                "type_schema_version": "1.0.0",
                "order": 0,
            }
        )
        rows["manipulation.procedures"].append((mid, procs[-1]))


def _epochs(w: World, rows: Rows, sid: Any) -> None:
    """Up to three consecutive epochs from the session's start."""
    t = 0.0
    for e in range(w.rng.randrange(0, 4)):
        length = round(w.rng.uniform(300, 3600), 1)
        rows["epoch"].append({"id": w.uid(), "session_id": sid, "name": EPOCH_NAMES[e], "start": t, "end": t + length})
        t += length


def _write(out: Writer, rows: Rows) -> None:
    out.insert(MODELS["session"], rows["session"])
    out.link(MODELS["session"], "projects", rows["session.projects"])
    out.insert(SessionDataStorage, rows["storages"])
    out.insert(MODELS["behavior"], rows["behavior"])
    out.link(MODELS["behavior"], "subjects", rows["behavior.subjects"])
    out.insert(MODELS["dataacquisition"], rows["dataacquisition"])
    out.link(MODELS["dataacquisition"], "procedures", rows["dataacquisition.procedures"])
    out.link(MODELS["dataacquisition"], "equipment", rows["dataacquisition.equipment"])
    out.insert(MODELS["manipulation"], rows["manipulation"])
    out.link(MODELS["manipulation"], "procedures", rows["manipulation.procedures"])
    out.insert(Epoch, rows["epoch"])


def sessions(w: World, out: Writer, subjects: list[Row], n_sessions: int) -> None:
    """``n_sessions`` sessions, given to the subjects in turn, each in its subject's first project."""
    rows = tables()
    for i in range(n_sessions):
        subject = subjects[i % len(subjects)]
        session = _session(w, i, subject)
        sid = session["id"]
        rows["session"].append(session)
        rows["session.projects"].append((sid, subject["_project"]))
        _storages(w, rows, sid, subject["_group"])
        setup = _behavior(w, rows, sid, subject)
        procs = w.ids[f"proc@{subject['id']}"]
        _acquisitions(w, rows, sid, procs, setup)
        _manipulation(w, rows, sid, procs)
        _epochs(w, rows, sid)
    _write(out, rows)
