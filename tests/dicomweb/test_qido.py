"""QIDO-RS over the running server: images stored over DICOM, then searched over HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.dicom.test_storage import c_store

PATIENT_ID, PATIENT_NAME, STUDY_DATE = "00100020", "00100010", "00080020"
STUDY_UID, SERIES_UID, SOP_UID = "0020000D", "0020000E", "00080018"


@dataclass
class Study:
    uid: str
    series: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def store_study(server, tmp_path: Path, patient_id: str, *, name: str = "DOE^JANE",
                date: str = "20240102", accession: str = "", modality: str = "CT",
                series_sizes: tuple[int, ...] = (1,)) -> Study:  # fmt: skip
    """A study of fresh UIDs made of pydicom's CT_small, stored over C-STORE."""
    study = Study(generate_uid())
    for series_number, size in enumerate(series_sizes, start=1):
        series_uid = generate_uid()
        study.series.append(series_uid)
        for number in range(1, size + 1):
            ds = dcmread(get_testdata_file("CT_small.dcm"))
            ds.PatientID, ds.PatientName, ds.StudyDate = patient_id, name, date
            ds.AccessionNumber, ds.Modality = accession, modality
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study.uid, series_uid
            ds.SeriesNumber, ds.InstanceNumber = series_number, number
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            path = tmp_path / f"{ds.SOPInstanceUID}.dcm"
            ds.save_as(path)
            study.instances.append(str(ds.SOPInstanceUID))
            study.files[str(ds.SOPInstanceUID)] = path
    assert set(c_store(server.dicom_port, *study.files.values())) == {0}
    return study


def qido(server, path: str, **params: str | int) -> list[dict]:
    response = httpx.get(f"{server.url}/dicomweb{path}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/dicom+json")
    return response.json()


def values(found: list[dict], tag: str) -> list:
    return [item[tag]["Value"][0] for item in found]


@pytest.fixture
def patient(unique: str) -> str:
    return f"QIDO{unique}"


def test_studies_by_patient_id_answer_the_required_attributes(server, tmp_path, patient):
    study = store_study(server, tmp_path, patient, accession="ACC1", series_sizes=(2, 1))
    found = qido(server, "/studies", PatientID=patient)
    assert len(found) == 1
    item = found[0]
    assert item[STUDY_UID] == {"vr": "UI", "Value": [study.uid]}
    assert item[PATIENT_NAME]["Value"] == [{"Alphabetic": "DOE^JANE"}]
    assert item[STUDY_DATE]["Value"] == ["20240102"]
    assert item["00080050"]["Value"] == ["ACC1"]
    assert item["00080061"]["Value"] == ["CT"]
    assert item["00201206"]["Value"] == [2] and item["00201208"]["Value"] == [3]
    assert item["00081190"]["Value"][0].endswith(f"/dicomweb/studies/{study.uid}")
    assert "00080030" in item  # StudyTime, from the stored metadata


def test_a_tag_works_as_a_keyword(server, tmp_path, patient):
    study = store_study(server, tmp_path, patient)
    assert values(qido(server, "/studies", **{PATIENT_ID: patient}), STUDY_UID) == [study.uid]


def test_patient_name_wildcards_ignore_case(server, tmp_path, patient, unique):
    study = store_study(server, tmp_path, patient, name=f"Smith{unique}^Anna")
    for pattern in (f"smith{unique}*", f"*{unique.upper()}^ANN?", f"SMITH{unique}^anna"):
        assert values(qido(server, "/studies", PatientName=pattern), STUDY_UID) == [study.uid]
    assert qido(server, "/studies", PatientName=f"Smith{unique}") == []
    assert qido(server, "/studies", PatientName=f"Smith{unique}_Anna") == []  # "_" is literal


def test_study_date_ranges(server, tmp_path, patient):
    early = store_study(server, tmp_path, patient, date="19990105")
    late = store_study(server, tmp_path, patient, date="19990320")

    def dates(value: str) -> set[str]:
        return set(values(qido(server, "/studies", PatientID=patient, StudyDate=value), STUDY_UID))

    assert dates("19990101-19990131") == {early.uid}
    assert dates("19990201-") == {late.uid}
    assert dates("-19990320") == {early.uid, late.uid}
    assert dates("19990320") == {late.uid}


def test_modality_at_study_level_matches_modalities_in_study(server, tmp_path, patient):
    mr = store_study(server, tmp_path, patient, modality="MR")
    store_study(server, tmp_path, patient, modality="CT")
    for key in ("ModalitiesInStudy", "Modality"):
        found = qido(server, "/studies", PatientID=patient, **{key: "MR"})
        assert values(found, STUDY_UID) == [mr.uid]


def test_limit_and_offset_page_through_studies(server, tmp_path, patient):
    made = {store_study(server, tmp_path, patient).uid for _ in range(3)}
    every = values(qido(server, "/studies", PatientID=patient), STUDY_UID)
    assert set(every) == made
    pages = [values(qido(server, "/studies", PatientID=patient, limit=2, offset=o), STUDY_UID)
             for o in (0, 2)]  # fmt: skip
    assert pages == [every[:2], every[2:]]


def test_series_of_a_study_and_relational_series(server, tmp_path, patient):
    study = store_study(server, tmp_path, patient, series_sizes=(2, 1))
    found = qido(server, f"/studies/{study.uid}/series")
    assert values(found, SERIES_UID) == study.series
    assert values(found, "00200011") == [1, 2]  # SeriesNumber
    assert values(found, "00201209") == [2, 1]  # NumberOfSeriesRelatedInstances
    assert values(found, "00080060") == ["CT", "CT"]
    relational = qido(server, "/series", PatientID=patient, SeriesInstanceUID=study.series[1])
    assert values(relational, SERIES_UID) == [study.series[1]]


def test_instances_at_each_path(server, tmp_path, patient):
    study = store_study(server, tmp_path, patient, series_sizes=(2, 1))
    found = qido(server, f"/studies/{study.uid}/series/{study.series[0]}/instances")
    assert values(found, SOP_UID) == study.instances[:2]
    assert values(found, "00200013") == [1, 2]
    assert values(found, "00080016") == ["1.2.840.10008.5.1.4.1.1.2"] * 2
    assert set(values(qido(server, f"/studies/{study.uid}/instances"), SOP_UID)) == set(
        study.instances
    )
    one = qido(server, "/instances", SOPInstanceUID=study.instances[2])
    assert values(one, SERIES_UID) == [study.series[1]]


def test_includefield_all_and_unknown_names_are_accepted(server, tmp_path, patient):
    study = store_study(server, tmp_path, patient)
    found = qido(server, f"/studies/{study.uid}/instances", includefield="all")
    assert found[0]["00280010"]["Value"] == [128]  # Rows, from the metadata
    assert "00200032" in found[0]  # ImagePositionPatient: everything stored
    plain = qido(server, "/studies", PatientID=patient, includefield="NoSuchThing,00100030")
    assert values(plain, STUDY_UID) == [study.uid]


def test_nothing_found_is_an_empty_array(server, patient):
    assert qido(server, "/studies", PatientID=f"{patient}-none") == []


def test_bad_values_are_400_with_a_problem(server):
    for params in ({"StudyDate": "2024-01-01"}, {"limit": "-1"}, {"StudyInstanceUID": "x"}):
        response = httpx.get(f"{server.url}/dicomweb/studies", params=params)
        assert response.status_code == 400
        assert response.json()["status"] == 400


def test_fuzzy_matching_finds_names_by_word_starts_in_any_order(server, tmp_path, patient, unique):
    study = store_study(server, tmp_path, patient, name=f"Van{unique}^Marie Anne^^Dr")

    def found(name: str, fuzzy: str = "true") -> list[str]:
        return values(qido(server, "/studies", PatientName=name, fuzzymatching=fuzzy), STUDY_UID)

    for name in (f"van{unique}", f"ANNE van{unique[:6]}", f"mar van{unique}",
                 f"van{unique}^marie", f"v?n{unique} ann*"):  # fmt: skip
        assert found(name) == [study.uid], name
    assert found(f"arie van{unique}") == []  # a word must start a word of the name
    assert found(f"anne van{unique}", "false") == []  # off: exact or wildcard matching only
    response = httpx.get(f"{server.url}/dicomweb/studies", params={"fuzzymatching": "maybe"})
    assert response.status_code == 400
