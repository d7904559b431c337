"""Writing and signing a report on a study.

The report is one DiagnosticReport, ``final``, created in a store transaction with origin
``console``; ``rules/outbound.py`` runs in that transaction and queues its ORU^R01 for
every destination that takes reports. The signer is the signed-in user: their FHIR user
(a Practitioner) when the session names one, their username as the display otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pacsbridge.auth.principal import principal_of
from pacsbridge.console import audit
from pacsbridge.console.context import Console
from pacsbridge.console.report_body import interpreter, report_body, report_problems
from pacsbridge.console.views.patients import study_page, study_response
from pacsbridge.errors import FinalState
from pacsbridge.store import Store

ORIGIN = "console"


async def sign(console: Console, request: Request) -> Response:
    study_uid = request.path_params["study_uid"]
    form = await request.form()
    typed = {k: str(form.get(k, "")) for k in ("text", "conclusion")}
    errors = report_problems(typed["text"], typed["conclusion"])
    if errors:
        data = await run_in_threadpool(study_page, console.store, study_uid)
        return study_response(request, data, errors=errors, typed=typed, status=422)
    principal = principal_of(request.scope)
    signer = interpreter(principal.fhir_user, principal.subject if not principal.is_open
                         else "pacsbridge console (open mode)")  # fmt: skip
    report_id, subject = await run_in_threadpool(_create, console.store, study_uid, typed, signer)
    audit.record(request, "create", entities=[f"DiagnosticReport/{report_id}"],
                 patients=audit.patients_in([subject]), outcome=201)  # fmt: skip
    return RedirectResponse(f"/console/studies/{study_uid}?done=signed#reports", status_code=303)


def _create(store: Store, study_uid: str, typed: dict[str, str],
            signer: dict[str, Any]) -> tuple[str, str]:  # fmt: skip
    data = study_page(store, study_uid)
    imaging = data["imaging"]
    if imaging is None or data["patient"] is None:
        raise FinalState("this study has no ImagingStudy with a patient yet (it may still be "
                         "arriving); try again in a minute", study_uid)  # fmt: skip
    orders = [{"id": o["id"], "resource": o} for o in data["orders"]]
    body = report_body(study_id=imaging["id"], study=imaging, orders=orders, text=typed["text"],
                       conclusion=typed["conclusion"], signer=signer,
                       now=datetime.now(UTC))  # fmt: skip
    with store.transaction(ORIGIN) as transaction:
        stored = transaction.create(body)
    return stored.id, str(imaging["subject"].get("reference", ""))
