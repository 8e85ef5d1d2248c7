"""What feeds the views: stored events or Kafka messages, applied with the position they
reach in the same transaction.

- ``catch_up``  keeps the views up to date with the event store, in a background thread;
- ``kafka``     feeds the views from the Kafka entity topics instead (a consumer group);
- ``rebuild``   builds the views afresh from the whole event log, then swaps them in;
- ``decode``    stored events straight to :class:`~contract.changes.Change` (orjson);
- ``tracking``  where each source has been applied up to, written with the view rows;
- ``event_log`` the protocol of the event log the feeders read (recorder and mapper).

Imports :mod:`contract`, :mod:`domain`, the rest of :mod:`projections` and libraries
(eventsourcing's persistence side, orjson, kafka-python), never :mod:`services`: the
application that writes the log is given as an :class:`~projections.feeding.event_log.EventLog`.
"""
