"""Reads whose cost follows their answer, not the history behind it.

An audit page names the entities of each item as they were at the item's instant, and a
diff reads the states at two instants and the steps between: neither should read an
entity's whole history to do so. Cost is measured in SQLite's own units, not in time: the
virtual machine instructions a read runs (every row visited is a few of them), and the
plan of every statement it runs (a search of an index, never a scan of a table).
"""

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from contract.changes import change_from_event
from domain import clock
from domain.base import DecisionLogAggregate
from domain.feature import Feature
from domain.product import Product
from domain.release import Release
from projections import audit
from projections.diff import diff_between
from projections.views import Views, connect
from tests.support.builders import by

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REASON = by("alice", "Planning review")


@dataclass
class Roadmap:
    """One product's features moved to and fro between two releases, fed straight into
    views (as a consumer would apply them), stamped one second apart."""

    views: Views
    features: int
    now: datetime = START
    position: int = 0
    product: Product = field(init=False)
    releases: list[Release] = field(init=False)
    planned: list[Feature] = field(init=False)

    def __post_init__(self) -> None:
        def create() -> list[DecisionLogAggregate]:
            self.product = Product.create(name="Ledger", vision="Plans people trust.",
                                          value_proposition="Fewer surprises.",
                                          target_customers="PMs", owner="pm", actor="pm")
            self.releases = [Release.plan(product_id=self.product.id, name=name, actor="pm",
                                          target_date=date(2027, 3, 1))
                             for name in ("1.0", "2.0")]
            self.planned = [Feature.propose(product_id=self.product.id, title=f"Feature {n}",
                                            problem="Stale plans.", business_value="Trust.",
                                            benefit="Current plans.", actor="pm",
                                            priority=float(n), requirements=[])
                            for n in range(self.features)]
            return [self.product, *self.releases, *self.planned]
        self.write(create)

    @property
    def product_id(self) -> str:
        return str(self.product.id)

    def rounds(self, count: int) -> None:
        """Move the first three features to the other release, ``count`` times each."""
        for _ in range(count):
            self.write(lambda: [a for f in self.planned[:3] for a in self.move(f)])

    def move(self, feature: Feature) -> list[DecisionLogAggregate]:
        source = next((r for r in self.releases if r.id == feature.release_id), None)
        target = self.releases[1] if source is self.releases[0] else self.releases[0]
        feature.schedule(target.id, REASON)
        if source is not None:
            source.remove_feature(feature.id, REASON)
        target.add_feature(feature.id, REASON)
        feature.change_priority(2.0 if feature.priority == 1.0 else 1.0, REASON)
        return [feature, target] if source is None else [feature, source, target]

    def last_steps(self) -> datetime:
        """The same few changes at the end of any history: a rename, a move, a slip.
        Returns the instant just before them."""
        before = self.now
        feature, release = self.planned[0], self.releases[0]

        def last() -> list[DecisionLogAggregate]:
            feature.revise_details(REASON, title=f"{feature.title} (renamed)")
            moved = self.move(feature)
            release.change_target_date(release.target_date + timedelta(days=7), REASON)
            return [*moved, release]
        self.write(last)
        return before

    def write(self, make: Callable[[], list[DecisionLogAggregate]]) -> None:
        with clock.use_clock(self.tick):
            aggregates = make()
        events = sorted((e for a in aggregates for e in a.collect_events()),
                        key=lambda e: e.timestamp)
        changes = []
        for event in events:
            self.position += 1
            changes.append(change_from_event(event, self.position))  # type: ignore[arg-type]
        self.views.apply(changes, self.position)

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@contextmanager
def roadmap(path: Path, *, rounds: int, features: int) -> Iterator[Roadmap]:
    """Views at ``path`` holding a history of ``rounds`` rounds of moves, then
    :meth:`Roadmap.last_steps`."""
    views = Views(path)
    try:
        found = Roadmap(views, features)
        found.rounds(rounds)
        yield found
    finally:
        views.close()


def instructions(path: Path, read: Callable[[sqlite3.Connection], Any]) -> tuple[int, Any]:
    """How many virtual machine instructions ``read`` runs on the views at ``path``, and
    what it answers."""
    conn = connect(path)
    count = 0

    def counted() -> int:
        nonlocal count
        count += 1
        return 0
    try:
        conn.set_progress_handler(counted, 1)
        answer = read(conn)
        return count, answer
    finally:
        conn.close()


def statements(path: Path, read: Callable[[sqlite3.Connection], Any]) -> list[str]:
    """Every statement ``read`` runs (with its values) on the views at ``path``."""
    conn = connect(path)
    run: list[str] = []
    try:
        conn.set_trace_callback(run.append)
        read(conn)
        return run
    finally:
        conn.close()


def plan(path: Path, statement: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
    finally:
        conn.close()


def page_after(product_id: str, cursor: int, size: int) -> Callable[[sqlite3.Connection], Any]:
    return lambda conn: audit.read_audit(conn, product_id=product_id, limit=size, cursor=cursor)


def diff_since(product_id: str, since: datetime,
               until: datetime) -> Callable[[sqlite3.Connection], Any]:
    return lambda conn: diff_between(conn, product_id, since, until)


def test_an_audit_page_costs_the_same_however_long_the_history_of_what_it_names(
        tmp_path: Path) -> None:
    with roadmap(tmp_path / "short.db", rounds=4, features=3) as short, \
            roadmap(tmp_path / "long.db", rounds=60, features=3) as long:
        short.last_steps()
        long.last_steps()
        short_page = page_after(short.product_id, short.position - 6, 6)
        long_page = page_after(long.product_id, long.position - 6, 6)

        short_cost, short_answer = instructions(short.views.path, short_page)
        long_cost, long_answer = instructions(long.views.path, long_page)

    # The same six changes, naming the same entities, each with 15x more history behind it.
    assert [i["summary"] for i in long_answer["items"]] == [
        i["summary"] for i in short_answer["items"]]
    assert [i["summary"] for i in long_answer["items"]] == [
        "alice revised the title of feature 'Feature 0'",
        "alice moved feature 'Feature 0 (renamed)' from release '2.0' to release '1.0'",
        "alice removed feature 'Feature 0 (renamed)' from the scope of release '2.0'",
        "alice added feature 'Feature 0 (renamed)' to the scope of release '1.0'",
        "alice changed the priority of feature 'Feature 0 (renamed)' from 2 to 1",
        "alice slipped release '1.0' by 7 days, from 2027-03-01 to 2027-03-08",
    ]
    assert long_cost <= short_cost * 1.1


def test_a_diff_over_a_few_changes_costs_the_same_however_long_and_wide_the_history(
        tmp_path: Path) -> None:
    with roadmap(tmp_path / "short.db", rounds=4, features=3) as short, \
            roadmap(tmp_path / "long.db", rounds=60, features=40) as long:
        short_since, long_since = short.last_steps(), long.last_steps()
        short_diff = diff_since(short.product_id, short_since, short.now)
        long_diff = diff_since(long.product_id, long_since, long.now)

        short_cost, short_answer = instructions(short.views.path, short_diff)
        long_cost, long_answer = instructions(long.views.path, long_diff)

    # The same net and steps, with 15x more history and 13x more features behind them.
    assert [s["summary"] for s in long_answer["changes"]] == [
        s["summary"] for s in short_answer["changes"]]
    assert [(m["title"], m["from"]["name"], m["to"]["name"])
            for m in long_answer["net"]["features"]["moved"]] == [
        ("Feature 0 (renamed)", "2.0", "1.0")]
    assert [r["name"] for r in long_answer["net"]["releases"]["slipped"]] == ["1.0"]
    assert long_cost <= short_cost * 1.1


def test_every_statement_of_an_audit_page_and_a_diff_searches_an_index(tmp_path: Path) -> None:
    with roadmap(tmp_path / "views.db", rounds=5, features=3) as found:
        since = found.last_steps()
        path, product_id = found.views.path, found.product_id
        run = [*statements(path, page_after(product_id, found.position - 6, 6)),
               *statements(path, diff_since(product_id, since, found.now)),
               *statements(path, diff_since(product_id, START, found.now))]

        plans = {statement: plan(path, statement) for statement in run}

    names = [s for s in run if s.startswith("SELECT valid_from")]
    assert names, "names are read by lookups of their own"
    for statement in names:
        assert any("USING INDEX" in step and "_history" in step
                   for step in plans[statement]), (statement, plans[statement])
    for statement, steps in plans.items():
        assert not [step for step in steps if step.startswith("SCAN")], (statement, steps)
