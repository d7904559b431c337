"""A simulated CT scanner: worklist query, MPPS, and images, as a modality does them.

A modality asks the worklist who is scheduled (C-FIND, PS3.4 Annex K), reports the exam
as begun (MPPS N-CREATE IN PROGRESS, Annex F), sends its images (C-STORE, Annex B) with
the Study Instance UID, accession number and patient taken from the worklist item, and
reports the exam as done (N-SET COMPLETED) naming the series it made (IHE RAD TF-2
4.6-4.8). pynetdicom is synchronous: the demo calls these functions in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import (
    CTImageStorage,
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
)
from pynetdicom.status import code_to_category

from pacsbridge.demo.failure import START_SERVER, DemoFailed

CALLING_AE = "DEMO_CT"
MODALITY = "CT"
IMAGE = "CT_small.dcm"  # a small CT slice bundled with pydicom
SLICES = 3
PENDING = (0xFF00, 0xFF01)

STEP_KEYS = ("Modality", "ScheduledStationAETitle", "ScheduledProcedureStepStartDate",
             "ScheduledProcedureStepStartTime", "ScheduledProcedureStepDescription",
             "ScheduledProcedureStepID", "ScheduledProcedureStepStatus")  # fmt: skip
RETURN_KEYS = ("PatientName", "PatientBirthDate", "PatientSex", "AccessionNumber",
               "StudyInstanceUID", "RequestedProcedureID", "RequestedProcedureDescription",
               "ReferringPhysicianName")  # fmt: skip


@dataclass(frozen=True)
class WorklistItem:
    """What the modality learnt about the exam from one worklist answer."""

    patient_id: str
    patient_name: str
    birth_date: str
    sex: str
    accession: str
    study_uid: str
    requested_procedure_id: str
    sps_id: str
    description: str
    referring: str

    @classmethod
    def from_answer(cls, answer: Dataset) -> WorklistItem:
        step = (answer.get("ScheduledProcedureStepSequence") or [Dataset()])[0]
        return cls(
            patient_id=str(answer.get("PatientID", "")),
            patient_name=str(answer.get("PatientName", "")),
            birth_date=str(answer.get("PatientBirthDate", "")),
            sex=str(answer.get("PatientSex", "")),
            accession=str(answer.get("AccessionNumber", "")),
            study_uid=str(answer.get("StudyInstanceUID", "")),
            requested_procedure_id=str(answer.get("RequestedProcedureID", "")),
            sps_id=str(step.get("ScheduledProcedureStepID", "")),
            description=str(step.get("ScheduledProcedureStepDescription", "")
                            or answer.get("RequestedProcedureDescription", "")),
            referring=str(answer.get("ReferringPhysicianName", "")),
        )  # fmt: skip


@dataclass
class StoredSeries:
    series_uid: str
    sop_class_uid: str = ""
    instance_uids: list[str] = field(default_factory=list)


def status_text(status: Dataset | None) -> tuple[bool, str]:
    """Whether a DIMSE status is a success, and how to show it (``0x0000 Success``)."""
    if status is None or "Status" not in status:
        return False, "no answer (the association was cut or timed out)"
    code = int(status.Status)
    comment = f" ({status.ErrorComment})" if "ErrorComment" in status else ""
    return code == 0x0000, f"0x{code:04X} {code_to_category(code)}{comment}"


@dataclass
class SimulatedModality:
    host: str
    port: int
    called_ae: str
    timeout: float = 30.0
    calling_ae: str = CALLING_AE

    def _associate(self, *contexts: tuple[str, list[str] | None]) -> Association:
        ae = AE(ae_title=self.calling_ae)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout
        for abstract, syntaxes in contexts:
            ae.add_requested_context(abstract, syntaxes)
        assoc = ae.associate(self.host, self.port, ae_title=self.called_ae)
        if assoc.is_established:
            return assoc
        where = f"{self.host}:{self.port}"
        if assoc.is_rejected:
            raise DemoFailed(
                f"the DICOM listener at {where} refused the association from {self.calling_ae}",
                f"pass --ae-title as the server was started with (it is {self.called_ae!r} "
                f"here), and let {self.calling_ae} call it if the server limits calling AE "
                "titles (dicom_allowed_aets)",
            )
        raise DemoFailed(
            f"no DICOM answer from {self.called_ae} at {where}",
            f"is the server running with another --dicom-port? pass the same here; "
            f"else {START_SERVER}",
        )

    def find_worklist(self, patient_id: str) -> list[Dataset]:
        """C-FIND MWL for one patient's CT steps, as a technologist's patient query does."""
        query = Dataset()
        query.PatientID = patient_id
        for keyword in RETURN_KEYS:
            setattr(query, keyword, "")
        step = Dataset()
        for keyword in STEP_KEYS:
            setattr(step, keyword, "")
        step.Modality = MODALITY
        query.ScheduledProcedureStepSequence = [step]
        assoc = self._associate((ModalityWorklistInformationFind, None))
        answers: list[Dataset] = []
        last: Dataset | None = None
        try:
            for status, identifier in assoc.send_c_find(query, ModalityWorklistInformationFind):
                last = status
                pending = status is not None and int(status.get("Status", -1)) in PENDING
                if pending and identifier is not None:
                    answers.append(identifier)
        finally:
            assoc.release()
        ok, shown = status_text(last)
        if not ok:
            raise DemoFailed(f"the worklist query ended with {shown}",
                             "the server's log says why")  # fmt: skip
        return answers

    def start_step(self, item: WorklistItem, step_uid: str) -> Dataset | None:
        """MPPS N-CREATE IN PROGRESS, linked to the order by accession and study UID."""
        now = datetime.now()
        step = Dataset()
        step.SpecificCharacterSet = "ISO_IR 192"
        step.PatientName, step.PatientID = item.patient_name, item.patient_id
        step.PatientBirthDate, step.PatientSex = item.birth_date, item.sex
        scheduled = Dataset()
        scheduled.AccessionNumber = item.accession
        scheduled.StudyInstanceUID = item.study_uid
        scheduled.RequestedProcedureID = item.requested_procedure_id
        scheduled.ScheduledProcedureStepID = item.sps_id
        scheduled.ScheduledProcedureStepDescription = item.description
        step.ScheduledStepAttributesSequence = [scheduled]
        step.PerformedProcedureStepID = item.sps_id or "1"
        step.PerformedStationAETitle = self.calling_ae
        step.PerformedProcedureStepStartDate = now.strftime("%Y%m%d")
        step.PerformedProcedureStepStartTime = now.strftime("%H%M%S")
        step.PerformedProcedureStepStatus = "IN PROGRESS"
        step.PerformedProcedureStepDescription = item.description
        step.Modality = MODALITY
        step.PerformedSeriesSequence = []
        return self._mpps(lambda assoc: assoc.send_n_create(
            step, ModalityPerformedProcedureStep, step_uid))  # fmt: skip

    def complete_step(self, step_uid: str, stored: list[StoredSeries]) -> Dataset | None:
        """MPPS N-SET COMPLETED, naming the series and images the exam made."""
        now = datetime.now()
        change = Dataset()
        change.PerformedProcedureStepStatus = "COMPLETED"
        change.PerformedProcedureStepEndDate = now.strftime("%Y%m%d")
        change.PerformedProcedureStepEndTime = now.strftime("%H%M%S")
        change.PerformedSeriesSequence = [_performed(series, self.called_ae) for series in stored]
        return self._mpps(lambda assoc: assoc.send_n_set(
            change, ModalityPerformedProcedureStep, step_uid))  # fmt: skip

    def _mpps(self, send: Any) -> Dataset | None:
        assoc = self._associate((ModalityPerformedProcedureStep, None))
        try:
            status, _ = send(assoc)
        finally:
            assoc.release()
        return status

    def store_images(self, item: WorklistItem) -> tuple[StoredSeries, list[Dataset | None]]:
        """C-STORE a short CT series made for this exam; the status of each image."""
        images = make_images(item, self.calling_ae)
        syntax = images[0].file_meta.TransferSyntaxUID
        assoc = self._associate((CTImageStorage, [syntax]))
        series = StoredSeries(images[0].SeriesInstanceUID, images[0].SOPClassUID)
        statuses: list[Dataset | None] = []
        try:
            for image in images:
                statuses.append(assoc.send_c_store(image))
                series.instance_uids.append(image.SOPInstanceUID)
        finally:
            assoc.release()  # the server builds the ImagingStudy when the association ends
        return series, statuses


def make_images(item: WorklistItem, station_ae: str) -> list[Dataset]:
    """Slices of pydicom's small CT image, re-labelled for this exam with fresh UIDs."""
    now = datetime.now()
    series_uid = generate_uid()
    images: list[Dataset] = []
    for number in range(1, SLICES + 1):
        image = dcmread(_bundled(IMAGE))
        image.SpecificCharacterSet = "ISO_IR 192"  # names as the worklist gave them
        image.PatientName, image.PatientID = item.patient_name, item.patient_id
        image.PatientBirthDate, image.PatientSex = item.birth_date, item.sex
        image.AccessionNumber, image.StudyInstanceUID = item.accession, item.study_uid
        image.ReferringPhysicianName = item.referring
        image.StudyDescription = image.SeriesDescription = item.description
        image.StudyDate = image.SeriesDate = image.ContentDate = now.strftime("%Y%m%d")
        image.StudyTime = image.SeriesTime = image.ContentTime = now.strftime("%H%M%S")
        image.StationName = station_ae
        image.SeriesInstanceUID, image.SeriesNumber = series_uid, 1
        image.SOPInstanceUID = image.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        image.InstanceNumber = number
        x, y, z = (float(v) for v in image.ImagePositionPatient)
        image.ImagePositionPatient = [x, y, z + 5.0 * (number - 1)]  # 5 mm apart
        image.SliceLocation = z + 5.0 * (number - 1)
        request = Dataset()  # which order these images answer (IHE RAD TF-2 4.8)
        request.AccessionNumber = item.accession
        request.RequestedProcedureID = item.requested_procedure_id
        request.ScheduledProcedureStepID = item.sps_id
        image.RequestAttributesSequence = [request]
        images.append(image)
    return images


def _bundled(name: str) -> str:
    """A test file that pydicom ships, by name."""
    path = get_testdata_file(name)
    if not isinstance(path, str):
        raise DemoFailed(f"pydicom's bundled test file {name} is missing",
                         "reinstall pydicom (`make setup` after removing .venv)")  # fmt: skip
    return path


def _performed(series: StoredSeries, retrieve_ae: str) -> Dataset:
    """One item of the Performed Series Sequence: the images are kept by ``retrieve_ae``."""
    item = Dataset()
    item.SeriesInstanceUID = series.series_uid
    item.RetrieveAETitle = retrieve_ae
    item.SeriesDescription = "demo series"
    item.PerformingPhysicianName = ""
    item.OperatorsName = ""
    item.ProtocolName = "demo"
    item.ReferencedNonImageCompositeSOPInstanceSequence = []
    references = []
    for uid in series.instance_uids:
        reference = Dataset()
        reference.ReferencedSOPClassUID = series.sop_class_uid
        reference.ReferencedSOPInstanceUID = uid
        references.append(reference)
    item.ReferencedImageSequence = references
    return item
