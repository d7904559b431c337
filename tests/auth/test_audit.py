"""The audit trail: the AuditEvent built per access, and its batched writes to the store."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pacsbridge.auth.audit import AuditTrail
from pacsbridge.auth.audit_event import MAX_ENTITIES, audit_event_of, build_audit_event
from pacsbridge.auth.principal import OPEN, Principal
from pacsbridge.auth.scopes import Scopes
from pacsbridge.formats.fhir.validate import validate
from pacsbridge.store import Store, audit_log
from tests.conftest import assert_schema_valid

MOMENT = datetime(2025, 3, 4, 10, 11, 12, 345000, tzinfo=UTC)
NO_SCOPES = Scopes("", ())


def user(name: str, **fields: Any) -> Principal:
    values = {"kind": "user", "subject": name, "scopes": NO_SCOPES, "client_id": "viewer-app",
              "fhir_user": f"Practitioner/{name}", "role": "staff",
              "address": "10.0.0.7"}  # fmt: skip
    return Principal(**{**values, **fields})


FACTS = {"source": "fhir", "interaction": "read", "action": "R", "entities": [], "patients": [],
         "outcome": 200}  # fmt: skip


def event(principal: Principal, **facts: Any) -> dict[str, Any]:
    return build_audit_event(principal, **{**FACTS, **facts})


def record(trail: AuditTrail, principal: Principal, **facts: Any) -> None:
    trail.record(principal, **{**FACTS, **facts})


def test_a_fhir_read_is_a_rest_read_by_the_practitioner_through_the_app(schema_validator):
    body = event(user("alice"), entities=["ImagingStudy/s1"], patients=["p1"], recorded=MOMENT)
    validate(body, resource_types=frozenset({"AuditEvent"}))
    assert_schema_valid(schema_validator, body)
    assert body["type"] == {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                            "code": "rest", "display": "RESTful Operation"}  # fmt: skip
    assert body["subtype"] == [
        {"system": "http://hl7.org/fhir/restful-interaction", "code": "read"}
    ]
    assert (body["action"], body["outcome"]) == ("R", "0")
    assert body["recorded"] == "2025-03-04T10:11:12.345Z"
    person, app = body["agent"]
    assert person["who"] == {"reference": "Practitioner/alice"}
    assert person["requestor"] is True and person["altId"] == "viewer-app"
    assert person["network"] == {"address": "10.0.0.7", "type": "2"}
    assert person["type"]["coding"][0]["code"] == "humanuser"
    assert app["who"]["identifier"] == {"system": "urn:pacsbridge:client", "value": "viewer-app"}
    assert app["requestor"] is False and app["type"]["coding"][0]["code"] == "110150"
    assert body["source"]["observer"] == {"display": "pacsbridge"}
    assert body["source"]["type"][1]["code"] == "fhir"
    patient, study = body["entity"]
    assert patient["what"] == {"reference": "Patient/p1"} and patient["role"]["code"] == "1"
    assert study["what"] == {"reference": "ImagingStudy/s1"} and study["role"]["code"] == "4"


def test_a_dicomweb_retrieval_names_the_study_by_uid_and_the_machine_by_name(schema_validator):
    system = Principal(kind="system", subject="pacs-sync", scopes=NO_SCOPES,
                       client_id="pacs-sync", address="archive.example")  # fmt: skip
    body = event(system, source="dicomweb", interaction="wado-rs", entities=["urn:dicom:uid:1.2.3"],
                 patients=["p2"], outcome=404)  # fmt: skip
    validate(body, resource_types=frozenset({"AuditEvent"}))
    assert_schema_valid(schema_validator, body)
    assert body["subtype"] == [
        {"system": "https://pacsbridge.org/fhir/CodeSystem/interaction", "code": "wado-rs"}
    ]
    assert body["outcome"] == "4" and body["outcomeDesc"] == "HTTP 404"
    [agent] = body["agent"]  # the client is the requestor: no second agent
    assert agent["who"] == {"identifier": {"system": "urn:pacsbridge:client", "value": "pacs-sync"}}
    assert agent["network"] == {"address": "archive.example", "type": "1"}
    assert agent["type"]["coding"][0]["code"] == "110150"
    assert body["source"]["type"][1]["code"] == "dicomweb"
    study = body["entity"][1]
    assert study["what"] == {"identifier": {"system": "urn:dicom:uid", "value": "urn:oid:1.2.3"}}
    assert study["role"]["code"] == "3" and study["name"] == "1.2.3"


@pytest.mark.parametrize(("status", "outcome"),
                         [(200, "0"), (201, "0"), (304, "0"), (403, "4"), (404, "4"), (500, "8"),
                          (503, "8")])  # fmt: skip
def test_the_http_status_gives_the_outcome(status: int, outcome: str) -> None:
    assert event(OPEN, outcome=status)["outcome"] == outcome


def test_a_search_records_its_query_and_caps_the_entities() -> None:
    studies = [f"ImagingStudy/s{n}" for n in range(50)]
    body = event(OPEN, interaction="search-type", entities=["Patient/p1", *studies],
                 patients=["p1"], query="patient=Patient/p1&_count=50")  # fmt: skip
    validate(body, resource_types=frozenset({"AuditEvent"}))
    *found, asked = body["entity"]
    assert [e["what"]["reference"] for e in found] == ["Patient/p1", *studies[:MAX_ENTITIES]]
    assert asked["role"]["code"] == "24"
    assert base64.b64decode(asked["query"]).decode() == "patient=Patient/p1&_count=50"
    assert body["subtype"][0]["code"] == "search-type"


def test_the_open_network_is_recorded_as_anonymous() -> None:
    body = event(OPEN.with_address("192.0.2.1"))
    [agent] = body["agent"]
    assert agent["who"] == {"identifier": {"system": "urn:pacsbridge:user", "value": "anonymous"}}
    assert "entity" not in body


def test_an_unknown_action_or_source_is_a_bug_of_the_caller() -> None:
    with pytest.raises(ValueError, match="action"):
        event(OPEN, action="X")
    with pytest.raises(ValueError, match="source"):
        event(OPEN, source="hl7v2")


# --- written through a real store, on SQLite and PostgreSQL ---


def search(store: Store, *params: tuple[str, str]) -> list[dict[str, Any]]:
    records, _ = audit_log.search(store.database, list(params), 1000)
    return [audit_event_of(record) for record in records]


def test_a_batch_is_searchable_by_patient_agent_date_outcome_and_address(store, unique):
    before = (datetime.now(UTC) - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    trail = AuditTrail(store, interval=0.05)
    trail.start()
    alice = user(f"a{unique}", client_id=f"app{unique}", address="198.51.100.7")
    bob = user(f"b{unique}", client_id=f"app{unique}", fhir_user=None, address="198.51.100.8")
    record(trail, alice, entities=[f"ImagingStudy/s{unique}"], patients=[f"p{unique}"])
    record(trail, bob, source="dicomweb", interaction="qido-rs", action="E",
           patients=[f"p{unique}"], outcome=500, query="PatientID=x")  # fmt: skip
    uid = f"1.2.9{unique[:8].translate(_DIGITS)}"
    record(trail, alice, source="dicomweb", interaction="wado-rs",
           entities=[f"urn:dicom:uid:{uid}"], patients=[f"q{unique}"], outcome=403)  # fmt: skip
    trail.stop()
    assert trail.written == 3 and trail.lost == 0

    def codes(*params: tuple[str, str]) -> list[str]:
        return sorted(e["subtype"][0]["code"] for e in search(store, *params))

    mine = ("altid", f"app{unique}")
    assert codes(("patient", f"Patient/p{unique}")) == ["qido-rs", "read"]
    assert codes(("patient", f"q{unique}")) == ["wado-rs"]
    assert codes(("agent", f"Practitioner/a{unique}")) == ["read", "wado-rs"]
    assert codes(("agent-name", f"b{unique}")) == ["qido-rs"]
    assert codes(mine, ("date", f"ge{before}")) == ["qido-rs", "read", "wado-rs"]
    assert codes(mine, ("date", f"lt{before}")) == []
    assert codes(mine, ("outcome", "8")) == ["qido-rs"]
    assert codes(mine, ("outcome", "0,4")) == ["read", "wado-rs"]
    assert codes(mine, ("address:exact", "198.51.100.8")) == ["qido-rs"]
    assert codes(mine, ("action", "E")) == ["qido-rs"]
    assert codes(mine, ("entity", f"ImagingStudy/s{unique}")) == ["read"]
    assert codes(mine, ("entity-name:exact", uid)) == ["wado-rs"]
    assert codes(mine, ("subtype", "http://hl7.org/fhir/restful-interaction|read")) == ["read"]
    assert codes(mine, ("type", "rest")) == ["qido-rs", "read", "wado-rs"]
    assert codes(mine, ("site", trail.site)) == ["qido-rs", "read", "wado-rs"]


_DIGITS = str.maketrans("abcdef", "123456")


def test_stop_writes_everything_still_queued(store, unique):
    trail = AuditTrail(store, interval=60)  # the writer would wait a minute for a full batch
    trail.start()
    for n in range(450):
        record(trail, user(f"u{unique}", client_id=f"app{unique}"), entities=[f"Patient/{n}"])
    trail.stop()
    assert trail.queued == 0 and trail.written == 450
    assert len(search(store, ("altid", f"app{unique}"))) == 450


def test_a_trail_never_started_writes_its_events_on_stop(store, unique):
    trail = AuditTrail(store)
    record(trail, OPEN, source="api", patients=[f"p{unique}"])
    trail.stop()
    assert len(search(store, ("patient", f"Patient/p{unique}"))) == 1


def test_a_full_queue_waits_then_logs_what_it_loses(store, caplog):
    trail = AuditTrail(store, capacity=1, put_timeout=0.05)
    with caplog.at_level(logging.WARNING, logger="pacsbridge.audit"):
        for _ in range(2):
            record(trail, OPEN)
    assert trail.queued == 1 and trail.lost == 1
    assert "lost" in caplog.text
    trail.stop()


def test_a_disabled_trail_records_nothing(store):
    trail = AuditTrail(store, enabled=False)
    trail.start()
    record(trail, OPEN)
    trail.stop()
    assert trail.queued == 0 and trail.written == 0


def test_the_fhir_face_serves_audit_events_read_only(server, unique):
    trail = AuditTrail(server.store)
    record(trail, OPEN, patients=[f"p{unique}"])
    trail.stop()
    base = f"{server.url}/fhir/R4"
    found = httpx.get(f"{base}/AuditEvent", params={"patient": f"Patient/p{unique}"}).json()
    [entry] = found["entry"]
    assert entry["resource"]["resourceType"] == "AuditEvent"
    refused = httpx.post(f"{base}/AuditEvent", json=entry["resource"],
                         headers={"content-type": "application/fhir+json"})  # fmt: skip
    assert refused.status_code in (400, 405)


def test_events_without_links_are_stored_and_pages_follow_newest_first(store, unique):
    trail = AuditTrail(store)
    alone = user(f"n{unique}", client_id=f"solo{unique}")
    for number in range(5):
        record(trail, alone, interaction=f"read-{number}", entities=[], patients=[])
    trail.stop()
    assert trail.written == 5 and trail.lost == 0
    first, after = audit_log.search(store.database, [("altid", f"solo{unique}")], 3)
    rest, end = audit_log.search(store.database, [("altid", f"solo{unique}")], 3, after)
    seen = [r.interaction for r in first + rest]
    assert seen == [f"read-{n}" for n in (4, 3, 2, 1, 0)] and end is None


def test_the_fhir_search_refuses_what_it_cannot_filter_by(server):
    answer = httpx.get(f"{server.url}/fhir/R4/AuditEvent", params={"policy": "x"})
    assert answer.status_code == 400
    assert "cannot be searched by 'policy'" in answer.json()["issue"][0]["diagnostics"]


def test_control_characters_in_a_search_value_are_a_400(server):
    """Found by schemathesis: a NUL in ``site`` was a 500 on PostgreSQL (text refuses NUL)."""
    for name in ("site", "patient", "agent"):
        answer = httpx.get(f"{server.url}/fhir/R4/AuditEvent", params={name: "a\x00b"})
        assert answer.status_code == 400, (name, answer.text)
        assert "control character" in answer.json()["issue"][0]["diagnostics"]


def test_retention_deletes_old_events_and_their_links(store, unique):
    from pacsbridge.ops.maintenance import purge_audit
    from pacsbridge.store.audit_log import AuditRecord

    def at(moment: datetime, name: str) -> AuditRecord:
        return AuditRecord(face="fhir", interaction="read", action="R", status=200, kind="user",
                           subject=name, recorded=moment, entities=[f"Patient/{name}"],
                           patients=[name])  # fmt: skip

    long_ago = datetime(2001, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    old = [at(long_ago + timedelta(minutes=n), f"old{n}{unique}") for n in range(5)]
    audit_log.append(store.database, [*old, at(datetime.now(UTC).replace(tzinfo=None),
                                                f"new{unique}")])  # fmt: skip
    assert purge_audit(store, days=365 * 20) >= 5  # the cutoff falls in 2006
    for n in range(5):
        assert audit_log.search(store.database, [("patient", f"old{n}{unique}")], 10)[0] == []
    assert len(audit_log.search(store.database, [("patient", f"new{unique}")], 10)[0]) == 1
    with store.database.reader.connect() as connection:
        from sqlalchemy import text

        left = connection.execute(text("SELECT count(*) FROM audit_event_link WHERE value LIKE "
                                       f"'%old_{unique}%'")).scalar_one()  # fmt: skip
    assert left == 0
