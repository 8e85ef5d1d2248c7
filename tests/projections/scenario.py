"""Building blocks for projection tests: a roadmap story (of
:data:`tests.support.builders.BOOKS`), and the stored changes read back."""

import random
import sqlite3
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from contract.changes import Change, change_from_event
from domain.feature import DONE
from services.commands.application import DecisionLog
from tests.projections.search_index import is_search_table, search_rows
from tests.support.builders import BOOKS, advance, by, today


@dataclass
class Story:
    """The ids of a product whose roadmap went through schedule, move, slip, reject,
    ship and cancel (see :func:`roadmap_story`)."""

    product: UUID
    releases: dict[str, UUID] = field(default_factory=dict)
    features: dict[str, UUID] = field(default_factory=dict)


def roadmap_story(log: DecisionLog) -> Story:
    """Plan four releases and six features, then schedule, move, slip, reject, ship, cancel."""
    story = Story(BOOKS.a_product(log))
    for name, target in [("1.0", date(2026, 3, 1)), ("1.1", date(2026, 6, 1)),
                         ("2.0", date(2026, 9, 1)), ("Beta", date(2026, 2, 1))]:
        story.releases[name] = BOOKS.a_release(log, story.product, name, target)
    for title, priority in [("Export", 5), ("Import", 3), ("SSO", 8), ("Dark mode", 1),
                            ("Legacy sync", 2), ("Audit log", 5)]:
        story.features[title] = BOOKS.a_feature(log, story.product, title, priority)
    f, r = story.features, story.releases
    log.schedule_feature(f["Export"], r["1.0"], by("alice", "Customers asked"))
    log.schedule_feature(f["SSO"], r["1.0"], by("alice", "Enterprise deal"))
    log.schedule_feature(f["Import"], r["1.0"], by("alice", "Pairs with export"))
    log.schedule_feature(f["Dark mode"], r["Beta"], by("alice", "Try it on beta users"))
    log.schedule_feature(f["Export"], r["1.1"], by("bob", "Too big for 1.0"))
    log.change_target_date(r["1.1"], date(2026, 6, 15),
                           by("carol", "Vendor API late", "https://tickets/42"))
    log.change_feature_status(f["Legacy sync"], "rejected", by("carol", "Nobody uses it"))
    advance(log, f["SSO"], DONE, by("bob", "Work progressed"))
    log.ship_release(r["1.0"], today(), by("carol", "Release train left"))  # early
    log.cancel_release(r["Beta"], by("carol", "Beta programme stopped"))
    return story


def changes_of(log: DecisionLog) -> list[Change]:
    """Every stored event as a public change, in log order."""
    notifications = log.recorder.select_notifications(start=0, limit=100_000,
                                                      inclusive_of_start=False)
    return [change_from_event(log.mapper.to_domain_event(n), n.id)  # type: ignore[arg-type]
            for n in notifications]


def interleaved(changes: list[Change], seed: int) -> list[Change]:
    """``changes`` shuffled across entities, each entity's own changes still in order."""
    queues: dict[str, deque[Change]] = defaultdict(deque)
    for change in changes:
        queues[change.entity_id].append(change)
    rng, result = random.Random(seed), []
    while queues:
        entity = rng.choice(sorted(queues))
        result.append(queues[entity].popleft())
        if not queues[entity]:
            del queues[entity]
    return result


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a SQLite file, in a stable order (the search's by what
    they hold, see :mod:`tests.projections.search_index`)."""
    conn = sqlite3.connect(path)
    try:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        rows = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in tables if not is_search_table(t)}
        return rows | search_rows(conn) if "search_documents" in tables else rows
    finally:
        conn.close()
