"""HL7 v2 over real MLLP sockets: ACKs, what lands in the store, duplicates, charsets, merges."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from pacsbridge.hl7v2.receive import Frame, Receiver
from pacsbridge.store.tables import hl7_message, worklist_item

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hl7"
VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"


def mllp_exchange(port: int, payload: bytes, timeout: float = 30) -> bytes:
    """Send one framed message on a new connection and read one framed answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(VT + payload + FS + CR)
        return read_frame(sock)


def read_frame(sock: socket.socket) -> bytes:
    data = b""
    while FS + CR not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed without an answer; got {data!r}")
        data += chunk
    start = data.index(VT) + 1
    return data[start : data.index(FS + CR)]


def msa(ack: bytes) -> list[str]:
    segment = next(s for s in ack.split(b"\r") if s.startswith(b"MSA"))
    return segment.decode("latin-1").split("|")


def err(ack: bytes) -> str:
    return next((s.decode("latin-1") for s in ack.split(b"\r") if s.startswith(b"ERR")), "")


def hl7(*segments: str, charset: str = "latin-1") -> bytes:
    return ("\r".join(segments) + "\r").encode(charset)


def msh(control_id: str, message_type: str, *, version: str = "2.5", charset: str = "",
        sender: str = "HIS|HOSPITAL_A") -> str:  # fmt: skip
    tail = f"||||||{charset}" if charset else ""
    head = f"MSH|^~\\&|{sender}|PACSBRIDGE|RAD|20250315120000"
    return f"{head}||{message_type}|{control_id}|P|{version}{tail}"


def design_orm(control_id: str, order: str, patient: str) -> bytes:
    text = (FIXTURES / "design-orm-o01.hl7").read_bytes()
    return (text.replace(b"MSG001", control_id.encode()).replace(b"ORD-2025-001", order.encode())
            .replace(b"1234567890", patient.encode()))  # fmt: skip


@pytest.fixture
def port(server) -> int:
    return server.mllp_port


def test_design_orm_is_acknowledged_and_makes_patient_order_and_worklist_row(
    port, fhir_base, store, unique
):
    ack = mllp_exchange(port, design_orm(f"MSG-{unique}", f"ORD-{unique}", f"P{unique}"))
    assert msa(ack)[1:3] == ["AA", f"MSG-{unique}"]
    assert ack.startswith(b"MSH|^~\\&|MEDISFERA|PACS|HIS|HOSPITAL_A|")
    assert b"|ACK^O01^ACK|" in ack
    patients = httpx.get(f"{fhir_base}/Patient", params={"identifier": f"P{unique}"}).json()
    patient = patients["entry"][0]["resource"]
    assert patient["name"][0] == {"family": "GARCIA", "given": ["PEDRO", "M"]}
    assert patient["birthDate"] == "1975-10-22" and patient["gender"] == "male"
    # XAD as the brief writes it: street^other designation^city^state (the city is empty)
    assert patient["address"][0]["line"] == ["C/ MAYOR 1", "MADRID"]
    orders = httpx.get(f"{fhir_base}/ServiceRequest",
                       params={"patient": patient["id"]}).json()  # fmt: skip
    order = orders["entry"][0]["resource"]
    assert order["status"] == "active" and order["intent"] == "order"
    assert order["code"]["coding"][0] == {"system": "http://loinc.org", "code": "72193",
                                          "display": "TC ABDOMEN SIN CONTRASTE"}  # fmt: skip
    assert order["requester"]["display"] == "ANA DR LOPEZ"
    with store.reader() as reader:
        row = reader.connection.execute(
            select(worklist_item).where(worklist_item.c.service_request_id == order["id"])
        ).one()
    assert row.patient_id == f"P{unique}" and row.issuer_of_patient_id == "HIS"
    assert row.patient_name == "GARCIA^PEDRO^M"
    assert row.accession == f"ORD-{unique}"
    assert (row.modality, row.station_ae, row.station_name) == ("CT", "MEDISFERA_MWL", "CT_ROOM_1")
    assert row.sps_start_date == "20250315" and row.status == "SCHEDULED"
    assert row.procedure_code == "72193" and row.procedure_scheme == "LN"
    assert row.study_instance_uid.startswith("2.25.")


def test_resent_message_gets_the_stored_ack_and_is_applied_once(port, fhir_base, unique):
    message = design_orm(f"DUP-{unique}", f"ORD-{unique}", f"P{unique}")
    first = mllp_exchange(port, message)
    second = mllp_exchange(port, message)
    assert msa(first)[1] == "AA" and first == second
    orders = httpx.get(f"{fhir_base}/ServiceRequest",
                       params={"identifier": f"ORD-{unique}"}).json()  # fmt: skip
    assert orders["total"] == 1
    assert orders["entry"][0]["resource"]["meta"]["versionId"] == "1"


def test_cancel_of_unknown_order_answers_ae_204(port, unique):
    message = hl7(msh(f"CA-{unique}", "ORM^O01"), f"PID|1||P{unique}^^^HIS||DOE^JOHN",
                  f"ORC|CA|NOPE-{unique}", f"OBR|1|NOPE-{unique}||72193^CT^LN")  # fmt: skip
    ack = mllp_exchange(port, message)
    assert msa(ack)[1] == "AE"
    assert "204" in err(ack) and "ORC^1^2" in err(ack)


def test_cancel_of_known_order_cancels_the_worklist_step(port, fhir_base, store, unique):
    mllp_exchange(port, design_orm(f"NW-{unique}", f"ORD-{unique}", f"P{unique}"))
    cancel = hl7(msh(f"CX-{unique}", "ORM^O01"), f"PID|1||P{unique}^^^HIS||GARCIA^PEDRO",
                 f"ORC|CA|ORD-{unique}", f"OBR|1|ORD-{unique}||72193^CT^LN")  # fmt: skip
    assert msa(mllp_exchange(port, cancel))[1] == "AA"
    with store.reader() as reader:
        status = reader.connection.execute(
            select(worklist_item.c.status).where(worklist_item.c.accession == f"ORD-{unique}")
        ).scalar_one()
    assert status == "CANCELED"


def test_unsupported_message_type_answers_ar_200(port, unique):
    ack = mllp_exchange(port, hl7(msh(f"X-{unique}", "QRY^Q01"), "QRD|1"))
    assert msa(ack)[1] == "AR" and "200" in err(ack)


def test_unsupported_version_and_processing_id(port, unique):
    ack = mllp_exchange(port, hl7(msh(f"V-{unique}", "ADT^A08", version="3.0"), "PID|1||1"))
    assert msa(ack)[1] == "AR" and "203" in err(ack)


def test_garbage_frame_gets_an_ar_and_the_connection_stays_usable(port, unique):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"garbage before" + VT + b"not hl7 at all" + FS + CR)
        assert msa(read_frame(sock))[1] == "AR"
        sock.sendall(VT + hl7(msh(f"OK-{unique}", "ADT^A08"), f"PID|1||P{unique}^^^HIS||A^B")
                     + FS + CR)  # fmt: skip
        assert msa(read_frame(sock))[1] == "AA"


def test_missing_required_field_answers_ae_101_with_location(port, unique):
    ack = mllp_exchange(port, hl7(msh(f"M-{unique}", "ADT^A01"), "PID|1||"))
    assert msa(ack)[1] == "AE"
    assert "101" in err(ack) and "PID^1^3" in err(ack)


@pytest.mark.parametrize("encoding,declared", [("latin-1", "8859/1"), ("utf-8", "UNICODE UTF-8")])
def test_spanish_names_arrive_intact(port, fhir_base, unique, encoding, declared):
    message = hl7(msh(f"ES-{unique}", "ADT^A01", charset=declared),
                  f"PID|1||E{unique}^^^HIS||GARCÍA NÚÑEZ^MARÍA JOSÉ||19800101|F",
                  charset=encoding)  # fmt: skip
    assert msa(mllp_exchange(port, message))[1] == "AA"
    found = httpx.get(f"{fhir_base}/Patient", params={"identifier": f"E{unique}"}).json()
    name = found["entry"][0]["resource"]["name"][0]
    assert name == {"family": "GARCÍA NÚÑEZ", "given": ["MARÍA JOSÉ"]}


def test_undecodable_bytes_answer_ae_and_are_kept(port, store, unique):
    message = hl7(msh(f"BAD-{unique}", "ADT^A01", charset="UNICODE UTF-8"),
                  f"PID|1||B{unique}^^^HIS||GARC") + b"\xff\xfe\xfa|"  # fmt: skip
    ack = mllp_exchange(port, message)
    assert msa(ack)[1] == "AE"
    with store.reader() as reader:
        raw = reader.connection.execute(
            select(hl7_message.c.raw).where(hl7_message.c.control_id == f"BAD-{unique}")
        ).scalar_one()
    assert raw == message


def test_a40_merge_moves_orders_to_the_survivor(port, fhir_base, unique):
    mllp_exchange(port, design_orm(f"M1-{unique}", f"ORD-{unique}", f"OLD{unique}"))
    merge = hl7(msh(f"MRG-{unique}", "ADT^A40"), f"PID|1||NEW{unique}^^^HIS||GARCIA^PEDRO",
                f"MRG|OLD{unique}^^^HIS")  # fmt: skip
    assert msa(mllp_exchange(port, merge))[1] == "AA"
    new = httpx.get(f"{fhir_base}/Patient", params={"identifier": f"NEW{unique}"}).json()
    old = httpx.get(f"{fhir_base}/Patient", params={"identifier": f"OLD{unique}"}).json()
    new_id, old_patient = new["entry"][0]["resource"]["id"], old["entry"][0]["resource"]
    assert old_patient["active"] is False
    assert old_patient["link"][0] == {"other": {"reference": f"Patient/{new_id}"},
                                      "type": "replaced-by"}  # fmt: skip
    orders = httpx.get(f"{fhir_base}/ServiceRequest", params={"patient": new_id}).json()
    assert orders["total"] == 1
    again = hl7(msh(f"MRG2-{unique}", "ADT^A40"), f"PID|1||OLD{unique}^^^HIS||GARCIA^PEDRO",
                f"MRG|NEW{unique}^^^HIS")  # fmt: skip
    assert msa(mllp_exchange(port, again))[1] == "AE"  # circular
    unknown = hl7(msh(f"MRG3-{unique}", "ADT^A40"), f"PID|1||NEW{unique}^^^HIS||GARCIA^PEDRO",
                  f"MRG|NOBODY{unique}^^^HIS")  # fmt: skip
    ack = mllp_exchange(port, unknown)
    assert msa(ack)[1] == "AE" and "204" in err(ack)


def test_siu_books_an_appointment_and_moves_the_order_start(port, fhir_base, store, unique):
    mllp_exchange(port, design_orm(f"S0-{unique}", f"ORD-{unique}", f"P{unique}"))
    siu = hl7(msh(f"S12-{unique}", "SIU^S12"),
              f"SCH|APT-{unique}||||||^CT abdomen||||^^30^20250320093000^20250320100000"
              + "|" * 15 + f"ORD-{unique}",
              f"PID|1||P{unique}^^^HIS||GARCIA^PEDRO")  # fmt: skip
    ack = mllp_exchange(port, siu)
    assert msa(ack)[1] == "AA", err(ack)
    found = httpx.get(f"{fhir_base}/Appointment", params={"identifier": f"APT-{unique}"}).json()
    appointment = found["entry"][0]["resource"]
    assert appointment["status"] == "booked"
    assert appointment["start"] == "2025-03-20T09:30:00+01:00"
    with store.reader() as reader:
        row = reader.connection.execute(
            select(worklist_item).where(worklist_item.c.accession == f"ORD-{unique}")
        ).one()
    assert (row.sps_start_date, row.sps_start_time) == ("20250320", "093000")
    cancel = hl7(msh(f"S15-{unique}", "SIU^S15"), f"SCH|APT-{unique}",
                 f"PID|1||P{unique}^^^HIS||GARCIA^PEDRO")  # fmt: skip
    assert msa(mllp_exchange(port, cancel))[1] == "AA"
    found = httpx.get(f"{fhir_base}/Appointment", params={"identifier": f"APT-{unique}"}).json()
    assert found["entry"][0]["resource"]["status"] == "cancelled"


def test_oru_report_with_pdf_becomes_a_diagnostic_report(port, fhir_base, unique):
    mllp_exchange(port, design_orm(f"R0-{unique}", f"ORD-{unique}", f"P{unique}"))
    oru = hl7(msh(f"RPT-{unique}", "ORU^R01"), f"PID|1||P{unique}^^^HIS||GARCIA^PEDRO",
              f"OBR|1|ORD-{unique}||72193^TC ABDOMEN^LN|||20250315140000" + "|" * 18 + "F",
              "OBX|1|TX|59380-7^Impresión diagnóstica^LN||Estudio sin hallazgos.||||||F",
              "OBX|2|ED|PDF^Report||^Application^PDF^Base64^JVBERi0xLjQK||||||F",
              "OBX|3|NM|8867-4^Heart rate^LN||72|/min|||||F")  # fmt: skip
    ack = mllp_exchange(port, oru)
    assert msa(ack)[1] == "AA", err(ack)
    reports = httpx.get(
        f"{fhir_base}/DiagnosticReport",
        params={"identifier": f"urn:pacsbridge:report|ORD-{unique}"},
    ).json()
    report = reports["entry"][0]["resource"]
    assert report["status"] == "final"
    assert report["conclusion"] == "Estudio sin hallazgos."
    assert report["presentedForm"][0] == {"contentType": "application/pdf", "data": "JVBERi0xLjQK"}
    assert report["basedOn"][0]["reference"].startswith("ServiceRequest/")
    observation = httpx.get(f"{fhir_base}/{report['result'][0]['reference']}").json()
    assert observation["valueQuantity"] == {"value": 72, "unit": "/min"}


def test_enhanced_mode_answers_commit_acks(port, unique):
    header = msh(f"EN-{unique}", "ADT^A08") + "|||AL|NE"
    ack = mllp_exchange(port, hl7(header, f"PID|1||N{unique}^^^HIS||A^B"))
    assert msa(ack)[1] == "CA"


def test_batch_gets_one_ack_per_message(port, unique):
    batch = hl7("BHS|^~\\&|HIS|HOSPITAL_A",
                msh(f"B1-{unique}", "ADT^A08"), f"PID|1||B1{unique}^^^HIS||A^B",
                msh(f"B2-{unique}", "QRY^Q01"), "QRD|1",
                "BTS|2")  # fmt: skip
    ack = mllp_exchange(port, batch)
    codes = [line.split(b"|")[1] for line in ack.split(b"\r") if line.startswith(b"MSA")]
    assert codes == [b"AA", b"AR"]


def test_concurrent_senders_share_commits_and_a_bad_message_spoils_only_itself(
    port, fhir_base, unique
):
    """Eight connections at once: messages are grouped into commits (savepoint each)."""
    from concurrent.futures import ThreadPoolExecutor

    def sender(n: int) -> list[str]:
        codes = []
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            for m in range(10):
                gender = "X" if m % 3 == 0 else "F"  # X is not in table 0001: AE
                sock.sendall(VT + hl7(msh(f"G{n}-{m}-{unique}", "ADT^A04"),
                                      f"PID|1||G{n}-{m}-{unique}^^^HIS||DOE^JANE||19800101|{gender}")
                             + FS + CR)  # fmt: skip
                codes.append(msa(read_frame(sock))[1])
        return codes

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(sender, range(8)))
    assert all(codes == ["AE", "AA", "AA"] * 3 + ["AE"] for codes in results), results
    stored = [httpx.get(f"{fhir_base}/Patient", params={"identifier": f"G{n}-{m}-{unique}"})
              .json()["total"] for n in range(8) for m in range(10)]  # fmt: skip
    assert stored == [0 if m % 3 == 0 else 1 for _ in range(8) for m in range(10)]


def test_groups_that_lock_patients_in_opposite_orders_are_run_again(store, unique, monkeypatch):
    """Two groups, patients A then B and B then A: on PostgreSQL they deadlock on the
    patients' identifier locks, the database undoes one, and that group runs again.
    Every message is answered AA and each patient exists once."""
    receiver = Receiver(store, [])
    frames = {f"{name}{n}": Frame(hl7(msh(f"D{name}{n}-{unique}", "ADT^A04"),
                              f"PID|1||D{name}{unique}^^^HIS||DOE^{name}"), None)
              for name in "AB" for n in (1, 2)}  # fmt: skip
    hold = store.database.lock

    def slow_lock(connection, key: str) -> None:  # both groups take their first lock first
        hold(connection, key)
        if f"identifier=DA{unique}" in key or f"identifier=DB{unique}" in key:
            time.sleep(0.2)

    monkeypatch.setattr(store.database, "lock", slow_lock)
    answers: dict[str, list] = {}
    groups = {"AB": [frames["A1"], frames["B1"]], "BA": [frames["B2"], frames["A2"]]}
    threads = [threading.Thread(target=lambda k=k: answers.__setitem__(
        k, receiver.receive_group(groups[k]))) for k in groups]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    codes = [msa(answer)[1] for group in answers.values() for answer in group]
    assert codes == ["AA"] * 4, answers
    with store.transaction("test") as transaction:
        for name in "AB":
            assert len(transaction.find_by_identifier("Patient", f"D{name}{unique}")) == 1
