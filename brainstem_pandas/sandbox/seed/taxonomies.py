"""Shared vocabularies: species and strains, brain regions, setup types, behaviors, regulatory authorities.

Every function draws from ``w.rng`` in a fixed order; that order fixes the seeded data.
"""

from __future__ import annotations

from typing import Any

from brainstem_pandas.sandbox.api.models import MODELS
from brainstem_pandas.sandbox.seed.vocabulary import AUTHORITIES, PARADIGMS, REGIONS, SETUP_TYPES, SPECIES
from brainstem_pandas.sandbox.seed.world import Row, World, Writer


def taxonomies(w: World, out: Writer) -> None:
    """Write every taxonomy, in the order later rows draw from them."""
    _species(w, out)
    _regions_and_setup_types(w, out)
    _behaviors(w, out)
    _authorities(w, out)


def _species_row(sid: Any, name: str, rrid: str) -> Row:
    return {
        "id": sid,
        "name": name,
        "description": f"{name}, a model organism.",
        "rrid": rrid,
        "rrid_url": f"https://scicrunch.org/resolver/{rrid}",
        "external_identifiers": [],
        "comments": "",
    }


def _strain_row(w: World, sid: Any, species: str, name: str) -> Row:
    return {
        "id": w.uid(),
        "name": name,
        "species": sid,
        "description": f"{name} ({species})",
        "rrid": "",
        "rrid_url": "",
        "external_identifiers": [],
        "comments": "",
    }


def _species(w: World, out: Writer) -> None:
    """Species, each followed by its strains (ids ``strain:<species>`` for the subjects)."""
    species: list[Row] = []
    strains: list[Row] = []
    for name, rrid, strain_names in SPECIES:
        sid = w.uid()
        species.append(_species_row(sid, name, rrid))
        for sname in strain_names:
            strains.append(_strain_row(w, sid, name, sname))
            w.ids[f"strain:{name}"].append(strains[-1]["id"])
    out.insert(MODELS["species"], species)
    out.insert(MODELS["strain"], strains)
    w.ids["species"] = [s["id"] for s in species]
    w.ids["strain"] = [s["id"] for s in strains]


def _regions_and_setup_types(w: World, out: Writer) -> None:
    regions = [
        {"id": w.uid(), "name": n, "acronym": a, "atlas": "AIA", "description": f"{n} ({a})."} for n, a in REGIONS
    ]
    out.insert(MODELS["brainregion"], regions)
    w.ids["brainregion"] = [r["id"] for r in regions]
    setup_types = [
        {"id": w.uid(), "name": n, "category": c, "description": d, "comments": ""} for n, c, d in SETUP_TYPES
    ]
    out.insert(MODELS["setuptype"], setup_types)
    w.ids["setuptype"] = [s["id"] for s in setup_types]


def _behaviors(w: World, out: Writer) -> None:
    """Behavioral categories (one per kind of paradigm), then the paradigms and their species."""
    cats: dict[str, Row] = {}
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
    # Each paradigm is studied in a mouse or a rat.
    species = [(p["id"], w.rng.choice(w.ids["species"][:2])) for p in paradigms]
    out.link(MODELS["behavioralparadigm"], "species", species)
    w.ids["behavioralparadigm"] = [p["id"] for p in paradigms]


def _authorities(w: World, out: Writer) -> None:
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
        for n, a, c, t, u in AUTHORITIES
    ]
    out.insert(MODELS["regulatoryauthority"], authorities)
    w.ids["regulatoryauthority"] = [a["id"] for a in authorities]
