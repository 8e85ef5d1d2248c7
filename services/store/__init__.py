"""The event store and how commands reach it.

- ``unit_of_work``   what one command loaded and created, saved together, with version checks;
- ``command_path``   the one interface a command runs through: ``PlainPath`` (the library's
  repository and ``save``) or ``FastPath`` (command batches + command cache), chosen from settings
  in :mod:`services.runtime.bootstrap`;
- ``command_batches`` commands from many threads run by one of them, committed in one transaction;
- ``combining``      the leader/follower batching both use, with no worker thread;
- ``group_commit``   the SQLite recorder that commits concurrent saves together;
- ``pg_group_commit`` the same on PostgreSQL (eventsourcing's recorder, one table lock per
  writing transaction so positions commit in order, NOTIFY for the other replicas);
- ``transactions``   what command batches and command outcomes need of either recorder;
- ``postgres``       connection pools and the schema versions of our tables (``pdl_schema``);
- ``leadership``     an ``flock`` lease: one process of a data folder does the work done once;
- ``command_cache``  aggregates kept current between commands, so a command never replays history;
- ``command_keys``   a keyed command's outcome recorded with its events (crash-safe idempotency);
- ``fast_codec``, ``transcodings`` how events are encoded; ``outcome``, ``errors`` what
  commands return and raise; ``metrics`` the batch sizes and retries ``/metrics`` reports.
"""
