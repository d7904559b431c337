"""MPPS with pynetdicom as the SCU (dcmtk has none): the step moves the order and worklist."""

from __future__ import annotations

import httpx
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep

from tests.dicom.test_worklist import c_find, order, query


def associate(port: int):
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(ModalityPerformedProcedureStep)
    assoc = ae.associate("127.0.0.1", port, ae_title="PACSBRIDGE")
    assert assoc.is_established
    return assoc


def in_progress(accession: str, study_uid: str = "") -> Dataset:
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.PerformedProcedureStepStartDate = "20250315"
    ds.PerformedProcedureStepStartTime = "093500"
    ds.Modality = "CT"
    item = Dataset()
    item.AccessionNumber = accession
    item.StudyInstanceUID = study_uid
    ds.ScheduledStepAttributesSequence = [item]
    return ds


def final(status: str) -> Dataset:
    ds = Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepEndDate = "20250315"
    ds.PerformedProcedureStepEndTime = "100000"
    return ds


def worklist_status(port: int, unique: str, status: str = "") -> list[str]:
    """The step statuses of the patient's items (only those with ``status`` when given)."""
    wanted = query(PatientID=f"WL{unique}")
    wanted.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStatus = status
    answers, _ = c_find(port, wanted)
    return [a.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStatus for a in answers]


@pytest.mark.parametrize(
    "ending,order_status,procedure_status",
    [("COMPLETED", "completed", "completed"), ("DISCONTINUED", "revoked", "stopped")],
)
def test_in_progress_then_final_moves_worklist_order_and_procedure(
    server, fhir_base, unique, ending, order_status, procedure_status
):  # fmt: skip
    order(server.mllp_port, unique, 1)
    uid = generate_uid()
    assoc = associate(server.dicom_port)
    try:
        status, _ = assoc.send_n_create(in_progress(f"A1-{unique}"),
                                        ModalityPerformedProcedureStep, uid)  # fmt: skip
        assert status.Status == 0x0000
        assert worklist_status(server.dicom_port, unique) == ["STARTED"]
        status, _ = assoc.send_n_set(final(ending), ModalityPerformedProcedureStep, uid)
        assert status.Status == 0x0000
        # final: a later N-SET may no longer update it (PS3.4 F.7.2.2.4.2)
        status, _ = assoc.send_n_set(final("IN PROGRESS"), ModalityPerformedProcedureStep, uid)
        assert status.Status == 0x0110
    finally:
        assoc.release()
    assert worklist_status(server.dicom_port, unique) == []  # final steps are hidden
    assert worklist_status(server.dicom_port, unique, ending) == [ending]
    orders = httpx.get(f"{fhir_base}/ServiceRequest", params={"identifier": f"A1-{unique}"})
    assert orders.json()["entry"][0]["resource"]["status"] == order_status
    wanted = {"identifier": f"urn:dicom:uid|urn:oid:{uid}"}
    procedures = httpx.get(f"{fhir_base}/Procedure", params=wanted).json()
    procedure = procedures["entry"][0]["resource"]
    assert procedure["status"] == procedure_status
    assert procedure["basedOn"][0]["reference"].startswith("ServiceRequest/")
    assert procedure["performedPeriod"]["start"].startswith("2025-03-15T09:35:00")


def test_invalid_transitions_get_their_status_codes(server, unique):
    order(server.mllp_port, unique, 1)
    assoc = associate(server.dicom_port)
    try:
        wrong = in_progress(f"A1-{unique}")
        wrong.PerformedProcedureStepStatus = "COMPLETED"
        status, _ = assoc.send_n_create(wrong, ModalityPerformedProcedureStep, generate_uid())
        assert status.Status == 0x0106  # N-CREATE must be IN PROGRESS
        status, _ = assoc.send_n_set(final("COMPLETED"), ModalityPerformedProcedureStep,
                                     generate_uid())  # fmt: skip
        assert status.Status == 0x0112  # no such instance
        uid = generate_uid()
        status, _ = assoc.send_n_create(in_progress(f"A1-{unique}"),
                                        ModalityPerformedProcedureStep, uid)  # fmt: skip
        assert status.Status == 0x0000
        status, _ = assoc.send_n_create(in_progress(f"A1-{unique}"),
                                        ModalityPerformedProcedureStep, uid)  # fmt: skip
        assert status.Status == 0x0111  # duplicate
        status, _ = assoc.send_n_set(final("FINISHED"), ModalityPerformedProcedureStep, uid)
        assert status.Status == 0x0106
        unknown = in_progress("NO-SUCH-ORDER")
        status, _ = assoc.send_n_create(unknown, ModalityPerformedProcedureStep, generate_uid())
        assert status.Status == 0x0106  # neither a known order nor a known patient
    finally:
        assoc.release()
