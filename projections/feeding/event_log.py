"""What the feeders need of the event log: its recorder, to read stored events in log order,
and its mapper, to decode them. The application that writes the log
(``services.commands.application.DecisionLog``) has both; the projections never import it."""

from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper


class EventLog(Protocol):
    """The event log the views are built from."""

    @property
    def recorder(self) -> ApplicationRecorder: ...

    @property
    def mapper(self) -> Mapper[UUID]: ...
