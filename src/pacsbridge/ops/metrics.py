"""Prometheus metrics at ``/metrics``: requests by route, status and duration.

The registry belongs to the app (no module globals), so several apps in one process,
as in the tests, keep their own counts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from pacsbridge.store import outbox
from pacsbridge.store.database import Database
from pacsbridge.store.resources import utc_now


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "pacsbridge_http_requests_total", "HTTP requests answered",
            ["method", "route", "status"], registry=self.registry,
        )  # fmt: skip
        self.http_duration = Histogram(
            "pacsbridge_http_request_duration_seconds", "Time to answer an HTTP request",
            ["method", "route"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )  # fmt: skip

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class OutboxCollector:
    """Queue depth, dead letters and the oldest waiting message's age, read at each scrape."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("pacsbridge_outbox_waiting", "Outbound messages waiting",
                                  labels=["destination"])  # fmt: skip
        dead = GaugeMetricFamily("pacsbridge_outbox_dead", "Outbound messages dead-lettered",
                                 labels=["destination"])  # fmt: skip
        age = GaugeMetricFamily("pacsbridge_outbox_oldest_waiting_seconds",
                                "Age of the oldest waiting outbound message",
                                labels=["destination"])  # fmt: skip
        try:
            with self.database.reader.connect() as connection:
                states = outbox.queue_states(connection)
        except Exception:  # a scrape must not fail because the database is away
            states = []
        now = utc_now()
        for state in states:
            depth.add_metric([state.destination], state.depth)
            dead.add_metric([state.destination], state.dead)
            age.add_metric([state.destination], state.waiting_seconds(now) or 0.0)
        yield from (depth, dead, age)


class MetricsMiddleware:
    """Counts every HTTP request under its route template, not its raw path."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.http_requests.labels(method, route, str(status["code"])).inc()
            self.metrics.http_duration.labels(method, route).observe(time.perf_counter() - started)


_CONVERTOR = re.compile(r":\w+}")  # "{id:fhirid}" is labelled "{id}"


def _route_template(scope: Scope) -> str:
    """The matched route's path template, as Starlette left it in the scope (no re-match)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "other"
    return scope.get("root_path", "") + _CONVERTOR.sub("}", path)
