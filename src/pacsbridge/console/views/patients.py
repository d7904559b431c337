"""Patients and their studies: search, a patient's studies, orders and reports, and a study's
series and instances with thumbnails, its reports and the form to sign one.

Searches are the store's FHIR searches (``Patient?name=``, ``ImagingStudy?patient=``), so
the console finds what a FHIR client finds; a study's series come from the DICOM index
(``console/studies.py``), so a study still arriving is shown as it is.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pacsbridge.console import audit
from pacsbridge.console.context import Console
from pacsbridge.console.pages import render
from pacsbridge.console.studies import find_study, series_of
from pacsbridge.errors import UnknownKey
from pacsbridge.outbox.messages import report_text
from pacsbridge.store import Store
from pacsbridge.store.reader import Reader

SEARCH_LIMIT = "50"


def _search(reader: Reader, res_type: str, params: list[tuple[str, str]]) -> list[Any]:
    request = reader.parse(res_type, params)
    return [stored.resource for stored in reader.search(request).matches]


def name_of(patient: dict[str, Any] | None) -> str:
    """``Family, Given`` of the first name; what lists show."""
    if not patient:
        return ""
    name = (patient.get("name") or [{}])[0]
    given = " ".join(name.get("given", []))
    return ", ".join(p for p in (name.get("family", ""), given) if p) or name.get("text", "")


async def search(console: Console, request: Request) -> Response:
    name = request.query_params.get("name", "").strip()
    identifier = request.query_params.get("identifier", "").strip()
    params = [(k, v) for k, v in (("name", name), ("identifier", identifier)) if v]

    def find() -> list[Any]:
        if not params:
            return []
        with console.store.reader() as reader:
            return _search(reader, "Patient", [*params, ("_count", SEARCH_LIMIT)])

    found = await run_in_threadpool(find)
    if params:
        audit.record(request, "search", patients=[p["id"] for p in found], with_query=True)
    return render(request, "patients.html", title="Patients", section="patients",
                  patients=found, name=name, identifier=identifier, searched=bool(params),
                  name_of=name_of)  # fmt: skip


def _patient_page(store: Store, patient_id: str) -> dict[str, Any]:
    reference = f"Patient/{patient_id}"
    with store.reader() as reader:
        patient = reader.read("Patient", patient_id).resource
        of_patient = [("patient", reference), ("_count", "100")]
        return {
            "patient": patient,
            "studies": _search(reader, "ImagingStudy", [*of_patient, ("_sort", "-started")]),
            "orders": _search(reader, "ServiceRequest", [*of_patient, ("_sort", "-_lastUpdated")]),
            "reports": _search(reader, "DiagnosticReport", [*of_patient,
                                                            ("_sort", "-_lastUpdated")]),
        }  # fmt: skip


async def detail(console: Console, request: Request) -> Response:
    patient_id = request.path_params["patient_id"]
    data = await run_in_threadpool(_patient_page, console.store, patient_id)
    shown = [f"{r['resourceType']}/{r['id']}" for key in ("studies", "orders", "reports")
             for r in data[key]]  # fmt: skip
    audit.record(request, "read", entities=[f"Patient/{patient_id}", *shown],
                 patients=[patient_id])  # fmt: skip
    return render(request, "patient.html", title=name_of(data["patient"]) or patient_id,
                  section="patients", name_of=name_of, report_text=report_text,
                  study_uid=_study_uid, **data)  # fmt: skip


def _study_uid(imaging_study: dict[str, Any]) -> str:
    for identifier in imaging_study.get("identifier", []):
        if identifier.get("system") == "urn:dicom:uid":
            return str(identifier.get("value", "")).removeprefix("urn:oid:")
    return ""


def study_page(store: Store, study_uid: str) -> dict[str, Any]:
    """The study, its ImagingStudy, patient, orders, reports and series with instances."""
    with store.reader() as reader:
        study = find_study(reader.connection, study_uid)
        if study is None:
            raise UnknownKey(f"no study {study_uid} is stored", study_uid)
        imaging = None
        if study.imaging_study_id:
            imaging = reader.read("ImagingStudy", study.imaging_study_id).resource
        subject = str(((imaging or {}).get("subject") or {}).get("reference", ""))
        patient = None
        if subject.startswith("Patient/"):
            patient = reader.read("Patient", subject.split("/", 1)[1]).resource
        orders = []
        for based_on in (imaging or {}).get("basedOn", []):
            reference = str(based_on.get("reference", ""))
            if reference.startswith("ServiceRequest/"):
                orders.append(reader.read("ServiceRequest", reference.split("/", 1)[1]).resource)
        reports = []
        if patient is not None:
            mine = {f"ImagingStudy/{study.imaging_study_id}"}
            mine |= {f"ServiceRequest/{o['id']}" for o in orders}
            reports = [r for r in _search(reader, "DiagnosticReport", [
                ("patient", subject), ("_count", "100"), ("_sort", "-_lastUpdated")])
                if {x.get("reference") for x in r.get("imagingStudy", []) + r.get("basedOn", [])}
                & mine]  # fmt: skip
        return {"study": study, "imaging": imaging, "patient": patient, "orders": orders,
                "reports": reports, "series": series_of(reader.connection, study_uid)}  # fmt: skip


async def study(console: Console, request: Request) -> Response:
    study_uid = request.path_params["study_uid"]
    data = await run_in_threadpool(study_page, console.store, study_uid)
    return study_response(request, data)


def study_response(request: Request, data: dict[str, Any], *, errors: dict[str, str] | None = None,
                   typed: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    """The study page; also shown again, with ``errors``, when a report form is refused."""
    study = data["study"]
    entities = [f"urn:dicom:uid:{study.study_uid}"]
    if study.imaging_study_id:
        entities.append(f"ImagingStudy/{study.imaging_study_id}")
    patient = data["patient"]
    audit.record(request, "read", entities=entities + [f"DiagnosticReport/{r['id']}"
                                                       for r in data["reports"]],
                 patients=[patient["id"]] if patient else [])  # fmt: skip
    described = (data["imaging"] or {}).get("description")
    title = f"Study: {described}" if described else f"Study {study.accession or study.study_uid}"
    return render(request, "study.html", title=title, section="patients", name_of=name_of,
                  report_text=report_text, errors=errors or {}, typed=typed or {},
                  status=status, **data)  # fmt: skip
