"""The HTTP API: thin handlers over :class:`services.application.DecisionLog`."""
