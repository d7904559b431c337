"""The store's hook points: what a write did, and who is told before and after the commit.

``resource_changed`` hooks run inside the transaction, before its one commit, and may
write more (the workflow rules; HAPI FHIR's STORAGE_PRECOMMIT pointcuts). ``committed``
hooks run after it, when nothing can be undone any more (they wake the outbox senders).
The store does not import the rules; ``app.py`` registers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pacsbridge.store.transaction import Transaction


@dataclass(frozen=True)
class Change:
    """What one write did, as the ``resource_changed`` hooks see it."""

    action: Literal["create", "update", "delete"]
    resource_type: str
    id: str
    version_id: int
    resource: dict[str, Any] | None
    previous: dict[str, Any] | None


ChangeHook = Callable[["Transaction", Change], None]


@dataclass
class Hooks:
    """Named hook points; each is a list of callables run in registration order."""

    resource_changed: list[ChangeHook] = field(default_factory=list)
    # After the commit, with the committed transaction (wakes the outbox senders).
    committed: list[Callable[[Transaction], None]] = field(default_factory=list)


__all__ = ["Change", "ChangeHook", "Hooks"]
