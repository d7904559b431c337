"""The baseline for reads: a bare Starlette route that reads the same JSON row.

``GET /Patient/{id}`` runs ``SELECT content FROM resource WHERE res_type='Patient' AND
res_id=?`` and returns the text as ``application/fhir+json``. Everything else is kept equal
to pacsbridge so that the ratio pacsbridge/baseline is what FHIR semantics cost and not a
difference of plumbing: the engines come from ``pacsbridge.store.open_database`` (same pool
sizes and SQLite pragmas), the query runs in Starlette's threadpool as the real server's
does, and uvicorn gets the same configuration as ``pacsbridge.app.serve`` (one process,
automatic loop and HTTP implementation, no access log).

Run: ``python bench/baseline_app.py --database-url URL --port PORT``.
"""

from __future__ import annotations

import argparse

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pacsbridge.store import open_database

QUERY = text("SELECT content FROM resource WHERE res_type = 'Patient' AND res_id = :id")


def build_app(database_url: str) -> Starlette:
    database = open_database(database_url)
    engine = database.reader

    def fetch(res_id: str) -> str | None:
        with engine.connect() as connection:
            return connection.execute(QUERY, {"id": res_id}).scalar_one_or_none()

    async def patient(request: Request) -> Response:
        content = await run_in_threadpool(fetch, request.path_params["id"])
        if content is None:
            return Response(b"", status_code=404)
        return Response(content, media_type="application/fhir+json")

    return Starlette(routes=[Route("/Patient/{id}", patient, methods=["GET"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = uvicorn.Config(
        build_app(args.database_url),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
