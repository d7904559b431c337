"""Delivery to a real MLLP peer: ACK matching, retries, dead letters, order per patient.

Reports are written through FHIR on the outbound server; each becomes one ORU^R01 that
the HIS simulator receives on its socket. Every assertion is on what crossed the wire
or on the outbox rows the sender left.
"""

from __future__ import annotations

import time

import httpx

from pacsbridge.store import outbox
from tests.outbox.his import ack_for, always_aa, field_of


def new_patient(base: str, unique: str, suffix: str = "") -> tuple[str, str]:
    """A Patient written through FHIR; its id and its MRN."""
    mrn = f"OUT{unique}{suffix}"
    body = {"resourceType": "Patient", "identifier": [
        {"system": "urn:pacsbridge:id:HIS", "value": mrn}],
        "name": [{"family": "Núñez", "given": ["Inés"]}], "birthDate": "1980-02-29",
        "gender": "female"}  # fmt: skip
    created = httpx.post(f"{base}/fhir/R4/Patient", json=body)
    assert created.status_code == 201, created.text
    return created.json()["id"], mrn


def post_report(base: str, patient_id: str, conclusion: str, status: str = "final") -> str:
    body = {"resourceType": "DiagnosticReport", "status": status,
            "code": {"coding": [{"system": "http://loinc.org", "code": "18748-4"}]},
            "subject": {"reference": f"Patient/{patient_id}"},
            "conclusion": conclusion}  # fmt: skip
    created = httpx.post(f"{base}/fhir/R4/DiagnosticReport", json=body)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def entries(server, patient_id: str) -> list[outbox.OutboxEntry]:
    """The patient's messages to the first destination (the HIS), oldest first."""
    with server.store.database.reader.connect() as connection:
        found = outbox.list_entries(connection, partition_key=f"Patient/{patient_id}",
                                    destination=server.settings.destinations[0].name)  # fmt: skip
    return sorted(found, key=lambda e: e.pk)


def wait_until(check, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def conclusions(received) -> list[str]:
    return [r.raw.decode("latin-1").split("19005-8")[1].split("|")[2] for r in received]


def test_a_final_report_leaves_as_oru_and_its_ack_closes_the_entry(outbound, answering, unique):
    patient_id, mrn = new_patient(outbound.url, unique)
    post_report(outbound.url, patient_id, "Sin hallazgos.")
    [message] = answering.wait_for(1, mrn)
    assert message.field("MSH", 9) == "ORU^R01^ORU_R01"
    assert message.field("MSH", 18) == "8859/1"
    assert message.field("OBR", 25) == "F"
    assert message.field("PID", 5) == "Núñez^Inés"  # read as ISO 8859-1, as MSH-18 says
    assert "Núñez".encode("latin-1") in message.raw
    [entry] = wait_until(lambda: [e for e in entries(outbound, patient_id) if e.status == "sent"])
    assert entry.control_id == message.field("MSH", 10) and entry.ack_code == "AA"


def test_destination_down_then_back_delivers_everything_once_in_order(outbound, answering,
                                                                      unique):  # fmt: skip
    answering.stop()
    try:
        patients = [new_patient(outbound.url, unique, suffix) for suffix in "AB"]
        for n in range(3):
            for patient_id, _ in patients:
                post_report(outbound.url, patient_id, f"informe {n}")
        # each patient's first message fails (connection refused) before the HIS is back
        assert wait_until(lambda: all(entries(outbound, p)[0].last_error for p, _ in patients))
    finally:
        answering.restart()
    for patient_id, mrn in patients:
        received = answering.wait_for(3, mrn)
        assert conclusions(received) == ["informe 0", "informe 1", "informe 2"]
        controls = [r.field("MSH", 10) for r in received]
        assert len(set(controls)) == 3
        done = wait_until(lambda p=patient_id: all(e.status == "sent" for e in entries(outbound, p))
                          and len(entries(outbound, p)) == 3)  # fmt: skip
        assert done, entries(outbound, patient_id)
        assert entries(outbound, patient_id)[0].attempts > 1


def test_ae_twice_then_aa_is_delivered_and_the_retries_are_logged(outbound, answering, unique):
    patient_id, mrn = new_patient(outbound.url, unique)
    seen: list[bytes] = []

    def behaviour(message: bytes) -> list[bytes]:
        if field_of(message, "PID", 3).split("^")[0] != mrn:
            return always_aa(message)
        seen.append(message)
        return [ack_for(message, "AE" if len(seen) <= 2 else "AA", "busy")]

    answering.behaviour = behaviour
    post_report(outbound.url, patient_id, "informe")
    received = answering.wait_for(3, mrn)
    assert len({r.field("MSH", 10) for r in received}) == 1  # the same message, resent
    [entry] = wait_until(lambda: [e for e in entries(outbound, patient_id) if e.status == "sent"])
    with outbound.store.database.reader.connect() as connection:
        _, attempts = outbox.get_entry(connection, entry.pk)
    assert [a.outcome for a in attempts] == ["AE", "AE", "AA"]
    assert attempts[0].error == "busy"


def test_a_silent_destination_dead_letters_while_other_patients_keep_moving(
    outbound, answering, unique
):
    silent_id, silent_mrn = new_patient(outbound.url, unique, "S")
    other_id, other_mrn = new_patient(outbound.url, unique, "O")

    def behaviour(message: bytes) -> list[bytes]:
        if field_of(message, "PID", 3).split("^")[0] == silent_mrn:
            return []
        return always_aa(message)

    answering.behaviour = behaviour
    post_report(outbound.url, silent_id, "nunca")
    time.sleep(0.1)
    started = time.monotonic()
    post_report(outbound.url, other_id, "pasa")
    assert answering.wait_for(1, other_mrn, seconds=5)
    assert time.monotonic() - started < 2.5  # not held behind the silent patient
    [dead] = wait_until(lambda: [e for e in entries(outbound, silent_id) if e.status == "dead"],
                        seconds=30)  # fmt: skip
    assert dead.attempts == 4 and "no ACK" in (dead.last_error or "")
    answering.behaviour = always_aa
    with outbound.store.database.writer.begin() as connection:
        assert outbox.retry(connection, dead.pk, dead.created_at)
    assert wait_until(lambda: entries(outbound, silent_id)[0].status == "sent")


def test_a_late_ack_for_another_message_is_not_taken_for_this_one(outbound, answering, unique):
    patient_id, mrn = new_patient(outbound.url, unique)
    first = {"done": False}

    def behaviour(message: bytes) -> list[bytes]:
        if field_of(message, "PID", 3).split("^")[0] != mrn:
            return always_aa(message)
        if not first["done"]:  # a stale AA for an old control ID, then this one's AE
            first["done"] = True
            stale = message.replace(field_of(message, "MSH", 10).encode(), b"PBSTALE0001")
            return [ack_for(stale, "AA"), ack_for(message, "AE", "try again")]
        return [ack_for(message, "AA")]

    answering.behaviour = behaviour
    post_report(outbound.url, patient_id, "informe")
    [entry] = wait_until(lambda: [e for e in entries(outbound, patient_id) if e.status == "sent"])
    with outbound.store.database.reader.connect() as connection:
        _, attempts = outbox.get_entry(connection, entry.pk)
    assert [a.outcome for a in attempts] == ["AE", "AA"]


def test_an_ar_is_dead_lettered_at_once_and_can_be_cancelled_or_retried(outbound, answering,
                                                                        unique):  # fmt: skip
    patient_id, mrn = new_patient(outbound.url, unique)
    answering.behaviour = lambda m: [ack_for(m, "AR", "unknown patient")]
    post_report(outbound.url, patient_id, "informe")
    [dead] = wait_until(lambda: [e for e in entries(outbound, patient_id) if e.status == "dead"])
    assert dead.attempts == 1 and dead.ack_code == "AR"
    with outbound.store.database.writer.begin() as connection:
        assert outbox.cancel(connection, dead.pk, dead.created_at)
        assert not outbox.cancel(connection, dead.pk, dead.created_at)  # already cancelled
    assert entries(outbound, patient_id)[0].status == "cancelled"
    assert len(answering.of_patient(mrn)) == 1


def test_tls_destination_with_a_client_certificate(pki, unique):
    """The sender's connection over TLS, checking the HIS's certificate and showing ours."""
    import asyncio
    import ssl

    from pacsbridge.formats.hl7v2.mllp import MllpFramer, frame
    from pacsbridge.outbox.sender import Connection
    from pacsbridge.profiles.destination import Destination

    async def scenario() -> str:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.pem"))
        context.load_cert_chain(pki / "server.pem", pki / "server.key")
        context.verify_mode = ssl.CERT_REQUIRED  # a client without a certificate is refused

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            framer = MllpFramer()
            while data := await reader.read(65536):
                for message in framer.feed(data):
                    writer.write(frame(ack_for(message)))
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
        port = server.sockets[0].getsockname()[1]
        destination = Destination(
            name="TLS", host="127.0.0.1", port=port, tls=True, tls_ca=str(pki / "ca.pem"),
            tls_certificate=str(pki / "client.pem"), tls_key=str(pki / "client.key"),
        )  # fmt: skip
        connection = Connection(destination)
        message = f"MSH|^~\\&|PACSBRIDGE||HIS||20250315||ORU^R01|T{unique}|P|2.5.1\rPID|1||X\r"
        ack = await connection.exchange(message.encode(), f"T{unique}")
        await connection.close()
        server.close()
        return ack.code

    assert asyncio.run(scenario()) == "AA"
