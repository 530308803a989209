"""Accounts and labs: the demo user, a reviewer, fourteen lab members, five groups with their laboratories.

Every function draws from ``w.rng`` in a fixed order; that order fixes the seeded data.
"""

from __future__ import annotations

from brainstem_pandas.sandbox.api import auth
from brainstem_pandas.sandbox.api.models import MODELS
from brainstem_pandas.sandbox.seed.vocabulary import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    FIRST,
    LABS,
    LAST,
    OTHER_PASSWORD,
    REVIEWER_EMAIL,
    TOPICS,
)
from brainstem_pandas.sandbox.seed.world import Row, World, Writer

# (email, first name, last name, password, is reviewer)
UserSpec = tuple[str, str, str, str, bool]

OWNER = {"is_manager": True, "is_owner": True}
MEMBER = {"is_manager": False, "is_owner": False}


def people(w: World, out: Writer) -> None:
    """Write the users (and the demo user's token), the groups and their laboratories."""
    _users(w, out)
    _labs(w, out)


def _user_specs() -> list[UserSpec]:
    """The demo user, the reviewer, then fourteen lab members with made-up names."""
    specs = [
        (DEMO_EMAIL, "Dana", "Demo", DEMO_PASSWORD, False),
        (REVIEWER_EMAIL, "Rene", "Reviewer", OTHER_PASSWORD, True),
    ]
    for i in range(14):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        specs.append((f"{first.lower()}.{last.lower()}{i}@lab.sandbox", first, last, OTHER_PASSWORD, False))
    return specs


def _users(w: World, out: Writer) -> None:
    """Users numbered from 1 (the demo user), with hashed passwords; the demo user's token."""
    rows = []
    hashes: dict[str, str] = {}  # hashing is slow: once per distinct password
    for n, (email, first, last, password, reviewer) in enumerate(_user_specs(), start=1):
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
                "atlas_preference": w.rng.choice(["AIA", "PW1997", "S2004"]),
                "groups_own_json": None,
            }
        )
        w.users.append((n, email))
    out.insert(MODELS["user"], rows)
    demo = MODELS["user"].objects.get(email=DEMO_EMAIL)
    w.demo_token, _ = auth.issue_pat(demo, name="sandbox demo")


def _lab_members(w: World, g: int) -> tuple[dict[str, dict[str, bool]], int]:
    """Group ``g``'s members by email and its principal investigator's user id.

    Three lab members per group, the first of them its owner; the demo user owns
    the first group and is a plain member of the second.
    """
    others = w.users[2:]
    members = {email: dict(MEMBER) for _, email in others[(g - 1) * 3 : (g - 1) * 3 + 3]}
    pi_id, pi_email = others[(g - 1) * 3]
    members[pi_email] = dict(OWNER)
    if g == 1:
        members[DEMO_EMAIL] = dict(OWNER)
    if g == 2:
        members[DEMO_EMAIL] = dict(MEMBER)
    return members, pi_id


def _laboratory(w: World, g: int, name: str, inst: str, city: str, country: str, dept: str) -> Row:
    """The laboratory of group ``g`` (draws its id, then a topic)."""
    return {
        "id": w.uid(),
        "group": g,
        "institution": inst,
        "city": city,
        "country": country,
        "department": dept,
        "website": f"https://{name.split()[0].lower()}.lab.sandbox",
        "description": f"{name} studies {w.rng.choice(TOPICS)}.",
    }


def _labs(w: World, out: Writer) -> None:
    """Five groups, each with a laboratory whose principal investigator owns the group."""
    groups: list[Row] = []
    labs: list[Row] = []
    for g, (name, inst, city, country, dept) in enumerate(LABS, start=1):
        members, pi_id = _lab_members(w, g)
        groups.append({"id": g, "name": name, "users": members})
        labs.append(_laboratory(w, g, name, inst, city, country, dept))
        w.ids["lab_pi"].append((labs[-1]["id"], pi_id))
    out.insert(MODELS["group"], groups)
    out.insert(MODELS["laboratory"], labs)
    out.link(MODELS["laboratory"], "principal_investigators", w.ids["lab_pi"])
    w.ids["group"] = [g["id"] for g in groups]
    w.ids["group_name"] = [g["name"] for g in groups]
