"""Health for load balancers, orchestrators and operators; no token needed.

- ``/livez``: the process answers (it touches no store), for a liveness probe;
- ``/readyz``: 200 when it should be sent traffic, else 503 with the reasons (shutting
  down, a store not answering in time, the views too far behind;
  :mod:`services.runtime.readiness`), for a readiness probe;
- ``/health``: how far the views have caught up with the log (a read with ``?after=`` waits
  while ``views_position`` is below the position it names);
- ``/metrics``: Prometheus metrics (:mod:`services.runtime.metrics`), unless switched off
  with ``PDL_API__METRICS=false``.
"""

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.http.deps import RuntimeDep
from services.http.problems import Problem
from services.runtime.metrics import exposition
from services.runtime.readiness import Readiness

router = APIRouter(tags=["health"])

#: The Prometheus text exposition format.
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/health")
def health(runtime: RuntimeDep) -> dict[str, Any]:
    """Liveness, and how far the views have caught up with the log (no token needed)."""
    return {"status": "ok", "log_position": runtime.app.log_position(),
            "views_position": runtime.views.position}


@router.get("/livez")
async def livez() -> dict[str, str]:
    """The process answers (no store is touched)."""
    return {"status": "alive"}


@router.get("/readyz", responses={503: {"description": "Not ready: see `reasons`"}})
async def readyz(request: Request) -> JSONResponse:
    """Whether to send this process traffic: `status` ready (200) or unready (503), the
    `reasons`, and the positions behind them."""
    readiness: Readiness = request.app.state.readiness
    report = await readiness.check()
    return JSONResponse(report.body(), status_code=200 if report.ready else 503,
                        headers={"Cache-Control": "no-store"})


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {METRICS_TYPE: {}}}})
def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus metrics of this service (see the README, "Operating it")."""
    if not runtime.settings.api.metrics:
        raise Problem(404, "not-found", "Not found",
                      "Metrics are switched off here (PDL_API__METRICS=false).")
    return Response(exposition(request.app.state.metrics), media_type=METRICS_TYPE)
