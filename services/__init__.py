"""The running service around the domain: commands, the event store, identity, HTTP, the
Kafka stream, and the runtime that composes them. One subpackage per kind:

- ``commands/``  the application (:class:`~services.commands.application.DecisionLog`) and the
  decision, lineage, ranking and scheduling logic its commands use;
- ``store/``     how commands are run and saved: the unit of work, the command path (plain or
  batched), group commit, the command cache and codec, command-outcome keys;
- ``identity/``  bearer tokens and idempotency keys, in the service's own SQLite file;
- ``streaming/`` the outbox relay from the event log to Kafka, and Kafka I/O;
- ``export/``    the warehouse export: the event log as Parquet or NDJSON tables, incrementally;
- ``http/``      the FastAPI app: one router per resource, problem details, middleware;
- ``runtime/``   settings, the composition root (bootstrap), the running service, the CLI.

Layers (checked by ``lint-imports``; see ``[tool.importlinter]`` in pyproject.toml):
runtime.cli > http > runtime.service > runtime.bootstrap > commands | streaming | export >
store > identity > runtime.settings. Only ``http`` imports the web framework.
"""
