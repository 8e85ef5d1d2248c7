"""How each change reads to a person: a sentence and the fields it changed (old -> new).

Built when the audit is *read*, not when it is written: names of the entities involved
are looked up as they were when the change happened, and the result does not depend
on the order in which changes of different entities arrived.
"""

import bisect
from collections.abc import Callable
from typing import Any

from projections.dialect import Connection
from projections.intervals import EntityTable
from projections.roadmap import DECISIONS, FEATURES, PRODUCTS, RELEASES

Row = dict[str, Any]
FieldChange = dict[str, Any]
Description = tuple[str, list[FieldChange]]


class Names:
    """Looks up what entities were called at an instant, e.g. ``feature 'Export'``.

    Each lookup reads the one row valid at the instant, found in the table's ``_history``
    index (entity, valid_from, version): describing a page of changes costs a few lookups
    per change, whatever the length of each entity's history. Rows read are kept with
    their validity interval, so a later lookup of the same entity inside it reads nothing.

    A reader describing *every* change of an interval (a diff, a product's history) gives
    that ``window`` (since, until; :data:`EVER` and None leave it open): the first lookup
    of an entity inside it reads, in one range of the index, the row valid at ``since`` and
    every row starting in (since, until]. That is one query per entity rather than one per
    change, and it reads no more rows than there are changes in the window.
    """

    def __init__(self, conn: Connection,
                 window: tuple[str, str | None] | None = None) -> None:
        self._conn = conn
        self._window = window
        #: (table, entity) -> the rows of it read so far, see :class:`_Known`.
        self._known: dict[tuple[str, str], _Known] = {}

    def product(self, entity_id: str | None, at: str) -> str:
        return self._named("product", PRODUCTS, "name", entity_id, at)

    def release(self, entity_id: str | None, at: str) -> str:
        return self._named("release", RELEASES, "name", entity_id, at)

    def feature(self, entity_id: str | None, at: str) -> str:
        return self._named("feature", FEATURES, "title", entity_id, at)

    def decision(self, entity_id: str | None, at: str) -> str:
        return self._named("decision", DECISIONS, "title", entity_id, at)

    def release_name(self, entity_id: str | None, at: str) -> str | None:
        """A release's bare name, or None when it is not known."""
        return self._lookup(RELEASES, "name", entity_id, at) if entity_id else None

    def _named(self, kind: str, table: EntityTable, column: str, entity_id: str | None,
               at: str) -> str:
        name = self._lookup(table, column, entity_id, at) if entity_id else None
        return f"{kind} '{name}'" if name is not None else f"{kind} {entity_id}"

    def _lookup(self, table: EntityTable, column: str, entity_id: str, at: str) -> str | None:
        """The name valid at ``at`` (an :func:`instant`): that of the entity's last row
        starting at or before ``at`` (the last version, among rows starting together);
        before the entity existed (clocks of different writers may disagree slightly), its
        first name; None for an entity without rows."""
        key = (table.name, entity_id)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = _Known()
            window = self._window
            if window is not None and window[0] < at and (window[1] is None
                                                          or at <= window[1]):
                self._read_window(known, table, column, entity_id, *window)
        i = bisect.bisect_right(known.starts, at) - 1
        if i >= 0 and at < known.ends[i]:
            return known.names[i]
        return None if known.absent else self._read_at(known, table, column, entity_id, at)

    def _read_at(self, known: "_Known", table: EntityTable, column: str, entity_id: str,
                 at: str) -> str | None:
        """Read the row valid at ``at`` (one probe of ``_history``) and keep it."""
        row = self._conn.execute(
            f"SELECT valid_from, valid_to, {column} FROM {table.name} "
            "WHERE entity_id = ? AND valid_from <= ? "
            "ORDER BY valid_from DESC, entity_version DESC LIMIT 1", (entity_id, at),
        ).fetchone()
        if row is not None:
            known.add(row[0], row[1], row[2], at)
            return str(row[2])
        first = self._conn.execute(
            f"SELECT valid_from, {column} FROM {table.name} WHERE entity_id = ? "
            "ORDER BY valid_from, entity_version LIMIT 1", (entity_id,),
        ).fetchone()
        if first is None:
            known.absent = True
            return None
        known.add(_BEFORE_ALL, first[0], first[1], at)  # before its first row: its first name
        return str(first[1])

    def _read_window(self, known: "_Known", table: EntityTable, column: str, entity_id: str,
                     since: str, until: str | None) -> None:
        """Keep the row valid at ``since`` and every row starting in (since, until]."""
        if since != EVER:
            self._read_at(known, table, column, entity_id, since)
        # Rows closed where they start (superseded at once) hold for no instant: left out.
        rows = self._conn.execute(
            f"SELECT valid_from, valid_to, {column} FROM {table.name} "
            "WHERE entity_id = ? AND valid_from > ? AND valid_from <= ? "
            "AND (valid_to IS NULL OR valid_to > valid_from) "
            "ORDER BY valid_from, entity_version", (entity_id, since, until or _AFTER_ALL))
        known.extend(rows.fetchall())


#: Sorts before every instant: the start of the span before an entity's first row, and
#: the start of a :class:`Names` window open to the past.
EVER = _BEFORE_ALL = ""
#: Sorts after every instant.
_AFTER_ALL = "\U0010ffff"


class _Known:
    """Rows of one entity read so far, as disjoint spans [start, end) holding a name."""

    __slots__ = ("absent", "ends", "names", "starts")

    def __init__(self) -> None:
        #: True once the entity is known to have no row at all.
        self.absent = False
        self.starts: list[str] = []
        #: Where each span ends: :data:`_AFTER_ALL` for a row still current.
        self.ends: list[str] = []
        self.names: list[str] = []

    def add(self, start: str, end: str | None, name: Any, at: str) -> None:
        """Keep the span [start, end) of the row found for the instant ``at``.

        Intervals of an entity never overlap and never leave gaps, so each instant is in
        one span at most. A span that does not hold ``at`` (which those invariants rule
        out) is not kept, so that it cannot answer for another instant.
        """
        if not (start <= at and (end is None or at < end)):
            return
        i = bisect.bisect_right(self.starts, start)
        if i > 0 and self.starts[i - 1] == start:
            return  # already kept
        self.starts.insert(i, start)
        self.ends.insert(i, _AFTER_ALL if end is None else end)
        self.names.insert(i, str(name))

    def extend(self, rows: list[Any]) -> None:
        """Keep the spans of ``rows`` (valid_from, valid_to, name): rows that hold for some
        instant, in time order, all starting after every span kept so far."""
        self.starts.extend(row[0] for row in rows)
        self.ends.extend(_AFTER_ALL if row[1] is None else row[1] for row in rows)
        self.names.extend(str(row[2]) for row in rows)


def describe(row: Row, names: Names) -> Description:
    """The sentence (starting with the actor) and the field changes of an audit row."""
    describer = DESCRIBERS.get(row["type"], _generic)
    sentence, changes = describer(row, names)
    return f"{row['actor']} {sentence}", changes


def field_changes(data: dict[str, Any]) -> list[FieldChange]:
    """``old_x`` / ``x`` pairs of an event's data as ``{field, old, new}``."""
    changes = []
    for key, value in data.items():
        if key.startswith("old_"):
            field = key.removeprefix("old_")
            changes.append({"field": field, "old": value, "new": data.get(field)})
    return changes


def _created(row: Row) -> list[FieldChange]:
    return [{"field": k, "old": None, "new": v} for k, v in row["data"].items()]


# One describer per change type.

def _generic(row: Row, names: Names) -> Description:
    return (f"recorded {row['type']} on {row['entity_type']} {row['entity_id']}",
            field_changes(row["data"]))


def _product_created(row: Row, names: Names) -> Description:
    return f"created product '{row['data']['name']}'", _created(row)


def _product_revised(what: str) -> Callable[[Row, Names], Description]:
    def describer(row: Row, names: Names) -> Description:
        product = names.product(row["entity_id"], row["occurred_at"])
        return f"revised the {what} of {product}", field_changes(row["data"])
    return describer


def _product_retired(row: Row, names: Names) -> Description:
    product = names.product(row["entity_id"], row["occurred_at"])
    return f"retired {product}", [{"field": "retired", "old": False, "new": True}]


def _feature_proposed(row: Row, names: Names) -> Description:
    product = names.product(row["product_id"], row["occurred_at"])
    return f"proposed feature '{row['data']['title']}' for {product}", _created(row)


def _feature(row: Row, names: Names) -> str:
    return names.feature(row["entity_id"], row["occurred_at"])


def _status_changed(row: Row, names: Names) -> Description:
    data = row["data"]
    return (f"changed the status of {_feature(row, names)} from {data['old_status']} to "
            f"{data['status']}", field_changes(data))


def _scheduled(row: Row, names: Names) -> Description:
    data, at = row["data"], row["occurred_at"]
    old, new = data.get("old_release_id"), data["release_id"]
    if old is None:
        sentence = f"scheduled {_feature(row, names)} into {names.release(new, at)}"
    else:
        sentence = (f"moved {_feature(row, names)} from {names.release(old, at)} "
                    f"to {names.release(new, at)}")
    return sentence, [*field_changes(data), _release_names(old, new, names, at)]


def _unscheduled(row: Row, names: Names) -> Description:
    data, at = row["data"], row["occurred_at"]
    old = data["old_release_id"]
    sentence = (f"took {_feature(row, names)} out of {names.release(old, at)}, "
                "back to the backlog")
    return sentence, [*field_changes(data), _release_names(old, None, names, at)]


def _release_names(old: str | None, new: str | None, names: Names, at: str) -> FieldChange:
    return {"field": "release", "old": names.release_name(old, at),
            "new": names.release_name(new, at)}


def _priority_changed(row: Row, names: Names) -> Description:
    data = row["data"]
    return (f"changed the priority of {_feature(row, names)} from {data['old_priority']:g} "
            f"to {data['priority']:g}", field_changes(data))


def _priority_scored(row: Row, names: Names) -> Description:
    data = row["data"]
    score = {"field": "score", "old": None,
             "new": {"formula": data["formula"], "inputs": data["inputs"]}}
    return (f"scored {_feature(row, names)} with {data['formula']}: priority "
            f"{data['old_priority']:g} to {data['priority']:g}", [*field_changes(data), score])


def _details_revised(row: Row, names: Names) -> Description:
    revised = row["data"]["changes"]
    changes = [{"field": k, "old": c["old"], "new": c["new"]} for k, c in revised.items()]
    fields = _listed([k.replace("_", " ") for k in revised])
    title = revised.get("title", {}).get("old")
    feature = f"feature '{title}'" if title else _feature(row, names)
    return f"revised the {fields} of {feature}", changes


def _listed(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(filter(None, [", ".join(words[:-1]), words[-1]]))


def _requirement(verb: str, old: bool, new: bool) -> Callable[[Row, Names], Description]:
    def describer(row: Row, names: Names) -> Description:
        data = row["data"]
        requirement = data["requirement_id"]
        change = {
            "field": f"requirements.{requirement}",
            "old": requirement_body(data, "old_") if old else None,
            "new": requirement_body(data, "") if new else None,
        }
        return f"{verb} requirement {requirement} of {_feature(row, names)}", [change]
    return describer


def requirement_body(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    """A requirement's text and criteria from change data (``prefix`` "" or "old_")."""
    return {"text": data[f"{prefix}text"],
            "acceptance_criteria": data[f"{prefix}acceptance_criteria"]}


def _release(row: Row, names: Names) -> str:
    return names.release(row["entity_id"], row["occurred_at"])


def _release_planned(row: Row, names: Names) -> Description:
    data = row["data"]
    return f"planned release '{data['name']}' for {data['target_date']}", _created(row)


def _target_date_changed(row: Row, names: Names) -> Description:
    data = row["data"]
    delta = data["delta_days"]
    verb = "slipped" if delta > 0 else "pulled in"
    days = "day" if abs(delta) == 1 else "days"
    sentence = (f"{verb} {_release(row, names)} by {abs(delta)} {days}, from "
                f"{data['old_target_date']} to {data['target_date']}")
    delta_change = {"field": "delta_days", "old": None, "new": delta}
    return sentence, [*field_changes(data), delta_change]


def _scope(verb: str, preposition: str, added: bool) -> Callable[[Row, Names], Description]:
    def describer(row: Row, names: Names) -> Description:
        feature_id = row["data"]["feature_id"]
        feature = names.feature(feature_id, row["occurred_at"])
        change = {"field": "feature_id", "old": None if added else feature_id,
                  "new": feature_id if added else None}
        return f"{verb} {feature} {preposition} {_release(row, names)}", [change]
    return describer


def _release_shipped(row: Row, names: Names) -> Description:
    shipped_on = row["data"]["shipped_on"]
    return (f"shipped {_release(row, names)} on {shipped_on}",
            [{"field": "state", "old": "planned", "new": "shipped"},
             {"field": "shipped_on", "old": None, "new": shipped_on}])


def _release_cancelled(row: Row, names: Names) -> Description:
    return (f"cancelled {_release(row, names)}",
            [{"field": "state", "old": "planned", "new": "cancelled"}])


def _decision(row: Row, names: Names) -> str:
    return names.decision(row["entity_id"], row["occurred_at"])


def _decision_proposed(row: Row, names: Names) -> Description:
    data = row["data"]
    return (f"proposed decision '{data['title']}' (chosen option: {data['chosen_option']})",
            _created(row))


def _decision_accepted(row: Row, names: Names) -> Description:
    caused = row["data"]["changes"]
    count = f"{len(caused)} roadmap change" + ("" if len(caused) == 1 else "s")
    return (f"accepted {_decision(row, names)}, causing {count}",
            [{"field": "status", "old": "proposed", "new": "accepted"},
             {"field": "roadmap_changes", "old": None, "new": caused}])


def _decision_rejected(row: Row, names: Names) -> Description:
    return (f"rejected {_decision(row, names)}",
            [{"field": "status", "old": "proposed", "new": "rejected"}])


def _decision_ended(status: str, by: str) -> Callable[[Row, Names], Description]:
    """Superseded or reversed by another decision, named in ``data[by]``."""
    def describer(row: Row, names: Names) -> Description:
        other = row["data"][by]
        sentence = (f"marked {_decision(row, names)} {status} by "
                    f"{names.decision(other, row['occurred_at'])}")
        return sentence, [{"field": "status", "old": "accepted", "new": status},
                          {"field": by, "old": None, "new": other}]
    return describer


#: Change type -> its describer. Every change type in :data:`contract.changes.CHANGE_TYPES`
#: is here or in :data:`IGNORED` (``tests/projections/test_change_type_registries.py``);
#: a type this code does not know (e.g. from a newer writer) gets the generic sentence.
DESCRIBERS: dict[str, Callable[[Row, Names], Description]] = {
    "product.created": _product_created,
    "product.vision_revised": _product_revised("vision"),
    "product.strategy_revised": _product_revised("strategy"),
    "product.retired": _product_retired,
    "feature.proposed": _feature_proposed,
    "feature.status_changed": _status_changed,
    "feature.scheduled": _scheduled,
    "feature.unscheduled": _unscheduled,
    "feature.priority_changed": _priority_changed,
    "feature.priority_scored": _priority_scored,
    "feature.details_revised": _details_revised,
    "feature.requirement_added": _requirement("added", old=False, new=True),
    "feature.requirement_revised": _requirement("revised", old=True, new=True),
    "feature.requirement_removed": _requirement("removed", old=True, new=False),
    "release.planned": _release_planned,
    "release.target_date_changed": _target_date_changed,
    "release.feature_added": _scope("added", "to the scope of", added=True),
    "release.feature_removed": _scope("removed", "from the scope of", added=False),
    "release.shipped": _release_shipped,
    "release.cancelled": _release_cancelled,
    "decision.proposed": _decision_proposed,
    "decision.accepted": _decision_accepted,
    "decision.rejected": _decision_rejected,
    "decision.superseded": _decision_ended("superseded", "superseded_by"),
    "decision.reversed": _decision_ended("reversed", "reversed_by"),
}
#: Change types deliberately left to the generic sentence: none. The audit is read by
#: people, so every published type reads as its own sentence.
IGNORED: frozenset[str] = frozenset()


def escape_markdown(text: str) -> str:
    """Text that Markdown shows as written: no accidental emphasis, links or headings."""
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())
