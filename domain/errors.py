"""Errors raised when a command breaks a rule of the domain.

Each message is written for the person who sent the command: it says which rule
was broken and, where possible, what to do instead.
"""


class DomainError(Exception):
    """Base class: a command was refused and nothing was recorded."""


class InvalidCommand(DomainError):
    """The command itself is incomplete or malformed (e.g. no rationale)."""


class RuleViolation(DomainError):
    """The command is well formed but the current state forbids it."""
