"""Deterministic, realistic BrainSTEM metadata for the sandbox.

``generate(sessions=N, seed=S)`` fills an empty sandbox database with a small
neuroscience world: labs (groups, laboratories, users), taxonomies (species,
strains, brain regions, ...), shared resources, personal attributes, projects
(some public, some private to other labs), subjects with procedures and logs, and
``N`` sessions with behaviors, data acquisitions, manipulations, epochs and
ordered data storages.

Rows are written with ``executemany`` straight into the tables Django created,
because model instances cost too much at 100,000 sessions (the target is well
under a minute on two cores). Values are converted with each field's own
``get_db_prep_save`` the first time a field type is met, so the stored form is
exactly what the ORM writes.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction

from brainstem_pandas import catalog
from brainstem_pandas.sandbox.api import auth
from brainstem_pandas.sandbox.api.models import MODELS, Epoch, SessionDataStorage

DEMO_EMAIL = "demo@brainstem.sandbox"
DEMO_PASSWORD = "sandbox-demo-password"
OTHER_PASSWORD = "sandbox-user-password"
REVIEWER_EMAIL = "reviewer@brainstem.sandbox"

LABS = [
    ("Hippocampal Circuits Lab", "Aarhus University", "Aarhus", "Denmark", "Department of Biomedicine"),
    ("Visual Cortex Lab", "University College London", "London", "United Kingdom", "Institute of Ophthalmology"),
    ("Motor Systems Lab", "New York University", "New York", "United States", "Neuroscience Institute"),
    ("Sleep and Memory Lab", "University of Tokyo", "Tokyo", "Japan", "Graduate School of Medicine"),
    ("Sensory Coding Lab", "Champalimaud Foundation", "Lisbon", "Portugal", "Neuroscience Programme"),
]
FIRST = [
    "Anna",
    "Bo",
    "Carla",
    "David",
    "Elif",
    "Femi",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Lars",
    "Maya",
    "Nils",
    "Olga",
    "Priya",
    "Quentin",
    "Rosa",
    "Sami",
    "Tove",
]
LAST = [
    "Andersen",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nielsen",
    "Okafor",
    "Petersen",
]
SPECIES = [
    ("Mus musculus", "RRID:NCBITaxon_10090", ["C57BL/6J", "PV-Cre", "SST-Cre", "Thy1-GCaMP6s", "VGAT-ChR2"]),
    ("Rattus norvegicus", "RRID:NCBITaxon_10116", ["Long-Evans", "Sprague Dawley", "Wistar"]),
    ("Macaca mulatta", "RRID:NCBITaxon_9544", ["Rhesus (Indian origin)"]),
    ("Danio rerio", "RRID:NCBITaxon_7955", ["AB", "nacre"]),
    ("Callithrix jacchus", "RRID:NCBITaxon_9483", ["Common marmoset"]),
]
REGIONS = [
    ("Field CA1", "CA1"),
    ("Field CA3", "CA3"),
    ("Dentate gyrus", "DG"),
    ("Medial entorhinal cortex", "MEC"),
    ("Prelimbic area", "PL"),
    ("Primary visual area", "VISp"),
    ("Primary motor area", "MOp"),
    ("Primary somatosensory area, barrel field", "SSp-bfd"),
    ("Anterior cingulate area", "ACA"),
    ("Retrosplenial area", "RSP"),
    ("Thalamus", "TH"),
    ("Striatum", "STR"),
    ("Basolateral amygdalar nucleus", "BLA"),
    ("Superior colliculus", "SC"),
    ("Ventral tegmental area", "VTA"),
    ("Lateral hypothalamic area", "LHA"),
]
PARADIGMS = [
    ("Linear track", "Spatial navigation"),
    ("Open field", "Exploration"),
    ("T-maze alternation", "Spatial navigation"),
    ("Morris water maze", "Spatial navigation"),
    ("Head-fixed visual discrimination", "Sensory discrimination"),
    ("Go/No-go licking", "Sensory discrimination"),
    ("Sleep recording", "Sleep"),
    ("Fear conditioning", "Learning and memory"),
    ("Reaching task", "Motor control"),
]
SUPPLIERS = [
    ("Charles River Laboratories", "https://www.criver.com"),
    ("The Jackson Laboratory", "https://www.jax.org"),
    ("Envigo", "https://www.envigo.com"),
    ("NeuroNexus", "https://www.neuronexus.com"),
    ("Cambridge NeuroTech", "https://www.cambridgeneurotech.com"),
    ("Plexon", "https://plexon.com"),
    ("Thorlabs", "https://www.thorlabs.com"),
    ("Addgene", "https://www.addgene.org"),
]
JOURNALS = [
    ("Neuron", "https://www.cell.com/neuron"),
    ("Nature Neuroscience", "https://www.nature.com/neuro"),
    ("eLife", "https://elifesciences.org"),
    ("Journal of Neuroscience", "https://www.jneurosci.org"),
    ("Cell Reports", "https://www.cell.com/cell-reports"),
]
TOPICS = [
    "place cells",
    "theta sequences",
    "sharp-wave ripples",
    "orientation tuning",
    "motor cortex dynamics",
    "sleep spindles",
    "grid cells",
    "reward prediction",
    "whisker touch",
    "working memory",
]
TAGS = ["pilot", "baseline", "drug", "control", "training", "probe-test", "sleep", "habituation", "excluded"]
REPOS = [
    ("DANDI", "https://dandiarchive.org/dandiset/{n:06d}"),
    ("Zenodo", "https://zenodo.org/records/{n}"),
    ("Figshare", "https://figshare.com/articles/dataset/{n}"),
    ("GitHub", "https://github.com/lab/{n}"),
    ("CRCNS", "https://crcns.org/data-sets/hc/hc-{n}"),
]
ACQ_TYPES = [
    "ExtracellularEphys",
    "BehavioralTracking",
    "TwoPhotonMicroscopy",
    "FiberPhotometry",
    "VideoTracking",
    "Electroencephalography",
    "Miniscope",
]
MANIP_TYPES = [
    "OptogeneticStimulation",
    "PharmacologicalInjection",
    "ElectricalStimulation",
    "VisualStimulation",
    "AuditoryStimulation",
]
PROC_TYPES = [
    "SiliconProbeImplant",
    "Craniotomy",
    "Injection",
    "Headpost",
    "OpticFiberImplant",
    "TetrodeWireElectrodeImplant",
    "CranialWindow",
    "Anesthesia",
]
COORDS = ["Stereotaxic_BregmaBrainSurface", "Stereotaxic_BregmaAbsolute", "CCF_XYZ_Absolute"]
EPOCH_NAMES = ["baseline", "task", "post-task sleep", "stimulation", "recovery"]
START = datetime(2019, 1, 1, tzinfo=timezone.utc)


@dataclass
class World:
    """Everything generated so far: ids by kind, for later rows to refer to."""

    rng: random.Random
    ids: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    users: list = field(default_factory=list)  # (id, email)
    demo_token: str = ""

    def uid(self) -> uuid.UUID:
        """A UUID drawn from the seeded generator (uuid4 would not repeat)."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def pick(self, kind: str) -> Any:
        return self.rng.choice(self.ids[kind])


class Writer:
    """Bulk row writer for one model's table and its many-to-many tables."""

    def __init__(self) -> None:
        self._prep: dict[Any, Any] = {}

    def _converter(self, f: Any):
        key = type(f)
        if key not in self._prep:
            # The connection proxy costs a thread-local lookup per call: bind the
            # real connection once. The commonest types skip Django entirely.
            conn = connections[DEFAULT_DB_ALIAS]
            if isinstance(f, models.UUIDField):
                self._prep[key] = lambda value: value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex
            elif isinstance(
                f, (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.FloatField)
            ):
                self._prep[key] = lambda value: value
            else:
                self._prep[key] = lambda value, f=f: f.get_db_prep_save(value, conn)
        return self._prep[key]

    def insert(self, model: Any, rows: list[dict[str, Any]]) -> None:
        """Insert ``rows`` (field name -> value; relations as ids) into ``model``'s table."""
        if not rows:
            return
        fields = [f for f in model._meta.concrete_fields if f.name in rows[0] or f.attname in rows[0]]
        names = [f.name if f.name in rows[0] else f.attname for f in fields]
        # Relations are given as ids: convert them as the target's primary key does.
        convert = [self._converter(f.target_field if f.is_relation else f) for f in fields]
        defaults = {
            f.name: f.get_default()
            for f in model._meta.concrete_fields
            if f.name not in names and f.attname not in names and not f.primary_key
        }
        columns = [f.column for f in fields] + [model._meta.get_field(n).column for n in defaults]
        default_values = tuple(
            None if v is None else self._converter(model._meta.get_field(n))(v) for n, v in defaults.items()
        )
        sql = (
            f'INSERT INTO "{model._meta.db_table}" ({", ".join(chr(34) + c + chr(34) for c in columns)}) '
            f"VALUES ({', '.join('%s' for _ in columns)})"
        )
        data = [
            tuple(c(row[n]) if row[n] is not None else None for c, n in zip(convert, names)) + default_values
            for row in rows
        ]
        with connection.cursor() as cur:
            cur.executemany(sql, data)

    def link(self, model: Any, field_name: str, pairs: Iterable[tuple[Any, Any]]) -> None:
        """Insert many-to-many pairs (source id, target id) into ``model.field_name``'s table."""
        through = model._meta.get_field(field_name).remote_field.through
        src, dst = (f for f in through._meta.concrete_fields if f.is_relation)
        rows = [{src.attname: a, dst.attname: b} for a, b in pairs]
        if rows:
            self.insert(through, rows)


def _text(rng: random.Random, subject: str) -> str:
    return f"<p>{subject.capitalize()}: recordings of {rng.choice(TOPICS)} in {rng.choice(REGIONS)[0]}.</p>"


def _people(w: World, out: Writer) -> None:
    rng = w.rng
    rows = []
    specs = [
        (DEMO_EMAIL, "Dana", "Demo", DEMO_PASSWORD, False),
        (REVIEWER_EMAIL, "Rene", "Reviewer", OTHER_PASSWORD, True),
    ]
    for i in range(14):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        specs.append((f"{first.lower()}.{last.lower()}{i}@lab.sandbox", first, last, OTHER_PASSWORD, False))
    hashes = {}
    for n, (email, first, last, password, reviewer) in enumerate(specs, start=1):
        if password not in hashes:
            hashes[password] = auth.make_password(password)
        rows.append(
            {
                "id": n,
                "email": email,
                "first_name": first,
                "last_name": last,
                "password": hashes[password],
                "is_reviewer": reviewer,
                "website": f"https://lab.sandbox/~{last.lower()}",
                "google_scholar": "",
                "orcid_id": f"https://orcid.org/0000-000{n % 10}-{1000 + n}-{2000 + n}",
                "atlas_preference": rng.choice(["AIA", "PW1997", "S2004"]),
                "groups_own_json": None,
            }
        )
        w.users.append((n, email))
    out.insert(MODELS["user"], rows)
    demo = MODELS["user"].objects.get(email=DEMO_EMAIL)
    w.demo_token, _ = auth.issue_pat(demo, name="sandbox demo")
    # Five labs; the demo user owns the first, is a member of the second.
    groups, labs = [], []
    others = w.users[2:]
    for g, (name, inst, city, country, dept) in enumerate(LABS, start=1):
        members = {
            email: {"is_manager": False, "is_owner": False} for _, email in others[(g - 1) * 3 : (g - 1) * 3 + 3]
        }
        pi_id, pi_email = others[(g - 1) * 3]
        members[pi_email] = {"is_manager": True, "is_owner": True}
        if g == 1:
            members[DEMO_EMAIL] = {"is_manager": True, "is_owner": True}
        if g == 2:
            members[DEMO_EMAIL] = {"is_manager": False, "is_owner": False}
        groups.append({"id": g, "name": name, "users": members})
        labs.append(
            {
                "id": w.uid(),
                "group": g,
                "institution": inst,
                "city": city,
                "country": country,
                "department": dept,
                "website": f"https://{name.split()[0].lower()}.lab.sandbox",
                "description": f"{name} studies {rng.choice(TOPICS)}.",
            }
        )
        w.ids["lab_pi"].append((labs[-1]["id"], pi_id))
    out.insert(MODELS["group"], groups)
    out.insert(MODELS["laboratory"], labs)
    out.link(MODELS["laboratory"], "principal_investigators", w.ids["lab_pi"])
    w.ids["group"] = [g["id"] for g in groups]
    w.ids["group_name"] = [g["name"] for g in groups]


def _taxonomies(w: World, out: Writer) -> None:
    rng = w.rng
    species, strains = [], []
    for name, rrid, strain_names in SPECIES:
        sid = w.uid()
        species.append(
            {
                "id": sid,
                "name": name,
                "description": f"{name}, a model organism.",
                "rrid": rrid,
                "rrid_url": f"https://scicrunch.org/resolver/{rrid}",
                "external_identifiers": [],
                "comments": "",
            }
        )
        for sname in strain_names:
            strains.append(
                {
                    "id": w.uid(),
                    "name": sname,
                    "species": sid,
                    "description": f"{sname} ({name})",
                    "rrid": "",
                    "rrid_url": "",
                    "external_identifiers": [],
                    "comments": "",
                }
            )
            w.ids[f"strain:{name}"].append(strains[-1]["id"])
    out.insert(MODELS["species"], species)
    out.insert(MODELS["strain"], strains)
    w.ids["species"] = [s["id"] for s in species]
    w.ids["strain"] = [s["id"] for s in strains]
    regions = [
        {"id": w.uid(), "name": n, "acronym": a, "atlas": "AIA", "description": f"{n} ({a})."} for n, a in REGIONS
    ]
    out.insert(MODELS["brainregion"], regions)
    w.ids["brainregion"] = [r["id"] for r in regions]
    setup_types = [
        {"id": w.uid(), "name": n, "category": c, "description": d, "comments": ""}
        for n, c, d in [
            ("Freely moving arena", "A", "Open arena for freely moving animals"),
            ("Head-fixed rig", "H", "Head-fixed setup with running wheel"),
            ("Virtual reality rig", "V", "Head-fixed with virtual reality display"),
            ("Home cage", "I", "Home cage recording"),
        ]
    ]
    out.insert(MODELS["setuptype"], setup_types)
    w.ids["setuptype"] = [s["id"] for s in setup_types]
    cats = {}
    for _, cat in PARADIGMS:
        if cat not in cats:
            cats[cat] = {"id": w.uid(), "name": cat, "description": f"{cat} behaviors", "parent": None, "comments": ""}
    out.insert(MODELS["behavioralcategory"], list(cats.values()))
    paradigms = [
        {
            "id": w.uid(),
            "name": n,
            "category": cats[c]["id"],
            "description": f"{n} paradigm",
            "original_publication": "",
            "reference_url": "",
            "rrid": "",
            "external_identifiers": None,
            "comments": "",
        }
        for n, c in PARADIGMS
    ]
    out.insert(MODELS["behavioralparadigm"], paradigms)
    out.link(MODELS["behavioralparadigm"], "species", [(p["id"], rng.choice(w.ids["species"][:2])) for p in paradigms])
    w.ids["behavioralparadigm"] = [p["id"] for p in paradigms]
    authorities = [
        {
            "id": w.uid(),
            "name": n,
            "abbreviation": a,
            "country": c,
            "authority_type": t,
            "website": u,
            "description": "",
            "is_active": True,
        }
        for n, a, c, t, u in [
            (
                "Danish Animal Experiments Inspectorate",
                "DAEI",
                "Denmark",
                "national",
                "https://dyreforsoegstilsynet.dk",
            ),
            ("Home Office", "HO", "United Kingdom", "national", "https://www.gov.uk/home-office"),
            ("Institutional Animal Care and Use Committee", "IACUC", "United States", "institutional", ""),
        ]
    ]
    out.insert(MODELS["regulatoryauthority"], authorities)
    w.ids["regulatoryauthority"] = [a["id"] for a in authorities]


def _resources(w: World, out: Writer) -> None:
    rng = w.rng
    suppliers = [
        {"id": w.uid(), "name": n, "website": u, "description": f"{n}, supplier.", "comments": ""} for n, u in SUPPLIERS
    ]
    out.insert(MODELS["supplier"], suppliers)
    w.ids["supplier"] = [s["id"] for s in suppliers]
    consumables = [
        {
            "id": w.uid(),
            "name": n,
            "supplier": rng.choice(w.ids["supplier"]),
            "type": t,
            "description": n,
            "details": {},
            "rrid": "",
            "rrid_url": "",
            "external_identifiers": [],
            "comments": "",
        }
        for n, t in [
            ("H64 silicon probe", "SiliconProbe"),
            ("Optic fiber 200 um", "OpticFiber"),
            ("AAV5-CaMKII-ChR2", "VirusSolution"),
            ("Saline 0.9%", "PhysiologicalSolution"),
            ("Ketamine", "PharmacologicalAgent"),
            ("DiI", "TracerDye"),
        ]
    ]
    out.insert(MODELS["consumable"], consumables)
    w.ids["consumable"] = [c["id"] for c in consumables]
    devices = [
        {
            "id": w.uid(),
            "name": n,
            "supplier": rng.choice(w.ids["supplier"]),
            "description": n,
            "rrid": "",
            "rrid_url": "",
            "external_identifiers": [],
            "comments": "",
        }
        for n in ["Intan RHD2000", "Neuropixels 1.0", "Basler acA1300", "Bruker Ultima 2P", "Doric FP console"]
    ]
    out.insert(MODELS["hardwaredevice"], devices)
    w.ids["hardwaredevice"] = [d["id"] for d in devices]
    journals = [{"id": w.uid(), "name": n, "website": u, "description": "", "comments": ""} for n, u in JOURNALS]
    out.insert(MODELS["journal"], journals)
    pubs = []
    for i in range(12):
        pid = w.uid()  # drawn first: the order of draws fixes the seeded data
        title = f"Dynamics of {rng.choice(TOPICS)} during {rng.choice(PARADIGMS)[0].lower()}"
        pubs.append(
            {
                "id": pid,
                "title": title,
                "authors": ", ".join(f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(3)),
                "journal": rng.choice(journals)["id"],
                "abstract": f"We recorded {rng.choice(TOPICS)}.",
                "doi": f"10.5555/sandbox.{2020 + i % 6}.{1000 + i}",
                "publication_url": "",
                "pdf_url": "",
                "publication_date": date(2020 + i % 6, 1 + i % 12, 1 + i),
            }
        )
    out.insert(MODELS["publication"], pubs)
    w.ids["publication"] = [p["id"] for p in pubs]


def _attributes(w: World, out: Writer) -> None:
    """Setups, assays, storages, inventories and licenses, two or three per lab."""
    rng = w.rng
    setups, assays, storages, inventories, licenses = [], [], [], [], []
    owners = []
    for g, gname in zip(w.ids["group"], w.ids["group_name"]):
        short = gname.split()[0]
        public = g in (1, 3)
        for k in range(2):
            setups.append(
                {
                    "id": w.uid(),
                    "name": f"{short} rig {k + 1}",
                    "location": f"Room {100 * g + k}",
                    "description": f"Recording rig of the {gname}",
                    "setup_type": rng.choice(w.ids["setuptype"]),
                    "specifications": [{"name": "Arena", "value": "80 cm", "description": ""}],
                    "is_public": public,
                    "image": "",
                }
            )
            owners.append(("setup", setups[-1]["id"], g))
            assays.append(
                {
                    "id": w.uid(),
                    "name": f"{short} assay {k + 1}",
                    "description": "",
                    "setup_type": setups[-1]["setup_type"],
                    "behavioral_paradigm": rng.choice(w.ids["behavioralparadigm"]),
                    "is_public": public,
                }
            )
            owners.append(("behavioralassay", assays[-1]["id"], g))
        storages.append(
            {
                "id": w.uid(),
                "name": f"{short} server",
                "location": f"/data/{short.lower()}",
                "description": "Primary raw data storage",
                "is_public": public,
                "data_organization": [{"elements": e} for e in ("Projects", "Subjects", "Sessions")],
                "data_protocols": [{"protocol": "SMB", "path": f"//{short.lower()}/data", "is_public": False}],
            }
        )
        storages.append(
            {
                "id": w.uid(),
                "name": f"{short} archive",
                "location": "tape",
                "description": "Archive copy",
                "is_public": public,
                "data_organization": [{"elements": "Sessions"}],
                "data_protocols": [{"protocol": "Globus", "path": f"{short.lower()}#archive", "is_public": True}],
            }
        )
        owners += [("datastorage", storages[-2]["id"], g), ("datastorage", storages[-1]["id"], g)]
        inventories.append(
            {
                "id": w.uid(),
                "name": f"{short} freezer",
                "location": f"Room {100 * g + 9}",
                "description": "",
                "is_public": False,
            }
        )
        owners.append(("inventory", inventories[-1]["id"], g))
        licenses.append(
            {
                "id": w.uid(),
                "name": f"{short} animal license",
                "type": "Animal Research",
                "status": "active",
                "description": "",
                "country": "Denmark",
                "regulatory_authority": rng.choice(w.ids["regulatoryauthority"]),
                "license_number": f"2024-15-0201-{g:05d}",
                "license_document": "",
                "valid_from": date(2024, 1, 1),
                "valid_until": date(2029, 1, 1),
                "is_public": public,
            }
        )
        owners.append(("license", licenses[-1]["id"], g))
    for name, rows in (
        ("setup", setups),
        ("behavioralassay", assays),
        ("datastorage", storages),
        ("inventory", inventories),
        ("license", licenses),
    ):
        out.insert(MODELS[name], rows)
        out.link(MODELS[name], "auth_groups", [(rid, g) for kind, rid, g in owners if kind == name])
        for kind, rid, g in owners:
            if kind == name:
                w.ids[f"{name}@{g}"].append(rid)
        w.ids[name] = [r["id"] for r in rows]
    equipment, stocks = [], []
    for s in setups:
        for t in ("Camera", "DataAcquisitionSystem"):
            equipment.append(
                {
                    "id": w.uid(),
                    "name": f"{t} of {s['name']}",
                    "type": t,
                    "notes": "",
                    "setup": s["id"],
                    "date_time": START,
                    "consumable": None,
                    "hardwaredevice": rng.choice(w.ids["hardwaredevice"]),
                    "details": {},
                    "type_schema_version": "1.0.0",
                    "coordinates_system": COORDS[0],
                    "coordinates_details": {},
                    "coordinates_schema_version": "1.0.0",
                }
            )
    for inv in inventories:
        for t, cons in (("SiliconProbe", 0), ("VirusSolution", 2)):
            stocks.append(
                {
                    "id": w.uid(),
                    "type": t,
                    "status": "in stock",
                    "notes": "",
                    "inventory": inv["id"],
                    "acquisition_date": date(2025, 3, 1),
                    "expiration_date": date(2027, 3, 1),
                    "storage_location": "Shelf A",
                    "storage_conditions": "-80 C",
                    "intended_use": "implants",
                    "cost": "1200 EUR",
                    "consumable": w.ids["consumable"][cons],
                    "details": {},
                    "type_schema_version": "1.0.0",
                }
            )
    out.insert(MODELS["equipment"], equipment)
    out.insert(MODELS["consumablestock"], stocks)
    w.ids["equipment"] = [e["id"] for e in equipment]


def _projects(w: World, out: Writer, n_projects: int) -> list[dict[str, Any]]:
    """Projects: the demo user owns some, contributes to some, only reads some, misses the rest."""
    rng = w.rng
    rows = []
    roles = [  # demo user's role by project index modulo 5
        {"can_change": True, "is_manager": True, "is_owner": True},
        {"can_change": True, "is_manager": False, "is_owner": False},
        {"can_change": False, "is_manager": False, "is_owner": False},
        None,
        None,
    ]
    for i in range(n_projects):
        g = w.ids["group"][i % len(w.ids["group"])]
        gname = w.ids["group_name"][i % len(w.ids["group_name"])]
        owner_email = w.users[2 + ((g - 1) * 3)][1]
        users = {owner_email: {"can_change": True, "is_manager": True, "is_owner": True}}
        role = roles[i % 5]
        if role is not None:
            users[DEMO_EMAIL] = role
        groups = {gname: {"can_change": True, "is_manager": False, "is_owner": False}} if i % 3 == 0 else {}
        topic = TOPICS[i % len(TOPICS)]
        rows.append(
            {
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
        )
    out.insert(MODELS["project"], rows)
    out.link(
        MODELS["project"],
        "publications",
        [(p["id"], rng.choice(w.ids["publication"])) for p in rows if rng.random() < 0.5],
    )
    w.ids["project"] = [p["id"] for p in rows]
    return rows


def _subjects(w: World, out: Writer, projects: list[dict[str, Any]], n_subjects: int) -> list[dict[str, Any]]:
    rng = w.rng
    subjects, proj_links, lic_links, procedures, subject_logs, proc_logs = [], [], [], [], [], []
    for i in range(n_subjects):
        project = projects[i % len(projects)]
        species_name, _, _ = SPECIES[0 if rng.random() < 0.7 else rng.randrange(1, len(SPECIES))]
        strain = rng.choice(w.ids[f"strain:{species_name}"])
        born = date(2018, 6, 1) + timedelta(days=rng.randrange(0, 7 * 365))
        sid = w.uid()
        prefix = "".join(p[0] for p in species_name.split()).upper()
        subjects.append(
            {
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
        )
        proj_links.append((sid, project["id"]))
        if rng.random() < 0.05:
            other = rng.choice(projects)["id"]
            if other != project["id"]:
                proj_links.append((sid, other))
        lic = w.ids[f"license@{project['_group']}"]
        if lic:
            lic_links.append((sid, lic[0]))
        for k in range(1 + (rng.random() < 0.5)):
            pid = w.uid()
            procedures.append(
                {
                    "id": pid,
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
            )
            w.ids[f"proc@{sid}"].append(pid)
            if k == 0 and rng.random() < 0.2:
                proc_logs.append(
                    {
                        "id": w.uid(),
                        "type": "Impedances",
                        "description": "",
                        "procedure": pid,
                        "entries": [{"date_time": "2024-05-01T10:00:00Z", "notes": "", "details": {"impedance": 1.2}}],
                    }
                )
        log_id = w.uid()  # drawn first: the order of draws fixes the seeded data
        weighings = [
            {"date_time": f"2025-0{m}-01T09:00:00Z", "notes": "", "details": {"weight": round(rng.uniform(20, 30), 1)}}
            for m in range(1, 4)
        ]
        subject_logs.append(
            {
                "id": log_id,
                "type": "Weighing",
                "description": "Weekly weight",
                "subject": sid,
                "user": 1,
                "entries": weighings,
            }
        )
    out.insert(MODELS["subject"], subjects)
    out.link(MODELS["subject"], "projects", proj_links)
    out.link(MODELS["subject"], "licenses", lic_links)
    out.insert(MODELS["procedure"], procedures)
    out.insert(MODELS["subjectlog"], subject_logs)
    out.insert(MODELS["procedurelog"], proc_logs)
    return subjects


def _sessions(w: World, out: Writer, subjects: list[dict[str, Any]], n_sessions: int) -> None:
    rng = w.rng
    sessions, proj_links, storage_links = [], [], []
    behaviors, behavior_subjects, acqs, acq_procs, manips, manip_procs, epochs = [], [], [], [], [], [], []
    for i in range(n_sessions):
        subject = subjects[i % len(subjects)]
        g = subject["_group"]
        when = START + timedelta(minutes=rng.randrange(0, 7 * 365 * 24 * 60))
        sid = w.uid()
        links = []
        if rng.random() < 0.2:
            repo, pattern = rng.choice(REPOS)
            links.append({"repository": repo, "url": pattern.format(n=rng.randrange(1, 999))})
        sessions.append(
            {
                "id": sid,
                "name": f"{subject['name']}_{when:%Y%m%d_%H%M}_{i}",
                "description": _text(rng, "session") if rng.random() < 0.5 else "",
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
        )
        proj_links.append((sid, subject["_project"]))
        stores = w.ids[f"datastorage@{g}"]
        for pos, ds in enumerate(rng.sample(stores, rng.randrange(1, len(stores) + 1))):
            storage_links.append({"session_id": sid, "datastorage_id": ds, "position": pos})
        if rng.random() < 0.7:
            bid = w.uid()
            behaviors.append(
                {
                    "id": bid,
                    "session": sid,
                    "setup": rng.choice(w.ids[f"setup@{g}"]),
                    "behavioralassay": rng.choice(w.ids[f"behavioralassay@{g}"]),
                    "notes": rng.choice(["", "good performance", "animal distracted"]),
                    "order": 0,
                }
            )
            behavior_subjects.append((bid, subject["id"]))
        procs = w.ids[f"proc@{subject['id']}"]
        for k in range(1 + (rng.random() < 0.4)):
            aid = w.uid()
            acqs.append(
                {
                    "id": aid,
                    "type": rng.choice(ACQ_TYPES),
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
            acq_procs.append((aid, procs[0]))
        if rng.random() < 0.2:
            mid = w.uid()
            manips.append(
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
            manip_procs.append((mid, procs[-1]))
        t = 0.0
        for e in range(rng.randrange(0, 4)):
            length = round(rng.uniform(300, 3600), 1)
            epochs.append({"id": w.uid(), "session_id": sid, "name": EPOCH_NAMES[e], "start": t, "end": t + length})
            t += length
    out.insert(MODELS["session"], sessions)
    out.link(MODELS["session"], "projects", proj_links)
    out.insert(SessionDataStorage, storage_links)
    out.insert(MODELS["behavior"], behaviors)
    out.link(MODELS["behavior"], "subjects", behavior_subjects)
    out.insert(MODELS["dataacquisition"], acqs)
    out.link(MODELS["dataacquisition"], "procedures", acq_procs)
    out.insert(MODELS["manipulation"], manips)
    out.link(MODELS["manipulation"], "procedures", manip_procs)
    out.insert(Epoch, epochs)


def _groupings(w: World, out: Writer, projects: list[dict[str, Any]], subjects: list[dict[str, Any]]) -> None:
    """Cohorts, collections, breedings, invitations, requests and pending approvals."""
    rng = w.rng
    cohorts, collections, breedings, cohort_links = [], [], [], []
    by_project = defaultdict(list)
    for s in subjects:
        by_project[s["_project"]].append(s)
    for p in projects:
        members = by_project[p["id"]]
        if not members:
            continue
        cid = w.uid()
        cohorts.append(
            {
                "id": cid,
                "name": f"Cohort {len(cohorts) + 1}",
                "project": p["id"],
                "description": "Animals trained together",
                "tags": [],
            }
        )
        cohort_links += [(cid, s["id"]) for s in members[:8]]
        collections.append(
            {
                "id": w.uid(),
                "name": f"Figure set {len(collections) + 1}",
                "project": p["id"],
                "description": "Sessions used in a figure",
                "tags": ["paper"],
            }
        )
        mice = [s for s in members if s["name"].startswith("MM")]
        if len(mice) >= 2:
            breedings.append(
                {
                    "id": w.uid(),
                    "name": f"Breeding {len(breedings) + 1}",
                    "project": p["id"],
                    "mother": mice[0]["id"],
                    "father": mice[1]["id"],
                    "description": "",
                    "tags": [],
                    "birth_date": date(2024, 2, 1),
                    "start_date": date(2023, 12, 1),
                    "end_date": None,
                    "weaning_date": date(2024, 2, 22),
                    "litter_size": rng.randrange(4, 10),
                    "expected_genotype": "Cre+/-",
                }
            )
    out.insert(MODELS["cohort"], cohorts)
    out.link(MODELS["cohort"], "subjects", cohort_links)
    out.insert(MODELS["collection"], collections)
    out.insert(MODELS["breeding"], breedings)
    hidden = [p for p in projects if DEMO_EMAIL not in p["users"]]
    if hidden:
        out.insert(
            MODELS["project_membership_invitation"],
            [
                {
                    "id": w.uid(),
                    "invitee": 1,
                    "project": hidden[0]["id"],
                    "can_change": True,
                    "manage_project": False,
                    "own_project": False,
                }
            ],
        )
        out.insert(
            MODELS["project_group_membership_invitation"],
            [
                {
                    "id": w.uid(),
                    "invitee": 1,
                    "project": hidden[-1]["id"],
                    "can_change": False,
                    "manage_project": False,
                    "own_project": False,
                }
            ],
        )
    out.insert(
        MODELS["group_membership_invitation"],
        [{"id": w.uid(), "user_account_invitation": 1, "authgroup": 3, "new_manager": False, "new_owner": False}],
    )
    out.insert(MODELS["group_membership_request"], [{"id": w.uid(), "user_account_request": 4, "authgroup": 1}])
    out.insert(
        MODELS["speciesapproval"],
        [
            {
                "id": w.uid(),
                "name": "Mesocricetus auratus",
                "description": "Golden hamster",
                "rrid": "",
                "external_identifiers": [],
                "instance_id": None,
                "action": "add",
                "reviewer": None,
                "status": "pending",
                "created_by": 1,
            }
        ],
    )
    _change_requests(w)


def _change_requests(w: World) -> None:
    """One pending change request by the demo user for every model with approvals."""
    for spec in catalog.all_models().values():
        if not spec.approval_model:
            continue
        approval = catalog.model(spec.approval_model)
        original = MODELS[spec.name].objects.order_by("pk").first()
        if original is None:
            continue
        copy = {
            f.name: getattr(original, f.name)
            for f in approval.fields
            if not f.read_only and not f.many and f.name != "id"
        }
        if "description" in copy:
            copy["description"] = f"{copy['description']} (suggested edit)".strip()
        record = MODELS[approval.name].objects.create(
            id=w.uid(), **copy, instance_id=original, action="change", status="pending", created_by_id=1
        )
        for f in approval.fields:
            if f.many:
                getattr(record, f.name).set(getattr(original, f.name).all())


def generate(*, sessions: int = 1000, seed: int = 0) -> dict[str, str]:
    """Fill the (empty, migrated) sandbox database.

    Parameters
    ----------
    sessions : int
        Number of sessions; subjects, projects and modules scale with it.
    seed : int
        Seed of the generator: the same seed gives the same database.

    Returns
    -------
    dict
        The demo account: ``email``, ``password`` and a personal access ``token``.

    Examples
    --------
    >>> generate(sessions=100, seed=1)["email"]  # doctest: +SKIP
    'demo@brainstem.sandbox'
    """
    if sessions < 0:
        raise ValueError("sessions must be >= 0")
    w = World(rng=random.Random(seed))
    out = Writer()
    n_projects = max(10, min(60, 10 + sessions // 5000))
    n_subjects = max(n_projects, sessions // 10)
    with transaction.atomic():
        _people(w, out)
        _taxonomies(w, out)
        _resources(w, out)
        _attributes(w, out)
        projects = _projects(w, out, n_projects)
        subjects = _subjects(w, out, projects, n_subjects)
        _sessions(w, out, subjects, sessions)
        _groupings(w, out, projects, subjects)
    from brainstem_pandas.sandbox.brainmaps import seed as brainmaps_seed

    brainmaps_seed.generate(random.Random(seed), demo_email=DEMO_EMAIL, demo_password=DEMO_PASSWORD, n_brains=300)
    return {
        "email": DEMO_EMAIL,
        "password": DEMO_PASSWORD,
        "token": w.demo_token,
        "reviewer_email": REVIEWER_EMAIL,
        "other_password": OTHER_PASSWORD,
    }
