"""Shared resources: suppliers, consumables, hardware devices, journals and publications.

Every function draws from ``w.rng`` in a fixed order; that order fixes the seeded data.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from brainstem_pandas.sandbox.api.models import MODELS
from brainstem_pandas.sandbox.seed.vocabulary import (
    CONSUMABLES,
    DEVICES,
    FIRST,
    JOURNALS,
    LAST,
    PARADIGMS,
    SUPPLIERS,
    TOPICS,
)
from brainstem_pandas.sandbox.seed.world import Row, World, Writer

PUBLICATIONS = 12


def resources(w: World, out: Writer) -> None:
    """Write the suppliers and what they sell, then the journals and publications."""
    _suppliers(w, out)
    _publications(w, out)


def _suppliers(w: World, out: Writer) -> None:
    suppliers = [
        {"id": w.uid(), "name": n, "website": u, "description": f"{n}, supplier.", "comments": ""} for n, u in SUPPLIERS
    ]
    out.insert(MODELS["supplier"], suppliers)
    w.ids["supplier"] = [s["id"] for s in suppliers]
    consumables = [
        {
            "id": w.uid(),
            "name": n,
            "supplier": w.pick("supplier"),
            "type": t,
            "description": n,
            "details": {},
            "rrid": "",
            "rrid_url": "",
            "external_identifiers": [],
            "comments": "",
        }
        for n, t in CONSUMABLES
    ]
    out.insert(MODELS["consumable"], consumables)
    w.ids["consumable"] = [c["id"] for c in consumables]
    makers = {s["name"]: s["id"] for s in suppliers}
    devices = [_device(w, name, description, makers[maker]) for name, description, maker, _ in DEVICES]
    out.insert(MODELS["hardwaredevice"], devices)
    w.ids["hardwaredevice"] = [d["id"] for d in devices]


def _device(w: World, name: str, description: str, maker: Any) -> Row:
    """A hardware device supplied by its maker."""
    device_id = w.uid()
    w.pick("supplier")  # drawn and set aside: the draws that follow (and every count) stay as they were
    return {
        "id": device_id,
        "name": name,
        "supplier": maker,
        "description": description,
        "rrid": "",
        "rrid_url": "",
        "external_identifiers": [],
        "comments": "",
    }


def _publication(w: World, i: int, journals: list[Row]) -> Row:
    """Publication number ``i``: its id is drawn first, the order of draws fixes the seeded data."""
    rng = w.rng
    pid = w.uid()
    title = f"Dynamics of {rng.choice(TOPICS)} during {rng.choice(PARADIGMS)[0].lower()}"
    return {
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


def _publications(w: World, out: Writer) -> None:
    journals = [{"id": w.uid(), "name": n, "website": u, "description": "", "comments": ""} for n, u in JOURNALS]
    out.insert(MODELS["journal"], journals)
    pubs = [_publication(w, i, journals) for i in range(PUBLICATIONS)]
    out.insert(MODELS["publication"], pubs)
    w.ids["publication"] = [p["id"] for p in pubs]
