"""Skeleton: replaced by the audit trail (AuditEvent writer)."""

from __future__ import annotations

from typing import Any


class AuditTrail:
    def __init__(self, store: Any, *, enabled: bool = True) -> None:
        self.store, self.enabled = store, enabled

    def record(self, principal: Any, **event: Any) -> None:
        return None

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None
