"""The read side: views of the decision log, one module per question, in one SQLite file
or in PostgreSQL tables (shared by every replica).

Every view is built from :class:`contract.changes.Change` objects only, so the store
catch-up and a Kafka consumer feed the same handlers.

- ``views``         :class:`~projections.views.Views`: the file, its schema version, the
  store position it reflects, pooled snapshot reads, a rebuild's first pass;
- ``pg_views``      :class:`~projections.pg_views.PgViews`: the same views in PostgreSQL;
- ``pg``            a PostgreSQL connection the projections can use, the tables, migrations;
- ``dialect``       the connection the projections write and read through, on either database;
- ``roadmap``       what is planned, release by release, and what waits in the backlog;
- ``audit``         who changed what, when, from what to what, and why;
- ``summaries``     how each change reads to a person (one describer per change type);
- ``diff``          what changed on a roadmap between two instants, and why;
- ``slips``         which release dates slipped and why, which features kept moving;
- ``release_notes`` what a shipped release brought its customers;
- ``decisions``     a product's decisions and where each stood at an instant;
- ``search``        which entities mention these words, now or in a past change's reason
  (``pg_search``: its full-text index in PostgreSQL);
- ``intervals``     entity states with validity intervals: as-of reads, idempotent writes;
- ``jsontext``      the JSON text the views store;
- ``feeding/``      what feeds the views: the store catch-up, the Kafka feed, the rebuild.

Imports :mod:`contract` and :mod:`domain` (and libraries), never :mod:`services`
(checked by ``lint-imports``; see ``[tool.importlinter]`` in pyproject.toml).
"""
