"""What each lab owns: setups, assays, data storages, inventories and licenses, then equipment and stock.

Records owned by a group are written with an ``auth_groups`` link, and their ids
are kept as ``<model>@<group>`` for the projects, subjects and sessions of that
group. Every function draws from ``w.rng`` in a fixed order; that order fixes
the seeded data.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from brainstem_pandas.sandbox.api.models import MODELS
from brainstem_pandas.sandbox.seed.vocabulary import COORDS, DEVICES, EQUIPMENT_TYPES, START, STOCKS
from brainstem_pandas.sandbox.seed.world import Row, World, Writer

#: The group-owned models, in the order they are written.
OWNED = ("setup", "behavioralassay", "datastorage", "inventory", "license")

#: Groups whose setups, assays, storages and licenses are public.
PUBLIC_GROUPS = (1, 3)


class Owned:
    """Rows of the group-owned models, each with the group that owns it."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Row]] = {name: [] for name in OWNED}
        self.groups: defaultdict[str, list[int]] = defaultdict(list)

    def add(self, model: str, row: Row, group: int) -> Row:
        """Keep ``row`` of ``model``, owned by ``group``; return it."""
        self.rows[model].append(row)
        self.groups[model].append(group)
        return row


def attributes(w: World, out: Writer) -> None:
    """Setups, assays, storages, inventories and licenses, two or three per lab; equipment and stock."""
    owned = Owned()
    for g, gname in zip(w.ids["group"], w.ids["group_name"]):
        public = g in PUBLIC_GROUPS
        _setups(w, owned, g, gname, public)
        _storages(w, owned, g, gname, public)
        _inventory_and_license(w, owned, g, gname, public)
    _write_owned(w, out, owned)
    _equipment(w, out, owned.rows["setup"])
    _stock(w, out, owned.rows["inventory"])


def _setups(w: World, owned: Owned, g: int, gname: str, public: bool) -> None:
    """Two recording rigs, each with an assay run on it."""
    short = gname.split()[0]
    for k in range(2):
        setup = {
            "id": w.uid(),
            "name": f"{short} rig {k + 1}",
            "location": f"Room {100 * g + k}",
            "description": f"Recording rig of the {gname}",
            "setup_type": w.pick("setuptype"),
            "specifications": [{"name": "Arena", "value": "80 cm", "description": ""}],
            "is_public": public,
            "image": "",
        }
        owned.add("setup", setup, g)
        assay = {
            "id": w.uid(),
            "name": f"{short} assay {k + 1}",
            "description": "",
            "setup_type": setup["setup_type"],
            "behavioral_paradigm": w.pick("behavioralparadigm"),
            "is_public": public,
        }
        owned.add("behavioralassay", assay, g)


def _storages(w: World, owned: Owned, g: int, gname: str, public: bool) -> None:
    """A primary server and a tape archive."""
    short = gname.split()[0]
    server = {
        "id": w.uid(),
        "name": f"{short} server",
        "location": f"/data/{short.lower()}",
        "description": "Primary raw data storage",
        "is_public": public,
        "data_organization": [{"elements": e} for e in ("Projects", "Subjects", "Sessions")],
        "data_protocols": [{"protocol": "SMB", "path": f"//{short.lower()}/data", "is_public": False}],
    }
    archive = {
        "id": w.uid(),
        "name": f"{short} archive",
        "location": "tape",
        "description": "Archive copy",
        "is_public": public,
        "data_organization": [{"elements": "Sessions"}],
        "data_protocols": [{"protocol": "Globus", "path": f"{short.lower()}#archive", "is_public": True}],
    }
    owned.add("datastorage", server, g)
    owned.add("datastorage", archive, g)


def _inventory_and_license(w: World, owned: Owned, g: int, gname: str, public: bool) -> None:
    """A private freezer and an active animal license."""
    short = gname.split()[0]
    inventory = {
        "id": w.uid(),
        "name": f"{short} freezer",
        "location": f"Room {100 * g + 9}",
        "description": "",
        "is_public": False,
    }
    owned.add("inventory", inventory, g)
    lic = {
        "id": w.uid(),
        "name": f"{short} animal license",
        "type": "Animal Research",
        "status": "active",
        "description": "",
        "country": "Denmark",
        "regulatory_authority": w.pick("regulatoryauthority"),
        "license_number": f"2024-15-0201-{g:05d}",
        "license_document": "",
        "valid_from": date(2024, 1, 1),
        "valid_until": date(2029, 1, 1),
        "is_public": public,
    }
    owned.add("license", lic, g)


def _write_owned(w: World, out: Writer, owned: Owned) -> None:
    """Write each owned model with its group links; keep its ids by model and by ``<model>@<group>``."""
    for name in OWNED:
        rows, groups = owned.rows[name], owned.groups[name]
        out.insert(MODELS[name], rows)
        out.link(MODELS[name], "auth_groups", [(r["id"], g) for r, g in zip(rows, groups)])
        for r, g in zip(rows, groups):
            w.ids[f"{name}@{g}"].append(r["id"])
        w.ids[name] = [r["id"] for r in rows]


def _device_for(w: World, kind: str) -> Any:
    """A hardware device that serves equipment of type ``kind`` (one draw, as any device was once drawn)."""
    drawn = w.ids["hardwaredevice"].index(w.pick("hardwaredevice"))
    fitting = [device for device, (*_, serves) in zip(w.ids["hardwaredevice"], DEVICES) if serves == kind]
    return fitting[drawn % len(fitting)]


def _equipment(w: World, out: Writer, setups: list[Row]) -> None:
    """A camera and an acquisition system on every setup (ids kept as ``equipment@<setup>``, in type order)."""
    equipment = [
        {
            "id": w.uid(),
            "name": f"{t} of {s['name']}",
            "type": t,
            "notes": "",
            "setup": s["id"],
            "date_time": START,
            "consumable": None,
            "hardwaredevice": _device_for(w, t),
            "details": {},
            "type_schema_version": "1.0.0",
            "coordinates_system": COORDS[0],
            "coordinates_details": {},
            "coordinates_schema_version": "1.0.0",
        }
        for s in setups
        for t in EQUIPMENT_TYPES
    ]
    out.insert(MODELS["equipment"], equipment)
    w.ids["equipment"] = [e["id"] for e in equipment]
    for e in equipment:
        w.ids[f"equipment@{e['setup']}"].append(e["id"])


def _stock(w: World, out: Writer, inventories: list[Row]) -> None:
    """Probes and virus in every freezer."""
    stocks = [
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
        for inv in inventories
        for t, cons in STOCKS
    ]
    out.insert(MODELS["consumablestock"], stocks)
