"""Modality Worklist C-FIND over real associations: pynetdicom as SCU, and dcmtk's findscu."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind, Verification

from pacsbridge.formats.fhir.imaging_order import SPS_EXTENSION
from tests.hl7v2.test_receive import hl7, mllp_exchange, msa, msh

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hl7"


def order(port: int, unique: str, n: int, *, modality: str = "CT", name: str = "GARCÍA^PEDRO",
          start: str = "20250315093000", control: str = "NW") -> None:  # fmt: skip
    message = hl7(
        msh(f"WL{n}-{control}-{unique}", "ORM^O01", sender="RIS|RAD", charset="UNICODE UTF-8"),
        f"PID|1||WL{unique}^^^HIS||{name}||19751022|M",
        "PV1|1|O|RAD||||12345^LOPEZ^ANA",
        f"ORC|{control}|P{n}-{unique}|F{n}-{unique}||SC||^^^{start}^^R",
        f"OBR|1|P{n}-{unique}|F{n}-{unique}|72193^TC ABDOMEN^LN" + "|" * 14 + f"A{n}-{unique}"
        f"|RP{n}|SPS{n}||||{modality}",
        charset="utf-8",
    )  # fmt: skip
    assert msa(mllp_exchange(port, message))[1] == "AA"


def query(**top: object) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                    "AccessionNumber", "StudyInstanceUID", "RequestedProcedureID"):  # fmt: skip
        setattr(ds, keyword, "")
    step = Dataset()
    for keyword in ("Modality", "ScheduledStationAETitle", "ScheduledProcedureStepStartDate",
                    "ScheduledProcedureStepStartTime", "ScheduledProcedureStepID"):  # fmt: skip
        setattr(step, keyword, "")
    for keyword, value in top.items():
        target = step if keyword in step else ds
        setattr(target, keyword, value)
    ds.ScheduledProcedureStepSequence = [step]
    return ds


def c_find(port: int, identifier: Dataset, calling: str = "TESTSCU") -> tuple[list[Dataset], int]:
    ae = AE(ae_title=calling)
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", port, ae_title="PACSBRIDGE")
    assert assoc.is_established
    answers, final = [], None
    try:
        for status, found in assoc.send_c_find(identifier, ModalityWorklistInformationFind):
            if status.Status in (0xFF00, 0xFF01):
                answers.append(found)
            else:
                final = status.Status
    finally:
        assoc.release()
    return answers, final


@pytest.fixture
def dicom_port(server) -> int:
    return server.dicom_port


def test_echo(dicom_port):
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", dicom_port, ae_title="PACSBRIDGE")
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0x0000
    assoc.release()


def test_query_by_patient_returns_exactly_the_asked_keys_with_accents_intact(
    server, dicom_port, unique
):
    order(server.mllp_port, unique, 1)
    answers, final = c_find(dicom_port, query(PatientID=f"WL{unique}"))
    assert final == 0x0000 and len(answers) == 1
    answer = answers[0]
    assert str(answer.PatientName) == "GARCÍA^PEDRO"
    assert answer.AccessionNumber == f"A1-{unique}"
    assert answer.RequestedProcedureID == "RP1"
    assert answer.StudyInstanceUID.startswith("2.25.")
    step = answer.ScheduledProcedureStepSequence[0]
    assert (step.Modality, step.ScheduledProcedureStepID) == ("CT", "SPS1")
    assert (step.ScheduledProcedureStepStartDate, step.ScheduledProcedureStepStartTime) == (
        "20250315", "093000")  # fmt: skip
    asked = set(query().dir())
    assert set(answer.dir()) == asked
    assert set(step.dir()) == set(query().ScheduledProcedureStepSequence[0].dir())


def test_matching_rules(server, dicom_port, unique):
    order(server.mllp_port, unique, 1, modality="CT", start="20250315093000")
    order(server.mllp_port, unique, 2, modality="MR", start="20250316140000")
    order(server.mllp_port, unique, 3, modality="CT", start="20250320080000")

    def accessions(**keys: object) -> set[str]:
        answers, final = c_find(dicom_port, query(PatientID=f"WL{unique}", **keys))
        assert final == 0x0000
        return {a.AccessionNumber for a in answers}

    every = {f"A{n}-{unique}" for n in (1, 2, 3)}
    assert accessions() == every
    assert accessions(Modality="CT") == {f"A1-{unique}", f"A3-{unique}"}
    assert accessions(ScheduledProcedureStepStartDate="20250315-20250316") == {
        f"A1-{unique}", f"A2-{unique}"}  # fmt: skip
    assert accessions(ScheduledProcedureStepStartDate="20250317-") == {f"A3-{unique}"}
    assert accessions(ScheduledProcedureStepStartDate="20250316",
                      ScheduledProcedureStepStartTime="1300-1500") == {f"A2-{unique}"}  # fmt: skip
    assert accessions(AccessionNumber=f"A?-{unique}") == every
    assert accessions(PatientName="garc*") == every  # case- and accent-insensitive
    assert accessions(PatientName="NOBODY*") == set()


def test_cancelled_and_completed_steps_are_hidden(server, dicom_port, unique):
    order(server.mllp_port, unique, 1)
    order(server.mllp_port, unique, 2)
    order(server.mllp_port, unique, 1, control="CA")
    answers, _ = c_find(dicom_port, query(PatientID=f"WL{unique}"))
    assert [a.AccessionNumber for a in answers] == [f"A2-{unique}"]


def test_an_item_added_through_fhir_is_on_the_worklist(fhir, dicom_port, unique):
    patient = fhir.post("/Patient", json={
        "resourceType": "Patient", "identifier": [{"system": "urn:x", "value": f"FH{unique}"}],
        "name": [{"family": "Núñez", "given": ["Eva"]}]}).json()  # fmt: skip
    body = {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "subject": {"reference": f"Patient/{patient['id']}"},
        "occurrenceDateTime": "2025-04-01T10:00:00+02:00",
        "extension": [{"url": SPS_EXTENSION, "extension": [
            {"url": "modality", "valueCoding": {
                "system": "http://dicom.nema.org/resources/ontology/DCM", "code": "US"}},
            {"url": "stationAETitle", "valueString": "US_ROOM"},
            {"url": "id", "valueString": "S1"}]}],
    }  # fmt: skip
    assert fhir.post("/ServiceRequest", json=body).status_code == 201
    answers, _ = c_find(dicom_port, query(PatientID=f"FH{unique}"))
    assert len(answers) == 1
    assert str(answers[0].PatientName) == "Núñez^Eva"
    step = answers[0].ScheduledProcedureStepSequence[0]
    assert (step.Modality, step.ScheduledStationAETitle) == ("US", "US_ROOM")


def test_per_ae_options(server, dicom_port, unique):
    order(server.mllp_port, unique, 1)
    # NOSTATION sends no station AE: it sees only steps scheduled on itself (none here)
    answers, _ = c_find(dicom_port, query(PatientID=f"WL{unique}"), calling="NOSTATION")
    assert answers == []
    # STRICT wants no empty required keys: defaults fill what the order left out
    answers, _ = c_find(dicom_port, query(PatientID=f"WL{unique}"), calling="STRICT")
    assert answers[0].ScheduledProcedureStepSequence[0].ScheduledStationAETitle == "ANY"


def test_a_bad_query_gets_a_failure_status(dicom_port):
    answers, final = c_find(dicom_port, query(ScheduledProcedureStepStartDate="yesterday"))
    assert answers == [] and final == 0xA900


@pytest.mark.skipif(shutil.which("findscu") is None and not Path("/usr/bin/findscu").exists(),
                    reason="dcmtk is installed by .ci/run")  # fmt: skip
def test_dcmtk_findscu_and_echoscu(server, dicom_port, unique, tmp_path):
    order(server.mllp_port, unique, 1)
    env = {"TCP_NODELAY": "1", "PATH": "/usr/bin:/bin"}
    echo = subprocess.run(["echoscu", "-aec", "PACSBRIDGE", "127.0.0.1", str(dicom_port)],
                          capture_output=True, text=True, timeout=60, env=env)  # fmt: skip
    assert echo.returncode == 0, echo.stderr
    found = subprocess.run(
        ["findscu", "-W", "-aec", "PACSBRIDGE", "-k", f"PatientID=WL{unique}",
         "-k", "PatientName", "-k", "AccessionNumber",
         "-k", "ScheduledProcedureStepSequence[0].Modality",
         "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate",
         "127.0.0.1", str(dicom_port)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert f"A1-{unique}" in found.stderr + found.stdout
    assert "CT" in found.stderr + found.stdout


def test_dcmtk_example_worklist_queries_are_answered(server, dicom_port, tmp_path):
    examples = Path("/usr/share/doc/dcmtk/examples/wlistqry")
    if not examples.is_dir():
        pytest.skip("dcmtk's examples are installed with dcmtk by .ci/run")
    dumps = sorted(examples.glob("*.dump"))
    assert dumps
    for dump in dumps:
        query_file = tmp_path / (dump.stem + ".dcm")
        made = subprocess.run(["dump2dcm", str(dump), str(query_file)], capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert made.returncode == 0, made.stderr
        result = subprocess.run(["findscu", "-W", "-aec", "PACSBRIDGE", "127.0.0.1",
                                 str(dicom_port), str(query_file)],
                                capture_output=True, text=True, timeout=60,
                                env={"TCP_NODELAY": "1", "PATH": "/usr/bin:/bin"})  # fmt: skip
        assert result.returncode == 0, (dump.name, result.stderr)
    assert httpx.get(f"{server.url}/healthz").json()["listeners"]["dicom"]["state"] == "up"
