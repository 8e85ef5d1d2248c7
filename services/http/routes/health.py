"""Health: ``/health``, for load balancers and operators; no token needed.

It reports how far the views have caught up with the log: a read with ``?after=`` waits
while ``views_position`` is below the position it names.
"""

from typing import Any

from fastapi import APIRouter

from services.http.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(runtime: RuntimeDep) -> dict[str, Any]:
    """Liveness, and how far the views have caught up with the log (no token needed)."""
    return {"status": "ok", "log_position": runtime.app.event_count(),
            "views_position": runtime.views.position}
