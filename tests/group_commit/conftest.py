"""A decision log with group commit on: on a SQLite file in the test's temporary folder, or
in a fresh PostgreSQL database."""

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import psycopg
import psycopg.sql
import pytest

from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings
from services.store.group_commit import GroupCommitRecorder
from services.store.pg_group_commit import PgGroupCommitRecorder
from tests.support.stores import STORES, store_settings

OpenLog = Callable[[], DecisionLog]


@pytest.fixture(params=STORES)
def open_log(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[OpenLog]:
    """Opens the decision log on the same store each time it is called; closes them all."""
    opened: list[DecisionLog] = []
    store = store_settings(request.param, request).model_copy(update={"group_commit": True})

    def open_() -> DecisionLog:
        settings = Settings(data_dir=tmp_path, store=store)
        opened.append(build_application(settings))
        return opened[-1]

    yield open_
    for app in opened:
        app.close()


def hold_writer(app: DecisionLog) -> Callable[[], None]:
    """Hold the store's write turn (so that commands and saves queue up behind a leader);
    returns the function that releases it. On SQLite: the pool's writer connection; on
    PostgreSQL: the events table's lock, which every writing transaction takes."""
    recorder = app.recorder
    if isinstance(recorder, PgGroupCommitRecorder):
        conn = psycopg.connect(**recorder.datastore.pool.kwargs)  # type: ignore[arg-type]
        conn.execute(psycopg.sql.SQL("LOCK TABLE {0} IN EXCLUSIVE MODE").format(
            recorder.table_sql))

        def unlock() -> None:
            conn.rollback()
            conn.close()

        return unlock
    assert isinstance(recorder, GroupCommitRecorder)
    pool = recorder.datastore.pool
    writer = pool.get_connection(is_writer=True)
    return lambda: pool.put_connection(writer)


def give_up_on(app: DecisionLog, originator: UUID) -> Callable[[], None]:
    """Make the database give up any transaction that inserts an event of ``originator``
    (as a full disk would); returns the function that stops it."""
    recorder = app.recorder
    if isinstance(recorder, PgGroupCommitRecorder):
        with psycopg.connect(**recorder.datastore.pool.kwargs,  # type: ignore[arg-type]
                             autocommit=True) as conn:
            conn.execute(
                "CREATE FUNCTION give_up() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.originator_id = '{originator}' THEN "
                "RAISE EXCEPTION 'the disk is full'; END IF; RETURN NEW; END $$")
            conn.execute(psycopg.sql.SQL(
                "CREATE TRIGGER give_up AFTER INSERT ON {0} FOR EACH ROW "
                "EXECUTE FUNCTION give_up()").format(recorder.table_sql))

        def stop() -> None:
            with psycopg.connect(**recorder.datastore.pool.kwargs,  # type: ignore[arg-type]
                                 autocommit=True) as conn:
                conn.execute(psycopg.sql.SQL("DROP TRIGGER give_up ON {0}").format(
                    recorder.table_sql))

        return stop
    database = sqlite3.connect(recorder.datastore.pool.db_name)  # type: ignore[attr-defined]
    database.execute(
        "CREATE TRIGGER give_up AFTER INSERT ON stored_events "
        f"WHEN NEW.originator_id = '{originator.hex}' "
        "BEGIN SELECT RAISE(ROLLBACK, 'the disk is full'); END")
    database.commit()

    def drop() -> None:
        database.execute("DROP TRIGGER give_up")
        database.commit()
        database.close()

    return drop
