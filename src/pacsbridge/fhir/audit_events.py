"""AuditEvent served from the audit log: read, vread and search, for administrators.

The one resource type not kept in the resource tables (it is written at the rate of reads,
see ``store/audit_log.py``), so it has its own provider, as a HAPI FHIR plain provider
would: the interactions keep their FHIR shape, the storage is the log's. Unknown search
parameters are refused rather than ignored: an auditor must not get a wider answer than
asked for without noticing.
"""

from __future__ import annotations

from typing import Any

from pacsbridge.auth.audit_event import audit_event_of
from pacsbridge.errors import BadValue, UnknownKey
from pacsbridge.fhir.interactions import FhirRequest, FhirResponse, StoreAccess
from pacsbridge.fhir.searchset import page_url
from pacsbridge.store.audit_log import MAX_COUNT, count, get, search

_RESULT = {"_count", "_cursor", "_total", "_format", "_pretty", "_sort"}


def read(access: StoreAccess, request: FhirRequest) -> FhirResponse:
    assert request.id
    record = get(access.store.database, request.id)
    if record is None or (request.version is not None and request.version != "1"):
        where = f"AuditEvent/{request.id}"
        text = f"{where} has no version {request.version}" if request.version else None
        raise UnknownKey(text or f"{where} is not known", where)
    body = audit_event_of(record)
    return FhirResponse(200, body=body, headers={"ETag": 'W/"1"'})


def search_events(access: StoreAccess, request: FhirRequest) -> FhirResponse:
    params = [(k, v) for k, v in request.params if k not in _RESULT]
    sort = request.param("_sort")
    if sort not in (None, "-date", "-_lastUpdated"):
        raise BadValue("AuditEvents are listed newest first; _sort may only be -date", "_sort")
    wanted = request.param("_count") or str(access.store.search_limits["default_count"])
    if not wanted.isdigit():
        raise BadValue("_count must be a whole number", "_count")
    cursor = request.param("_cursor")
    if cursor is not None and not cursor.isdigit():
        raise BadValue("_cursor is not one this server made", "_cursor")
    database = access.store.database
    records, after = search(database, params, min(int(wanted), MAX_COUNT),
                            int(cursor) if cursor else None)  # fmt: skip
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if request.param("_total") == "accurate":
        bundle["total"] = count(database, params)
    links = [{"relation": "self", "url": page_url(request.base, "AuditEvent", request.params,
                                                  cursor)}]  # fmt: skip
    if after is not None:
        links.append({"relation": "next", "url": page_url(request.base, "AuditEvent",
                                                          request.params, str(after))})  # fmt: skip
    bundle["link"] = links
    if records:
        bundle["entry"] = [
            {"fullUrl": f"{request.base}/AuditEvent/{r.event_id}",
             "resource": audit_event_of(r), "search": {"mode": "match"}}
            for r in records
        ]  # fmt: skip
    return FhirResponse(200, body=bundle)
