"""What a successful command returns."""

from dataclasses import dataclass, field
from uuid import UUID


@dataclass(frozen=True)
class Outcome:
    """What a successful command returns: the entity, its new version, its log position."""

    id: UUID
    version: int
    position: int
    #: Whether it is the outcome recorded when the command first ran under the request's
    #: Idempotency-Key (:mod:`services.store.command_keys`): this run changed nothing.
    replayed: bool = field(default=False, compare=False)
