"""NWB files for sandbox sessions: read back with pynwb and compared field by field with the LinkedFrames they
came from, the same offline (from a snapshot), accepted by nwbinspector; the typed errors; the ``nwb`` command."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from nwbinspector import Importance, inspect_nwbfile
from pynwb import NWBHDF5IO

import brainstem_pandas as bsp
from brainstem_pandas.errors import NwbMetadataError
from brainstem_pandas.frames import LinkedFrames
from brainstem_pandas.nwb import nwb_metadata, nwb_table, write_nwb

ROOT = Path(__file__).resolve().parents[2]
FILES = 30
#: What nwbinspector must never say about these files.
SERIOUS = {Importance.CRITICAL, Importance.BEST_PRACTICE_VIOLATION}
DEMO = "demo@brainstem.sandbox"


@pytest.fixture(scope="module")
def client(sandbox):
    with bsp.connect(sandbox.url, token=sandbox.token, progress=False) as c:
        yield c


@pytest.fixture(scope="module")
def snapshot(client, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("nwb") / "snapshot"
    client.snapshot(path)
    return path


@pytest.fixture(scope="module")
def truth(snapshot) -> LinkedFrames:
    """Every table the demo user may read, from the snapshot: what the files are compared with."""
    return bsp.read_snapshot(snapshot)


@pytest.fixture(scope="module")
def chosen(truth) -> list[str]:
    ids = sorted(truth["session"].index)
    return ids[:: max(1, len(ids) // FILES)][:FILES]


def _write_all(source: Any, ids: list[str], folder: Path) -> dict[str, Path]:
    folder.mkdir()
    return {sid: write_nwb(folder / f"{sid}.nwb", source, sid) for sid in ids}


@pytest.fixture(scope="module")
def online_files(client, chosen, tmp_path_factory) -> dict[str, Path]:
    return _write_all(client, chosen, tmp_path_factory.mktemp("nwb") / "online")


@pytest.fixture(scope="module")
def offline_files(snapshot, chosen, tmp_path_factory) -> dict[str, Path]:
    with bsp.connect(snapshot=snapshot) as offline:
        return _write_all(offline, chosen, tmp_path_factory.mktemp("nwb") / "offline")


# -- what the frames say, derived with pandas alone ------------------------------------------------------------------
def _linked(lf: LinkedFrames, table: str, ids: list[Any]) -> list[Any]:
    """The ids a to-many relation lists for each of ``ids``, in order, each once."""
    link = lf.links[table]
    parent, child = link.columns[0], link.columns[1]
    found = [c for i in ids for c in link[link[parent] == i].sort_values("position")[child]]
    return list(dict.fromkeys(found))


def _plain(text: Any) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text or "")).strip()


def _roles(lf: LinkedFrames, pid: str) -> dict[str, dict]:
    """A project's members by e-mail, from its ``project.users`` map table."""
    members = lf.children["project.users"]
    rows = members[members["project_id"] == pid]
    return {
        row["user"]: {k: row[k] is True for k in ("is_owner", "is_manager", "can_change")} for _, row in rows.iterrows()
    }


def _people(lf: LinkedFrames, projects: list[str]) -> tuple[list[str], str, str]:
    users = lf["user"].reset_index().set_index("email")
    ranked: dict[str, int] = {}
    lab = institution = ""
    for pid in projects:
        for email, role in _roles(lf, pid).items():
            rank = 0 if role["is_owner"] else 1 if role["is_manager"] else 2 if role["can_change"] else None
            if rank is not None and email in users.index:
                name = f"{users.loc[email, 'last_name']}, {users.loc[email, 'first_name']}"
                ranked[name] = min(rank, ranked.get(name, rank))
            pis = lf.links["laboratory.principal_investigators"]
            led = pis[pis["user_id"] == users.loc[email, "id"]] if email in users.index and role["is_owner"] else []
            if len(led) and not lab:
                laboratory = lf["laboratory"].loc[led["laboratory_id"].iloc[0]]
                lab, institution = lf["group"].loc[laboratory["group"], "name"], laboratory["institution"]
    return sorted(ranked, key=lambda n: (ranked[n], n)), lab, institution


def _devices(lf: LinkedFrames, sid: str) -> list[dict[str, str]]:
    acquisitions = _linked(lf, "session.dataacquisition", [sid])
    equipment = _linked(lf, "dataacquisition.equipment", acquisitions)
    setups = lf["behavior"].loc[_linked(lf, "session.behaviors", [sid]), "setup"]
    equipment += sorted(lf["equipment"].index[lf["equipment"]["setup"].isin(setups)])
    devices = lf["equipment"].loc[list(dict.fromkeys(equipment)), "hardwaredevice"].drop_duplicates()
    rows = lf["hardwaredevice"].loc[devices]
    makers = lf["supplier"].loc[rows["supplier"], "name"].tolist()
    return [
        {"name": n, "description": d, "manufacturer": m} for n, d, m in zip(rows["name"], rows["description"], makers)
    ]


def expected(lf: LinkedFrames, sid: str) -> dict[str, Any]:
    """The metadata of session ``sid`` as its records in ``lf`` give it."""
    session = lf["session"].loc[sid]
    projects = _linked(lf, "session.projects", [sid])
    acquisitions = _linked(lf, "session.dataacquisition", [sid])
    procedures = _linked(lf, "dataacquisition.procedures", acquisitions)
    [subject_id] = lf["procedure"].loc[procedures, "subject"].unique()
    subject = lf["subject"].loc[subject_id]
    strain = lf["strain"].loc[subject["strain"]]
    people, lab, institution = _people(lf, projects)
    dois = lf["publication"].loc[_linked(lf, "project.publications", projects), "doi"]
    tags = list(session["tags"]) + [t for p in projects for t in lf["project"].loc[p, "tags"]]
    file = {
        "session_id": session["name"],
        "identifier": sid,
        "session_start_time": session["date_time"].isoformat(),
        "session_description": _plain(session["description"]) or session["name"],
        "experiment_description": "\n".join(_plain(lf["project"].loc[p, "description"]) for p in projects),
        "experimenter": people,
        "lab": lab,
        "institution": institution,
        "keywords": list(dict.fromkeys(tags + list(lf["dataacquisition"].loc[acquisitions, "type"]))),
        "related_publications": [f"https://doi.org/{d}" for d in dict.fromkeys(dois)],
    }
    subject_fields = {
        "subject_id": subject["name"],
        "species": lf["species"].loc[strain["species"], "name"],
        "strain": strain["name"],
        "sex": subject["sex"],
        "date_of_birth": f"{subject['birth_date'].isoformat()}T00:00:00+00:00",
        "age": f"P{(session['date_time'].date() - subject['birth_date']).days}D",
        "genotype": subject["genotype"] or subject["genetic_line"],
        "description": _plain(subject["description"]),
    }
    keep = {k: v for k, v in file.items() if v not in ("", [])}
    return {"NWBFile": keep, "Subject": {k: v for k, v in subject_fields.items() if v}, "Devices": _devices(lf, sid)}


def read_back(path: Path) -> dict[str, Any]:
    """Every mapped field of an NWB file, in the metadata's shape."""
    with NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        file = {
            "session_id": f.session_id,
            "identifier": f.identifier,
            "session_start_time": f.session_start_time.isoformat(),
            "session_description": f.session_description,
            "experiment_description": f.experiment_description,
            "experimenter": list(f.experimenter or []),
            "lab": f.lab,
            "institution": f.institution,
            "keywords": [str(k) for k in (f.keywords[:] if f.keywords is not None else [])],
            "related_publications": list(f.related_publications or []),
        }
        s = f.subject
        subject = {
            "subject_id": s.subject_id,
            "species": s.species,
            "strain": s.strain,
            "sex": s.sex,
            "date_of_birth": s.date_of_birth.isoformat() if s.date_of_birth else None,
            "age": s.age,
            "genotype": s.genotype,
            "description": s.description,
        }
        devices = [
            {"name": d.name, "description": d.description, "manufacturer": d.model.manufacturer if d.model else None}
            for d in f.devices.values()
        ]
    clean = {k: v for k, v in file.items() if v not in (None, "", [])}
    return {
        "NWBFile": clean,
        "Subject": {k: v for k, v in subject.items() if v},
        "Devices": sorted(({k: v for k, v in d.items() if v} for d in devices), key=lambda d: d["name"]),
    }


def _sorted_devices(metadata: dict[str, Any]) -> dict[str, Any]:
    return {**metadata, "Devices": sorted(metadata["Devices"], key=lambda d: d["name"])}


# -- files ----------------------------------------------------------------------------------------------------------
def test_files_read_back_as_the_frames_they_came_from(truth, online_files):
    assert len(online_files) == FILES
    for sid, path in online_files.items():
        want = _sorted_devices(expected(truth, sid))
        assert read_back(path) == want, sid
    seen = [read_back(p) for p in online_files.values()]
    # The sample covers what the mapping handles: several experimenters, publications, devices from both paths.
    assert any(len(m["NWBFile"].get("experimenter", [])) > 1 for m in seen)
    assert any(m["NWBFile"].get("related_publications") for m in seen)
    assert any(len(m["Devices"]) > 1 for m in seen) and len({m["Subject"]["species"] for m in seen}) > 1


def test_offline_gives_the_same_metadata_and_files(client, snapshot, truth, chosen, online_files, offline_files):
    with bsp.connect(snapshot=snapshot) as offline:
        for sid in chosen:
            online = nwb_metadata(client, sid)
            assert nwb_metadata(offline, sid) == online == nwb_metadata(truth, sid), sid
            assert read_back(offline_files[sid]) == read_back(online_files[sid]) == _sorted_devices(online), sid
        table = nwb_table(offline, chosen)
    assert table.equals(nwb_table(client, chosen)) and table.equals(nwb_table(truth, chosen))


def test_nwbinspector_finds_nothing_serious_in_the_files(online_files):
    remaining: dict[tuple[str, str], int] = {}
    for path in online_files.values():
        for message in inspect_nwbfile(nwbfile_path=str(path)):
            assert message.importance not in SERIOUS, f"{path.name}: {message}"
            key = (message.check_function_name, message.object_type)
            remaining[key] = remaining.get(key, 0) + 1
    print("nwbinspector, what remains:", remaining)  # listed in the closing note of issue 17


def test_the_inspector_flags_a_file_the_mapping_would_not_make(client, chosen, tmp_path):
    # So the test above cannot pass by an inspector that says nothing: a common name for the species is flagged.
    metadata = nwb_metadata(client, chosen[0])
    metadata["Subject"]["species"] = "house mouse"
    path = write_nwb(tmp_path / "bad.nwb", metadata)
    checks = {m.check_function_name for m in inspect_nwbfile(nwbfile_path=str(path)) if m.importance in SERIOUS}
    assert checks == {"check_subject_species_form"}


def test_every_seeded_session_is_ready_for_dandi(client, truth):
    table = nwb_table(client)
    assert len(table) == len(truth["session"])
    assert table["missing_for_dandi"].map(len).sum() == 0
    assert (table["Subject.age"].str.fullmatch(r"P\d+D")).all()  # every subject was born before its sessions


# -- errors ---------------------------------------------------------------------------------------------------------
def test_an_unknown_or_malformed_session_id_names_session_id(client, snapshot):
    with bsp.connect(snapshot=snapshot) as offline:
        for source in (client, offline):
            with pytest.raises(NwbMetadataError, match="No session with id") as caught:
                nwb_metadata(source, str(uuid.uuid4()))
            assert caught.value.field == "session.id"
    sent = client.transport.requests_sent
    with pytest.raises(NwbMetadataError, match="is not a BrainSTEM session id") as caught:
        nwb_metadata(client, "nonsense")
    assert caught.value.field == "session.id" and client.transport.requests_sent == sent  # nothing sent


def test_a_session_without_a_start_time_names_session_date_time(client, truth):
    mine = [p for p in truth["project"].index if _roles(truth, p).get(DEMO, {}).get("can_change")]
    subjects = _linked(truth, "project.subjects", mine[:1])
    procedure = truth["procedure"].index[truth["procedure"]["subject"].isin(subjects)][0]
    session = client.save("session", {"name": f"nwb-no-time-{uuid.uuid4().hex[:8]}", "projects": mine[:1]})
    acquisition = {"type": "ExtracellularEphys", "session": session["id"], "procedures": [procedure]}
    acquisition = client.save("dataacquisition", acquisition)
    try:
        with pytest.raises(NwbMetadataError, match=r"has no start time: .*\(session\.date_time\)") as caught:
            nwb_metadata(client, session["id"])
        assert (caught.value.model, caught.value.id) == ("session", session["id"])
    finally:
        client.delete("dataacquisition", acquisition["id"])
        client.delete("session", session["id"])


def _edited(lf: LinkedFrames, model: str, column: str, value: Any) -> LinkedFrames:
    table = lf[model].copy()
    table[column] = pd.Series([value] * len(table), index=table.index, dtype=table[column].dtype)
    return LinkedFrames(lf.primary, {**lf.tables, model: table}, lf.links, lf.children, lf.relations)


@pytest.mark.parametrize(
    ("model", "column", "field", "words"),
    [("subject", "sex", "subject.sex", "has no sex"), ("strain", "species", "subject.strain", "has no species")],
)
def test_a_subject_without_sex_or_species_names_the_field(truth, chosen, model, column, field, words):
    with pytest.raises(NwbMetadataError, match=words) as caught:
        nwb_metadata(_edited(truth, model, column, None), chosen[0])
    assert (caught.value.model, caught.value.field) == ("subject", field)
    subject = caught.value.id
    assert truth["subject"].loc[subject, "name"] in str(caught.value)


# -- the command ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """The command's home folder: pynwb caches its type map there, and nothing may land in the repository."""
    return tmp_path_factory.mktemp("home")


def cli(sandbox, home: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRAINSTEM_", "XDG_"))}
    env.update(PYTHONPATH=str(ROOT), BRAINSTEM_URL=url or sandbox.url, HOME=str(home))
    env["BRAINSTEM_TOKEN"] = sandbox.token
    return subprocess.run(
        [sys.executable, "-m", "brainstem_pandas.cli", "nwb", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_the_command_writes_the_file_and_the_yaml_online(sandbox, home, client, chosen, tmp_path):
    sid = chosen[1]
    out = cli(sandbox, home, sid, "--out", str(tmp_path / "s.nwb"))
    assert out.returncode == 0, out.stderr
    assert read_back(tmp_path / "s.nwb") == _sorted_devices(nwb_metadata(client, sid))
    out = cli(sandbox, home, sid, "--yaml", str(tmp_path / "s.yaml"))
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load((tmp_path / "s.yaml").read_text()) == nwb_metadata(client, sid)
    printed = cli(sandbox, home, sid)
    assert printed.returncode == 0 and yaml.safe_load(printed.stdout) == nwb_metadata(client, sid)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.nwb", "s.yaml"]


def test_the_command_answers_from_a_snapshot_offline(sandbox, home, client, snapshot, chosen, tmp_path):
    sid = chosen[2]
    nowhere = "http://127.0.0.1:9"  # no server: offline means offline
    out = cli(sandbox, home, sid, "--snapshot", str(snapshot), "--out", str(tmp_path / "s.nwb"), url=nowhere)
    assert out.returncode == 0, out.stderr
    assert read_back(tmp_path / "s.nwb") == _sorted_devices(nwb_metadata(client, sid))


def test_the_command_says_what_is_wrong(sandbox, home, snapshot, chosen, tmp_path):
    missing = str(uuid.uuid4())
    out = cli(sandbox, home, missing, "--snapshot", str(snapshot))
    assert out.returncode == 1 and f"brainstem-pandas nwb: No session with id '{missing}'" in out.stderr
    both = cli(sandbox, home, chosen[0], "--out", str(tmp_path / "a.nwb"), "--yaml", str(tmp_path / "a.yaml"))
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    nowhere = cli(sandbox, home, chosen[0], "--out", str(tmp_path / "no" / "a.nwb"))
    assert nowhere.returncode == 1 and "does not exist" in nowhere.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_readme_example_runs(tmp_path, monkeypatch):
    section = (ROOT / "README.md").read_text().split("## NWB files for DANDI", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert read_back(tmp_path / "session.nwb") == _sorted_devices(scope["metadata"])
    assert scope["table"].loc[scope["session_id"], "missing_for_dandi"] == []
