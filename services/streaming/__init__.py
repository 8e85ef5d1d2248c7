"""The Kafka stream: the outbox ``relay`` publishes the committed event log in order, at least
once, as the versioned messages of :mod:`contract`; ``kafka_io`` wraps kafka-python."""
