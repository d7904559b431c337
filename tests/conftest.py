"""Fixtures shared by every test: a database of each kind, and a real running server.

Every store-touching test runs twice, on SQLite and on PostgreSQL. PostgreSQL tests use a
database of their own, created for the test session (one per xdist worker) and dropped
after; set PACSBRIDGE_TEST_POSTGRES to point elsewhere than 127.0.0.1:5432/test.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest
import uvicorn
from sqlalchemy import create_engine, text

from pacsbridge.app import build_http_app, build_store, start_sender
from pacsbridge.config import Settings
from pacsbridge.dicom.ae import DicomListener
from pacsbridge.hl7v2.listener import MllpListener
from pacsbridge.hl7v2.receive import Receiver
from pacsbridge.profiles import Partner
from pacsbridge.store import Store

POSTGRES_ADMIN_URL = os.environ.get(
    "PACSBRIDGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATABASES = ["sqlite", "postgresql"]

# The brief's HIS puts modality, station and requester a few fields away from v2.5's places.
TEST_PARTNER = Partner(
    name="HOSPITAL_A",
    match={"sending_application": "HIS", "sending_facility": "HOSPITAL_A"},
    timezone="Europe/Madrid",
    charset="8859/1",
    accession="ORC.2",
    modality="OBR.25",
    requesting_physician="OBR.19",
    scheduled_station_ae="OBR.28.3",
    scheduled_start="OBR.7",
    station_name={"CT": "CT_ROOM_1"},
)


def _postgres_database(name: str) -> str:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres_database(name: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A fresh, empty database URL of each kind for the session."""
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("sqlite")
        yield f"sqlite:///{folder / 'pacsbridge.db'}"
        return
    name = f"pacsbridge_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield _postgres_database(name)
    _drop_postgres_database(name)


@pytest.fixture(params=DATABASES)
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind for one test that must not share the session's."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"pacsbridge_fresh_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield _postgres_database(name)
    _drop_postgres_database(name)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=database_url,
        host="127.0.0.1",
        http_port=free_port(),
        mllp_port=free_port(),
        dicom_port=free_port(),
        ae_title="PACSBRIDGE",
        partners=[TEST_PARTNER],
        dicom_peers=[
            {"ae_title": "NOSTATION", "worklist_station_from_calling_ae": True},
            {"ae_title": "STRICT", "worklist_fill_empty_keys": True},
        ],
    )


@pytest.fixture(scope="session")
def store(settings: Settings) -> Iterator[Store]:
    built = build_store(settings)
    yield built
    built.database.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningServer:
    """The real HTTP app and MLLP listener on real sockets, in a thread of the test process."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.listener = MllpListener(
            Receiver(store, settings.partners, settings.destinations), settings
        )
        self.dicom = DicomListener(store, settings)
        listeners = {"mllp": self.listener, "dicom": self.dicom}
        self.app = app = build_http_app(settings, store, listeners=listeners)
        self.settings, self.store = settings, store
        self.sender = None
        config = uvicorn.Config(app, host="127.0.0.1", port=settings.http_port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self.url = f"http://127.0.0.1:{settings.http_port}"
        self.mllp_port = settings.mllp_port
        self.dicom_port = settings.dicom_port

    async def _main(self) -> None:
        await self.listener.start("127.0.0.1", self.mllp_port)
        self.dicom.start("127.0.0.1", self.dicom_port)
        self.sender = start_sender(self.settings, self.store, self.app)
        self.app.state.audit.start()
        try:
            await self.server.serve()
        finally:
            if self.sender is not None:
                await self.sender.stop()
            self.dicom.stop()
            await self.listener.stop()
            self.app.state.audit.stop()

    def __enter__(self) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(settings: Settings, store: Store) -> Iterator[RunningServer]:
    with RunningServer(settings, store) as running:
        yield running


@pytest.fixture(scope="session")
def fhir_base(server: RunningServer) -> str:
    return f"{server.url}/fhir/R4"


@pytest.fixture(scope="session")
def schema_validator(fhir_schema_path: Path | None) -> jsonschema.Draft6Validator:
    if fhir_schema_path is None:
        pytest.fail("the FHIR R4 JSON schema is missing: run `make schema`")
    return jsonschema.Draft6Validator(json.loads(fhir_schema_path.read_text()))


def assert_schema_valid(validator: jsonschema.Draft6Validator, body: dict) -> None:
    problems = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    if problems:
        best = jsonschema.exceptions.best_match(problems)
        where = "/".join(str(p) for p in best.absolute_path)
        raise AssertionError(f"not valid FHIR R4 ({where}): {best.message[:300]}")


@pytest.fixture
def fhir(fhir_base: str, schema_validator: jsonschema.Draft6Validator) -> Iterator[httpx.Client]:
    """An HTTP client on the FHIR base of the running server.

    Every FHIR JSON body the server sends back is checked against the official R4 schema.
    """

    def check(response: httpx.Response) -> None:
        response.read()
        media = response.headers.get("content-type", "")
        if media.startswith("application/fhir+json") and response.content:
            assert_schema_valid(schema_validator, response.json())

    with httpx.Client(base_url=fhir_base, timeout=30, event_hooks={"response": [check]}) as client:
        yield client


@pytest.fixture
def unique() -> str:
    """A value no other test uses, to keep tests apart in a shared database."""
    return uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def fhir_schema_path() -> Path | None:
    """The official FHIR R4 JSON schema, installed by .ci/run outside the source tree."""
    candidates = [
        os.environ.get("PACSBRIDGE_FHIR_SCHEMA", ""),
        str(Path(__file__).resolve().parents[1] / ".cache/fhir-schema/fhir.schema.json"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None
