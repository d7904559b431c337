"""The worklist form as a ServiceRequest with the worklist facts of docs/mapping.md."""

from __future__ import annotations

from datetime import datetime

from pacsbridge.console.worklist_form import (
    WorklistForm,
    cancelled,
    from_fields,
    from_order,
    order_body,
    patient_body,
    problems,
)
from pacsbridge.formats.fhir.imaging_order import (
    identifier_of_type,
    read_step,
    study_instance_uid,
)

FORM = WorklistForm(patient_id="P1", issuer="HIS", family="Núñez", given="Eva",
                    birth_date="1980-02-29", sex="female", procedure="CT abdomen",
                    procedure_code="74150", procedure_scheme="L", modality="CT",
                    station_ae="CT_ROOM_1", day="2025-04-01", start="09:30", priority="stat",
                    accession="ACC1", sps_id="S1")  # fmt: skip


def test_a_complete_form_has_no_problems_and_an_empty_one_says_what_is_missing():
    assert problems(FORM) == {}
    missing = problems(from_fields({}))
    assert {"patient_id", "procedure", "day", "start"} <= set(missing)


def test_bad_values_are_named_by_field():
    bad = from_fields({**vars(FORM), "station_ae": "A\\B", "day": "2025-02-30", "start": "25:00",
                       "birth_date": "yesterday", "accession": "X" * 17})  # fmt: skip
    assert set(problems(bad)) == {"station_ae", "day", "start", "birth_date", "accession"}


def test_the_order_carries_the_step_identifiers_and_time():
    body = order_body(FORM, "Patient/p1", None, "ACC1")
    assert body["status"] == "active" and body["intent"] == "order"
    assert body["subject"] == {"reference": "Patient/p1"} and body["priority"] == "stat"
    assert body["occurrenceDateTime"].startswith("2025-04-01T09:30:00")
    step = read_step(body)
    assert (step.modality, step.station_ae, step.sps_id, step.description, step.status) == (
        "CT", "CT_ROOM_1", "S1", "CT abdomen", "SCHEDULED")  # fmt: skip
    assert identifier_of_type(body, "ACSN")["value"] == "ACC1"
    assert study_instance_uid(body).startswith("2.25.")


def test_an_edit_keeps_the_study_uid_and_other_identifiers():
    first = order_body(FORM, "Patient/p1", None, "ACC1")
    first["identifier"].append({"system": "urn:other", "value": "kept"})
    edited = order_body(from_fields({**vars(FORM), "modality": "MR"}), "Patient/p1", first, "ACC1")
    assert study_instance_uid(edited) == study_instance_uid(first)
    assert {"system": "urn:other", "value": "kept"} in edited["identifier"]
    assert read_step(edited).modality == "MR"
    again = from_order(edited, 2)
    assert (again.modality, again.day, again.start, again.accession, again.version) == (
        "MR", "2025-04-01", "09:30", "ACC1", "2")  # fmt: skip


def test_cancelling_revokes_the_order_and_its_step():
    body = cancelled(order_body(FORM, "Patient/p1", None, "ACC1"))
    assert body["status"] == "revoked" and read_step(body).status == "CANCELED"


def test_a_new_patient_from_the_form():
    body = patient_body(FORM)
    assert body["identifier"] == [{"system": "urn:pacsbridge:id:HIS", "value": "P1",
                                   "assigner": {"display": "HIS"}}]  # fmt: skip
    assert body["name"] == [{"family": "Núñez", "given": ["Eva"]}]
    assert (body["birthDate"], body["gender"]) == ("1980-02-29", "female")
    assert datetime.fromisoformat(order_body(FORM, "Patient/p", None, "A")["occurrenceDateTime"])
