"""A server with one HL7 destination, the HIS simulator behind it, on each database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from pacsbridge.app import build_store
from pacsbridge.config import Settings
from pacsbridge.profiles.destination import Destination
from tests.conftest import TEST_PARTNER, RunningServer, free_port
from tests.hl7v2.test_listener import pki  # noqa: F401 - the CA and certificates fixture
from tests.outbox.his import HisSimulator, always_aa


@pytest.fixture(scope="module")
def his() -> Iterator[HisSimulator]:
    simulator = HisSimulator().start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def notices() -> Iterator[HisSimulator]:
    """A second receiver: images and patient notices, and forwarded ADT."""
    simulator = HisSimulator().start()
    yield simulator
    simulator.stop()


@pytest.fixture
def answering(his: HisSimulator) -> Iterator[HisSimulator]:
    """The simulator, answering AA again after the test whatever it was told."""
    yield his
    his.behaviour = always_aa


def destination(his: HisSimulator, **options: object) -> Destination:
    """Short timeouts and backoff, so that retries and dead letters happen within a test."""
    values: dict[str, object] = dict(
        name=f"HIS_{uuid.uuid4().hex[:8]}", host="127.0.0.1", port=his.port,
        ack_timeout_seconds=1.5, retry_base_seconds=0.3, retry_max_seconds=1.0,
        max_attempts=4, connections=4, charset="8859/1",
    )  # fmt: skip
    return Destination(**{**values, **options})


@pytest.fixture(scope="module")
def outbound(database_url: str, his: HisSimulator, notices: HisSimulator,
             tmp_path_factory) -> Iterator[RunningServer]:  # fmt: skip
    """pacsbridge with the simulator as ``destinations[0]`` and ``notices`` as ``[1]``."""
    notice_destination = destination(
        notices, events=["images", "patient"], charset="UNICODE UTF-8",
        forward=[{"message_type": "ADT^*", "sending_application": "HIS"}],
    )  # fmt: skip
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("outbound"), database_url=database_url,
        host="127.0.0.1", http_port=free_port(), mllp_port=free_port(), dicom_port=free_port(),
        ae_title="PACSBRIDGE", partners=[TEST_PARTNER],
        destinations=[destination(his), notice_destination],
    )  # fmt: skip
    store = build_store(settings)
    with RunningServer(settings, store) as running:
        yield running
    store.database.dispose()
