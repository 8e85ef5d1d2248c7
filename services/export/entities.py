"""Every entity as it stands now, folded from the changes: what the dimension tables show and
the names the events carry.

The columns the views keep come from the views' own transitions
(:data:`projections.roadmap.TRANSITIONS`), so the export and the roadmap can never disagree
on what a change does; :data:`EXTRAS` adds the few fields only the export shows (a
decision's context and options, a release's first target date). A change whose version is
not newer than the entity's is skipped, so folding a change twice is harmless.

The state is kept in the export folder between runs (``_entities.json``, with the position
it reflects), so that a run reads only what the log gained since the last one.
"""

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from contract.changes import Change
from projections.intervals import State
from projections.roadmap import TRANSITIONS

#: The file, in the export folder, holding the entities and the position they reflect.
ENTITIES_FILE = "_entities.json"

#: Change type -> the fields it sets beyond the views' columns.
EXTRAS: dict[str, Callable[[Change], State]] = {
    "release.planned": lambda c: {"planned_target_date": c.data["target_date"]},
    "decision.proposed": lambda c: {
        "context": c.data["context"], "options": c.data["options"],
        "rationale": c.rationale, "evidence": c.evidence, "deciders": c.data["deciders"],
        "consulted": c.data["consulted"], "supersedes": c.data["supersedes"],
        "reverses": c.data["reverses"], "proposed_by": c.actor},
    "decision.superseded": lambda c: {"superseded_by": c.data["superseded_by"]},
    "decision.reversed": lambda c: {"reversed_by": c.data["reversed_by"]},
}

#: Entity type -> the state field that names it.
NAME_FIELDS = {"product": "name", "release": "name", "feature": "title", "decision": "title"}


@dataclass
class Entity:
    """One entity's current state, with when it was created and last changed."""

    type: str
    product_id: str
    version: int
    created_at: str
    updated_at: str
    state: State

    @property
    def name(self) -> str | None:
        """Its name or title."""
        value = self.state.get(NAME_FIELDS.get(self.type, "name"))
        return value if isinstance(value, str) else None


class Entities:
    """The entities folded from the log up to :attr:`position`."""

    def __init__(self, position: int = 0, entities: dict[str, Entity] | None = None) -> None:
        self.position = position
        self._entities = entities or {}

    def fold(self, change: Change) -> None:
        """Apply ``change`` to its entity (nothing if the entity already has it)."""
        entity = self._entities.get(change.entity_id)
        if entity is not None and change.entity_version <= entity.version:
            return
        handler = TRANSITIONS.get(change.type)
        extras = EXTRAS.get(change.type)
        previous = entity.state if entity is not None else {}
        state = handler[1](previous, change) if handler is not None else dict(previous)
        if extras is not None:
            state = {**state, **extras(change)}
        if entity is None:
            self._entities[change.entity_id] = Entity(
                change.entity_type, change.product_id, change.entity_version,
                change.occurred_at, change.occurred_at, state)
        else:
            entity.version, entity.updated_at, entity.state = (
                change.entity_version, change.occurred_at, state)

    def get(self, entity_id: str | None) -> Entity | None:
        return self._entities.get(entity_id) if entity_id else None

    def name(self, entity_id: str | None) -> str | None:
        """The name or title of ``entity_id`` (None if unknown or not given)."""
        entity = self.get(entity_id)
        return entity.name if entity is not None else None

    def of_type(self, entity_type: str) -> Iterator[tuple[str, Entity]]:
        """``(id, entity)`` of every entity of ``entity_type``, in the order they appeared."""
        return ((i, e) for i, e in self._entities.items() if e.type == entity_type)

    # Kept between runs

    @classmethod
    def load(cls, folder: Path) -> "Entities":
        """The entities kept in ``folder`` by the last run (none, at position 0, if none)."""
        path = folder / ENTITIES_FILE
        if not path.exists():
            return cls()
        kept = json.loads(path.read_text(encoding="utf-8"))
        return cls(kept["position"],
                   {i: Entity(**e) for i, e in kept["entities"].items()})

    def save(self, folder: Path) -> None:
        """Keep the entities in ``folder``, replacing the last run's at once."""
        kept = {"position": self.position,
                "entities": {i: asdict(e) for i, e in self._entities.items()}}
        temporary = folder / f".{ENTITIES_FILE}.tmp"
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(kept, file, ensure_ascii=False, separators=(",", ":"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, folder / ENTITIES_FILE)

