"""Checks on the free text that commands carry."""

from domain.errors import InvalidCommand


def required_text(value: str, what: str, max_length: int) -> str:
    """Return ``value`` stripped, refusing it when empty or too long."""
    stripped = value.strip()
    if not stripped:
        raise InvalidCommand(f"{what} must not be empty.")
    if len(stripped) > max_length:
        raise InvalidCommand(f"{what} must be at most {max_length} characters.")
    return stripped


def optional_text(value: str | None, what: str, max_length: int) -> str:
    """Like :func:`required_text` but an absent or blank value becomes ``""``."""
    if value is None or not value.strip():
        return ""
    return required_text(value, what, max_length)
