"""Tokens and idempotency keys in PostgreSQL, shared by every replica of the service.

Same interface and semantics as the SQLite :class:`~services.identity.tokens.TokenStore` and
:class:`~services.identity.idempotency.IdempotencyStore`; here every read and write goes to
the one database all replicas share, so what one replica writes holds at once on the others.

The stores take an open pool of autocommit connections (``psycopg_pool.ConnectionPool``) and
never close it: it is shared, and its owner closes it. They create no tables: the composition
root runs ``services.store.postgres.migrate_pool(pool, Store.COMPONENT, Store.MIGRATIONS)``
first (this layer may not import the store layer). ``blocking`` tells the HTTP layer that
each call is a network round trip, never to be made on the event loop.
"""

import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

import psycopg
from psycopg_pool import ConnectionPool

from services.identity.idempotency import (
    IN_FLIGHT_LEASE,
    RETENTION,
    Claim,
    StoredResponse,
    WouldWait,
)
from services.identity.tokens import (
    Identity,
    LastAdminToken,
    Role,
    TokenNameTaken,
    digest,
    new_token,
)

#: The database's clock in epoch seconds: replicas on several hosts share its one clock.
NOW_S = "extract(epoch FROM clock_timestamp())"


class PgTokenStore:
    """Tokens in PostgreSQL (see :class:`~services.identity.tokens.TokenStore`)."""

    COMPONENT: ClassVar[str] = "tokens"
    MIGRATIONS: ClassVar[list[list[str]]] = [[
        """CREATE TABLE IF NOT EXISTS tokens (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            token_sha256 TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        )""",
    ]]
    #: Each call is a round trip to the database: run it off the event loop.
    blocking: ClassVar[bool] = True

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def close(self) -> None:
        """Nothing to release: the pool is shared, and closed by its owner."""

    def create(self, name: str, role: Role, token: str | None = None) -> tuple[str, Identity]:
        """Create a token named ``name`` (``token``: its value, else a fresh one); returns
        the token itself (it is not stored)."""
        token = token or new_token()
        identity = Identity(name=name, role=role, created_at=datetime.now(tz=UTC).isoformat())
        try:
            with self._pool.connection() as conn:
                conn.execute(
                    "INSERT INTO tokens (name, role, token_sha256, created_at)"
                    " VALUES (%s, %s, %s, %s)",
                    (name, role.value, digest(token), identity.created_at))
        except psycopg.errors.UniqueViolation:
            raise TokenNameTaken(f"A token named '{name}' already exists.") from None
        return token, identity

    def authenticate(self, token: str) -> Identity | None:
        """The identity behind ``token``, or ``None`` when it is unknown or revoked."""
        wanted = digest(token)
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT name, role, token_sha256, created_at FROM tokens"
                " WHERE token_sha256 = %s", (wanted,)).fetchone()
        if row is None or not hmac.compare_digest(row[2], wanted):
            return None
        return Identity(name=row[0], role=Role(row[1]), created_at=row[3])

    def list(self) -> list[Identity]:
        """Every token's name, role and creation time (never the token)."""
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT name, role, created_at FROM tokens ORDER BY name"
                                ).fetchall()
        return [Identity(name=n, role=Role(r), created_at=c) for n, r, c in rows]

    def revoke(self, name: str) -> bool:
        """Delete the token named ``name``; ``False`` when there was none. The last admin
        token is never deleted (:class:`LastAdminToken`): the admin rows are locked before
        they are counted, so two replicas revoking the last two admins take turns, and the
        second finds one admin left."""
        with self._pool.connection() as conn, conn.transaction():
            admins = [n for (n,) in conn.execute(
                "SELECT name FROM tokens WHERE role = %s ORDER BY name FOR UPDATE",
                (Role.admin.value,))]
            if name in admins and len(admins) <= 1:
                raise LastAdminToken(
                    f"'{name}' is the last admin token: create another admin token "
                    "before revoking this one, or nobody could manage tokens.")
            deleted = conn.execute("DELETE FROM tokens WHERE name = %s", (name,)).rowcount
        return deleted > 0

    def count(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT COUNT(*) FROM tokens").fetchone()
        assert row is not None
        return int(row[0])


class PgIdempotencyStore:
    """Keys and stored responses in PostgreSQL (see
    :class:`~services.identity.idempotency.IdempotencyStore`).

    Ages are measured by the database's clock, so replicas whose clocks differ agree on
    when a lease or the retention has run out. A claim is one transaction: a new key is
    inserted (``ON CONFLICT DO NOTHING``), else its row is read ``FOR UPDATE``, so of any
    number of replicas claiming one key at once exactly one gets :attr:`Claim.claimed`.
    """

    COMPONENT: ClassVar[str] = "idempotency"
    MIGRATIONS: ClassVar[list[list[str]]] = [[
        """CREATE TABLE IF NOT EXISTS idempotency_keys (
            owner TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            status INTEGER,
            headers TEXT,
            body BYTEA,
            PRIMARY KEY (owner, key)
        )""",
        "CREATE INDEX IF NOT EXISTS idempotency_keys_age ON idempotency_keys (created_at)",
    ]]
    #: Each call is a round trip to the database: run it off the event loop.
    blocking: ClassVar[bool] = True

    def __init__(self, pool: ConnectionPool, retention: float = RETENTION,
                 lease: float = IN_FLIGHT_LEASE, *, synced: bool = True) -> None:
        """``synced=False`` when commands record their outcomes under their keys with their
        events (:mod:`services.store.command_keys`): then a commit here need not wait for
        the database's disk (``synchronous_commit = off``, for these transactions only). A
        crash of the database may lose the last claims and responses; a retry then runs
        the request again, and its command answers from the outcome it recorded."""
        self.retention = retention
        self.lease = lease
        self.synced = synced
        self._pool = pool

    def close(self) -> None:
        """Nothing to release: the pool is shared, and closed by its owner."""

    def claim(self, owner: str, key: str, print_: str, *,
              wait: bool = True) -> tuple[Claim, StoredResponse | None]:
        """Claim ``key`` for the request with fingerprint ``print_``, atomically. Every call
        is a round trip to the database, so ``wait=False`` (a caller on the event loop)
        always raises :class:`WouldWait`, having touched nothing."""
        if not wait:
            raise WouldWait
        with self._pool.connection() as conn:
            self._purge(conn)
            with self._write(conn):
                while True:  # again only if the row went between the insert and the read
                    result = self._claim(conn, owner, key, print_)
                    if result is not None:
                        return result

    def _purge(self, conn: psycopg.Connection[Any]) -> None:
        """Forget the keys older than the retention, skipping rows another transaction
        holds (a claim treats an expired row as absent anyway)."""
        conn.execute(
            "DELETE FROM idempotency_keys WHERE (owner, key) IN (SELECT owner, key FROM"
            f" idempotency_keys WHERE created_at < {NOW_S} - %s FOR UPDATE SKIP LOCKED)",
            (self.retention,))

    def _claim(self, conn: psycopg.Connection[Any], owner: str, key: str,
               print_: str) -> tuple[Claim, StoredResponse | None] | None:
        inserted = conn.execute(
            "INSERT INTO idempotency_keys (owner, key, fingerprint, created_at)"
            f" VALUES (%s, %s, %s, {NOW_S}) ON CONFLICT (owner, key) DO NOTHING",
            (owner, key, print_)).rowcount
        if inserted:
            return Claim.claimed, None
        row = conn.execute(
            "SELECT fingerprint, status, headers, body,"
            f" created_at < {NOW_S} - %s OR (status IS NULL AND created_at < {NOW_S} - %s)"
            " FROM idempotency_keys WHERE owner = %s AND key = %s FOR UPDATE",
            (self.retention, self.lease, owner, key)).fetchone()
        if row is None:
            return None
        found, status, headers, body, stale = row
        if stale:  # expired, or abandoned by a request that never finished
            conn.execute(
                f"UPDATE idempotency_keys SET fingerprint = %s, created_at = {NOW_S},"
                " status = NULL, headers = NULL, body = NULL WHERE owner = %s AND key = %s",
                (print_, owner, key))
            return Claim.claimed, None
        if found != print_:
            return Claim.mismatch, None
        if status is None:
            return Claim.in_flight, None
        pairs = [(k, v) for k, v in json.loads(headers)]
        return Claim.replay, StoredResponse(status=status, headers=pairs, body=bytes(body))

    def complete(self, owner: str, key: str, response: StoredResponse, *,
                 wait: bool = True) -> None:
        """Store the response of the request that claimed ``key`` (``wait``: see
        :meth:`claim`)."""
        if not wait:
            raise WouldWait
        with self._pool.connection() as conn, self._write(conn):
            conn.execute(
                "UPDATE idempotency_keys SET status = %s, headers = %s, body = %s"
                " WHERE owner = %s AND key = %s",
                (response.status, json.dumps(response.headers), response.body, owner, key))

    def release(self, owner: str, key: str, *, wait: bool = True) -> None:
        """Forget a claim whose request failed, so it can be sent again (``wait``: see
        :meth:`claim`)."""
        if not wait:
            raise WouldWait
        with self._pool.connection() as conn, self._write(conn):
            conn.execute(
                "DELETE FROM idempotency_keys WHERE owner = %s AND key = %s"
                " AND status IS NULL", (owner, key))

    @contextmanager
    def _write(self, conn: psycopg.Connection[Any]) -> Iterator[None]:
        """A transaction on ``conn``; unsynced, one whose commit does not wait for the disk."""
        with conn.transaction():
            if not self.synced:
                conn.execute("SET LOCAL synchronous_commit = off")
            yield
