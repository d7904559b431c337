"""The worklist: a day's scheduled steps by modality and station; add, edit, cancel one.

Each change is a ServiceRequest written in one store transaction with origin
``console`` (``worklist_form.py`` says how the form becomes the resource), so the worklist
row, its history and any rule follow as for an order from the HIS. Edits carry the
version they started from: two people editing one item cannot overwrite each other.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pacsbridge.console import audit
from pacsbridge.console.context import Console
from pacsbridge.console.pages import render
from pacsbridge.console.worklist_form import (
    MODALITIES,
    SEXES,
    WorklistForm,
    cancelled,
    from_fields,
    from_order,
    new_accession,
    order_body,
    patient_body,
    patient_system,
    problems,
)
from pacsbridge.console.worklist_rows import STATUSES, choices, steps_of_day
from pacsbridge.errors import BadValue, DuplicateKey, VersionConflict
from pacsbridge.formats.fhir.imaging_order import identifier_of_type
from pacsbridge.store import Store, Transaction

ORIGIN = "console"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return datetime.now().date()


async def listing(console: Console, request: Request) -> Response:
    params = request.query_params
    day = _day(params.get("day", ""))
    wanted = {k: params.get(k, "").strip() for k in ("modality", "station", "status")}

    def read() -> tuple[list[Any], list[str], list[str]]:
        with console.store.reader() as reader:
            steps = steps_of_day(reader.connection, day, modality=wanted["modality"] or None,
                                 station=wanted["station"] or None,
                                 status=wanted["status"] or None)  # fmt: skip
            return steps, *choices(reader.connection)

    steps, modalities, stations = await run_in_threadpool(read)
    audit.record(request, "search", patients=audit.patients_in(s.patient_ref for s in steps),
                 with_query=True)  # fmt: skip
    return render(request, "worklist.html", title="Worklist", section="worklist", steps=steps,
                  day=day, previous=day - timedelta(days=1), next=day + timedelta(days=1),
                  filters=wanted, modalities=modalities, stations=stations,
                  statuses=STATUSES)  # fmt: skip


def _form_page(request: Request, form: WorklistForm, *, title: str, action: str,
               patient: dict[str, Any] | None, errors: dict[str, str] | None = None,
               status: int = 200) -> Response:  # fmt: skip
    return render(request, "worklist_form.html", title=title, section="worklist", form=form,
                  action=action, patient=patient, errors=errors or {}, status=status,
                  modalities=MODALITIES, sexes=SEXES)  # fmt: skip


def _patient(store: Store, patient_id: str) -> dict[str, Any] | None:
    if not patient_id:
        return None
    with store.reader() as reader:
        return reader.read("Patient", patient_id).resource


async def new(console: Console, request: Request) -> Response:
    soon = datetime.now() + timedelta(minutes=30)  # the next quarter hour after half an hour
    form = WorklistForm(patient=request.query_params.get("patient", ""),
                        day=soon.date().isoformat(),
                        start=f"{soon:%H}:{soon.minute // 15 * 15:02d}")  # fmt: skip
    patient = await run_in_threadpool(_patient, console.store, form.patient)
    if patient is not None:
        audit.record(request, "read", patients=[form.patient])
    return _form_page(request, form, title="Add a worklist item", action="/console/worklist/new",
                      patient=patient)  # fmt: skip


async def create(console: Console, request: Request) -> Response:
    form = from_fields(await request.form())
    errors = problems(form)
    if errors:
        patient = await run_in_threadpool(_patient, console.store, form.patient)
        return _form_page(request, form, title="Add a worklist item", patient=patient,
                          action="/console/worklist/new", errors=errors, status=422)  # fmt: skip
    order_id, patient_id, touched = await run_in_threadpool(_create, console.store, form)
    audit.record(request, "create", entities=touched, patients=[patient_id], outcome=201)
    return RedirectResponse(f"/console/worklist?day={form.day}&done=created", status_code=303)


def _create(store: Store, form: WorklistForm) -> tuple[str, str, list[str]]:
    """The order (and the patient, when new) in one transaction; what was written."""
    touched = []
    with store.transaction(ORIGIN) as transaction:
        patient_id = form.patient or _find_or_create_patient(transaction, form, touched)
        if form.patient:
            transaction.read("Patient", patient_id)  # an unknown patient is a 404
        accession = form.accession or new_accession(datetime.now())
        stored = transaction.create(order_body(form, f"Patient/{patient_id}", None, accession))
        touched.append(f"ServiceRequest/{stored.id}")
    return stored.id, patient_id, touched


def _find_or_create_patient(transaction: Transaction, form: WorklistForm,
                            touched: list[str]) -> str:  # fmt: skip
    system = patient_system(form) if form.issuer else None
    found = transaction.find_by_identifier("Patient", form.patient_id, system)
    if len(found) > 1:
        raise DuplicateKey(f"several patients have the ID {form.patient_id}; give its issuer",
                           "patient_id")  # fmt: skip
    if found:
        return found[0]
    created = transaction.create(patient_body(form))
    touched.append(f"Patient/{created.id}")
    return created.id


def _order(store: Store, order_id: str) -> tuple[dict[str, Any], int, dict[str, Any] | None]:
    with store.reader() as reader:
        stored = reader.read("ServiceRequest", order_id)
        order = stored.resource
        reference = str((order.get("subject") or {}).get("reference", ""))
        patient = None
        if reference.startswith("Patient/"):
            patient = reader.read("Patient", reference.split("/", 1)[1]).resource
        return order, stored.version_id, patient


async def edit(console: Console, request: Request) -> Response:
    order_id = request.path_params["order_id"]
    order, version, patient = await run_in_threadpool(_order, console.store, order_id)
    subject = str((order.get("subject") or {}).get("reference", ""))
    audit.record(request, "read", entities=[f"ServiceRequest/{order_id}"],
                 patients=audit.patients_in([subject]))  # fmt: skip
    return _form_page(request, from_order(order, version), title="Edit the worklist item",
                      action=f"/console/worklist/{order_id}", patient=patient)  # fmt: skip


async def save(console: Console, request: Request) -> Response:
    order_id = request.path_params["order_id"]
    form = from_fields(await request.form())
    errors = problems(form)
    if errors:
        _, _, patient = await run_in_threadpool(_order, console.store, order_id)
        return _form_page(request, form, title="Edit the worklist item", patient=patient,
                          action=f"/console/worklist/{order_id}", errors=errors,
                          status=422)  # fmt: skip
    subject = await run_in_threadpool(_save, console.store, order_id, form)
    audit.record(request, "update", entities=[f"ServiceRequest/{order_id}"],
                 patients=audit.patients_in([subject]))  # fmt: skip
    return RedirectResponse(f"/console/worklist?day={form.day}&done=saved", status_code=303)


def _version(form: WorklistForm) -> int:
    if not form.version.isdigit():
        raise BadValue("the form lost the version it edits; open the item again", "version")
    return int(form.version)


def _save(store: Store, order_id: str, form: WorklistForm) -> str:
    with store.transaction(ORIGIN) as transaction:
        current = transaction.read("ServiceRequest", order_id)
        version = _version(form)
        if current.version_id != version:
            raise VersionConflict(
                f"someone changed this item meanwhile (now version "
                f"{current.version_id}, not {version}); open it again"
            )
        order = current.resource
        subject = str((order.get("subject") or {}).get("reference", ""))
        accession = form.accession or (identifier_of_type(order, "ACSN") or {}).get("value") \
            or new_accession(datetime.now())  # fmt: skip
        transaction.update(order_body(form, subject, order, accession), if_match=version)
    return subject


async def cancel(console: Console, request: Request) -> Response:
    order_id = request.path_params["order_id"]

    def revoke() -> tuple[str, str]:
        """The order's patient and its scheduled day, to go back to."""
        with console.store.transaction(ORIGIN) as transaction:
            current = transaction.read("ServiceRequest", order_id)
            order = current.resource
            transaction.update(cancelled(order), if_match=current.version_id)
        subject = str((order.get("subject") or {}).get("reference", ""))
        return subject, str(order.get("occurrenceDateTime", ""))[:10]

    subject, day = await run_in_threadpool(revoke)
    audit.record(request, "update", entities=[f"ServiceRequest/{order_id}"],
                 patients=audit.patients_in([subject]))  # fmt: skip
    return RedirectResponse(f"/console/worklist?day={day}&done=item-cancelled", status_code=303)
