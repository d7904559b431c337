"""Bulk appends (the audit trail's writes): readable, searchable and in history like creates."""

from __future__ import annotations

import uuid


def test_appended_records_are_read_searched_and_in_history(store):
    tag = uuid.uuid4().hex[:12]
    bodies = [
        {"resourceType": "AuditEvent", "type": {"code": "rest"}, "action": "R",
         "recorded": "2026-11-28T10:00:00Z", "outcome": "0",
         "agent": [{"requestor": True, "name": f"{tag}-{n}"}],
         "source": {"observer": {"display": "pacsbridge"}, "site": tag},
         "entity": [{"what": {"reference": f"Patient/{tag}"}}]}
        for n in range(250)
    ]  # fmt: skip
    with store.transaction("audit") as transaction:
        stored = transaction.append(bodies)
    assert len({item.id for item in stored}) == 250
    with store.reader() as reader:
        first = reader.read("AuditEvent", stored[0].id)
        assert first.resource["agent"][0]["name"] == f"{tag}-0"
        assert first.resource["meta"]["versionId"] == "1"
        assert reader.vread("AuditEvent", stored[-1].id, 1).resource["agent"][0]["name"] == (
            f"{tag}-249"
        )
        query = reader.parse("AuditEvent", [("patient", f"Patient/{tag}"), ("_total", "accurate")])
        assert reader.search(query).total == 250
        named = reader.search(reader.parse("AuditEvent", [("agent-name:exact", f"{tag}-17")]))
        assert [m.id for m in named.matches] == [stored[17].id]
