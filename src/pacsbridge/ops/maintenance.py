"""Housekeeping while the server runs: message retention and planner statistics.

Retention deletes HL7 messages past ``message_retention_days`` (0 keeps everything) and
gives the space back. Statistics (``ANALYZE``) let SQLite and PostgreSQL pick index
plans: without them PostgreSQL estimates one row everywhere and can choose nested loops
that never finish on large tables. Both run at start and then every hour.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from pacsbridge.store import Store
from pacsbridge.store.message_log import purge_messages
from pacsbridge.store.resources import utc_now

log = logging.getLogger("pacsbridge.maintenance")


def purge_once(store: Store, days: int) -> int:
    with store.transaction() as transaction:
        count = purge_messages(transaction.connection, utc_now() - timedelta(days=days))
    if count:
        store.database.reclaim_space()
    return count


async def maintenance_loop(store: Store, retention_days: int, every_seconds: float = 3600) -> None:
    while True:
        try:
            await asyncio.to_thread(store.database.analyze)
            if retention_days > 0:
                count = await asyncio.to_thread(purge_once, store, retention_days)
                if count:
                    log.info("purged %d HL7 messages older than %d days", count, retention_days)
        except Exception:  # housekeeping must never stop the server
            log.exception("maintenance failed; trying again later")
        await asyncio.sleep(every_seconds)
