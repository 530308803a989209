"""SQLite as a Django database backend that answers as PostgreSQL does where it can.

The real BrainSTEM service runs on PostgreSQL; the sandbox's embedded default is
SQLite. This backend (``ENGINE = "brainstem_pandas.sandbox.pgsqlite"``) is Django's
SQLite backend with PostgreSQL's rules (:mod:`brainstem_pandas.semantics`, for the
``C.UTF-8`` database the sandbox's PostgreSQL mode creates):

- ``contains``, ``startswith``, ``endswith`` are case-sensitive (``PRAGMA
  case_sensitive_like``), as ``LIKE`` is on PostgreSQL;
- ``iexact``, ``icontains``, ``istartswith``, ``iendswith`` compare ``UPPER()`` of
  both sides, with an ``UPPER()`` that folds every Unicode letter one at a time as
  PostgreSQL's does (SQLite's own folds ASCII only);
- ``ORDER BY`` puts NULLs last ascending and first descending;
- lists (JSON arrays of text) sort as ``jsonb`` sorts;
- JSON ``contains`` is ``jsonb @>`` (:mod:`brainstem_pandas.sandbox.api.lookups`).

What remains different from PostgreSQL (README, "The sandbox on PostgreSQL"):
``gt``/``lt`` on JSON fields compare JSON text, not ``jsonb`` order;
``icontains`` on a JSON field searches JSON text in which SQLite keeps non-ASCII
letters as ``\\u`` escapes; JSON objects sort by their text; a bad value in a
filter that PostgreSQL rejects with an error may pass on SQLite.
"""
