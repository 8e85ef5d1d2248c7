"""What a successful command returns."""

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Outcome:
    """What a successful command returns: the entity, its new version, its log position."""

    id: UUID
    version: int
    position: int
