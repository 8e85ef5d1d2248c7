"""Composing and running the service.

- ``settings``  one typed settings object from the environment (a leaf: imports nothing here);
- ``bootstrap`` the composition root: store, command path, application, relay, from settings;
- ``service``   the running service (:class:`Runtime`): application, views, catch-up, relay,
  tokens and idempotency keys, started and closed together;
- ``cli``       the ``pdl`` command: serve, token, projections, relay, project.
"""
