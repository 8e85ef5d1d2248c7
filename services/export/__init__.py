"""The warehouse export: the event log as files a data warehouse loads (``pdl export``).

Read through the public :class:`~contract.changes.Change` shape, like the views, never the
internal event classes. One run writes what the log gained since the last run:

- ``warehouse`` one export run: read the log after the watermark, write the new rows, the
  dimension tables and then the watermark (:func:`~services.export.warehouse.export_warehouse`);
- ``tables``    the exported tables, their columns and types, and the row of each from a change;
- ``entities``  the current state of every entity, folded from the changes with the views' own
  transitions, kept between runs (the dimension tables, the names events carry);
- ``files``     Parquet and NDJSON files written whole or not at all, the watermark, the lock.
"""
