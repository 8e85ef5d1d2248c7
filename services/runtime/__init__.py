"""Composing and running the service.

- ``settings``  one typed settings object from the environment (a leaf: imports nothing here);
- ``bootstrap`` the composition root: store, command path, application, relay, from settings;
- ``service``   the running service (:class:`Runtime`): application, views, catch-up, relay,
  tokens and idempotency keys, started and closed together;
- ``admin_token`` the first admin token: from a setting, or (SQLite only) random in a 0600 file;
- ``notifications`` PostgreSQL LISTEN: other replicas' writes wake this one's catch-up;
- ``readiness`` ``/readyz``: stores answering in time, views (and relay) lag, shutting down;
- ``metrics``   ``/metrics``: the counters, and the stores' positions, lags and WAL sizes;
- ``logs``      text or JSON log lines, each carrying the id of the request it was written in;
- ``cli``       the ``pdl`` command: serve, token, projections, relay, project, config.
"""
