"""``/healthz``: is the process up and can it reach its database?

200 with the state of each part when all is well, 503 when the database cannot be
reached, so that a load balancer takes the process out of rotation.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from pacsbridge import __version__
from pacsbridge.store.database import Database


def health_endpoint(database: Database, listeners: dict[str, Any]):  # noqa: ANN201
    async def healthz(request: Request) -> JSONResponse:
        try:
            await run_in_threadpool(database.ping)
            db_state = "ok"
        except Exception as exc:  # the answer is the diagnosis
            db_state = f"unreachable: {type(exc).__name__}"
        status = "ok" if db_state == "ok" else "degraded"
        body = {
            "status": status,
            "version": __version__,
            "database": {"dialect": database.dialect, "state": db_state},
            "listeners": {
                "http": {"state": "up"},
                **{name: _listener_state(item) for name, item in listeners.items()},
            },
        }
        return JSONResponse(body, status_code=200 if status == "ok" else 503)

    return healthz


def _listener_state(listener: Any) -> dict[str, Any]:
    server = getattr(listener, "server", None)
    serving = getattr(server, "is_serving", None)
    up = server is not None and (serving() if callable(serving) else True)
    state: dict[str, Any] = {"state": "up" if up else "down"}
    if up:
        state["port"] = listener.port
        state["connections"] = listener.connections
    return state
