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

One module per part of the world, called in this order (the order of the draws
from the one seeded generator fixes the data):

- :mod:`.people`: users, groups, laboratories;
- :mod:`.taxonomies`: species, strains, regions, setup types, behaviors, authorities;
- :mod:`.resources`: suppliers, consumables, devices, journals, publications;
- :mod:`.attributes`: what each lab owns (setups, assays, storages, inventories, licenses);
- :mod:`.subjects`: projects, subjects, procedures and logs;
- :mod:`.sessions`: sessions and their modules;
- :mod:`.groupings`: cohorts, collections, breedings, invitations, approvals.

:mod:`.vocabulary` holds the words they draw from, :mod:`.world` the state and the row writer.
"""

from __future__ import annotations

import random

from django.db import transaction

from brainstem_pandas.sandbox.seed.attributes import attributes
from brainstem_pandas.sandbox.seed.groupings import groupings
from brainstem_pandas.sandbox.seed.people import people
from brainstem_pandas.sandbox.seed.resources import resources
from brainstem_pandas.sandbox.seed.sessions import sessions as sessions_of
from brainstem_pandas.sandbox.seed.subjects import projects as projects_of
from brainstem_pandas.sandbox.seed.subjects import subjects as subjects_of
from brainstem_pandas.sandbox.seed.taxonomies import taxonomies
from brainstem_pandas.sandbox.seed.vocabulary import DEMO_EMAIL, DEMO_PASSWORD, OTHER_PASSWORD, REVIEWER_EMAIL
from brainstem_pandas.sandbox.seed.world import World, Writer

__all__ = ["DEMO_EMAIL", "DEMO_PASSWORD", "OTHER_PASSWORD", "REVIEWER_EMAIL", "generate", "scale"]

#: Brains in the brainmaps service's seeded data, whatever the number of sessions.
BRAINS = 300


def scale(sessions: int) -> tuple[int, int]:
    """The numbers of projects and subjects for ``sessions`` sessions.

    Examples
    --------
    >>> scale(1000), scale(100_000)
    ((10, 100), (30, 10000))
    """
    n_projects = max(10, min(60, 10 + sessions // 5000))
    return n_projects, max(n_projects, sessions // 10)


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
    It needs the migrated database of a server process (``python -m
    brainstem_pandas.sandbox.server build`` calls it); the account it returns is
    what :class:`~brainstem_pandas.sandbox.Sandbox` signs in with:

    >>> sandbox.email
    'demo@brainstem.sandbox'
    """
    if sessions < 0:
        raise ValueError("sessions must be >= 0")
    w = World(rng=random.Random(seed))
    out = Writer()
    n_projects, n_subjects = scale(sessions)
    with transaction.atomic():
        people(w, out)
        taxonomies(w, out)
        resources(w, out)
        attributes(w, out)
        projects = projects_of(w, out, n_projects)
        subjects = subjects_of(w, out, projects, n_subjects)
        sessions_of(w, out, subjects, sessions)
        groupings(w, out, projects, subjects)
    from brainstem_pandas.sandbox.brainmaps import seed as brainmaps_seed

    brainmaps_seed.generate(random.Random(seed), demo_email=DEMO_EMAIL, demo_password=DEMO_PASSWORD, n_brains=BRAINS)
    return {
        "email": DEMO_EMAIL,
        "password": DEMO_PASSWORD,
        "token": w.demo_token,
        "reviewer_email": REVIEWER_EMAIL,
        "other_password": OTHER_PASSWORD,
    }
