"""The decision log's domain: products, features and releases, and the reasons for each change.

Pure: imports only ``eventsourcing.domain`` and the standard library.
"""
