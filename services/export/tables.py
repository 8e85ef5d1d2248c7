"""The exported tables: their columns and types, and their rows.

- ``events``: one row per change, in log order (``position``), with its decision context as
  columns (who, when, why, evidence, the decision and its title and context) and the names
  of its entity and product as they were then; the scalar fields of the change's ``data``
  are columns of their own (:data:`DATA_COLUMNS`), and all of ``data`` is also there as
  JSON text. Partitioned by the day (UTC) it occurred.
- ``slips``: one row per target-date change of a release: from, to, days (negative for a
  pull-in), why.
- ``products``, ``features``, ``releases``, ``decisions``: every entity as it stands now
  (rewritten by every run).

A row holds Python values (``str``, ``int``, ``float``, ``bool``, ``date``, ``datetime``,
a list of ``str``); :mod:`services.export.files` writes them as Parquet or NDJSON.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from contract.changes import Change
from services.export.entities import Entities, Entity

Row = dict[str, Any]

# Column kinds: how a value is typed in the files.
TEXT, INT, REAL, FLAG, DAY, INSTANT, TEXTS, JSON = (
    "text", "int", "real", "flag", "day", "instant", "texts", "json")


@dataclass(frozen=True)
class Table:
    """An exported table: its name (its folder or file) and its columns with their kinds."""

    name: str
    columns: tuple[tuple[str, str], ...]
    #: Facts appended by each run, in ``part-<first>-<last>`` files (else rewritten whole).
    appended: bool = False
    #: Appended files go into one folder per day (``date=YYYY-MM-DD``, hive style).
    by_day: bool = False


#: Scalar ``data`` fields of the public change types, as columns of ``events`` (null where
#: a change type has no such field). Lists and objects are in ``data`` only
#: (``tests/export`` checks that every scalar field of the published contract is here).
DATA_COLUMNS: tuple[tuple[str, str], ...] = (
    # products
    ("name", TEXT), ("vision", TEXT), ("old_vision", TEXT), ("value_proposition", TEXT),
    ("target_customers", TEXT), ("strategy", TEXT), ("old_strategy", TEXT), ("owner", TEXT),
    # features
    ("title", TEXT), ("problem", TEXT), ("business_value", TEXT), ("benefit", TEXT),
    ("status", TEXT), ("old_status", TEXT), ("reverts", TEXT),
    ("release_id", TEXT), ("old_release_id", TEXT),
    ("priority", REAL), ("old_priority", REAL), ("formula", TEXT),
    ("requirement_id", TEXT), ("text", TEXT), ("old_text", TEXT),
    # releases
    ("theme", TEXT), ("target_date", DAY), ("old_target_date", DAY), ("delta_days", INT),
    ("shipped_on", DAY), ("feature_id", TEXT),
    # decisions
    ("context", TEXT), ("chosen_option", TEXT), ("supersedes", TEXT), ("reverses", TEXT),
    ("superseded_by", TEXT), ("reversed_by", TEXT),
)

EVENTS = Table("events", (
    ("position", INT), ("event_id", TEXT), ("occurred_at", INSTANT), ("type", TEXT),
    ("entity_type", TEXT), ("entity_id", TEXT), ("entity_version", INT), ("entity_name", TEXT),
    ("product_id", TEXT), ("product_name", TEXT), ("actor", TEXT), ("rationale", TEXT),
    ("evidence", TEXTS), ("decision_id", TEXT), ("decision_title", TEXT),
    ("decision_context", TEXT), ("data", JSON), *DATA_COLUMNS,
), appended=True, by_day=True)

SLIPS = Table("slips", (
    ("position", INT), ("occurred_at", INSTANT), ("release_id", TEXT), ("release_name", TEXT),
    ("product_id", TEXT), ("product_name", TEXT), ("from_date", DAY), ("to_date", DAY),
    ("days_slipped", INT), ("kind", TEXT), ("rationale", TEXT), ("evidence", TEXTS),
    ("actor", TEXT), ("decision_id", TEXT), ("decision_title", TEXT),
), appended=True)

_TIMES = (("version", INT), ("created_at", INSTANT), ("updated_at", INSTANT))

PRODUCTS = Table("products", (
    ("product_id", TEXT), ("name", TEXT), ("vision", TEXT), ("value_proposition", TEXT),
    ("target_customers", TEXT), ("strategy", TEXT), ("owner", TEXT), ("retired", FLAG),
    *_TIMES))
RELEASES = Table("releases", (
    ("release_id", TEXT), ("product_id", TEXT), ("product_name", TEXT), ("name", TEXT),
    ("theme", TEXT), ("planned_target_date", DAY), ("target_date", DAY), ("state", TEXT),
    ("shipped_on", DAY), *_TIMES))
FEATURES = Table("features", (
    ("feature_id", TEXT), ("product_id", TEXT), ("product_name", TEXT), ("title", TEXT),
    ("problem", TEXT), ("business_value", TEXT), ("benefit", TEXT), ("priority", REAL),
    ("status", TEXT), ("release_id", TEXT), ("release_name", TEXT), ("requirements", JSON),
    *_TIMES))
DECISIONS = Table("decisions", (
    ("decision_id", TEXT), ("product_id", TEXT), ("product_name", TEXT), ("title", TEXT),
    ("context", TEXT), ("options", JSON), ("chosen_option", TEXT), ("status", TEXT),
    ("rationale", TEXT), ("evidence", TEXTS), ("deciders", TEXTS), ("consulted", TEXTS),
    ("proposed_by", TEXT), ("supersedes", TEXT), ("reverses", TEXT), ("superseded_by", TEXT),
    ("reversed_by", TEXT), *_TIMES))

#: Dimension table -> the entity type it lists.
DIMENSIONS: dict[Table, str] = {PRODUCTS: "product", FEATURES: "feature",
                                RELEASES: "release", DECISIONS: "decision"}
TARGET_DATE_CHANGED = "release.target_date_changed"


# Values

def typed(kind: str, value: Any) -> Any:
    """``value`` as a change or a state holds it (JSON), typed as its column's ``kind``."""
    if value is None:
        return None
    if kind == DAY:
        return date.fromisoformat(value)
    if kind == INSTANT:
        return instant(value)
    if kind == REAL:
        return float(value)
    if kind == FLAG:
        return bool(value)
    if kind == JSON:
        return orjson.dumps(value).decode()
    if kind == TEXTS:
        return list(value)
    return value


def instant(text: str) -> datetime:
    """An ISO 8601 instant as a UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def day(row: Row) -> date:
    """The day (UTC) a fact row occurred: its partition."""
    occurred: datetime = row["occurred_at"]
    return occurred.date()


# Fact rows

def event_row(change: Change, entities: Entities) -> Row:
    """The ``events`` row of ``change``, named with ``entities`` as they stand after it."""
    decision = entities.get(change.decision_id)
    row: Row = {
        "position": change.log_position, "event_id": change.event_id,
        "occurred_at": instant(change.occurred_at), "type": change.type,
        "entity_type": change.entity_type, "entity_id": change.entity_id,
        "entity_version": change.entity_version, "entity_name": entities.name(change.entity_id),
        "product_id": change.product_id, "product_name": entities.name(change.product_id),
        "actor": change.actor, "rationale": change.rationale, "evidence": list(change.evidence),
        "decision_id": change.decision_id,
        "decision_title": decision.name if decision else None,
        "decision_context": decision.state.get("context") if decision else None,
        "data": typed(JSON, change.data),
    }
    data = change.data
    for name, kind in DATA_COLUMNS:
        row[name] = typed(kind, data.get(name))
    return row


def slip_row(change: Change, entities: Entities) -> Row:
    """The ``slips`` row of a ``release.target_date_changed`` change."""
    data, delta = change.data, change.data["delta_days"]
    return {
        "position": change.log_position, "occurred_at": instant(change.occurred_at),
        "release_id": change.entity_id, "release_name": entities.name(change.entity_id),
        "product_id": change.product_id, "product_name": entities.name(change.product_id),
        "from_date": typed(DAY, data["old_target_date"]),
        "to_date": typed(DAY, data["target_date"]),
        "days_slipped": delta, "kind": "slip" if delta > 0 else "pull-in",
        "rationale": change.rationale, "evidence": list(change.evidence),
        "actor": change.actor, "decision_id": change.decision_id,
        "decision_title": entities.name(change.decision_id),
    }


# Dimension rows

def dimension_rows(table: Table, entities: Entities) -> Iterator[Row]:
    """The rows of a dimension table: every entity of its type as it stands now."""
    entity_type = DIMENSIONS[table]
    for entity_id, entity in entities.of_type(entity_type):
        state = entity.state
        row: Row = {}
        for name, kind in table.columns:
            row[name] = typed(kind, state.get(name))
        row[f"{entity_type}_id"] = entity_id
        row["product_id"] = entity.product_id
        row.update(_bookkeeping(entity))
        if "product_name" in row:
            row["product_name"] = entities.name(entity.product_id)
        if "release_name" in row:
            row["release_name"] = entities.name(state.get("release_id"))
        yield row


def _bookkeeping(entity: Entity) -> Row:
    return {"version": entity.version, "created_at": instant(entity.created_at),
            "updated_at": instant(entity.updated_at)}
