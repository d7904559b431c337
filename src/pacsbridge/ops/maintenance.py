"""Housekeeping while the server runs: retention, statistics, spent credentials, stale
ImagingStudies.

Retention deletes HL7 messages past ``message_retention_days`` (0 keeps everything), the
received ones and the outbound ones sent or cancelled (dead letters wait for an operator),
and gives the space back; audit events go after ``audit_retention_days`` (0: never).
Statistics (``ANALYZE``) let SQLite and PostgreSQL pick index plans: without them
PostgreSQL estimates one row everywhere and can choose nested loops that never finish on
large tables. Both run at start and then every hour. Studies whose
ImagingStudy was left stale (a crash mid-association, an association still open after
``settle_seconds``) are rebuilt every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from pacsbridge.store import Store, audit_log, grants, outbox, signing_keys, spent_ids, users
from pacsbridge.store.imaging_study import refresh_studies, stale_studies
from pacsbridge.store.message_log import purge_messages
from pacsbridge.store.resources import utc_now

# Access tokens live at most a day (access_token_seconds <= 86400): a key retired longer
# ago than this verifies nothing that is still valid.
RETIRED_KEY_KEPT = timedelta(days=2)

log = logging.getLogger("pacsbridge.maintenance")


def purge_once(store: Store, days: int) -> int:
    """HL7 messages received, and outbound ones sent or cancelled, older than ``days``."""
    cutoff = utc_now() - timedelta(days=days)
    with store.transaction() as transaction:
        count = purge_messages(transaction.connection, cutoff)
        count += outbox.purge_finished(transaction.connection, cutoff)
    if count:
        store.database.reclaim_space()
    return count


def purge_audit(store: Store, days: int) -> int:
    """Audit events recorded more than ``days`` ago."""
    count = audit_log.purge_older(store.database, utc_now() - timedelta(days=days))
    if count:
        store.database.reclaim_space()
    return count


def forget_spent_credentials(store: Store) -> int:
    """Expired codes, refresh tokens, revocations, old login failures and retired keys."""
    database = store.database
    return (
        grants.forget_expired(database)
        + spent_ids.forget_expired(database)
        + users.forget_old_failures(database, timedelta(days=1))
        + signing_keys.forget_retired(database, RETIRED_KEY_KEPT)
    )


async def maintenance_loop(store: Store, retention_days: int, every_seconds: float = 3600,
                           audit_retention_days: int = 0) -> None:  # fmt: skip
    while True:
        try:
            await asyncio.to_thread(store.database.analyze)
            await asyncio.to_thread(forget_spent_credentials, store)
            if retention_days > 0:
                count = await asyncio.to_thread(purge_once, store, retention_days)
                if count:
                    log.info("purged %d HL7 messages (in and out) older than %d days", count,
                             retention_days)  # fmt: skip
            if audit_retention_days > 0:
                count = await asyncio.to_thread(purge_audit, store, audit_retention_days)
                if count:
                    log.info("purged %d audit events older than %d days", count,
                             audit_retention_days)  # fmt: skip
        except Exception:  # housekeeping must never stop the server
            log.exception("maintenance failed; trying again later")
        await asyncio.sleep(every_seconds)


async def imaging_study_loop(store: Store, wado_base: str, every_seconds: float = 10,
                             settle_seconds: float = 30) -> None:  # fmt: skip
    while True:
        try:
            cutoff = utc_now() - timedelta(seconds=settle_seconds)
            studies = await asyncio.to_thread(stale_studies, store, cutoff)
            if studies:
                done = await asyncio.to_thread(refresh_studies, store, studies, wado_base)
                log.info("rebuilt the ImagingStudy of %d stale studies", done)
        except Exception:  # housekeeping must never stop the server
            log.exception("could not rebuild stale ImagingStudies; trying again later")
        await asyncio.sleep(every_seconds)
