"""Refuse query parameters a route does not take.

A filter misspelt (``/audit?prodcut=…``) would otherwise be ignored, and the answer would
silently hold everything. :data:`KnownQuery`, among a route's dependencies, answers ``422``
naming the unknown parameters and the ones the route takes (its own and those of its
dependencies, such as ``after``), by the names a client sends (aliases: ``type``,
``from``). It is for view reads: the caller is authenticated (as a viewer) first, so
nobody without a token learns what a route takes, and a request is refused before it
waits for ``?after=``.
"""

from collections.abc import Iterator

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant

from services.http.deps import Viewer
from services.http.problems import Problem


async def known_query(request: Request, who: Viewer) -> None:
    """Refuse (``422``) a request whose query names a parameter the route does not take."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    taken = set(_names(dependant))  # a walk of a few nodes: cheaper than keeping it
    unknown = sorted(set(request.query_params) - taken)
    if unknown:
        listed = ", ".join(f"'{name}'" for name in unknown)
        raise Problem(422, "unknown-parameter", "Unknown query parameter",
                      f"This route takes no query parameter {listed}; it takes: "
                      f"{', '.join(sorted(taken))}.", unknown=unknown, allowed=sorted(taken))


def _names(dependant: Dependant) -> Iterator[str]:
    """The query parameters of ``dependant`` and of everything it depends on."""
    for param in dependant.query_params:
        yield param.alias
    for dependency in dependant.dependencies:
        yield from _names(dependency)


KnownQuery = Depends(known_query)
