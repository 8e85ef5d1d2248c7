"""Checks on the free text that commands carry."""

import re

from domain.errors import InvalidCommand

#: Control characters (Unicode category Cc) but the two that text may hold: newline, tab.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def control_character(value: str) -> str | None:
    """The first control character in ``value`` other than newline and tab, as ``U+XXXX``
    (e.g. ``U+0000``, a NUL byte), or None if there is none."""
    found = CONTROL_CHARACTER.search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def printable_text(value: str, what: str) -> str:
    """Refuse ``value`` if it holds a control character other than newline and tab."""
    found = control_character(value)
    if found is not None:
        raise InvalidCommand(f"{what} must not contain control characters (found {found}); "
                             "only line breaks (\\n) and tabs are allowed.")
    return value


def required_text(value: str, what: str, max_length: int) -> str:
    """Return ``value`` stripped, refusing it when empty, too long, or holding control
    characters other than newline and tab."""
    stripped = printable_text(value, what).strip()
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
