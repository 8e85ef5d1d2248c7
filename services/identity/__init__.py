"""Who is calling and what they already asked: bearer tokens (stored as digests) and
idempotency keys, in the service's own SQLite file (``service_db``, ``tokens``,
``idempotency``) or, shared by every replica, in PostgreSQL (``pg_stores``: the same
interface)."""
