"""Deterministic demo data of the brainmaps API.

:func:`generate` fills the empty brainmaps tables from a seeded
:class:`random.Random`: the same seed gives the same database, down to
timestamps and password salts, so tests can rely on exact content.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from django.db import transaction
from django.utils.text import slugify

from brainstem_pandas.sandbox.brainmaps.models import (
    Brain,
    Category,
    FileUpload,
    Species,
    User,
    readable_id_for,
)

# (name, description); the first two descriptions are the spec's examples.
CATEGORIES: list[tuple[str, str]] = [
    ("Cephalopods", "Octopuses, squids, and cuttlefish"),
    ("Birds", "Avian species"),
    ("Rodents", "Mice, rats, hamsters and other gnawing mammals"),
    ("Primates", "Monkeys, apes and humans"),
    ("Fish", "Ray-finned fishes used as vertebrate models"),
    ("Amphibians", "Frogs and salamanders"),
    ("Reptiles", "Lizards, snakes and turtles"),
    ("Carnivores", "Cats, ferrets and other carnivorans"),
    ("Insects", "Flies, bees and other hexapods"),
]


@dataclass(frozen=True)
class SpeciesInfo:
    """A seeded species and how often brains of it are uploaded."""

    scientific_name: str
    common_name: str
    category: str
    weight: float
    regions: tuple[str, ...]


MAMMAL_REGIONS = (
    "cortex",
    "hippocampus",
    "cerebellum",
    "thalamus",
    "striatum",
    "amygdala",
    "hypothalamus",
    "olfactory bulb",
    "brainstem",
    "entorhinal cortex",
)
PRIMATE_REGIONS = (
    "prefrontal cortex",
    "visual cortex",
    "motor cortex",
    "hippocampus",
    "thalamus",
    "basal ganglia",
    "cerebellum",
    "superior colliculus",
)
BIRD_REGIONS = ("HVC", "Area X", "hippocampal formation", "optic tectum", "cerebellum", "nidopallium", "mesopallium")
FISH_REGIONS = ("optic tectum", "telencephalon", "habenula", "cerebellum", "hindbrain", "hypothalamus")
CEPHALOPOD_REGIONS = ("vertical lobe", "optic lobe", "superior frontal lobe", "subesophageal mass", "peduncle lobe")
AMPHIBIAN_REGIONS = ("pallium", "optic tectum", "cerebellum", "hindbrain", "hypothalamus")
REPTILE_REGIONS = ("dorsal cortex", "dorsal ventricular ridge", "optic tectum", "cerebellum", "hippocampus")
INSECT_REGIONS = ("mushroom body", "central complex", "antennal lobe", "optic lobe", "lateral horn")

SPECIES: list[SpeciesInfo] = [
    SpeciesInfo("Mus musculus", "House mouse", "Rodents", 30, MAMMAL_REGIONS),
    SpeciesInfo("Rattus norvegicus", "Brown rat", "Rodents", 14, MAMMAL_REGIONS),
    SpeciesInfo("Peromyscus maniculatus", "Deer mouse", "Rodents", 2, MAMMAL_REGIONS),
    SpeciesInfo("Heterocephalus glaber", "Naked mole-rat", "Rodents", 1, MAMMAL_REGIONS),
    SpeciesInfo("Mesocricetus auratus", "Golden hamster", "Rodents", 1, MAMMAL_REGIONS),
    SpeciesInfo("Macaca mulatta", "Rhesus macaque", "Primates", 8, PRIMATE_REGIONS),
    SpeciesInfo("Macaca fascicularis", "Crab-eating macaque", "Primates", 2, PRIMATE_REGIONS),
    SpeciesInfo("Callithrix jacchus", "Common marmoset", "Primates", 4, PRIMATE_REGIONS),
    SpeciesInfo("Homo sapiens", "Human", "Primates", 5, PRIMATE_REGIONS),
    SpeciesInfo("Taeniopygia guttata", "Zebra finch", "Birds", 5, BIRD_REGIONS),
    SpeciesInfo("Gallus gallus", "Chicken", "Birds", 2, BIRD_REGIONS),
    SpeciesInfo("Columba livia", "Rock pigeon", "Birds", 2, BIRD_REGIONS),
    SpeciesInfo("Corvus corone", "Carrion crow", "Birds", 1, BIRD_REGIONS),
    SpeciesInfo("Danio rerio", "Zebrafish", "Fish", 9, FISH_REGIONS),
    SpeciesInfo("Oryzias latipes", "Japanese medaka", "Fish", 1, FISH_REGIONS),
    SpeciesInfo("Astyanax mexicanus", "Mexican tetra", "Fish", 1, FISH_REGIONS),
    SpeciesInfo("Octopus vulgaris", "Common octopus", "Cephalopods", 3, CEPHALOPOD_REGIONS),
    SpeciesInfo("Sepia officinalis", "Common cuttlefish", "Cephalopods", 2, CEPHALOPOD_REGIONS),
    SpeciesInfo("Doryteuthis pealeii", "Longfin inshore squid", "Cephalopods", 1, CEPHALOPOD_REGIONS),
    SpeciesInfo("Xenopus laevis", "African clawed frog", "Amphibians", 2, AMPHIBIAN_REGIONS),
    SpeciesInfo("Ambystoma mexicanum", "Axolotl", "Amphibians", 1, AMPHIBIAN_REGIONS),
    SpeciesInfo("Pogona vitticeps", "Central bearded dragon", "Reptiles", 1, REPTILE_REGIONS),
    SpeciesInfo("Anolis carolinensis", "Green anole", "Reptiles", 1, REPTILE_REGIONS),
    SpeciesInfo("Mustela putorius furo", "Ferret", "Carnivores", 2, MAMMAL_REGIONS),
    SpeciesInfo("Felis catus", "Domestic cat", "Carnivores", 1, MAMMAL_REGIONS),
    SpeciesInfo("Drosophila melanogaster", "Fruit fly", "Insects", 4, INSECT_REGIONS),
    SpeciesInfo("Apis mellifera", "Western honey bee", "Insects", 1, INSECT_REGIONS),
]

# (first name, last name, email) of the researchers besides the demo user.
RESEARCHERS: list[tuple[str, str, str]] = [
    ("Amara", "Okafor", "amara.okafor@neuro.example.org"),
    ("Lukas", "Brenner", "lukas.brenner@neuro.example.org"),
    ("Mei", "Tanaka", "mei.tanaka@brainlab.example.edu"),
    ("Sofia", "Marquez", "sofia.marquez@brainlab.example.edu"),
    ("Jonas", "Lindqvist", "jonas.lindqvist@cephalo.example.net"),
]

# (modality, file extension, content type, typical size in MB)
MODALITIES: list[tuple[str, str, str, int]] = [
    ("T2-weighted MRI", ".nii.gz", "application/gzip", 120),
    ("diffusion MRI", ".nii.gz", "application/gzip", 900),
    ("light-sheet microscopy", ".ome.zarr.zip", "application/zip", 4000),
    ("serial two-photon tomography", ".ome.tiff", "image/tiff", 2500),
    ("micro-CT", ".tif", "image/tiff", 600),
    ("Nissl-stained histology", ".svs", "application/octet-stream", 1500),
    ("confocal microscopy", ".czi", "application/octet-stream", 800),
]

PREPARATIONS = ("adult", "juvenile", "aged", "adult female", "adult male", "postnatal day 14")
PURPOSES = (
    "Reference volume for atlas registration.",
    "Acquired to map projections from the {region}.",
    "Part of a developmental series; see lab notes for age matching.",
    "Cleared with iDISCO+ before imaging.",
    "Perfusion-fixed; minor tissue damage near the {region}.",
    "Used to validate automated segmentation of the {region}.",
)

# Common names starting with a proper adjective keep their capital in prose.
PROPER_ADJECTIVES = frozenset({"African", "Japanese", "Mexican"})

UPLOAD_START = datetime(2019, 1, 1, tzinfo=timezone.utc)
UPLOAD_SPAN_DAYS = 6 * 365
DEMO_SHARE = 0.15  # fraction of brains the demo user uploaded
VERIFIED_SHARE = 0.6
FILE_SHARE = 0.9  # fraction of brains with an attached file


def _salt(rng: random.Random) -> str:
    """A password salt drawn from `rng`, so hashes are reproducible."""
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(22))


def _seed_categories() -> dict[str, Category]:
    """Create the categories; return them by name."""
    rows = [Category(id=i, name=name, description=text) for i, (name, text) in enumerate(CATEGORIES, start=1)]
    Category.objects.bulk_create(rows)
    return {row.name: row for row in rows}


def _species_description(info: SpeciesInfo) -> str:
    """A one-line description mentioning the common name, for ``search``."""
    return f"{info.common_name} ({info.scientific_name}); brain scans focus on the {', '.join(info.regions[:3])}."


def _seed_species(categories: dict[str, Category]) -> list[Species]:
    """Create the species, in :data:`SPECIES` order."""
    rows = [
        Species(
            id=i,
            scientific_name=info.scientific_name,
            common_name=info.common_name,
            slug=slugify(info.scientific_name),
            category=categories[info.category],
            description=_species_description(info),
        )
        for i, info in enumerate(SPECIES, start=1)
    ]
    Species.objects.bulk_create(rows)
    return rows


def _seed_users(rng: random.Random, demo_email: str, demo_password: str) -> list[User]:
    """Create the demo user (id 1) and the other researchers.

    Only the demo user can log in: the others get unusable passwords, as the
    sandbox publishes no credentials for them.
    """
    demo = User(
        id=1, email=demo_email, first_name="Demo", last_name="Researcher", date_joined=UPLOAD_START - timedelta(days=30)
    )
    demo.set_password(demo_password, salt=_salt(rng))
    others = [
        User(
            id=i,
            email=email,
            first_name=first,
            last_name=last,
            password="!" + _salt(rng),  # "!" prefix: Django's unusable password
            date_joined=UPLOAD_START - timedelta(days=rng.randint(31, 900)),
        )
        for i, (first, last, email) in enumerate(RESEARCHERS, start=2)
    ]
    users = [demo, *others]
    User.objects.bulk_create(users)
    return users


def _upload_dates(rng: random.Random, n: int) -> list[datetime]:
    """`n` increasing upload times, so brain ids follow upload order."""
    seconds = sorted(rng.randrange(UPLOAD_SPAN_DAYS * 86400) for _ in range(n))
    return [UPLOAD_START + timedelta(seconds=s) for s in seconds]


def _in_prose(common_name: str) -> str:
    """A common name as written mid-sentence, e.g. "house mouse", "Japanese medaka"."""
    if common_name.split()[0] in PROPER_ADJECTIVES:
        return common_name
    return common_name[0].lower() + common_name[1:]


def _brain_text(rng: random.Random, info: SpeciesInfo, number: int) -> tuple[str, str, int]:
    """Name, description and modality index of one brain."""
    region = rng.choice(info.regions)
    modality_index = rng.randrange(len(MODALITIES))
    modality = MODALITIES[modality_index][0]
    name = f"{info.common_name} {region} {modality} {number:03d}"
    purpose = rng.choice(PURPOSES).format(region=region)
    preparation = rng.choice(PREPARATIONS)
    article = "an" if preparation[0] in "aeiou" else "a"
    description = (
        f"{modality[0].upper()}{modality[1:]} of {article} {preparation} "
        f"{_in_prose(info.common_name)} brain ({info.scientific_name}), "
        f"covering the {region}. {purpose}"
    )
    return name, description, modality_index


def _file_for(rng: random.Random, brain_id: int, modality_index: int, user: User, when: datetime) -> FileUpload:
    """The file upload a seeded brain points at."""
    _, extension, content_type, size_mb = MODALITIES[modality_index]
    size = int(size_mb * 1_000_000 * rng.uniform(0.5, 1.5))
    return FileUpload(
        id=brain_id,
        user=user,
        filename=f"{readable_id_for(brain_id)}{extension}",
        content_type=content_type,
        size=size,
        checksum=f"{rng.getrandbits(256):064x}",
        status=FileUpload.STATUS_COMPLETE,
        uploaded_at=when - timedelta(minutes=rng.randint(1, 90)),
    )


def _seed_brains(rng: random.Random, species: list[Species], users: list[User], n_brains: int) -> None:
    """Create `n_brains` brains (ids 1..n) and the files most of them carry."""
    weights = [info.weight for info in SPECIES]
    brains: list[Brain] = []
    files: list[FileUpload] = []
    for brain_id, when in enumerate(_upload_dates(rng, n_brains), start=1):
        index = rng.choices(range(len(SPECIES)), weights=weights)[0]
        uploader = users[0] if rng.random() < DEMO_SHARE else rng.choice(users[1:])
        name, description, modality_index = _brain_text(rng, SPECIES[index], brain_id)
        upload = None
        if rng.random() < FILE_SHARE:
            upload = _file_for(rng, brain_id, modality_index, uploader, when)
            files.append(upload)
        verified = rng.random() < VERIFIED_SHARE
        edited = when + timedelta(days=rng.randint(0, 60)) if verified else when
        brains.append(
            Brain(
                id=brain_id,
                readable_id=readable_id_for(brain_id),
                name=name,
                description=description,
                species=species[index],
                uploader=uploader,
                verified=verified,
                upload_date=when,
                updated_at=edited,
                file_upload=upload,
            )
        )
    FileUpload.objects.bulk_create(files, batch_size=500)
    Brain.objects.bulk_create(brains, batch_size=500)


def generate(rng: random.Random, *, demo_email: str, demo_password: str, n_brains: int = 300) -> None:
    """Fill the (empty) brainmaps tables with demo data.

    Parameters
    ----------
    rng : random.Random
        Source of every random choice; the same state gives the same data.
    demo_email : str
        Email of the demo account (user id 1), which can log in.
    demo_password : str
        Its password.
    n_brains : int, default 300
        Number of brains; their readable ids run from ``BM-000001`` up.

    Notes
    -----
    Ids are assigned explicitly (categories, species and users in list
    order, brains 1..n, a brain's file has the brain's id) so that foreign
    keys need no round trip and tests may rely on them.
    """
    with transaction.atomic():
        categories = _seed_categories()
        species = _seed_species(categories)
        users = _seed_users(rng, demo_email, demo_password)
        _seed_brains(rng, species, users, n_brains)
