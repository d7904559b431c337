"""Spent credentials do not pile up: the maintenance loop forgets what can no longer work."""

from __future__ import annotations

import uuid
from datetime import timedelta

from pacsbridge.ops.maintenance import forget_spent_credentials
from pacsbridge.store.resources import utc_now
from pacsbridge.store.spent_ids import is_spent, spend


def test_expired_revocations_are_forgotten_and_current_ones_kept(store):
    old, current = f"test:{uuid.uuid4().hex}", f"test:{uuid.uuid4().hex}"
    assert spend(store.database, old, utc_now() - timedelta(minutes=1))
    assert spend(store.database, current, utc_now() + timedelta(minutes=10))
    assert not spend(store.database, current, utc_now() + timedelta(minutes=10))  # a replay
    assert forget_spent_credentials(store) >= 1
    assert not is_spent(store.database, old)
    assert is_spent(store.database, current)
