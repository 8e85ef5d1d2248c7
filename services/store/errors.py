"""Errors of the store layer that reach the person who sent the command.

The HTTP layer maps them to problem details in one place (:mod:`services.http.problems`),
beside the domain's own errors (:mod:`domain.errors`).
"""

from domain.errors import DomainError


class NotFound(DomainError):
    """The entity named in the request's path does not exist."""


class VersionConflict(DomainError):
    """The caller's expected version is stale; ``current_version`` is what is stored now."""

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class KeyReused(DomainError):
    """An Idempotency-Key already ran a command for a different request."""
