"""The Kafka stream: the outbox ``relay`` publishes the committed event log in order, at least
once, as the versioned messages of :mod:`contract`, with each entity's ``states`` after each
change; ``positions`` records how far it got per target (``pg_positions`` in PostgreSQL);
``leases`` elects the one relay that publishes per store; ``kafka_io`` wraps kafka-python
(a transactional producer, so a deposed relay is fenced)."""
