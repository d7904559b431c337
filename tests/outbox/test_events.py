"""The other outbound events: patient notices, images available, forwarding, and validity.

The ``notices`` simulator is the second destination: it wants images and patient events
(UTF-8) and has a forwarding rule for ADT from the HIS.
"""

from __future__ import annotations

import hl7 as python_hl7
import httpx
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from pydicom import dcmread
from pydicom.uid import generate_uid

from pacsbridge.store import outbox
from tests.dicom.test_storage import c_store, fresh_ct
from tests.hl7v2.test_receive import design_orm, hl7, mllp_exchange, msa, msh
from tests.outbox.test_delivery import new_patient, post_report


def test_a_patient_written_through_fhir_is_announced_and_a_merge_is_an_a40(outbound, notices,
                                                                            unique):  # fmt: skip
    fhir = f"{outbound.url}/fhir/R4"
    survivor_id, survivor_mrn = new_patient(outbound.url, unique, "K")
    [created] = notices.wait_for(1, survivor_mrn)
    assert created.field("MSH", 9) == "ADT^A04^ADT_A01" and created.field("EVN", 1) == "A04"
    assert created.raw.decode("utf-8").count("Núñez^Inés") == 1  # UTF-8, as configured
    patient = httpx.get(f"{fhir}/Patient/{survivor_id}").json()
    patient["birthDate"] = "1980-03-01"
    assert httpx.put(f"{fhir}/Patient/{survivor_id}", json=patient).status_code == 200
    [_, edited] = notices.wait_for(2, survivor_mrn)
    assert edited.field("MSH", 9) == "ADT^A08^ADT_A01" and edited.field("PID", 7) == "19800301"

    old_id, old_mrn = new_patient(outbound.url, unique, "X")
    old = httpx.get(f"{fhir}/Patient/{old_id}").json()
    old |= {"active": False, "link": [{"other": {"reference": f"Patient/{survivor_id}"},
                                       "type": "replaced-by"}]}  # fmt: skip
    assert httpx.put(f"{fhir}/Patient/{old_id}", json=old).status_code == 200
    merged = notices.wait_for(3, survivor_mrn)[2]
    assert merged.field("MSH", 9) == "ADT^A40^ADT_A39"
    assert merged.field("MRG", 1) == f"{old_mrn}^^^HIS"


def test_adt_from_the_his_is_forwarded_unchanged_not_echoed(outbound, notices, unique):
    message = hl7(msh(f"FW-{unique}", "ADT^A08", charset="8859/1"),
                  f"PID|1||FW{unique}^^^HIS||PÉREZ^LUIS||19700101|M")  # fmt: skip
    assert msa(mllp_exchange(outbound.mllp_port, message))[1] == "AA"
    [forwarded] = notices.wait_for(1, f"FW{unique}")
    assert forwarded.raw == message.rstrip(b"\r") + b"\r" or forwarded.raw == message
    assert len(notices.of_patient(f"FW{unique}")) == 1  # no A08 of our own: it came by HL7
    with outbound.store.database.reader.connect() as connection:
        [entry] = [e for e in outbox.list_entries(connection, destination=outbound.settings
                   .destinations[1].name) if e.control_id == f"FW-{unique}"]  # fmt: skip
    assert entry.partition_key.startswith("Patient/")  # ordered with the patient's others


def test_images_for_an_order_are_announced_once(outbound, notices, unique, tmp_path):
    patient = f"IMG{unique}"
    orm = design_orm(f"IMG-{unique}", f"ORD-{unique}", patient)
    assert msa(mllp_exchange(outbound.mllp_port, orm))[1] == "AA"
    path = fresh_ct(tmp_path, unique, accession=f"ORD-{unique}")
    ds = dcmread(path)
    ds.PatientID = patient
    ds.save_as(path)
    assert c_store(outbound.dicom_port, path) == [0x0000]
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.save_as(tmp_path / "two.dcm")
    assert c_store(outbound.dicom_port, tmp_path / "two.dcm") == [0x0000]
    [notice] = [m for m in notices.wait_for(1, patient) if m.field("MSH", 9).startswith("ORU")]
    assert notice.field("ORC", 2) == f"ORD-{unique}" and notice.field("ORC", 5) == "A"
    text = notice.raw.decode("utf-8")
    assert f"|ST|110180^Study Instance UID^DCM|1|{ds.StudyInstanceUID}|" in text
    assert f"/dicomweb/studies/{ds.StudyInstanceUID}^^application^dicom" in text
    notices.wait_for(2, patient, seconds=1)
    assert len([m for m in notices.of_patient(patient) if m.field("MSH", 9).startswith("ORU")]) == 1


def test_outbound_messages_parse_with_python_hl7_and_validate_strictly_with_hl7apy(
    outbound, answering, notices, unique
):
    patient_id, mrn = new_patient(outbound.url, unique)
    post_report(outbound.url, patient_id, "Sin alteraciones | con separadores ^ y ~ y \\ y &")
    [oru] = answering.wait_for(1, mrn)
    [adt] = notices.wait_for(1, mrn)
    for received in (oru, adt):
        text = received.raw.decode("latin-1" if received is oru else "utf-8")
        parsed = python_hl7.parse(text)
        assert str(parsed.segment("MSH")[10]) == received.field("MSH", 10)
        strict = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT,
                                 find_groups=True)  # fmt: skip
        assert strict.msh.msh_10.value == received.field("MSH", 10)
    obx = [s for s in python_hl7.parse(oru.raw.decode("latin-1")) if str(s[0]) == "OBX"]
    assert python_hl7.parse(oru.raw.decode("latin-1")).unescape(str(obx[-1][5])) == (
        "Sin alteraciones | con separadores ^ y ~ y \\ y &"
    )
