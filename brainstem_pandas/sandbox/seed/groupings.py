"""Cohorts, collections, breedings, invitations, membership requests and pending approvals.

Every function draws from ``w.rng`` in a fixed order; that order fixes the seeded data.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from brainstem_pandas import catalog
from brainstem_pandas.sandbox.api.models import MODELS
from brainstem_pandas.sandbox.seed.vocabulary import DEMO_EMAIL
from brainstem_pandas.sandbox.seed.world import Row, World, Writer, tables

#: The demo user (user 1), who receives the invitations and suggests the edits.
DEMO_ID = 1


def groupings(w: World, out: Writer, projects: list[Row], subjects: list[Row]) -> None:
    """Cohorts, collections, breedings, invitations, requests and pending approvals."""
    _project_groupings(w, out, projects, subjects)
    _invitations(w, out, projects)
    _species_approval(w, out)
    _change_requests(w)


def _breeding(w: World, number: int, project: Row, mother: Row, father: Row) -> Row:
    return {
        "id": w.uid(),
        "name": f"Breeding {number}",
        "project": project["id"],
        "mother": mother["id"],
        "father": father["id"],
        "description": "",
        "tags": [],
        "birth_date": date(2024, 2, 1),
        "start_date": date(2023, 12, 1),
        "end_date": None,
        "weaning_date": date(2024, 2, 22),
        "litter_size": w.rng.randrange(4, 10),
        "expected_genotype": "Cre+/-",
    }


def _groups_of(w: World, rows: dict[str, list[Any]], project: Row, members: list[Row]) -> None:
    """A cohort of up to eight of the project's subjects, a collection, and a breeding of its first two mice."""
    cid = w.uid()
    cohort = {"name": f"Cohort {len(rows['cohort']) + 1}", "project": project["id"]}
    rows["cohort"].append({"id": cid, **cohort, "description": "Animals trained together", "tags": []})
    rows["cohort.subjects"] += [(cid, s["id"]) for s in members[:8]]
    collection = {"name": f"Figure set {len(rows['collection']) + 1}", "project": project["id"]}
    rows["collection"].append(
        {"id": w.uid(), **collection, "description": "Sessions used in a figure", "tags": ["paper"]}
    )
    mice = [s for s in members if s["name"].startswith("MM")]
    if len(mice) >= 2:
        rows["breeding"].append(_breeding(w, len(rows["breeding"]) + 1, project, mice[0], mice[1]))


def _project_groupings(w: World, out: Writer, projects: list[Row], subjects: list[Row]) -> None:
    by_project = defaultdict(list)
    for s in subjects:
        by_project[s["_project"]].append(s)
    rows = tables()
    for p in projects:
        if by_project[p["id"]]:
            _groups_of(w, rows, p, by_project[p["id"]])
    out.insert(MODELS["cohort"], rows["cohort"])
    out.link(MODELS["cohort"], "subjects", rows["cohort.subjects"])
    out.insert(MODELS["collection"], rows["collection"])
    out.insert(MODELS["breeding"], rows["breeding"])


def _invitation(w: World, project: Row, can_change: bool) -> list[Row]:
    return [
        {
            "id": w.uid(),
            "invitee": DEMO_ID,
            "project": project["id"],
            "can_change": can_change,
            "manage_project": False,
            "own_project": False,
        }
    ]


def _invitations(w: World, out: Writer, projects: list[Row]) -> None:
    """Invitations to projects the demo user cannot see; a group invitation and a membership request."""
    hidden = [p for p in projects if DEMO_EMAIL not in p["users"]]
    if hidden:
        out.insert(MODELS["project_membership_invitation"], _invitation(w, hidden[0], True))
        out.insert(MODELS["project_group_membership_invitation"], _invitation(w, hidden[-1], False))
    out.insert(
        MODELS["group_membership_invitation"],
        [{"id": w.uid(), "user_account_invitation": DEMO_ID, "authgroup": 3, "new_manager": False, "new_owner": False}],
    )
    out.insert(MODELS["group_membership_request"], [{"id": w.uid(), "user_account_request": 4, "authgroup": 1}])


def _species_approval(w: World, out: Writer) -> None:
    """A pending request to add a species."""
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
                "created_by": DEMO_ID,
            }
        ],
    )


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
            id=w.uid(), **copy, instance_id=original, action="change", status="pending", created_by_id=DEMO_ID
        )
        for f in approval.fields:
            if f.many:
                getattr(record, f.name).set(getattr(original, f.name).all())
