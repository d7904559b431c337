"""The demo's play: the seed's first workflow (DESIGN.md), step by step, on a running server.

A simulated HIS admits a patient and orders a CT; a simulated CT scanner finds the exam
on the worklist, reports it begun, sends images, reports it done; a radiologist signs a
report through FHIR; the HIS receives the order status and the report back. Nothing is
done inside pacsbridge: every step goes over the network as a real system's would, so
what the demo shows is what the console, the message log and the outbox then hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydicom.uid import generate_uid
from rich.console import Console

from pacsbridge.demo import orders
from pacsbridge.demo.failure import START_SERVER, DemoFailed
from pacsbridge.demo.his import Received, SimulatedHis
from pacsbridge.demo.modality import SimulatedModality, WorklistItem, status_text
from pacsbridge.demo.narration import Narrator
from pacsbridge.demo.scenario import CONCLUSION, Scenario, new_scenario
from pacsbridge.demo.server import LOOPBACK, PacsbridgeHttp
from pacsbridge.formats.hl7v2.acknowledgement import AckError
from pacsbridge.hl7v2.client import MllpClient


@dataclass(frozen=True)
class DemoOptions:
    """Where the server runs; the defaults are ``pacsbridge serve``'s."""

    host: str = "localhost"
    http_port: int = 8080
    mllp_port: int = 2575
    dicom_port: int = 11112
    ae_title: str = "PACSBRIDGE"
    his_port: int = 2576
    token: str | None = None
    timeout: float = 30.0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"


@dataclass
class DemoResult:
    """What the run made, for the summary (and for tests)."""

    scenario: Scenario
    his_messages: list[Received] = field(default_factory=list)
    study_uid: str = ""
    patient: str = ""  # Patient/ID
    imaging_study: str = ""  # ImagingStudy/ID
    report: str = ""  # DiagnosticReport/ID
    report_message: Received | None = None
    his_seen: int = 0  # how many of the HIS's messages were looked at so far


async def run_demo(options: DemoOptions, console: Console) -> DemoResult:
    """Play the workflow; raises :class:`DemoFailed` (already told to ``console``) on failure."""
    tell = Narrator(console)
    http = PacsbridgeHttp(options.base_url, options.token, options.timeout)
    scenario = new_scenario()
    his = SimulatedHis()
    try:
        return await _play(options, tell, http, his, scenario)
    except DemoFailed as failed:
        tell.failure(failed.text, failed.hint)
        raise
    finally:
        await his.stop()
        await http.close()


def _is_ours(scenario: Scenario, received: Received) -> bool:
    """A message about this run's order (other runs' late messages are answered, not shown)."""
    return scenario.placer_order in (received.get("ORC.2"), received.get("OBR.2"))


async def _play(options: DemoOptions, tell: Narrator, http: PacsbridgeHttp, his: SimulatedHis,
                scenario: Scenario) -> DemoResult:  # fmt: skip
    result = DemoResult(scenario)
    tell.title(f"pacsbridge demo: an order, an exam, a report ({options.base_url})")
    destination = await _check_server(options, tell, http)
    await _start_his(options, tell, his, destination)
    await _send_from_his(options, tell, scenario)
    item, images = await _perform_exam(options, tell, his, result)
    result.study_uid = item.study_uid

    tell.step("pacsbridge made the ImagingStudy (FHIR)")
    tell.sent(f"GET /fhir/R4/ImagingStudy?identifier=urn:dicom:uid|urn:oid:{item.study_uid}")
    study = await http.imaging_study(item.study_uid, images, options.timeout)
    result.imaging_study = f"ImagingStudy/{study['id']}"
    result.patient = study["subject"]["reference"]
    tell.answer(True, f"ImagingStudy/{study['id']}: {study.get('numberOfSeries')} series, "
                      f"{study.get('numberOfInstances')} images, for {result.patient}, "
                      f"based on {study['basedOn'][0]['reference']}")  # fmt: skip

    tell.step("A radiologist signs the report: DiagnosticReport (final) through FHIR")
    tell.sent(f"POST /fhir/R4/DiagnosticReport, status final, conclusion “{CONCLUSION}”")
    report = await http.sign_report(study)
    result.report = f"DiagnosticReport/{report['id']}"
    tell.answer(True, f"201 Created {result.report}")

    tell.step("The HIS receives the report: ORU^R01 from pacsbridge's outbox")
    result.report_message = await _await_report(options, tell, his, result, destination)
    tell.message(result.report_message.text)
    await _outbox_state(tell, http, result.patient, destination)
    tell.links(_links(options, result, await http.viewer_installed()))
    return result


async def _perform_exam(options: DemoOptions, tell: Narrator, his: SimulatedHis,
                        result: DemoResult) -> tuple[WorklistItem, int]:  # fmt: skip
    """The CT scanner's part: worklist, MPPS begun, images, MPPS done; the item and images."""
    modality = SimulatedModality(options.host, options.dicom_port, options.ae_title,
                                 options.timeout)  # fmt: skip
    item = await _find_on_worklist(tell, modality, result.scenario)
    step_uid = generate_uid()
    tell.step(f"The CT scanner begins the exam: MPPS N-CREATE to {options.ae_title}")
    tell.sent(f"IN PROGRESS, step {step_uid}, accession {item.accession}")
    _dimse_answer(tell, await asyncio.to_thread(modality.start_step, item, step_uid), "N-CREATE")
    await _order_status(options, tell, his, result, "IP")

    tell.step(f"The CT scanner sends its images: C-STORE to {options.ae_title}")
    series, statuses = await asyncio.to_thread(modality.store_images, item)
    tell.sent(f"{len(statuses)} CT images, series {series.series_uid}, study {item.study_uid}")
    for number, status in enumerate(statuses, 1):
        _dimse_answer(tell, status, f"C-STORE of image {number}")

    tell.step(f"The CT scanner ends the exam: MPPS N-SET to {options.ae_title}")
    tell.sent(f"COMPLETED, naming series {series.series_uid} and its {len(statuses)} images")
    _dimse_answer(tell, await asyncio.to_thread(modality.complete_step, step_uid, [series]),
                  "N-SET")  # fmt: skip
    await _order_status(options, tell, his, result, "CM")
    return item, len(statuses)


async def _check_server(options: DemoOptions, tell: Narrator, http: PacsbridgeHttp
                        ) -> dict[str, Any]:  # fmt: skip
    tell.step(f"Is pacsbridge running at {options.base_url}?")
    tell.sent("GET /healthz")
    health = await http.health()
    tell.answer(True, f"{health.get('status')}: version {health.get('version')}, database "
                      f"{health.get('database', {}).get('dialect')}")  # fmt: skip
    tell.sent("GET /api/destinations (where pacsbridge sends order status and reports)")
    destination = await http.his_destination(options.his_port, options.host)
    tell.answer(True, f"destination {destination['name']} → {destination['address']} "
                      f"({', '.join(destination['events'])})")  # fmt: skip
    return destination


async def _start_his(options: DemoOptions, tell: Narrator, his: SimulatedHis,
                     destination: dict[str, Any]) -> None:  # fmt: skip
    tell.step(f"A simulated HIS listens for HL7 on port {options.his_port}")
    bind = "127.0.0.1" if options.host in LOOPBACK else "0.0.0.0"  # noqa: S104 - remote server
    try:
        await his.start(bind, options.his_port)
    except OSError as exc:
        raise DemoFailed(
            f"the HIS cannot listen on port {options.his_port}: {exc.strerror or exc}",
            "is another demo still running? end it, or pick a free port with --his-port N and "
            "start the server with --destination DEMO-HIS=127.0.0.1:N",
        ) from exc
    tell.note(f"pacsbridge's destination {destination['name']} delivers here; the HIS answers "
              "every message with an ACK (AA)")  # fmt: skip


async def _send_from_his(options: DemoOptions, tell: Narrator, scenario: Scenario) -> None:
    where = f"{options.host}:{options.mllp_port}"
    messages = [
        (f"The HIS admits {scenario.given.title()} {scenario.family.title()}: ADT^A01 over MLLP "
         f"to {where}", orders.admit(scenario), scenario.control_id("ADT")),
        (f"A physician orders a CT: ORM^O01 (NW), accession {scenario.accession}",
         orders.order(scenario), scenario.control_id("ORM")),
    ]  # fmt: skip
    try:
        client = await asyncio.to_thread(_connect, options)
    except OSError as exc:
        raise DemoFailed(f"nothing listens for HL7 at {where} ({exc.strerror or exc})",
                         "is the server running with another --mllp-port? pass the same "
                         f"here; else {START_SERVER}") from exc  # fmt: skip
    try:
        for title, payload, control_id in messages:
            tell.step(title)
            tell.message(orders.readable(payload))
            try:
                ack = await asyncio.to_thread(client.send, payload, control_id)
            except (OSError, AckError) as exc:
                raise DemoFailed(
                    f"no ACK from {where}: {exc}",
                    "the server's log says why; then run the demo again",
                ) from exc
            ok = ack.code == "AA"
            said = f": {ack.text}" if ack.text else ""
            tell.answer(ok, f"ACK {ack.code} for {ack.control_id}{said}")
            if not ok:
                raise DemoFailed(f"pacsbridge answered {ack.code}: {ack.text}",
                                 "the console's message browser (/console/messages) shows the "
                                 "message and why it was refused")  # fmt: skip
    finally:
        client.close()


def _connect(options: DemoOptions) -> MllpClient:
    client = MllpClient(options.host, options.mllp_port, timeout=options.timeout)
    client.connect()
    return client


async def _find_on_worklist(tell: Narrator, modality: SimulatedModality, scenario: Scenario
                            ) -> WorklistItem:  # fmt: skip
    tell.step(f"The CT scanner ({modality.calling_ae}) asks the worklist: C-FIND to "
              f"{modality.called_ae} at {modality.host}:{modality.port}")  # fmt: skip
    tell.sent(f"Modality CT, Patient ID {scenario.patient_id} (the technologist's query)")
    answers = await asyncio.to_thread(modality.find_worklist, scenario.patient_id)
    items = [WorklistItem.from_answer(a) for a in answers]
    item = next((i for i in items if i.accession == scenario.accession), None)
    if item is None:
        raise DemoFailed(f"the worklist has no CT item for {scenario.patient_id} "
                         f"({len(items)} answers)",
                         "the order was accepted but made no worklist item: the console's "
                         "message browser (/console/messages) shows what it became")  # fmt: skip
    tell.answer(True, f"{len(items)} item: {item.patient_name}, {item.description}, accession "
                      f"{item.accession}")  # fmt: skip
    tell.note(f"Study Instance UID {item.study_uid} (made by pacsbridge for the order)")
    return item


def _dimse_answer(tell: Narrator, status: Any, what: str) -> None:
    ok, shown = status_text(status)
    tell.answer(ok, f"{what}: {shown}")
    if not ok:
        raise DemoFailed(f"{what} was refused: {shown}", "the server's log says why")


async def _order_status(options: DemoOptions, tell: Narrator, his: SimulatedHis,
                        result: DemoResult, status: str) -> None:  # fmt: skip
    """Wait for the ORM^O01 (or OMI^O23) telling the HIS that the exam is ``status``."""

    def wanted(r: Received) -> bool:
        return r.message.message_code in ("ORM", "OMI") and r.get("ORC.5") == status

    if await _wait_at_his(tell, his, result, wanted, options.timeout) is None:
        raise DemoFailed(f"the HIS got no order status {status} within {options.timeout:.0f} s",
                         _outbox_hint(options))  # fmt: skip


async def _await_report(options: DemoOptions, tell: Narrator, his: SimulatedHis,
                        result: DemoResult, destination: dict[str, Any]) -> Received:  # fmt: skip
    def wanted(r: Received) -> bool:
        return r.kind == "ORU^R01" and r.get("OBR.25") == "F"

    found = await _wait_at_his(tell, his, result, wanted, options.timeout)
    if found is None:
        raise DemoFailed(f"the HIS got no ORU^R01 within {options.timeout:.0f} s",
                         _outbox_hint(options, destination["name"]))  # fmt: skip
    return found


async def _wait_at_his(tell: Narrator, his: SimulatedHis, result: DemoResult,
                       wanted: Callable[[Received], bool], seconds: float
                       ) -> Received | None:  # fmt: skip
    """The first message of this run that is ``wanted``; shows each new one, in order.

    pacsbridge sends as soon as a change is committed, often before the modality has
    read its own answer; showing the HIS's messages here keeps the story in order.
    """
    scenario = result.scenario
    found = await his.wait_for(lambda r: _is_ours(scenario, r) and wanted(r), seconds)
    for received in his.received[result.his_seen :]:
        if _is_ours(scenario, received):
            tell.his_received(received)
            result.his_messages.append(received)
        result.his_seen += 1
    return found


def _outbox_hint(options: DemoOptions, name: str = "") -> str:
    which = f" --destination {name}" if name else ""
    return (
        f"`pacsbridge outbox list{which}` (or {options.base_url}/console/outbox) shows "
        "each attempt and its error; try a longer --timeout"
    )


async def _outbox_state(tell: Narrator, http: PacsbridgeHttp, patient: str,
                        destination: dict[str, Any]) -> None:  # fmt: skip
    """What the outbox says about this patient's messages, once the HIS has acknowledged."""
    entries: list[dict[str, Any]] = []
    for _ in range(20):  # the sender closes an entry a moment after the ACK
        entries = await http.outbox(patient, destination["name"])
        if entries and all(e["status"] == "sent" for e in entries):
            break
        await asyncio.sleep(0.1)
    shown = ", ".join(f"{e['type']} {e['status']}" for e in reversed(entries))
    tell.note(f"outbox for {patient} → {destination['name']}: {shown}")


def _links(options: DemoOptions, result: DemoResult, viewer: bool) -> list[tuple[str, str]]:
    base, scenario = options.base_url, result.scenario
    patient_id = result.patient.removeprefix("Patient/")
    return [
        ("the console", f"{base}/"),
        ("the HIS's messages", f"{base}/console/messages?patient={scenario.patient_id}"),
        ("the worklist (today, CT)", f"{base}/console/worklist?modality=CT"),
        ("the patient", f"{base}/console/patients/{patient_id}"),
        ("the study and its report", f"{base}/console/studies/{result.study_uid}"),
        ("what went to the HIS", f"{base}/console/outbox?patient={result.patient}"),
        ("the images" if viewer else "the images (after `pacsbridge viewer install`)",
         f"{base}/viewer/viewer?StudyInstanceUIDs={result.study_uid}"),
        ("the FHIR resources", f"{base}/fhir/R4/{result.report}"),
    ]  # fmt: skip
