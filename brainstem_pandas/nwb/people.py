"""Who did a session: its experimenters, and the laboratory and institution they belong to.

Both come from the session's projects: ``project.users`` (email -> role) names the
people, ``user`` records give their names, and a laboratory is found through its
principal investigators (``laboratory.principal_investigators``, the project's owners)
or its group (``laboratory.group``, a group the project is shared with).

Examples
--------
>>> from brainstem_pandas.frames import FrameBuilder
>>> from brainstem_pandas.nwb.records import Lookup
>>> b = FrameBuilder("project")
>>> b.add_records("project", [{"id": "p", "users": {"ada@x.org": {"is_owner": True}, "bo@x.org": {}}}])
>>> b.add_records("user", [{"id": 7, "email": "ada@x.org", "first_name": "Ada", "last_name": "Lovelace"}])
>>> b.add_records("laboratory", [{"id": "l", "group": 3, "principal_investigators": [7], "institution": "UCL"}])
>>> b.add_records("group", [{"id": 3, "name": "Analytical Lab"}])
>>> look = Lookup(b.finish())
>>> experimenters(look, ["p"]), laboratory(look, ["p"])
(['Lovelace, Ada'], ('Analytical Lab', 'UCL'))
"""

from __future__ import annotations

from typing import Any

from brainstem_pandas.nwb.records import Lookup, json_object, text


def _rank(role: Any) -> int | None:
    """Owners first, then managers, then those who may change the project; readers are not experimenters."""
    if not isinstance(role, dict):
        return None
    for rank, key in enumerate(("is_owner", "is_manager", "can_change")):
        if role.get(key) is True:
            return rank
    return None


def _members(look: Lookup, project: Any) -> list[tuple[str, int]]:
    """(email, rank) of a project's users who are experimenters, best rank first (stable)."""
    users = json_object(look.row("project", project) or {}, "users")
    ranked = [(email, rank) for email, role in users.items() if (rank := _rank(role)) is not None]
    return sorted(ranked, key=lambda pair: pair[1])


def _user(look: Lookup, email: str) -> dict[str, Any] | None:
    found = look.referrers("user", "email", email)
    return look.row("user", found[0]) if found else None


def experimenters(look: Lookup, projects: list[Any]) -> list[str]:
    """NWB's "Last, First" names of the projects' owners, then managers, then contributors, by name within each.

    By name, not in the server's order: ``project.users`` is a JSON object, whose
    key order a snapshot or another tool need not keep. A user without a first or a
    last name (or not readable) is left out: DANDI accepts only the "Last, First" form.
    """
    best: dict[str, int] = {}
    for project in projects:
        for email, rank in _members(look, project):
            user = _user(look, email) or {}
            first, last = text(user.get("first_name")), text(user.get("last_name"))
            if first and last:
                name = f"{last}, {first}"
                best[name] = min(rank, best.get(name, rank))
    return sorted(best, key=lambda name: (best[name], name))


def _labs_of_owner(look: Lookup, email: str) -> list[Any]:
    user = look.referrers("user", "email", email)
    if not user or not look.has("laboratory"):
        return []
    labs = sorted(look.frames.tables["laboratory"].index, key=str)  # the same lab first, whatever the source
    return [lab for lab in labs if user[0] in look.linked("laboratory", "principal_investigators", lab)]


def _labs(look: Lookup, project: Any) -> list[Any]:
    """Laboratories of a project: those its owners lead, then those of the groups it is shared with."""
    row = look.row("project", project) or {}
    # Sorted: JSON objects need not keep their key order (a snapshot, another tool), the answer must not move.
    owners = sorted(email for email, rank in _members(look, project) if rank == 0)
    found = [lab for email in owners for lab in _labs_of_owner(look, email)]
    for name in sorted(json_object(row, "groups")):
        found += [
            lab
            for group in look.referrers("group", "name", name)
            for lab in look.referrers("laboratory", "group", group)
        ]
    return found


def laboratory(look: Lookup, projects: list[Any]) -> tuple[str, str]:
    """(lab, institution) of the first laboratory of the session's projects; the lab is named by its group."""
    for project in projects:
        for lab in _labs(look, project):
            row = look.row("laboratory", lab) or {}
            group = look.row("group", row.get("group")) or {}
            return text(group.get("name")), text(row.get("institution"))
    return "", ""
