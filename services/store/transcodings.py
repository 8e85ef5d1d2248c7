"""Value types the event log stores beyond the library's own (UUIDs, instants)."""

from datetime import date

from eventsourcing.persistence import Transcoding


class DateAsISO(Transcoding):
    """Store ``datetime.date`` values as ISO-8601 strings."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)
