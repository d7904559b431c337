"""The composition root: settings in, a running pacsbridge out.

Builds the store (migrating the database first), registers the workflow rules on its
hooks, and assembles the HTTP application from each face's routes. Nothing imports this
module but the CLI and the tests.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route

from pacsbridge import __version__
from pacsbridge.auth.audit import AuditTrail
from pacsbridge.auth.keys import KeyRing
from pacsbridge.auth.middleware import AuthMiddleware, fhir_audiences
from pacsbridge.auth.routes import authorization_routes, smart_configuration_routes
from pacsbridge.config import Settings
from pacsbridge.console import console_routes
from pacsbridge.dicom.ae import DicomListener
from pacsbridge.dicomweb import CORS_MIDDLEWARE, DicomwebEndpoints, dicomweb_routes
from pacsbridge.fhir.router import FhirEndpoints, fhir_routes
from pacsbridge.hl7v2.listener import MllpListener
from pacsbridge.hl7v2.receive import Receiver
from pacsbridge.ops.health import health_endpoint
from pacsbridge.ops.logging import configure_logging
from pacsbridge.ops.maintenance import imaging_study_loop, maintenance_loop
from pacsbridge.ops.metrics import Metrics, MetricsMiddleware, OutboxCollector
from pacsbridge.ops.outbox_api import outbox_routes
from pacsbridge.outbox.sender import OutboxSender, SenderMetrics
from pacsbridge.rules import RULES
from pacsbridge.rules.outbound import outbound_rules
from pacsbridge.store import Hooks, Store, open_database
from pacsbridge.store.migrate import upgrade
from pacsbridge.store.search.params import load_registry
from pacsbridge.viewer import viewer_routes

log = logging.getLogger("pacsbridge")


def build_store(settings: Settings) -> Store:
    """Open and migrate the database; the store with every rule registered."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = open_database(
        settings.effective_database_url(),
        pool_size=settings.database_pool_size,
        synchronous=settings.sqlite_synchronous,
        read_timeout_seconds=settings.read_timeout_seconds,
        sqlite_cache_mib=settings.sqlite_cache_mib,
    )
    upgrade(database)
    hooks = Hooks()
    hooks.resource_changed.extend([*RULES, *outbound_rules(settings.destinations)])
    return Store(
        database,
        load_registry(),
        hooks=hooks,
        default_count=settings.search_default_count,
        max_count=settings.search_max_count,
    )


def build_http_app(
    settings: Settings, store: Store, listeners: dict[str, Any] | None = None
) -> Starlette:
    metrics = Metrics()
    keys = KeyRing(store.database)
    audit = AuditTrail(store, enabled=settings.audit)
    fhir = FhirEndpoints(store, settings, audit)

    routes = [
        Route(
            "/healthz", health_endpoint(store.database, listeners or {}), methods=["GET", "HEAD"]
        ),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        *smart_configuration_routes(settings),
        Mount("/auth", routes=authorization_routes(store, settings, keys)),
        Mount("/fhir/R4", routes=fhir_routes(fhir)),
        Mount(
            "/dicomweb",
            routes=dicomweb_routes(DicomwebEndpoints(store, settings, audit)),
            middleware=CORS_MIDDLEWARE,
        ),
        Mount("/api", routes=outbox_routes(store, settings, lambda: _sender_state(app))),
        Route("/viewer", lambda request: RedirectResponse(url="/viewer/"), methods=["GET"]),
        Mount("/viewer", routes=viewer_routes(settings.data_dir)),
        # "/" redirects to the console; reprocessing a message reuses the HL7 face's pipeline
        *console_routes(
            store, settings, listeners or {}, reprocess=Receiver(store, settings.partners).reprocess
        ),
    ]
    gate = Middleware(
        AuthMiddleware, mode=settings.auth, keys=keys, database=store.database,
        audiences=fhir_audiences(settings.base_url), audit=audit,
    )  # fmt: skip
    app = Starlette(
        routes=routes, middleware=[Middleware(MetricsMiddleware, metrics=metrics), gate]
    )
    app.state.store = store
    app.state.keys = keys
    app.state.audit = audit
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.sender = None
    metrics.registry.register(OutboxCollector(store.database))
    return app


def _sender_state(app: Starlette) -> dict[str, str]:
    sender = app.state.sender
    return dict(sender.state) if sender is not None else {}


def start_sender(settings: Settings, store: Store, app: Starlette) -> OutboxSender | None:
    """The outbox workers of this process, when it has destinations and sends (not off)."""
    if not settings.destinations or not settings.outbox_workers:
        return None
    sender = OutboxSender(store, settings.destinations,
                          metrics=SenderMetrics(app.state.metrics.registry))  # fmt: skip
    sender.start()
    app.state.sender = sender
    return sender


def serve(settings: Settings) -> None:
    """Run every listener of this version in one process until interrupted."""
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(run(settings))


async def run(settings: Settings) -> None:
    store = build_store(settings)
    listener = MllpListener(Receiver(store, settings.partners, settings.destinations), settings)
    dicom = DicomListener(store, settings)
    app = build_http_app(settings, store, listeners={"mllp": listener, "dicom": dicom})
    audit: AuditTrail = app.state.audit
    audit.start()
    await listener.start(settings.host, settings.mllp_port)
    dicom.start(settings.host, settings.dicom_port)
    sender = start_sender(settings, store, app)
    maintenance = asyncio.create_task(maintenance_loop(
        store, settings.message_retention_days, audit_retention_days=settings.audit_retention_days
    ))  # fmt: skip
    studies = asyncio.create_task(imaging_study_loop(store, settings.public_url("/dicomweb")))
    announce(settings, store)
    # What start-up made (models, tables, templates) lives as long as the process: out of
    # the collector's reach, full collections stay short and stop pausing requests.
    gc.collect()
    gc.freeze()
    try:
        await uvicorn.Server(http_config(settings, app)).serve()
    finally:
        maintenance.cancel()
        studies.cancel()
        if sender is not None:
            await sender.stop()
        dicom.stop()
        await listener.stop()
        audit.stop()
        store.database.dispose()


def http_config(settings: Settings, app: Starlette) -> uvicorn.Config:
    """uvicorn's configuration for the HTTP faces.

    TLS when a certificate is set. X-Forwarded-For and -Proto are believed only from the
    proxies in ``forwarded_allow_ips``: from anyone else they would let a client choose
    the address that the audit trail records.
    """
    tls: dict[str, Any] = {}
    if settings.http_tls_certificate is not None and settings.http_tls_key is not None:
        tls = {"ssl_certfile": str(settings.http_tls_certificate),
               "ssl_keyfile": str(settings.http_tls_key)}  # fmt: skip
    proxies = list(settings.forwarded_allow_ips)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        **tls,
    )


def announce(settings: Settings, store: Store) -> None:
    """The start-up line, and a warning for each way the server is open to its network."""
    scheme = "https" if settings.http_tls_certificate is not None else "http"
    log.info(
        "pacsbridge %s ready: FHIR at %s://%s:%d/fhir/R4, MLLP%s on port %d, DICOM %s%s on "
        "port %d, database %s",
        __version__, scheme, settings.host, settings.http_port,
        " (TLS)" if settings.mllp_tls_certificate else "", settings.mllp_port, settings.ae_title,
        " (TLS)" if settings.dicom_tls_certificate else "", settings.dicom_port,
        store.database.dialect,
    )  # fmt: skip
    if settings.auth == "open":
        log.warning(
            "AUTHENTICATION IS OFF (auth = open): anyone who can reach port %d can read and "
            "change patient data. Use auth = required outside a closed network.",
            settings.http_port,
        )
    elif scheme == "http" and not settings.forwarded_allow_ips:
        log.warning(
            "HTTP without TLS: tokens and passwords cross the network in clear; set "
            "http_tls_certificate or put a TLS reverse proxy in front (forwarded_allow_ips)"
        )
