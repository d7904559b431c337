"""`pacsbridge demo` against a running server: the whole first workflow, and its refusals.

The demo is a client: it plays over real sockets against a RunningServer whose outbox
has a destination to the demo's HIS port, as `make run` configures one.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pacsbridge.app import build_store
from pacsbridge.cli import app
from pacsbridge.config import Settings
from pacsbridge.demo import DemoFailed, DemoOptions, DemoResult, run_demo
from pacsbridge.demo.scenario import CONCLUSION, FINDINGS
from pacsbridge.profiles.destination import parse_destination_flag
from pacsbridge.store import Store
from tests.conftest import RunningServer, free_port


def play(options: DemoOptions) -> tuple[DemoResult | DemoFailed, str]:
    """Run the demo; what it returned (or the failure it raised), and what it printed."""
    screen = io.StringIO()
    console = Console(file=screen, width=200, color_system=None)
    try:
        outcome: DemoResult | DemoFailed = asyncio.run(run_demo(options, console))
    except DemoFailed as failed:
        outcome = failed
    return outcome, screen.getvalue()


def options_for(server: RunningServer, his_port: int, **more: object) -> DemoOptions:
    values: dict = dict(
        host="127.0.0.1",
        http_port=server.settings.http_port,
        mllp_port=server.mllp_port,
        dicom_port=server.dicom_port,
        ae_title=server.settings.ae_title,
        his_port=his_port,
        timeout=20.0,
    )
    return DemoOptions(**{**values, **more})


@pytest.fixture(scope="module")
def demo_server(settings: Settings, tmp_path_factory) -> Iterator[tuple[RunningServer, int]]:
    """`make run`'s server: a destination to the demo HIS (on a free port here).

    A store of its own on the session's database: the outbound rules are bound to the
    destinations when the store is built.
    """
    his_port = free_port()
    configured = settings.model_copy(
        update={
            "data_dir": tmp_path_factory.mktemp("demo"),
            "http_port": free_port(),
            "mllp_port": free_port(),
            "dicom_port": free_port(),
            "destinations": [parse_destination_flag(f"DEMO-HIS=127.0.0.1:{his_port}")],
        }
    )
    store = build_store(configured)
    with RunningServer(configured, store) as running:
        yield running, his_port
    store.database.dispose()


def test_demo_plays_the_workflow_and_the_his_receives_the_report(demo_server):
    server, his_port = demo_server
    result, shown = play(options_for(server, his_port))
    assert isinstance(result, DemoResult), shown

    kinds = [(m.kind, m.get("ORC.1"), m.get("ORC.5")) for m in result.his_messages]
    assert kinds == [("ORM^O01", "SC", "IP"), ("ORM^O01", "SC", "CM"), ("ORU^R01", "RE", "")]
    oru = result.report_message
    assert oru is not None and oru.get("OBR.25") == "F"
    assert oru.get("OBR.2") == result.scenario.placer_order
    assert oru.get("PID.3.1") == result.scenario.patient_id
    observations = [segment.value(5) for segment in oru.message.all("OBX")]
    assert CONCLUSION in observations and FINDINGS.splitlines()[0] in observations

    assert shown.count("ACK AA") == 2 and "0x0000 Success" in shown
    assert f"/console/studies/{result.study_uid}" in shown
    assert f"/viewer/viewer?StudyInstanceUIDs={result.study_uid}" in shown
    assert "ORM^O01 sent, ORM^O01 sent, ORU^R01 sent" in shown


def test_a_second_run_makes_a_new_patient_and_order(demo_server):
    server, his_port = demo_server
    first, _ = play(options_for(server, his_port))
    second, shown = play(options_for(server, his_port))
    assert isinstance(first, DemoResult) and isinstance(second, DemoResult), shown
    assert first.scenario.accession != second.scenario.accession
    assert first.study_uid != second.study_uid and first.patient != second.patient


def test_demo_without_a_server_says_to_start_one():
    result, shown = play(DemoOptions(host="127.0.0.1", http_port=free_port(), timeout=5))
    assert isinstance(result, DemoFailed)
    assert "is not running" in result.text and "make run" in result.hint
    assert "What to do:" in shown and "pacsbridge serve" in shown


def test_demo_against_a_server_without_its_destination_says_how_to_restart(server):
    his_port = free_port()
    result, _ = play(options_for(server, his_port))
    assert isinstance(result, DemoFailed)
    assert f"--destination DEMO-HIS=127.0.0.1:{his_port}" in result.hint


def test_demo_against_a_server_requiring_tokens_says_to_pass_one(settings: Settings, store: Store):
    locked = settings.model_copy(
        update={
            "auth": "required",
            "http_port": free_port(),
            "mllp_port": free_port(),
            "dicom_port": free_port(),
        }
    )
    with RunningServer(locked, store) as running:
        result, _ = play(options_for(running, free_port()))
    assert isinstance(result, DemoFailed) and "401" in result.text
    assert "--token" in result.hint and "--auth open" in result.hint


def test_demo_command_exits_1_with_what_to_do():
    answer = CliRunner().invoke(
        app, ["demo", "--host", "127.0.0.1", "--http-port", str(free_port()), "--timeout", "5"]
    )
    assert answer.exit_code == 1
    assert "make run" in answer.output and "Traceback" not in answer.output
