"""The message log: resends find the stored ACK; retention deletes and frees the space."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import update

from pacsbridge.app import build_store
from pacsbridge.config import Settings
from pacsbridge.ops.maintenance import purge_once
from pacsbridge.store import outbox
from pacsbridge.store.message_log import (
    AlreadyReceived,
    MessageFacts,
    dedup_key,
    record,
    search_messages,
    stored_ack,
)
from pacsbridge.store.resources import utc_now
from pacsbridge.store.tables import outbox_message


def test_a_final_outcome_keeps_the_ack_for_resends_and_an_ar_does_not(store, unique):
    applied = MessageFacts(sending_application="HIS", control_id=f"A-{unique}")
    refused = MessageFacts(sending_application="HIS", control_id=f"R-{unique}")
    with store.transaction() as transaction:
        record(transaction.connection, applied, raw=b"MSH", ack=b"ACK-AA", outcome="AA")
        record(transaction.connection, refused, raw=b"MSH", ack=b"ACK-AR", outcome="AR")
    with store.reader() as reader:
        assert stored_ack(reader.connection, dedup_key(applied)) == b"ACK-AA"
        assert stored_ack(reader.connection, dedup_key(refused)) is None
    with pytest.raises(AlreadyReceived), store.transaction() as transaction:
        record(transaction.connection, applied, raw=b"MSH", ack=b"again", outcome="AA")


def test_search_by_type_patient_and_outcome(store, unique):
    facts = MessageFacts(sending_application="RIS", message_type="ORM^O01",
                         control_id=f"S-{unique}", patient_id=f"P-{unique}")  # fmt: skip
    with store.transaction() as transaction:
        record(transaction.connection, facts, raw=b"MSH", ack=None, outcome="AE", error="bad")
    with store.reader() as reader:
        found = search_messages(reader.connection, message_type="ORM", patient_id=f"P-{unique}")
        assert [(m.control_id, m.outcome, m.error) for m in found] == [(f"S-{unique}", "AE", "bad")]
        assert search_messages(reader.connection, patient_id=f"P-{unique}", outcome="AA") == []


def test_retention_deletes_old_messages_and_frees_the_file_space(tmp_path):
    store = build_store(Settings(data_dir=tmp_path))
    path = tmp_path / "pacsbridge.db"
    with store.transaction() as transaction:
        for n in range(40):
            record(transaction.connection, MessageFacts(control_id=f"big-{n}"),
                   raw=os.urandom(100_000), ack=b"x", outcome="AA")  # fmt: skip
    store.database.reclaim_space()  # checkpoint, so the file holds the rows
    full = path.stat().st_size
    assert full > 3_000_000
    with store.transaction() as transaction:  # age them by two days
        transaction.connection.exec_driver_sql(
            "UPDATE hl7_message SET received_at = ?", ((utc_now() - timedelta(days=2)),)
        )
    assert purge_once(store, days=1) == 40
    assert path.stat().st_size < full / 4
    store.database.dispose()


def test_retention_deletes_old_outbound_messages_but_keeps_dead_letters(tmp_path):
    store = build_store(Settings(data_dir=tmp_path))
    old = utc_now() - timedelta(days=2)
    with store.transaction() as transaction:
        for n, status in enumerate(["sent", "cancelled", "dead", "pending", "sent"]):
            pk = outbox.enqueue(transaction.connection, destination="HIS", partition_key="p",
                                event="report", message_type="ORU^R01", control_id=f"C{n}",
                                source=None, payload=b"MSH", now=old)  # fmt: skip
            finished = old if n < 4 else utc_now()  # the last one was sent just now
            transaction.connection.execute(
                update(outbox_message).where(outbox_message.c.pk == pk)
                .values(status=status, finished_at=finished if status != "pending" else None)
            )  # fmt: skip
    assert purge_once(store, days=1) == 2  # the old sent and cancelled ones
    with store.reader() as reader:
        left = outbox.list_entries(reader.connection)
    assert sorted(e.control_id for e in left) == ["C2", "C3", "C4"]
    store.database.dispose()


def test_analyze_gives_the_planner_statistics(store, unique):
    with store.transaction() as transaction:
        transaction.create({"resourceType": "Patient", "identifier": [{"value": unique}]})
    store.database.analyze()
    with store.reader() as reader:
        if store.database.is_postgresql:
            query = "SELECT count(*) FROM pg_stats WHERE tablename = 'idx_token'"
        else:
            query = "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'idx_token'"
        assert reader.connection.exec_driver_sql(query).scalar() > 0
