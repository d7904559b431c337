"""Message log retention: delete HL7 messages past their days, and free the space.

Runs hourly in the server; ``message_retention_days = 0`` keeps everything.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from pacsbridge.store import Store
from pacsbridge.store.message_log import purge_messages
from pacsbridge.store.resources import utc_now

log = logging.getLogger("pacsbridge.retention")


def purge_once(store: Store, days: int) -> int:
    with store.transaction() as transaction:
        count = purge_messages(transaction.connection, utc_now() - timedelta(days=days))
    if count:
        store.database.reclaim_space()
    return count


async def retention_loop(store: Store, days: int, every_seconds: float = 3600) -> None:
    if days <= 0:
        return
    while True:
        try:
            count = await asyncio.to_thread(purge_once, store, days)
            if count:
                log.info("purged %d logged HL7 messages older than %d days", count, days)
        except Exception:  # retention must never stop the server
            log.exception("message retention failed; trying again later")
        await asyncio.sleep(every_seconds)
