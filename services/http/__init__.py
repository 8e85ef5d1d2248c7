"""The HTTP API: thin handlers over :class:`services.commands.application.DecisionLog`."""
