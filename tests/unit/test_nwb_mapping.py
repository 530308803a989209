"""The NWB mapping on plain LinkedFrames built from records (no server): each field, each gap, each error."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from brainstem_pandas.errors import ConfigurationError, MissingDependencyError, NwbMetadataError
from brainstem_pandas.frames import FrameBuilder, LinkedFrames, TypeConflictWarning
from brainstem_pandas.nwb import metadata_yaml, nwb_metadata, nwb_table, to_nwbfile, write_nwb, write_yaml
from brainstem_pandas.nwb.gather import union

ROOT = Path(__file__).resolve().parents[2]
SID, SUBJECT, PROJECT = "s-1", "m-1", "p-1"


def world() -> dict[str, list[dict[str, Any]]]:
    """One session of one mouse, with everything the mapping reads, as the API would send it."""
    return {
        "session": [
            {
                "id": SID,
                "name": "MM001/day1",
                "description": "<p>Linear track, <b>day 1</b> &amp; sleep.</p>",
                "date_time": "2024-03-01T09:30:00Z",
                "projects": [PROJECT],
                "dataacquisition": ["a-1", "a-2"],
                "behaviors": ["b-1"],
                "manipulations": [],
                "tags": ["pilot", "sleep"],
            }
        ],
        "project": [
            {
                "id": PROJECT,
                "name": "Place cells",
                "description": "<p>How place cells remap.</p>",
                "tags": ["sleep", "hippocampus"],
                "publications": ["pub-1", "pub-2"],
                "users": {
                    "reader@x.org": {"can_change": False, "is_manager": False, "is_owner": False},
                    "zoe@x.org": {"can_change": True, "is_manager": False, "is_owner": False},
                    "ada@x.org": {"can_change": True, "is_manager": True, "is_owner": True},
                    "nameless@x.org": {"can_change": True, "is_manager": False, "is_owner": False},
                },
                "groups": {"Visitors": {"can_change": False, "is_manager": False, "is_owner": False}},
            }
        ],
        "publication": [
            {"id": "pub-1", "title": "A", "doi": "doi:10.1000/abc"},
            {"id": "pub-2", "title": "B", "doi": "", "publication_url": "https://example.org/b"},
        ],
        "user": [
            {"id": 1, "email": "ada@x.org", "first_name": "Ada", "last_name": "Lovelace"},
            {"id": 2, "email": "zoe@x.org", "first_name": "Zoe", "last_name": "Berg"},
            {"id": 3, "email": "reader@x.org", "first_name": "Rita", "last_name": "Reader"},
            {"id": 4, "email": "nameless@x.org", "first_name": "", "last_name": "Only"},
        ],
        "group": [{"id": 10, "name": "Memory Lab"}, {"id": 11, "name": "Visitors"}],
        "laboratory": [
            {"id": "lab-v", "group": 11, "principal_investigators": [3], "institution": "Elsewhere"},
            {"id": "lab-m", "group": 10, "principal_investigators": [1], "institution": "Aarhus University"},
        ],
        "dataacquisition": [
            {"id": "a-1", "type": "ExtracellularEphys", "session": SID, "procedures": ["proc-1"], "equipment": ["e-1"]},
            {"id": "a-2", "type": "VideoTracking", "session": SID, "procedures": ["proc-1"], "equipment": ["e-2"]},
        ],
        "procedure": [{"id": "proc-1", "type": "SiliconProbeImplant", "subject": SUBJECT}],
        "behavior": [{"id": "b-1", "session": SID, "setup": "rig-1", "subjects": [SUBJECT]}],
        "equipment": [
            {"id": "e-1", "name": "DAQ of rig 1", "setup": "rig-1", "hardwaredevice": "hw-1"},
            {"id": "e-2", "name": "Camera of rig 1", "setup": "rig-1", "hardwaredevice": "hw-2"},
            {"id": "e-3", "name": "Spare camera", "setup": "rig-1", "hardwaredevice": "hw-3"},
        ],
        "hardwaredevice": [
            {"id": "hw-1", "name": "OmniPlex", "description": "64-channel recorder", "supplier": "sup-1"},
            {"id": "hw-2", "name": "Cam/2000", "description": "", "supplier": None},
            {"id": "hw-3", "name": "Cam-2000", "description": "A second camera", "supplier": "sup-1"},
        ],
        "supplier": [{"id": "sup-1", "name": "Plexon"}],
        "subject": [
            {
                "id": SUBJECT,
                "name": "MM001",
                "description": "<p>Implanted in CA1.</p>",
                "strain": "st-1",
                "sex": "F",
                "genotype": "",
                "genetic_line": "PV-Cre",
                "birth_date": "2023-12-02",
            }
        ],
        "strain": [{"id": "st-1", "name": "C57BL/6J", "species": "sp-1"}],
        "species": [{"id": "sp-1", "name": "Mus musculus", "rrid": "RRID:NCBITaxon_10090"}],
    }


def frames(records: dict[str, list[dict[str, Any]]]) -> LinkedFrames:
    builder = FrameBuilder("session")
    for model, rows in records.items():
        builder.add_records(model, rows)
    return builder.finish()


def changed(**edits: dict[str, Any]) -> LinkedFrames:
    """The world with the first record of each named model updated."""
    records = copy.deepcopy(world())
    for model, fields in edits.items():
        records[model][0].update(fields)
    return frames(records)


def test_every_field_of_the_session_maps_as_documented():
    metadata = nwb_metadata(frames(world()), SID)
    assert metadata["NWBFile"] == {
        "session_id": "MM001-day1",  # slashes break DANDI paths
        "identifier": SID,
        "session_start_time": "2024-03-01T09:30:00+00:00",
        "session_description": "Linear track, day 1 & sleep.",
        "experiment_description": "How place cells remap.",
        # owner, then contributor; the reader and the user with no first name are left out
        "experimenter": ["Lovelace, Ada", "Berg, Zoe"],
        "lab": "Memory Lab",  # led by the project's owner, before the group it is shared with
        "institution": "Aarhus University",
        "keywords": ["pilot", "sleep", "hippocampus", "ExtracellularEphys", "VideoTracking"],
        "related_publications": ["https://doi.org/10.1000/abc", "https://example.org/b"],
    }
    assert metadata["Subject"] == {
        "subject_id": "MM001",
        "species": "Mus musculus",
        "strain": "C57BL/6J",
        "sex": "F",
        "date_of_birth": "2023-12-02T00:00:00+00:00",
        "age": "P90D",
        "genotype": "PV-Cre",
        "description": "Implanted in CA1.",
    }
    assert metadata["Devices"] == [
        {"name": "OmniPlex", "description": "64-channel recorder", "manufacturer": "Plexon"},
        {"name": "Cam-2000"},  # no description, no supplier; the slash replaced
        {"name": "Cam-2000 (hw-3)", "description": "A second camera", "manufacturer": "Plexon"},  # from the setup
    ]


def test_the_lab_comes_from_a_shared_group_when_no_owner_leads_one():
    lf = changed(project={"users": {"zoe@x.org": {"is_owner": True}}})
    metadata = nwb_metadata(lf, SID)["NWBFile"]
    assert (metadata["lab"], metadata["institution"]) == ("Visitors", "Elsewhere")
    assert metadata["experimenter"] == ["Berg, Zoe"]


@pytest.mark.parametrize(
    ("given", "nwb"), [("F", "F"), ("M", "M"), ("U", "U"), ("female", "F"), ("Male", "M"), ("other", "O")]
)
def test_sex_maps_to_nwb_letters(given, nwb):
    assert nwb_metadata(changed(subject={"sex": given}), SID)["Subject"]["sex"] == nwb


def test_a_species_name_that_is_not_binomial_gives_the_ncbi_taxonomy_iri():
    lf = changed(species={"name": "house mouse"})
    assert nwb_metadata(lf, SID)["Subject"]["species"] == "http://purl.obolibrary.org/obo/NCBITaxon_10090"


def test_a_species_without_a_binomial_or_rrid_is_kept_and_listed_for_dandi():
    lf = changed(species={"name": "house mouse", "rrid": ""})
    assert nwb_metadata(lf, SID)["Subject"]["species"] == "house mouse"
    assert nwb_table(lf).loc[SID, "missing_for_dandi"] == ["Subject.species (species.name)"]


def test_a_naive_start_time_is_taken_as_utc_and_age_counts_days_at_that_date():
    with pytest.warns(TypeConflictWarning, match="session.date_time"):  # a time without zone stays text
        lf = changed(session={"date_time": "2024-12-02T23:59:00"})
    metadata = nwb_metadata(lf, SID)
    assert metadata["NWBFile"]["session_start_time"] == "2024-12-02T23:59:00+00:00"
    assert metadata["Subject"]["age"] == "P366D"  # 2024 is a leap year


@pytest.mark.parametrize("born", [None, "2024-03-02"])
def test_no_birth_date_or_one_after_the_session_gives_no_age_and_is_listed_for_dandi(born):
    lf = changed(subject={"birth_date": born})
    subject = nwb_metadata(lf, SID)["Subject"]
    assert "age" not in subject and "date_of_birth" not in subject
    row = nwb_table(lf).loc[SID]
    assert row["missing_for_dandi"] == ["Subject.date_of_birth (subject.birth_date)"]
    assert "subject.birth_date" in row["problems"][0]


def test_a_session_without_a_start_time_names_session_date_time():
    with pytest.raises(NwbMetadataError, match=r"no start time: .*\(session\.date_time\)") as caught:
        nwb_metadata(changed(session={"date_time": None}), SID)
    assert (caught.value.model, caught.value.id, caught.value.field) == ("session", SID, "session.date_time")


def test_a_start_time_that_is_not_a_time_names_session_date_time_and_the_value():
    with pytest.warns(TypeConflictWarning):  # the frames keep what they cannot type as text
        lf = changed(session={"date_time": "yesterday"})
    with pytest.raises(NwbMetadataError, match=r"no start time that reads as a date and time \('yesterday'\)"):
        nwb_metadata(lf, SID)


@pytest.mark.parametrize(
    ("edits", "field", "words"),
    [
        ({"subject": {"sex": None}}, "subject.sex", "has no sex: fill in subject.sex"),
        ({"subject": {"sex": "X"}}, "subject.sex", "sex 'X', not one of F, M, U"),
        ({"subject": {"strain": None}}, "subject.strain", r"has no species: choose its strain \(subject.strain\)"),
        ({"strain": {"species": None}}, "subject.strain", r"give the strain a species \(strain.species\)"),
    ],
)
def test_a_subject_without_species_or_sex_names_the_field(edits, field, words):
    with pytest.raises(NwbMetadataError, match=words) as caught:
        nwb_metadata(changed(**edits), SID)
    assert (caught.value.model, caught.value.id, caught.value.field) == ("subject", SUBJECT, field)
    assert "MM001" in str(caught.value)


def test_an_unknown_session_id_names_session_id():
    with pytest.raises(NwbMetadataError, match="No session with id 'nope'") as caught:
        nwb_metadata(frames(world()), "nope")
    assert caught.value.field == "session.id"
    with pytest.raises(NwbMetadataError, match="No session with id 'nope'"):
        nwb_table(frames(world()), [SID, "nope"])


def test_a_session_without_a_subject_says_how_to_link_one():
    lf = changed(session={"dataacquisition": [], "behaviors": []})
    with pytest.raises(NwbMetadataError, match=r"links no subject: .*dataacquisition\.procedures"):
        nwb_metadata(lf, SID)


def test_a_session_with_two_subjects_needs_subject_id():
    records = world()
    records["subject"].append({**records["subject"][0], "id": "m-2", "name": "MM002"})
    records["behavior"][0]["subjects"] = ["m-2"]
    lf = frames(records)
    with pytest.raises(NwbMetadataError, match=r"links 2 subjects \(MM001, MM002\).*subject_id="):
        nwb_metadata(lf, SID)
    assert nwb_metadata(lf, SID, subject_id="m-2")["Subject"]["subject_id"] == "MM002"


def test_the_table_lists_every_gap_of_every_session_without_raising():
    records = world()
    records["session"].append({**records["session"][0], "id": "s-2", "name": "bare", "date_time": None})
    records["session"][1].update(dataacquisition=[], behaviors=[], projects=[], tags=[])
    table = nwb_table(frames(records))
    assert table.index.tolist() == [SID, "s-2"] and table.index.name == "id"
    assert table.loc[SID, "missing_for_dandi"] == [] and table.loc[SID, "missing_recommended"] == []
    assert table.loc["s-2", "missing_for_dandi"] == [
        "NWBFile.session_start_time (session.date_time)",
        "Subject (dataacquisition.procedures)",
    ]
    assert "NWBFile.experimenter (project.users)" in table.loc["s-2", "missing_recommended"]
    assert table.loc[SID, "Subject.species"] == "Mus musculus" and table.loc[SID, "Devices"][0] == "OmniPlex"


def test_frames_read_in_parts_are_joined_once():
    records = world()
    first = frames({"session": records["session"], "project": records["project"]})
    second = frames({k: v for k, v in records.items() if k != "session"})
    joined = union([first, second, first])
    assert len(joined["project"]) == 1 and len(joined.links["session.projects"]) == 1
    assert nwb_metadata(joined, SID) == nwb_metadata(frames(records), SID)


def test_the_nwbfile_carries_the_metadata(tmp_path):
    pytest.importorskip("pynwb")
    from pynwb import NWBHDF5IO

    metadata = nwb_metadata(frames(world()), SID)
    path = write_nwb(tmp_path / "s.nwb", metadata)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.nwb"]
    with NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        assert f.identifier == SID and f.session_start_time.isoformat() == "2024-03-01T09:30:00+00:00"
        assert list(f.experimenter) == ["Lovelace, Ada", "Berg, Zoe"] and list(f.keywords[:])[0] == "pilot"
        assert (f.subject.species, f.subject.sex, f.subject.age) == ("Mus musculus", "F", "P90D")
        assert f.devices["OmniPlex"].model.manufacturer == "Plexon" and f.devices["Cam-2000"].model is None


def test_a_failed_write_leaves_the_previous_file_and_nothing_else(tmp_path, monkeypatch):
    pynwb = pytest.importorskip("pynwb")
    metadata = nwb_metadata(frames(world()), SID)
    target = write_nwb(tmp_path / "s.nwb", metadata)
    before = target.read_bytes()

    def broken(self, *args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(pynwb.NWBHDF5IO, "write", broken)
    with pytest.raises(RuntimeError, match="disk gone"):
        write_nwb(target, metadata)
    assert target.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["s.nwb"]
    with pytest.raises(ConfigurationError, match="does not exist"):
        write_nwb(tmp_path / "no" / "s.nwb", metadata)
    with pytest.raises(ConfigurationError, match="is a folder"):
        write_yaml(tmp_path, metadata)


def test_yaml_reads_back_as_the_metadata(tmp_path):
    yaml = pytest.importorskip("yaml")
    metadata = nwb_metadata(frames(world()), SID)
    assert yaml.safe_load(metadata_yaml(metadata)) == metadata
    assert yaml.safe_load(write_yaml(tmp_path / "m.yaml", metadata).read_text()) == metadata


def test_to_nwbfile_needs_a_session_id_with_a_source():
    with pytest.raises(NwbMetadataError, match="Pass the session's id"):
        to_nwbfile(frames(world()))


def test_without_the_extra_a_file_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynwb", None)  # import pynwb now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install brainstem_pandas\[nwb\]") as caught:
        to_nwbfile(nwb_metadata(frames(world()), SID))
    assert isinstance(caught.value, ImportError)


def test_the_package_and_the_mapping_do_not_import_pynwb():
    code = (
        "import sys, brainstem_pandas, brainstem_pandas.nwb, brainstem_pandas.cli;"
        "print(sorted(m for m in ('pynwb', 'hdmf', 'h5py', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert "pynwb" not in out.stdout and "hdmf" not in out.stdout, out.stdout


def test_a_source_that_is_neither_a_client_nor_frames_is_refused():
    with pytest.raises(ConfigurationError, match="from a Client, a SnapshotClient or LinkedFrames, not dict"):
        nwb_metadata({"session": []}, "3f2b8c1e-9d4a-4e7b-8c2d-1a2b3c4d5e6f")
    with pytest.raises(NwbMetadataError, match="'s-1' is not a BrainSTEM session id"):
        nwb_table({"session": []}, ["s-1"])
