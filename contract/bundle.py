"""Bundling: an AsyncAPI document made self-contained by inlining what its ``$ref``s name in
other files, so that it is valid on its own, wherever it is copied or served."""

from collections.abc import Callable
from typing import Any

Loader = Callable[[str], dict[str, Any]]


def inline_file_refs(node: Any, load: Loader) -> Any:
    """``node`` with every ``{"$ref": "<file>"}`` replaced by ``load("<file>")``.

    References inside the document (``#/...``) stay: AsyncAPI 3 wants an operation's messages
    to be references to its channel's messages, and the components they point at are in the
    document already.
    """
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return load(ref)
        return {key: inline_file_refs(value, load) for key, value in node.items()}
    if isinstance(node, list):
        return [inline_file_refs(value, load) for value in node]
    return node
