"""Checking a username and password, slowed down after repeated failures.

After ``login_max_failures`` wrong passwords in a row for a username, sign-ins for it are
refused, even with the right password, until a lock passes: 30 s, doubling with each
further failure, at most 15 minutes (NIST SP 800-63B §5.2.2 rate limiting). Every
failure also waits half a second. Unknown usernames are counted, hashed and answered
exactly like known ones, so neither the answer nor its timing tells which exist.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import run_in_threadpool

from pacsbridge.auth.passwords import check_secret
from pacsbridge.store.database import Database
from pacsbridge.store.resources import utc_now
from pacsbridge.store.users import (
    User,
    clear_failures,
    find_user,
    locked_until,
    note_failure,
)

FAILURE_DELAY_SECONDS = 0.5
FIRST_LOCK_SECONDS = 30
LONGEST_LOCK_SECONDS = 15 * 60


@dataclass(frozen=True)
class SignIn:
    """The outcome: the user, or why not; ``retry_after`` > 0 while the name is locked."""

    user: User | None
    retry_after: int = 0

    @property
    def locked(self) -> bool:
        return self.retry_after > 0


def lock_seconds(failures: int, max_failures: int) -> int:
    """How long a run of ``failures`` wrong passwords locks the username."""
    if failures < max_failures:
        return 0
    doublings = min(failures - max_failures, 16)
    return min(FIRST_LOCK_SECONDS * 2**doublings, LONGEST_LOCK_SECONDS)


async def sign_in(database: Database, username: str, password: str, max_failures: int) -> SignIn:
    result, failed = await run_in_threadpool(_check, database, username, password, max_failures)
    if failed:
        await asyncio.sleep(FAILURE_DELAY_SECONDS)
    return result


def _check(
    database: Database, username: str, password: str, max_failures: int
) -> tuple[SignIn, bool]:
    until = locked_until(database, username)
    if until is not None:
        return SignIn(None, _seconds_until(until)), False
    user = find_user(database, username) if username else None
    usable = user if user is not None and user.active else None
    if check_secret(usable.password_hash if usable else None, password) and usable:
        clear_failures(database, username)
        return SignIn(usable), False
    until = note_failure(database, username, lambda count: lock_seconds(count, max_failures))
    return SignIn(None, _seconds_until(until) if until else 0), True


def _seconds_until(moment: datetime) -> int:
    return max(1, math.ceil((moment - utc_now()).total_seconds()))
