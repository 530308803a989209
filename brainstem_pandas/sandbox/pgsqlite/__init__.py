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
- text filters on JSON fields (``tags.icontains``) search the text PostgreSQL
  writes for ``jsonb`` (Django's SQLite stores non-ASCII letters as ``\\u`` escapes);
- ``ORDER BY`` puts NULLs last ascending and first descending;
- JSON fields (lists, objects) sort as ``jsonb`` sorts;
- on JSON fields, ``contains`` is ``jsonb @>`` and ``gt``/``gte``/``lt``/``lte``/
  ``range`` compare in ``jsonb`` order (:mod:`brainstem_pandas.sandbox.api.lookups`).

Checked request by request against the PostgreSQL mode in
tests/integration/test_query_semantics.py.
"""
